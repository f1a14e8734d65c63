"""Sync as people meet it: a real `fieldapp-server serve` process on 127.0.0.1 and several real
client profiles (each its own SQLite vault) enrolled with one-time codes.

The program: team t1 has recovery coordinator rc1, intact worker iw1 and supervisor sup1; team
t2 has rc2 and sup2. Case c1 (rc1, iw1) was set up by the administrator; other cases are set up
by supervisors from their laptops during the tests. The server is prepared in-process with the
same store the admin command line uses (faster than one process per command), then served by
its own process.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync.client.engine import SyncEngine, SyncReport
from sync.client.enrol import enrol
from sync.client.http import Backoff
from sync.server.store import ServerStore
from tests.conftest import PASSPHRASE, FakeClock, stop_process

ROOT = Path(__file__).resolve().parents[2]
CLI = "from sync.server.cli import main; raise SystemExit(main())"
USERS = {
    "rc1": ("Rosa Coordinator", "recovery coordinator", "t1"),
    "iw1": ("Ian Worker", "intact worker", "t1"),
    "sup1": ("Sam Supervisor", "supervisor", "t1"),
    "rc2": ("Ruth Coordinator", "recovery coordinator", "t2"),
    "sup2": ("Sue Supervisor", "supervisor", "t2"),
}
FAST = Backoff(attempts=4, base=0.01, cap=0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(data_dir: Path) -> None:
    store = ServerStore(data_dir)
    now = datetime.now(UTC)
    try:
        store.init_program("Riverbend Family Recovery", {"mileage_cap": "150"})
        store.add_team("t1", "North team")
        store.add_team("t2", "South team")
        for user_id, (name, role, team) in USERS.items():
            store.add_user(user_id, name, role, team, now=now.isoformat())
        store.add_case("c1", team_id="t1", coordinator_id="rc1", intact_worker_id="iw1",
                       now=now.isoformat())
    finally:
        store.close()


@dataclass
class SyncServer:
    """A running server and the client profiles enrolled with it in one test."""

    url: str
    data_dir: Path
    tmp: Path
    process: subprocess.Popen[bytes]
    sessions: list[Session] = field(default_factory=list)

    def code(self, user_id: str) -> str:
        store = ServerStore(self.data_dir)
        try:
            return store.create_code(user_id, now=datetime.now(UTC))
        finally:
            store.close()

    def device(self, name: str, user_id: str, *, clock: FakeClock | None = None,
               url: str | None = None) -> Session:
        """A new profile on its own folder, enrolled as `user_id` (through `url` if given)."""
        session = Session(ProfilePaths(self.tmp / name), clock=clock or FakeClock())
        session.create(PASSPHRASE)
        enrol(session, server_url=url or self.url, code=self.code(user_id),
              passphrase=PASSPHRASE, device_name=name)
        self.sessions.append(session)
        return session

    def reopen(self, name: str, *, clock: FakeClock | None = None) -> Session:
        session = Session(ProfilePaths(self.tmp / name), clock=clock or FakeClock())
        session.unlock(PASSPHRASE)
        self.sessions.append(session)
        return session

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.data_dir / 'server.sqlite3'}?mode=ro", uri=True)
        try:
            return conn.execute(query, params).fetchall()
        finally:
            conn.close()


def engine(session: Session, **kwargs: Any) -> SyncEngine:
    kwargs.setdefault("backoff", FAST)
    return SyncEngine(session, **kwargs)


def sync(session: Session, **kwargs: Any) -> SyncReport:
    return engine(session, **kwargs).sync()


@contextmanager
def serve(data_dir: Path, log_dir: Path, port: int | None = None) -> Iterator[
        tuple[str, subprocess.Popen[bytes]]]:
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "server.log").open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, "--data", str(data_dir), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--enrol-limit", "1000"], stdout=out, stderr=out, cwd=ROOT,
            env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {(log_dir / 'server.log').read_text()}")
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=1, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("server did not start")
            time.sleep(0.05)
        yield url, process
    finally:
        stop_process(process)


@contextmanager
def running_program(tmp_path: Path) -> Iterator[SyncServer]:
    """The program prepared under `tmp_path` and served; every profile opened through it is
    locked afterwards."""
    data_dir = tmp_path / "server"
    prepare(data_dir)
    with serve(data_dir, tmp_path / "logs") as (url, process):
        found = SyncServer(url=url, data_dir=data_dir, tmp=tmp_path, process=process)
        try:
            yield found
        finally:
            for session in found.sessions:
                if session.is_open:
                    session.lock()


@pytest.fixture
def sync_server(tmp_path: Path) -> Iterator[SyncServer]:
    with running_program(tmp_path) as found:
        yield found
