"""`fieldapp --self-test`, as IT runs it on a laptop: a real process, no screen, no real profile.

The built app runs the same code (`make app-check` runs `dist/FieldApp/FieldApp --self-test`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from fieldapp import __version__
from fieldapp.ui import selftest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ["resources", "vault", "tls", "qt", "window", "pdf", "cleanup"]


def test_self_test_passes_offscreen_and_leaves_nothing_behind(tmp_path: Path) -> None:
    temp, home, profile = tmp_path / "tmp", tmp_path / "home", tmp_path / "real-profile"
    temp.mkdir()
    # No DISPLAY and no QT_QPA_PLATFORM: the self-test must choose offscreen by itself.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(temp),
           "FIELDAPP_HOME": str(profile), "XDG_RUNTIME_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "fieldapp", "--self-test"], text=True,
                            capture_output=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    *checks, last = result.stdout.splitlines()
    assert [line.split()[:2] for line in checks] == [["ok", name] for name in CHECKS]
    assert last == f"FieldApp {__version__}: self-test passed."
    assert "pages drawn: Today, Caseload, Mileage, Settings" in result.stdout
    assert result.stderr == ""  # no Qt warning (a missing plugin or font would show here)
    assert list(temp.iterdir()) == []  # the temporary profile is gone
    assert not profile.exists()  # and the user's own profile was never touched


def test_a_failing_check_stops_with_a_plain_message_and_cleans_up(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def no_ca_bundle() -> str:
        raise FileNotFoundError("cacert.pem is missing")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(selftest, "_tls", no_ca_bundle)
    assert selftest.run_self_test() == 1
    out, err = capsys.readouterr()
    assert [line.split()[1] for line in out.splitlines()] == ["resources", "vault"]
    assert err == (f"FieldApp {__version__} self-test failed at 'tls': "
                   "FileNotFoundError: cacert.pem is missing\n")
    assert list(tmp_path.iterdir()) == []
