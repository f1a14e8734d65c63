"""A logout, a shutdown or `kill` (SIGTERM) closes the app as a person would: the profile is
locked, backed up and its WAL emptied, and the app exits 0. A real app process, offscreen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_locks_and_backs_up_before_the_app_exits(tmp_path: Path) -> None:
    root = tmp_path / "profile"
    demo = root.with_name("profile-demo")  # --demo opens (and makes) the demo beside it
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen([sys.executable, "-m", "fieldapp", "--data-dir", str(root), "--demo"],
                           env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        # Unlocked: the vault's WAL exists while it is open, and the demo is filled.
        while not (demo / "fieldapp.sqlite3-wal").exists() or not (demo / "vault.key").exists():
            assert app.poll() is None, app.communicate()
            assert time.monotonic() < deadline, "the demo never opened"
            time.sleep(0.2)
        time.sleep(1.0)  # let the demo's first page settle
        assert list((demo / "backups").glob("*.fabackup")) == []
        app.send_signal(signal.SIGTERM)
        _, err = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, err.decode(errors="replace")
    assert not (demo / "fieldapp.sqlite3-wal").exists(), "the profile was not locked"
    assert len(list((demo / "backups").glob("*.fabackup"))) == 1, "no backup at the lock"
    assert b"Traceback" not in err
