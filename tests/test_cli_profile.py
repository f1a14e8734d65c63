"""`fieldapp --profile NAME`: the named profile beside the default one, for commands and the GUI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldapp.app import build_parser
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile
from tests.conftest import PASSPHRASE, FakeClock

ROOT = Path(__file__).resolve().parents[1]


def fieldapp(*args: str, stdin: str = "", probe: bool = False
             ) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    if probe:  # the GUI says which page it painted first, then quits
        env["FIELDAPP_STARTUP_PROBE"] = "1"
        env["XDG_RUNTIME_DIR"] = os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return subprocess.run([sys.executable, "-m", "fieldapp", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=60, check=False)


def test_parser_takes_a_profile_name() -> None:
    assert build_parser().parse_args(["--profile", "Evening job"]).profile == "Evening job"
    assert build_parser().parse_args([]).profile is None


def test_a_name_without_letters_or_digits_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--profile", " -!- "])
    assert exit_.value.code == 2
    assert "needs at least one letter or digit" in capsys.readouterr().err


def test_commands_work_on_the_named_profile(tmp_path: Path) -> None:
    home = tmp_path / "FieldApp"
    where = fieldapp("--data-dir", str(home), "--profile", "Evening Job", "where")
    assert where.stdout.strip() == str(tmp_path / "FieldApp-evening-job")
    default = fieldapp("--data-dir", str(home), "--profile", "default", "where")
    assert default.stdout.strip() == str(home)
    Profile(ProfilePaths(tmp_path / "FieldApp-evening-job"), clock=FakeClock()) \
        .create(PASSPHRASE).lock()
    doctor = fieldapp("--data-dir", str(home), "--profile", "evening-job", "doctor",
                      "--passphrase-stdin", stdin=PASSPHRASE + "\n")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_the_window_opens_the_named_profile(tmp_path: Path) -> None:
    home = tmp_path / "FieldApp"
    Profile(ProfilePaths(tmp_path / "FieldApp-work"), clock=FakeClock()).create(PASSPHRASE).lock()
    opened = fieldapp("--data-dir", str(home), "--profile", "Work", probe=True)
    assert "UnlockPage painted" in opened.stdout, opened.stdout + opened.stderr
    fresh = fieldapp("--data-dir", str(home), "--profile", "Weekend", probe=True)
    assert "CreateProfilePage painted" in fresh.stdout, fresh.stdout + fresh.stderr
    assert (tmp_path / "FieldApp-weekend").is_dir()
    assert not home.exists(), "the default profile is not made for a named one"
