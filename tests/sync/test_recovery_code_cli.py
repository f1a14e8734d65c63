"""`fieldapp enrol` and the recovery code, as typed at a terminal (a child process, a real
server on 127.0.0.1): the first enrolment prints the code once with what it is for; a
replacement laptop takes it from --recovery-code or asks for it, again after a wrong one, and
a person who gives up is told that the enrolment code was spent. The code is in no log."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fieldapp.services import enrolment
from fieldapp.services.enrolment import ENROLMENT_CODE_SPENT, RECOVERY_CODE_WORDS
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from tests.conftest import PASSPHRASE, FakeClock
from tests.scanning import found_in
from tests.sync.conftest import ROOT, SyncServer

CODE = re.compile(r"\b(?:[0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}\b")
WRONG = "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS"


def profile(sync_server: SyncServer, name: str) -> Path:
    root = sync_server.tmp / name
    session = Session(ProfilePaths(root), clock=FakeClock())
    session.create(PASSPHRASE)
    session.lock()
    return root


def fieldapp_enrol(sync_server: SyncServer, root: Path, user_id: str, *extra: str,
                   lines: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`fieldapp enrol` with the passphrase (and `lines` after it) on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "fieldapp", "--data-dir", str(root), "enrol", "--server",
         sync_server.url, "--code", sync_server.code(user_id), "--passphrase-stdin", *extra],
        input="\n".join((PASSPHRASE, *lines)) + "\n", text=True, capture_output=True,
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "HOME": str(sync_server.tmp)}, timeout=60,
        check=False)


def enrolled_as(root: Path) -> str | None:
    session = Session(ProfilePaths(root), clock=FakeClock())
    session.unlock(PASSPHRASE)
    try:
        found = enrolment.enrolment_of(session)
        return None if found is None else str(found["user"]["id"])
    finally:
        session.lock()


def first_enrolment(sync_server: SyncServer) -> tuple[Path, str]:
    root = profile(sync_server, "rc1-laptop")
    done = fieldapp_enrol(sync_server, root, "rc1")
    assert done.returncode == 0, done.stderr
    [code] = CODE.findall(done.stdout)
    return root, code


def test_the_first_enrolment_prints_the_code_once_and_logs_it_nowhere(
        sync_server: SyncServer) -> None:
    root = profile(sync_server, "rc1-laptop")
    done = fieldapp_enrol(sync_server, root, "rc1")
    assert done.returncode == 0, done.stderr
    [code] = CODE.findall(done.stdout + done.stderr)
    assert RECOVERY_CODE_WORDS in done.stdout
    assert "Enrolled as Rosa Coordinator" in done.stdout
    logs = list((root / "logs").glob("*"))
    assert logs and found_in(logs, "enrolled as device"), "a control: the log is written"
    assert found_in([*logs, *sync_server.tmp.rglob("*.sqlite3")], code) == []


def test_a_replacement_laptop_is_asked_again_after_a_wrong_code(sync_server: SyncServer
                                                                ) -> None:
    _, code = first_enrolment(sync_server)
    spare = profile(sync_server, "rc1-spare")
    done = fieldapp_enrol(sync_server, spare, "rc1", lines=(WRONG, code.lower()))
    assert done.returncode == 0, done.stderr
    assert "already use FieldApp on another laptop" in done.stderr
    assert done.stderr.count("does not open your key") == 1
    assert "Your key was recovered from the server." in done.stdout
    assert CODE.findall(done.stdout) == [], "no new code is printed"
    assert enrolled_as(spare) == "rc1"


def test_the_code_can_be_given_on_the_command_line(sync_server: SyncServer) -> None:
    _, code = first_enrolment(sync_server)
    spare = profile(sync_server, "rc1-spare")
    done = fieldapp_enrol(sync_server, spare, "rc1", "--recovery-code", code)
    assert done.returncode == 0, done.stderr
    assert "Your key was recovered from the server." in done.stdout


def test_giving_up_says_the_enrolment_code_is_spent_and_keeps_nothing(
        sync_server: SyncServer) -> None:
    first_enrolment(sync_server)
    spare = profile(sync_server, "rc1-spare")
    done = fieldapp_enrol(sync_server, spare, "rc1", "--recovery-code", WRONG,
                          lines=(WRONG,))  # then nothing more: standard input ends
    assert done.returncode == 2
    assert done.stderr.count("does not open your key") == 2
    assert ENROLMENT_CODE_SPENT in done.stderr
    assert enrolled_as(spare) is None


def test_three_wrong_codes_end_the_asking(sync_server: SyncServer) -> None:
    first_enrolment(sync_server)
    spare = profile(sync_server, "rc1-spare")
    done = fieldapp_enrol(sync_server, spare, "rc1", lines=(WRONG,) * 5)
    assert done.returncode == 2
    assert done.stderr.count("does not open your key") == 3
    assert ENROLMENT_CODE_SPENT in done.stderr
