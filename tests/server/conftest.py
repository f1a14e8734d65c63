"""The central server as people run it: a data folder set up with the admin command line, then
the real `serve` process on a free loopback port, talked to over HTTP(S) with httpx.

The program has two teams. Team t1: recovery coordinator rc1, intact worker iw1 and supervisor
sup1; case c1 is rc1's and iw1's. Team t2: recovery coordinator rc2 and supervisor sup2; case c2
is rc2's. adm is the program's administrator. Nobody is enrolled yet: tests enrol the devices
they need (the server allows ten enrolment attempts per address and window, so a module with
more needs a second server).
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from tests.conftest import stop_process

ROOT = Path(__file__).resolve().parents[2]
PROGRAM_NAME = "Riverbend Family Recovery"
CLI = "from sync.server.cli import main; raise SystemExit(main())"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

TEAMS = {"t1": "North team", "t2": "South team"}
USERS = {  # id: (name, role, team)
    "rc1": ("Rosa Coordinator", "recovery coordinator", "t1"),
    "iw1": ("Ian Worker", "intact worker", "t1"),
    "rc2": ("Ruth Coordinator", "recovery coordinator", "t2"),
    "sup1": ("Sam Supervisor", "supervisor", "t1"),
    "sup2": ("Sue Supervisor", "supervisor", "t2"),
    "adm": ("Ada Admin", "admin", None),
}


def _env() -> dict[str, str]:
    """The child's environment: ours, unbuffered, and no proxy that could take a request away."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(data_dir: Path, *args: str, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
    """`fieldapp-server --data DATA_DIR ARGS...` as a separate process, as an administrator runs
    it; with `check`, a non-zero exit fails the test with the command's own words."""
    result = subprocess.run([sys.executable, "-c", CLI, "--data", str(data_dir), *args],
                            capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=60,
                            check=False)
    if check and result.returncode != 0:
        pytest.fail(f"fieldapp-server {' '.join(args)} exited {result.returncode}: "
                    f"{result.stdout}{result.stderr}")
    return result


def prepare_program(data_dir: Path) -> None:
    """Set up the program, its teams, people and two cases with the admin command line."""
    run_cli(data_dir, "init", "--name", PROGRAM_NAME)
    for team_id, name in TEAMS.items():
        run_cli(data_dir, "team-add", team_id, "--name", name)
    for user_id, (name, role, team) in USERS.items():
        run_cli(data_dir, "user-add", user_id, "--name", name, "--role", role,
                *(("--team", team) if team else ()))
    run_cli(data_dir, "case-add", "c1", "--team", "t1", "--coordinator", "rc1",
            "--intact-worker", "iw1")
    run_cli(data_dir, "case-add", "c2", "--team", "t2", "--coordinator", "rc2")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def db_snapshot(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the server's database, read through a read-only connection.

    Left out is the bookkeeping every request may touch by design: the failed-attempt counters
    (`attempts`) and each device's `last_seen`.
    """
    uri = f"file:{data_dir / 'server.sqlite3'}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
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
class RunningServer:
    """A `fieldapp-server serve` process and the ways a test talks to it."""

    base_url: str
    data_dir: Path
    stdout_path: Path
    stderr_path: Path
    process: subprocess.Popen[bytes]
    verify: ssl.SSLContext | bool = True
    codes: list[str] = field(default_factory=list)  # every code handed out, for secrecy scans

    def client(self) -> httpx.Client:
        """An httpx client bound to this server (and nowhere else: no proxies from the env)."""
        return httpx.Client(base_url=self.base_url, verify=self.verify, trust_env=False,
                            timeout=10.0)

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

    def logs(self) -> str:
        """What the server process has written to stdout and stderr so far."""
        return (self.stdout_path.read_text(errors="replace")
                + self.stderr_path.read_text(errors="replace"))

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM), then kill it if it has not within bounded time."""
        stop_process(self.process, STOP_TIMEOUT)


@contextmanager
def running_server(data_dir: Path, log_dir: Path, *, cert: Path | None = None,
                   key: Path | None = None, verify: ssl.SSLContext | bool = True,
                   extra_args: Sequence[str] = ()) -> Iterator[RunningServer]:
    """Start `serve` on a free loopback port (HTTPS with `cert` and `key`; `extra_args` are
    more flags of `serve`), wait until /health answers, and always stop the process
    afterwards. Its output goes to files in `log_dir`."""
    port = free_port()
    tls = ("--cert", str(cert), "--key", str(key)) if cert and key else ()
    scheme = "https" if tls else "http"
    log_dir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = log_dir / "server.stdout", log_dir / "server.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, "--data", str(data_dir), "serve", "--host", "127.0.0.1",
             "--port", str(port), *tls, *extra_args], stdout=out, stderr=err, cwd=ROOT,
            env=_env())
    server = RunningServer(f"{scheme}://127.0.0.1:{port}", data_dir, stdout_path, stderr_path,
                           process, verify)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        server.stop()


class Answering(Protocol):
    """A process a test started that answers HTTP: the server, or a proxy in front of it."""

    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client: ...

    def logs(self) -> str: ...


def wait_until_healthy(peer: Answering, *, what: str = "the server",
                       timeout: float = START_TIMEOUT) -> None:
    """Until `peer` answers /health with 200; the test fails with its logs if it exits first
    or does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with peer.client() as client:
        while time.monotonic() < deadline:
            if peer.process.poll() is not None:
                pytest.fail(f"{what} exited {peer.process.returncode}: {peer.logs()}")
            with suppress(httpx.TransportError):
                if client.get("/health").status_code == 200:
                    return
            time.sleep(0.05)
    pytest.fail(f"{what} did not answer /health within {timeout} s: {peer.logs()}")


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
