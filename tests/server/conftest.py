"""The central server as people run it: a data folder set up with the admin command line, then
the real `serve` process on a free loopback port, talked to over HTTP(S) with httpx.

The program has two teams. Team t1: recovery coordinator rc1, intact worker iw1 and supervisor
sup1; case c1 is rc1's and iw1's. Team t2: recovery coordinator rc2 and supervisor sup2; case c2
is rc2's. adm is the program's administrator. Nobody is enrolled yet: tests enrol the devices
they need (the server allows ten enrolment attempts per address and window, so a module with
more needs a second server).
"""

from __future__ import annotations

import re
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.real_server import (
    CLI,
    PROGRAM_NAME,
    ROOT,
    OpenCase,
    Program,
    RealServer,
    free_port,
    read_only,
    run_cli,
    serving,
    wait_until_healthy,
)

# Tests import these from here too.
__all__ = ["CLI", "PROGRAM_NAME", "ROOT", "free_port", "run_cli", "wait_until_healthy"]

TEAMS = {"t1": "North team", "t2": "South team"}
USERS = {  # id: (name, role, team)
    "rc1": ("Rosa Coordinator", "recovery coordinator", "t1"),
    "iw1": ("Ian Worker", "intact worker", "t1"),
    "rc2": ("Ruth Coordinator", "recovery coordinator", "t2"),
    "sup1": ("Sam Supervisor", "supervisor", "t1"),
    "sup2": ("Sue Supervisor", "supervisor", "t2"),
    "adm": ("Ada Admin", "admin", None),
}
PROGRAM = Program(teams=TEAMS, people=USERS, cases={
    "c1": OpenCase("t1", coordinator="rc1", intact_worker="iw1"),
    "c2": OpenCase("t2", coordinator="rc2")})


def prepare_program(data_dir: Path) -> None:
    """Set up the program, its teams, people and two cases with the admin command line."""
    PROGRAM.set_up_by_command_line(data_dir)


def db_snapshot(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the server's database, read through a read-only connection.

    Left out is the bookkeeping every request may touch by design: the failed-attempt counters
    (`attempts`) and each device's `last_seen`.
    """
    conn = read_only(data_dir)
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        snapshot: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            if table == "attempts":
                continue
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            kept = ", ".join(c for c in columns if (table, c) != ("devices", "last_seen"))
            query = f"SELECT {kept} FROM {table}"  # noqa: S608 - names from sqlite_master
            snapshot[table] = sorted(conn.execute(query).fetchall(), key=repr)
        return snapshot
    finally:
        conn.close()


@dataclass
class RunningServer(RealServer):
    """A `fieldapp-server serve` process and the ways a test talks to it."""

    codes: list[str] = field(default_factory=list)  # every code handed out, for secrecy scans

    def request(self, method: str, path: str, *, token: str | None = None,
                json: Any = None) -> httpx.Response:
        """One request, with the device token as a bearer token when given."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        with self.client() as client:
            return client.request(method, path, headers=headers, json=json)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The admin command line on this server's data folder (the server keeps running)."""
        return run_cli(self.data_dir, *args, check=check)

    def new_code(self, user_id: str) -> str:
        """A one-time enrolment code for `user_id`, read from `code`'s output as a person would."""
        out = self.cli("code", user_id).stdout
        match = re.search(r"Enrolment code for \S+ .*: (\S+)\s*$", out)
        assert match, f"no code in {out!r}"
        self.codes.append(match.group(1))
        return match.group(1)

    def enrol_with(self, code: str, *, device_name: str = "laptop",
                   public_key: str | None = None,
                   wrapped_private_key: str | None = None) -> httpx.Response:
        """POST /v1/enrol with `code`; the raw response."""
        body: dict[str, Any] = {"code": code, "device_name": device_name}
        if public_key is not None:
            body["public_key"] = public_key
        if wrapped_private_key is not None:
            body["wrapped_private_key"] = wrapped_private_key
        return self.request("POST", "/v1/enrol", json=body)

    def enrol_device(self, user_id: str, **kwargs: Any) -> dict[str, Any]:
        """Enrol a new device for `user_id` (new code, then POST /v1/enrol); the response body."""
        response = self.enrol_with(self.new_code(user_id), **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def enrol(self, user_id: str, **kwargs: Any) -> str:
        """Enrol a new device for `user_id`; its device token."""
        token: str = self.enrol_device(user_id, **kwargs)["device_token"]
        return token

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return db_snapshot(self.data_dir)


@contextmanager
def running_server(data_dir: Path, log_dir: Path, *, cert: Path | None = None,
                   key: Path | None = None, verify: ssl.SSLContext | bool = True,
                   extra_args: Sequence[str] = ()) -> Iterator[RunningServer]:
    """Start `serve` on a free loopback port (HTTPS with `cert` and `key`; `extra_args` are
    more flags of `serve`), wait until /health answers, and always stop the process
    afterwards. Its output goes to files in `log_dir`."""
    with serving(RunningServer, data_dir, stdout=log_dir / "server.stdout",
                 stderr=log_dir / "server.stderr", cert=cert, key=key, verify=verify,
                 extra_args=extra_args) as server:
        yield server


@contextmanager
def prepared_server(root: Path, *, extra_args: Sequence[str] = ()) -> Iterator[RunningServer]:
    """A new data folder under `root`, set up with the command line, and its running server
    (`extra_args`: more flags of `serve`)."""
    data_dir = root / "data"
    prepare_program(data_dir)
    with running_server(data_dir, root / "logs", extra_args=extra_args) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One prepared, running server shared by the tests of a module."""
    with prepared_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A prepared, running server of the test's own (for per-address limits, say)."""
    with prepared_server(tmp_path) as running:
        yield running
