"""The command line, run as a person would: a real process on a real profile folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fieldapp.app import DEMO_ROLES, build_parser
from fieldapp.domain.people import Role
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile
from tests.conftest import PASSPHRASE, FakeClock

ROOT = Path(__file__).resolve().parents[1]


def fieldapp(*args: str, stdin: str = "", env_home: Path | None = None
             ) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    if env_home is not None:
        env["FIELDAPP_HOME"] = str(env_home)
    return subprocess.run([sys.executable, "-m", "fieldapp", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=60, check=False)


def _make_profile(root: Path) -> str:
    clock = FakeClock()
    vault = Profile(ProfilePaths(root), clock=clock).create(PASSPHRASE)
    record_id = RecordStore(vault, clock=clock).add(kind="note", body={"t": "x"}).id
    vault.lock()
    return record_id


def test_doctor_healthy_exits_zero(tmp_path: Path) -> None:
    _make_profile(tmp_path / "p")
    result = fieldapp("--data-dir", str(tmp_path / "p"), "doctor", "--passphrase-stdin",
                      stdin=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The profile is healthy." in result.stdout


def test_doctor_on_damaged_database_exits_nonzero_in_plain_words(tmp_path: Path) -> None:
    _make_profile(tmp_path / "p")
    (tmp_path / "p" / "fieldapp.sqlite3").write_bytes(b"this is not sqlite" * 500)
    result = fieldapp("--data-dir", str(tmp_path / "p"), "doctor", "--no-passphrase")
    assert result.returncode == 1
    assert "damaged or is not a FieldApp database" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_environment_variable_picks_the_profile(tmp_path: Path) -> None:
    result = fieldapp("where", env_home=tmp_path / "from-env")
    assert result.stdout.strip() == str(tmp_path / "from-env")


def test_backup_then_restore_after_damage(tmp_path: Path) -> None:
    root = tmp_path / "p"
    record_id = _make_profile(root)
    made = fieldapp("--data-dir", str(root), "backup", "--passphrase-stdin",
                    stdin=PASSPHRASE + "\n")
    assert made.returncode == 0, made.stderr
    (root / "fieldapp.sqlite3").write_bytes(b"\0" * 4096)
    refused = fieldapp("--data-dir", str(root), "restore", "--passphrase-stdin", stdin="n\n")
    assert refused.returncode == 1
    assert "Nothing was changed" in refused.stdout
    assert (root / "fieldapp.sqlite3").read_bytes() == b"\0" * 4096
    restored = fieldapp("--data-dir", str(root), "restore", "--yes", "--passphrase-stdin",
                        stdin=PASSPHRASE + "\n")
    assert restored.returncode == 0, restored.stderr
    clock = FakeClock()
    vault = Profile(ProfilePaths(root), clock=clock).unlock(PASSPHRASE)
    assert RecordStore(vault, clock=clock).get(record_id).body == {"t": "x"}
    vault.lock()


def test_wrong_passphrase_is_plain_words(tmp_path: Path) -> None:
    _make_profile(tmp_path / "p")
    result = fieldapp("--data-dir", str(tmp_path / "p"), "backup", "--passphrase-stdin",
                      stdin="the wrong passphrase entirely\n")
    assert result.returncode == 2
    assert result.stderr.strip() == "That passphrase does not open this profile."


def test_demo_opens_as_any_of_the_three_roles() -> None:
    """`--demo intact-worker` was refused: only a coordinator's and a supervisor's demo."""
    parse = build_parser().parse_args
    assert {name: DEMO_ROLES[parse(["--demo", name]).demo] for name in DEMO_ROLES} == {
        "coordinator": Role.RECOVERY_COORDINATOR, "intact-worker": Role.INTACT_WORKER,
        "supervisor": Role.SUPERVISOR}
    assert parse(["--demo"]).demo == "coordinator"
    refused = fieldapp("--demo", "caseworker")
    assert refused.returncode == 2
    assert "'coordinator', 'intact-worker', 'supervisor'" in refused.stderr
