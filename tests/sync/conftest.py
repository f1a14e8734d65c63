"""Sync as people meet it: a real `fieldapp-server serve` process on 127.0.0.1 and several real
client profiles (each its own SQLite vault) enrolled with one-time codes.

The program: team t1 has recovery coordinator rc1, intact worker iw1 and supervisor sup1; team
t2 has rc2 and sup2. Case c1 (rc1, iw1) was set up by the administrator; other cases are set up
by supervisors from their laptops during the tests. The server is prepared in-process with the
same store the admin command line uses (faster than one process per command), then served by
its own process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync.client.engine import SyncEngine, SyncReport
from sync.client.enrol import enrol
from sync.client.http import Backoff
from tests.conftest import PASSPHRASE, FakeClock
from tests.real_server import (
    ROOT,
    OpenCase,
    Program,
    RealServer,
    enrolment_code,
    read_only,
    serving,
)

__all__ = ["ROOT"]  # tests import it from here too

USERS = {
    "rc1": ("Rosa Coordinator", "recovery coordinator", "t1"),
    "iw1": ("Ian Worker", "intact worker", "t1"),
    "sup1": ("Sam Supervisor", "supervisor", "t1"),
    "rc2": ("Ruth Coordinator", "recovery coordinator", "t2"),
    "sup2": ("Sue Supervisor", "supervisor", "t2"),
}
PROGRAM = Program(teams={"t1": "North team", "t2": "South team"}, people=USERS,
                  cases={"c1": OpenCase("t1", coordinator="rc1", intact_worker="iw1")},
                  settings={"mileage_cap": "150"})
FAST = Backoff(attempts=4, base=0.01, cap=0.05)


def prepare(data_dir: Path) -> None:
    PROGRAM.set_up_in_process(data_dir)


@dataclass
class SyncServer:
    """A running server and the client profiles enrolled with it in one test."""

    url: str
    data_dir: Path
    tmp: Path
    process: subprocess.Popen[bytes]
    sessions: list[Session] = field(default_factory=list)
    # Each user's recovery code, as shown at their first enrolment: their later laptops need it.
    recovery_codes: dict[str, str] = field(default_factory=dict)

    def code(self, user_id: str) -> str:
        return enrolment_code(self.data_dir, user_id)

    def device(self, name: str, user_id: str, *, clock: FakeClock | None = None,
               url: str | None = None) -> Session:
        """A new profile on its own folder, enrolled as `user_id` (through `url` if given); a
        later laptop of the same user recovers their keys with the code shown at the first."""
        session = Session(ProfilePaths(self.tmp / name), clock=clock or FakeClock())
        session.create(PASSPHRASE)
        done = enrol(session, server_url=url or self.url, code=self.code(user_id),
                     device_name=name, recovery_code=self.recovery_codes.get(user_id, ""))
        if done.recovery_code:
            self.recovery_codes[user_id] = done.recovery_code
        self.sessions.append(session)
        return session

    def reopen(self, name: str, *, clock: FakeClock | None = None) -> Session:
        session = Session(ProfilePaths(self.tmp / name), clock=clock or FakeClock())
        session.unlock(PASSPHRASE)
        self.sessions.append(session)
        return session

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = read_only(self.data_dir)
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
    """`serve` on `data_dir` (at `port`, or a free one), enrolment unlimited; its URL and
    process. Its output goes to `log_dir`/server.log."""
    with serving(RealServer, data_dir, stdout=log_dir / "server.log", port=port,
                 extra_args=("--enrol-limit", "1000")) as server:
        yield server.base_url, server.process


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
