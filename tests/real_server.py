"""A real `fieldapp-server` for the tests and the benches: a program set up from a short
declaration (its teams, people and cases), then `serve` on a free loopback port, waited for
until /health answers and always stopped afterwards (SIGTERM, then kill).

tests/server, tests/sync and bench/ use it (a bench puts the repository's root on sys.path and
imports `tests.real_server`). It imports neither pytest nor Qt; what goes wrong raises
`ServerError` with the command's or the server's own words.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
CLI = "from sync.server.cli import main; raise SystemExit(main())"
FROM_SOURCE = (sys.executable, "-c", CLI)  # `fieldapp-server` from this checkout
PROGRAM_NAME = "Riverbend Family Recovery"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

Person = tuple[str, str, str | None]  # name, role, team (None: the program's, as an admin is)


class ServerError(Exception):
    """The server did not start, or an admin command failed; the message holds their output."""


@dataclass(frozen=True)
class OpenCase:
    """A case the administrator opened for a team, with whom it is assigned to."""

    team: str
    coordinator: str | None = None
    intact_worker: str | None = None


@dataclass(frozen=True)
class Program:
    """A program as it stands before anyone enrols: teams (id: name), people (id: (name, role,
    team)), the cases the administrator opened (id: OpenCase) and the rules given to `init`."""

    teams: Mapping[str, str]
    people: Mapping[str, Person]
    cases: Mapping[str, OpenCase] = field(default_factory=dict)
    name: str = PROGRAM_NAME
    settings: Mapping[str, str] = field(default_factory=dict)

    def set_up_by_command_line(self, data_dir: Path) -> None:
        """As an administrator does it: one `fieldapp-server` command each (each audited; `init`
        adds the default rules to the given ones)."""
        rules = ("--settings", json.dumps(dict(self.settings))) if self.settings else ()
        run_cli(data_dir, "init", "--name", self.name, *rules)
        for team_id, name in self.teams.items():
            run_cli(data_dir, "team-add", team_id, "--name", name)
        for user_id, (name, role, team) in self.people.items():
            run_cli(data_dir, "user-add", user_id, "--name", name, "--role", role,
                    *(("--team", team) if team else ()))
        for case_id, case in self.cases.items():
            run_cli(data_dir, "case-add", case_id, "--team", case.team,
                    *(("--coordinator", case.coordinator) if case.coordinator else ()),
                    *(("--intact-worker", case.intact_worker) if case.intact_worker else ()))

    def set_up_in_process(self, data_dir: Path) -> None:
        """The same through the store the command line writes with, in this process: much
        faster, but without audit entries, and the rules are stored exactly as given."""
        from sync.server.store import ServerStore  # noqa: PLC0415 - not every user needs it

        store = ServerStore(data_dir)
        now = datetime.now(UTC).isoformat()
        try:
            store.init_program(self.name, dict(self.settings))
            for team_id, name in self.teams.items():
                store.add_team(team_id, name)
            for user_id, (name, role, team) in self.people.items():
                store.add_user(user_id, name, role, team, now=now)
            for case_id, case in self.cases.items():
                store.add_case(case_id, team_id=case.team, coordinator_id=case.coordinator,
                               intact_worker_id=case.intact_worker, now=now)
        finally:
            store.close()


def child_env() -> dict[str, str]:
    """A child's environment: ours, unbuffered, and no proxy that could take a request away."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(data_dir: Path, *args: str, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
    """`fieldapp-server --data DATA_DIR ARGS...` as a separate process, as an administrator runs
    it; with `check`, a non-zero exit raises `ServerError` with the command's own words."""
    result = subprocess.run([*FROM_SOURCE, "--data", str(data_dir), *args],
                            capture_output=True, text=True, cwd=ROOT, env=child_env(),
                            timeout=60, check=False)
    if check and result.returncode != 0:
        raise ServerError(f"fieldapp-server {' '.join(args)} exited {result.returncode}: "
                          f"{result.stdout}{result.stderr}")
    return result


def enrolment_code(data_dir: Path, user_id: str) -> str:
    """A one-time enrolment code for `user_id`, made in this process (as `code` would)."""
    from sync.server.store import ServerStore  # noqa: PLC0415 - not every user needs it

    store = ServerStore(data_dir)
    try:
        return store.create_code(user_id, now=datetime.now(UTC))
    finally:
        store.close()


def read_only(data_dir: Path) -> sqlite3.Connection:
    """The server's database, opened read-only (the server may be running)."""
    return sqlite3.connect(f"file:{data_dir / 'server.sqlite3'}?mode=ro", uri=True)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str],
                 timeout: float = STOP_TIMEOUT) -> None:
    """Ask a process we started to stop (SIGTERM); kill it if it has not within `timeout`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def wait_for_health(client: httpx.Client, *, exited: Callable[[], str | None],
                    logs: Callable[[], str], what: str = "the server",
                    timeout: float = START_TIMEOUT) -> None:
    """Until GET /health through `client` answers 200. `exited` says how the server ended, or
    None while it runs; an ended server, or no answer within `timeout` seconds, raises
    `ServerError` with `logs()`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = exited()
        if ended is not None:
            raise ServerError(f"{what} {ended}: {logs()}")
        with suppress(httpx.TransportError):
            if client.get("/health").status_code == 200:
                return
        time.sleep(0.05)
    raise ServerError(f"{what} did not answer /health within {timeout} s: {logs()}")


class Answering(Protocol):
    """A process we started that answers HTTP: the server, or a proxy in front of it."""

    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client: ...

    def logs(self) -> str: ...


def wait_until_healthy(peer: Answering, *, what: str = "the server",
                       timeout: float = START_TIMEOUT) -> None:
    """Until `peer` answers /health with 200; `ServerError` with its logs if it exits first or
    does not answer within `timeout` seconds."""
    def exited() -> str | None:
        code = peer.process.poll()
        return None if code is None else f"exited {code}"

    with peer.client() as client:
        wait_for_health(client, exited=exited, logs=peer.logs, what=what, timeout=timeout)


@dataclass
class RealServer:
    """A `fieldapp-server serve` process on 127.0.0.1 and where its output goes."""

    base_url: str
    data_dir: Path
    stdout_path: Path
    stderr_path: Path
    process: subprocess.Popen[bytes]
    verify: ssl.SSLContext | bool = True

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def client(self) -> httpx.Client:
        """An httpx client bound to this server (and nowhere else: no proxies from the env)."""
        return httpx.Client(base_url=self.base_url, verify=self.verify, trust_env=False,
                            timeout=10.0)

    def logs(self) -> str:
        """What the server process has written to stdout and stderr so far."""
        paths = dict.fromkeys((self.stdout_path, self.stderr_path))
        return "".join(path.read_text(errors="replace") for path in paths)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the server to stop (SIGTERM), then kill it if it has not within `timeout`."""
        stop_process(self.process, timeout)


Server = TypeVar("Server", bound=RealServer)


@contextmanager
def serving(kind: type[Server], data_dir: Path, *, stdout: Path, stderr: Path | None = None,
            port: int | None = None, cert: Path | None = None, key: Path | None = None,
            verify: ssl.SSLContext | bool = True, extra_args: Sequence[str] = (),
            command: Sequence[str] = FROM_SOURCE, timeout: float = START_TIMEOUT,
            stop_timeout: float = STOP_TIMEOUT) -> Iterator[Server]:
    """`serve` on `data_dir`, on 127.0.0.1 at `port` (a free one if None), as a `kind`: HTTPS
    with `cert` and `key`, `extra_args` more flags of `serve`, `command` the `fieldapp-server`
    to run. Waits up to `timeout` seconds for /health, and always stops the process on
    leaving. Its output is appended to `stdout` and `stderr` (the same file if None)."""
    port = port or free_port()
    tls = ("--cert", str(cert), "--key", str(key)) if cert and key else ()
    stderr = stderr or stdout
    stdout.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as files:
        out = files.enter_context(stdout.open("ab"))
        err = out if stderr == stdout else files.enter_context(stderr.open("ab"))
        process = subprocess.Popen(
            [*command, "--data", str(data_dir), "serve", "--host", "127.0.0.1", "--port",
             str(port), *tls, *extra_args], stdout=out, stderr=err, cwd=ROOT, env=child_env())
    server = kind(f"{'https' if tls else 'http'}://127.0.0.1:{port}", data_dir, stdout, stderr,
                  process, verify)
    try:
        wait_until_healthy(server, timeout=timeout)
        yield server
    finally:
        server.stop(stop_timeout)
