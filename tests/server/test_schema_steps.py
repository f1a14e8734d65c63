"""The server's schema as named steps (issue 20): each step is recorded when applied, and a
database that records a step this server does not know (written by a newer one) is refused by
`serve` and by every administrator's command, with the reason, and left as it was. Real
processes of `fieldapp-server` from this checkout, on a real data folder."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

from sync.server.store import SCHEMA_STEPS
from tests.real_server import FROM_SOURCE, RealServer, child_env, free_port, run_cli, serving
from tests.sync.conftest import prepare

ROOT = Path(__file__).resolve().parents[2]


def steps_of(data: Path) -> list[str]:
    with sqlite3.connect(data / "server.sqlite3") as conn:
        return [str(r[0]) for r in conn.execute("SELECT name FROM schema_steps ORDER BY name")]


def content_hash(data: Path) -> str:
    """Every table's rows and the schema (the file's bytes move when a WAL is checkpointed)."""
    with sqlite3.connect(data / "server.sqlite3") as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def test_every_step_is_recorded_once_the_server_has_run(tmp_path: Path) -> None:
    data = tmp_path / "server"
    prepare(data)
    with serving(RealServer, data, stdout=tmp_path / "server.log"):
        pass
    assert steps_of(data) == list(SCHEMA_STEPS)


def test_a_database_from_before_the_steps_is_taken_up(tmp_path: Path) -> None:
    """A server from before steps were recorded has no `schema_steps`: its tables are what the
    steps make, so it opens and the steps are recorded."""
    data = tmp_path / "server"
    prepare(data)
    with sqlite3.connect(data / "server.sqlite3") as conn:
        conn.execute("DROP TABLE schema_steps")
    assert run_cli(data, "devices").returncode == 0  # opens without complaint
    with serving(RealServer, data, stdout=tmp_path / "server.log"):
        pass
    assert steps_of(data) == list(SCHEMA_STEPS)


def test_a_database_from_a_newer_server_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "server"
    prepare(data)
    with serving(RealServer, data, stdout=tmp_path / "server.log"):
        pass
    with sqlite3.connect(data / "server.sqlite3") as conn:
        conn.execute("INSERT INTO schema_steps VALUES ('0099_from_the_future', '2027-01-01')")
    before = content_hash(data)

    served = subprocess.run([*FROM_SOURCE, "--data", str(data), "serve", "--port",
                             str(free_port())], capture_output=True, text=True, cwd=ROOT,
                            env=child_env(), timeout=60, check=False)
    assert served.returncode == 2
    assert "newer fieldapp-server (schema step 0099_from_the_future)" in served.stderr
    assert "Traceback" not in served.stderr
    listed = run_cli(data, "devices", check=False)
    assert listed.returncode == 2 and "nothing was changed" in listed.stderr
    assert content_hash(data) == before
