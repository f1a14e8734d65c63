"""A client profile joins a real server: enrolment, key recovery, shared case keys, the wipe."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.domain.errors import WrongRecoveryCode
from fieldapp.services import case_keys, enrolment
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync.client import keys
from sync.client.enrol import check_in, enrol
from tests.conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Program:
    url: str
    data: Path
    tmp: Path
    recovery_codes: dict[str, str] = field(default_factory=dict)

    def admin(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", "from sync.server.cli import main; raise SystemExit(main())",
             "--data", str(self.data), *args], capture_output=True, text=True, cwd=ROOT,
            timeout=60, check=True)
        return result.stdout

    def code(self, user: str) -> str:
        return self.admin("code", user).split()[-1]

    def profile(self, name: str) -> Session:
        session = Session(ProfilePaths(self.tmp / name))
        session.create(PASSPHRASE)
        return session

    def enrolled(self, name: str, user: str) -> Session:
        """A new profile enrolled as `user`; a later laptop of theirs recovers their keys with
        the recovery code shown at the first."""
        session = self.profile(name)
        done = enrol(session, server_url=self.url, code=self.code(user), device_name=name,
                     recovery_code=self.recovery_codes.get(user, ""))
        if done.recovery_code:
            self.recovery_codes[user] = done.recovery_code
        return session


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Program]:
    tmp = tmp_path_factory.mktemp("program")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = Program(url=f"http://127.0.0.1:{port}", data=tmp / "server", tmp=tmp)
    found.admin("init", "--name", "Millbrook IFR")
    found.admin("team-add", "t1", "--name", "East")
    for user, role in (("rc1", "recovery coordinator"), ("rc3", "recovery coordinator"),
                       ("sup1", "supervisor")):
        found.admin("user-add", user, "--name", user.upper(), "--role", role, "--team", "t1")
    found.admin("case-add", "c1", "--team", "t1", "--coordinator", "rc1")
    server = subprocess.Popen(
        [sys.executable, "-c", "from sync.server.cli import main; raise SystemExit(main())",
         "--data", str(found.data), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--enrol-limit", "100"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{found.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield found
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


def test_a_replaced_laptop_recovers_the_key_with_the_recovery_code(program: Program) -> None:
    first = program.enrolled("laptop-1", "rc1")
    original = enrolment.identity_of(first)
    second = program.enrolled("laptop-2", "rc1")
    recovered = enrolment.identity_of(second)
    assert original is not None and recovered is not None
    assert recovered.private_bytes() == original.private_bytes()
    assert second.actor().user_id == "rc1"
    for session in (first, second):
        session.lock()


def test_recovery_needs_the_right_recovery_code(program: Program) -> None:
    """A replacement laptop opens the user's keys only with the recovery code shown at their
    first enrolment; the passphrase does not, and a wrong code stores nothing."""
    program.enrolled("laptop-a", "rc3").lock()
    other = Session(ProfilePaths(program.tmp / "laptop-b"))
    other.create("a different long passphrase here")
    for wrong in ("a different long passphrase here", "0000-0000-0000-0000-0000-0000", ""):
        with pytest.raises(WrongRecoveryCode):
            enrol(other, server_url=program.url, code=program.code("rc3"), device_name="b",
                  recovery_code=wrong)
        assert enrolment.enrolment_of(other) is None, "nothing is stored when recovery fails"
    other.lock()


def test_case_keys_follow_assignment(program: Program) -> None:
    supervisor = program.enrolled("sup-laptop", "sup1")
    worker = program.enrolled("rc1-keys", "rc1")
    newcomer = program.enrolled("rc3-keys", "rc3")
    assert keys.share(supervisor, "c1") == 1
    key_v1 = keys.fetch(worker, "c1")[1]
    assert case_keys.case_keys(supervisor)[("c1", 1)] == key_v1
    # The server holds only sealed copies: the key itself is in none of its files.
    needle = base64.urlsafe_b64encode(key_v1)
    assert not any(needle in p.read_bytes() or key_v1 in p.read_bytes()
                   for p in program.data.rglob("*") if p.is_file())
    # Reassigning: the new coordinator gets the family's history (version 1) and, since the
    # old coordinator left, a new version that only the current members receive.
    program.admin("case-assign", "c1", "--coordinator", "rc3")
    assert keys.share(supervisor, "c1", rotate=True) == 2
    got = keys.fetch(newcomer, "c1")
    assert got[1] == key_v1 and got[2] != key_v1
    # The removed worker no longer sees the case, nor the key written afterwards.
    with pytest.raises(enrolment.ServerRefused, match="No such case"):
        keys.fetch(worker, "c1")
    assert ("c1", 2) not in case_keys.case_keys(worker)
    for session in (supervisor, worker, newcomer):
        session.lock()


def test_a_revoked_device_wipes_itself(program: Program) -> None:
    session = program.enrolled("stolen-laptop", "rc1")
    device = enrolment.enrolment_of(session)
    assert device is not None
    assert check_in(session)["id"] == "rc1"
    program.admin("revoke", device["device_id"])
    root = session.profile.paths.root
    with pytest.raises(enrolment.DeviceRevoked):
        check_in(session)
    assert not root.exists()


def test_an_unreachable_server_is_plain_words(tmp_path: Path) -> None:
    session = Session(ProfilePaths(tmp_path / "p"))
    session.create(PASSPHRASE)
    with pytest.raises(enrolment.ServerUnreachable, match="could not be reached"):
        enrol(session, server_url="http://127.0.0.1:9", code="abcdefgh-1",
              device_name="x")
    assert enrolment.enrolment_of(session) is None
    session.lock()


def test_the_programs_rules_flow_down(program: Program) -> None:
    program.admin("init", "--name", "Millbrook IFR", "--settings",
                  '{"mileage_cap": "120", "visits_per_week": 3}')
    session = program.enrolled("rules-laptop", "rc1")
    rules = session.workspace().settings
    assert (rules.mileage_cap, rules.visits_per_week) == (120, 3)
    program.admin("init", "--name", "Millbrook IFR", "--settings", '{"mileage_cap": "140"}')
    check_in(session)
    assert session.workspace().settings.mileage_cap == 140
    session.lock()


def test_connecting_from_settings(program: Program, qtbot: QtBot) -> None:
    from fieldapp.services.worker import DbWorker  # noqa: PLC0415 - Qt parts for this test only
    from fieldapp.ui.context import UiContext  # noqa: PLC0415
    from fieldapp.ui.settings_page import SettingsPage  # noqa: PLC0415
    from fieldapp.ui.tasks import TaskRunner  # noqa: PLC0415
    from tests.ui.test_accessibility import unnamed_controls  # noqa: PLC0415

    worker = DbWorker()
    session = Session(ProfilePaths(program.tmp / "ui-laptop"))
    worker.call(lambda: session.create(PASSPHRASE))
    ctx = UiContext(session=session, runner=TaskRunner(worker), clock=session._clock)
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    try:
        qtbot.waitUntil(lambda: page.server.text().startswith("Not connected"), timeout=5_000)
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
        dialog = page.enrol_dialog
        assert unnamed_controls(dialog) == []
        qtbot.keyClicks(dialog.server, program.url)
        qtbot.keyClicks(dialog.code, "wrong-code-123")
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "not valid" in dialog.message.text(), timeout=10_000)
        dialog.code.clear()
        qtbot.keyClicks(dialog.code, program.code("rc3"))
        qtbot.keyClicks(dialog.recovery, program.recovery_codes.get("rc3", ""))
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.server.text().startswith("Connected to"), timeout=10_000)
        assert "RC3" in page.server.text()
        assert not page.connect_button.isVisible()
    finally:
        worker.call(session.lock)
        worker.shutdown()
