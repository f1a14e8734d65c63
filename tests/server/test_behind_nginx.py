"""The server behind a real nginx, configured as docs/server.md says ("Running behind a proxy").

The nginx `server { ... }` block is read from the guide itself, so what is tested is what people
copy. Only what a test must is changed: `listen 443 ssl` becomes a free loopback port without
TLS (the certificate lines go), and `proxy_pass` points at the test server's port. nginx runs
as a child process with everything of its own (pid, logs, temp files) under the test's folder.

nginx is part of what `make check` installs (scripts/system-deps.sh test); without it these
tests fail, they are not skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partialmethod
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldapp.services.enrolment import RequestTooLarge, ServerUnreachable
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync import protocol as wire
from sync.client.engine import status_of
from sync.client.enrol import enrol
from sync.client.replica import Replica
from sync.server.cli import build_parser
from tests.conftest import PASSPHRASE, stop_process
from tests.server.conftest import ROOT, RunningServer, free_port, wait_until_healthy
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import engine, sync
from tests.sync.test_end_to_end import family

GUIDE = ROOT / "docs" / "server.md"
SECTION = "## Running behind a proxy"
START_TIMEOUT = 10.0
LOG_TIMEOUT = 5.0
PUSH = f"{wire.API}/sync/push"
NOT_INSTALLED = ("nginx is not installed (no `nginx` on PATH or in /usr/sbin): `make check` "
                 "installs it (scripts/system-deps.sh test), or run `apt-get install nginx`.")


# -- the guide's block -----------------------------------------------------------------------

def documented_server_block() -> str:
    """The nginx `server { ... }` block of the guide's "Running behind a proxy" section."""
    text = GUIDE.read_text(encoding="utf-8")
    section = re.search(rf"^{re.escape(SECTION)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if section is None:
        pytest.fail(f"{GUIDE.relative_to(ROOT)} has no section {SECTION!r}")
    block = re.search(r"^```[a-z]*\n(server \{\n.*?\n\})\n```$", section.group(1), re.M | re.S)
    if block is None:
        pytest.fail(f"no nginx `server {{ ... }}` block in a code fence under {SECTION!r} of "
                    f"{GUIDE.relative_to(ROOT)}")
    return block.group(1)


def directive(block: str, name: str) -> str:
    """The value of the one `name ...;` line of `block` (comments left out)."""
    found = re.findall(rf"^\s*{name}\s+([^;#]+);", block, re.M)
    assert len(found) == 1, f"the guide's nginx block should set {name} once: {found}"
    return str(found[0]).strip()


def size_in_bytes(value: str) -> int:
    """An nginx size (`7m`, `512k`, `1000`) in bytes, as nginx reads it."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, f"not an nginx size: {value!r}"
    return int(match.group(1)) << 10 * " kmg".index(match.group(2).lower() or " ")


def seconds(value: str) -> float:
    """An nginx time (`10s`, `1m`, `30`) in seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert match, f"not an nginx time: {value!r}"
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    return int(match.group(1)) * unit


def for_the_test(block: str, *, port: int, upstream_port: int) -> str:
    """The guide's block with only what a test must change: no TLS, a free loopback port, and
    the test server as upstream."""
    def sub(pattern: str, repl: str, text: str, count: int, what: str) -> str:
        new, n = re.subn(pattern, repl, text, flags=re.M)
        if n != count:
            pytest.fail(f"the guide's nginx block changed shape: expected {count} {what}, "
                        f"found {n}; update {Path(__file__).name}\n{block}")
        return new

    block = sub(r"^(\s*)listen\s+443\s+ssl\s*;", rf"\g<1>listen 127.0.0.1:{port};", block, 1,
                "`listen 443 ssl;` line")
    block = sub(r"^\s*ssl_certificate(?:_key)?\s[^;]*;[^\n]*\n", "", block, 2,
                "ssl_certificate lines")
    return sub(r"(proxy_pass\s+http://127\.0\.0\.1:)8080(\s*;)", rf"\g<1>{upstream_port}\g<2>",
               block, 1, "`proxy_pass http://127.0.0.1:8080;` line")


# -- nginx -----------------------------------------------------------------------------------

def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.fail(NOT_INSTALLED)
    return found


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]
    error_log: Path
    access_log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=10.0)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.error_log, self.access_log)
                         if p.exists())

    def requests(self, method: str, path: str, *, at_least: int = 0) -> list[int]:
        """The status of every `method path` request in the access log, in order. nginx writes
        a request's line just after its answer: wait (a little) for `at_least` of them."""
        deadline = time.monotonic() + LOG_TIMEOUT
        while True:
            text = self.access_log.read_text() if self.access_log.exists() else ""
            found = [int(status) for status in re.findall(
                rf'"{method} {re.escape(path)}(?:\?\S*)? HTTP/[\d.]+" (\d{{3}}) ', text)]
            if len(found) >= at_least:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {at_least} {method} {path} in nginx's access log "
                            f"after {LOG_TIMEOUT} s: {self.logs()}")
            time.sleep(0.02)


def nginx_conf(binary: str, server_block: str, tmp: Path) -> str:
    """A whole nginx.conf around `server_block`: in the foreground, everything under `tmp`."""
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10,
                           check=False).stderr
    temp = [f"{kind}_temp_path {tmp / kind};" for kind in
            ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            if kind == "client_body" or f"--without-http_{kind}_module" not in built]
    # As root, nginx's workers would run as `nobody`, who cannot reach pytest's private folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return "\n".join([
        user, "daemon off;", "worker_processes 1;", f"pid {tmp / 'nginx.pid'};",
        f"error_log {tmp / 'error.log'} notice;", "events { worker_connections 64; }",
        "http {", f"    access_log {tmp / 'access.log'};", *(f"    {t}" for t in temp),
        server_block, "}", ""])


@contextmanager
def nginx_in_front_of(server: RunningServer, tmp: Path, server_block: str
                      ) -> Iterator[Nginx]:
    """nginx with `server_block` (as the guide has it) in front of `server`, until the end."""
    binary = nginx_binary()
    upstream_port = int(server.base_url.rsplit(":", 1)[1])
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(binary, for_the_test(server_block, port=port,
                                                    upstream_port=upstream_port), tmp))
    command = [binary, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=10,
                             check=False)
    if checked.returncode != 0:
        pytest.fail(f"nginx -t refuses the guide's block:\n{checked.stderr}\n{conf.read_text()}")
    with (tmp / "nginx.out").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    nginx = Nginx(f"http://127.0.0.1:{port}", process, tmp / "error.log", tmp / "access.log")
    try:
        wait_until_healthy(nginx, what="nginx", timeout=START_TIMEOUT)
        yield nginx
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def block() -> str:
    return documented_server_block()


@pytest.fixture(scope="module")
def nginx(server: RunningServer, block: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Nginx]:
    with nginx_in_front_of(server, tmp_path_factory.mktemp("nginx"), block) as running:
        yield running


@pytest.fixture
def laptop(server: RunningServer, nginx: Nginx, tmp_path: Path
           ) -> Iterator[Callable[[str], Session]]:
    """Makes a new profile enrolled through nginx as a user; each is locked at the end."""
    opened: list[Session] = []

    def enrolled(user_id: str) -> Session:
        session = Session(ProfilePaths(tmp_path / user_id))
        opened.append(session)
        session.create(PASSPHRASE)
        enrol(session, server_url=nginx.url, code=server.new_code(user_id),
              device_name=f"{user_id}-laptop")
        return session
    yield enrolled
    for session in opened:
        if session.is_open:
            session.lock()


# -- the tests -------------------------------------------------------------------------------

def test_the_guides_limits_are_the_servers(block: str) -> None:
    """The body limit lets every route's largest body through (the server then enforces each
    route's own), and the timeouts are `serve`'s defaults, as the comments say."""
    largest = max(wire.MAX_ENROL_BYTES, wire.MAX_KEY_UPLOAD_BYTES, wire.MAX_PUSH_BYTES,
                  wire.MAX_OTHER_BYTES)
    limit = size_in_bytes(directive(block, "client_max_body_size"))
    assert largest <= limit < 2 * largest, (limit, largest)
    defaults = build_parser().parse_args(["--data", "unused", "serve"])
    assert seconds(directive(block, "client_header_timeout")) == defaults.header_timeout
    assert seconds(directive(block, "client_body_timeout")) == defaults.body_timeout
    assert seconds(directive(block, "keepalive_timeout")) == defaults.keep_alive_timeout


def test_health_answers_through_nginx(nginx: Nginx) -> None:
    with nginx.client() as client:
        response = client.get("/health")
    assert response.status_code == 200, response.text
    assert response.headers["server"].startswith("nginx"), response.headers
    assert response.headers["content-type"].startswith("application/json")
    assert nginx.requests("GET", "/health", at_least=1)[-1] == 200


def test_a_push_near_the_servers_limit_reaches_the_server(server: RunningServer,
                                                          nginx: Nginx) -> None:
    """2,000,000 bytes, over nginx's own default of 1 MB: the server's answer (it refuses these
    made-up ops in its own words), not nginx's 413 page."""
    body = push_body(2_000_000)
    assert len(body) == 2_000_000 and wire.MAX_PUSH_BYTES - len(body) <= 100_000
    token = server.enrol("rc2")
    before = len(nginx.requests("POST", PUSH))
    with nginx.client() as client:
        response = client.post(PUSH, content=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code != 413, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    if response.status_code == 200:  # every op read, and answered (rejected)
        answers = wire.PushResult.model_validate(response.json()).answers
        assert len(answers) == len(json.loads(body)["ops"]), response.text
    else:
        wire.Problem.model_validate(response.json())
    assert nginx.requests("POST", PUSH, at_least=before + 1)[before:] == [response.status_code]


def test_a_body_over_the_guides_limit_gets_nginxs_own_413(server: RunningServer, nginx: Nginx,
                                                          block: str) -> None:
    """Exactly the limit passes (the server refuses it, in JSON: more than a push); one byte
    more is nginx's own HTML page, before the server sees it."""
    limit = size_in_bytes(directive(block, "client_max_body_size"))
    with nginx.client() as client:
        at_limit = client.post(PUSH, content=b" " * limit,
                               headers={"Content-Type": "application/json"})
        over = client.post(PUSH, content=b" " * (limit + 1),
                           headers={"Content-Type": "application/json"})
    assert at_limit.status_code == 413, at_limit.text
    assert at_limit.json()["error"] == "too_large", at_limit.text  # the server's Problem
    assert over.status_code == 413, over.text
    assert over.headers["content-type"].startswith("text/html"), over.headers
    assert "<center>nginx" in over.text and "413 Request Entity Too Large" in over.text


def test_the_laptop_says_plainly_that_nginx_refused_and_does_not_retry(
        nginx: Nginx, block: str, laptop: Callable[[str], Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A laptop whose batch is larger than the guide's nginx takes (as a newer laptop's might
    be): a refusal in plain words, sent once, nothing lost; then batches of the normal size
    (near 2 MB each) all go through nginx."""
    supervisor, worker = laptop("sup1"), laptop("rc1")
    case = services_of(supervisor).cases.open_case(family())
    assert sync(supervisor).verified and sync(worker).verified  # small bodies pass
    for n in range(34):  # about 240 kB sealed each, 8.2 MB in all: over the guide's 7 MiB
        services_of(worker).notes.start_draft(
            case.id, visit_details(narrative=f"{n:02} " + "w" * 180_000))
    waiting = status_of(worker)["waiting"]
    monkeypatch.setattr(Replica, "freeze", partialmethod(Replica.freeze, max_bytes=10**8))
    sent: list[int] = []
    monkeypatch.setattr(httpx.Client, "request", _measuring(httpx.Client.request, sent))
    before = nginx.requests("POST", PUSH)

    with pytest.raises(RequestTooLarge) as refused:
        engine(worker).sync()
    assert not isinstance(refused.value, ServerUnreachable)
    assert refused.value.status == 413
    message = str(refused.value)
    assert message.startswith("The server would not take this much at once. Something between "
                              "this laptop and the server (a proxy) refused it as too large.")
    assert "2.1 MB" in message and "<" not in message
    assert len(sent) == 1, f"a refusal was retried: {sent}"
    assert sent[0] > size_in_bytes(directive(block, "client_max_body_size")), sent
    assert nginx.requests("POST", PUSH, at_least=len(before) + 1)[len(before):] == [413]
    assert status_of(worker)["waiting"] == waiting, "nothing may be lost"

    monkeypatch.undo()  # batches the server takes (up to 2 MB): everything goes through nginx
    before = nginx.requests("POST", PUSH)
    report = sync(worker)
    assert report.verified and report.pushed == waiting
    assert status_of(worker)["waiting"] == 0
    pushed = nginx.requests("POST", PUSH, at_least=len(before) + 4)[len(before):]
    assert len(pushed) >= 4 and set(pushed) == {200}, pushed


def push_body(size: int) -> bytes:
    """A push of made-up ops (well-formed JSON, each field within the protocol's bounds) of
    exactly `size` bytes."""
    def op(n: int, sealed: int) -> dict[str, Any]:
        return {"op_id": f"nginx-test-op-{n:04}", "table": "visit_notes",
                "record_id": f"note-{n}", "scope": "c1", "base_rev": 0, "key_version": 1,
                "sealed": "A" * sealed, "payload_hash": "0" * 64}
    blob = 4 * wire.MAX_BLOB
    ops = [op(n, blob) for n in range(size // blob)]
    room = size - len(json.dumps({"ops": [*ops, op(len(ops), 1)]}).encode()) + 1
    assert 0 < room <= blob
    body = json.dumps({"ops": [*ops, op(len(ops), room)]}).encode()
    assert len(body) == size, len(body)
    return body


def _measuring(request: Any, sent: list[int]) -> Any:
    """httpx.Client.request, noting the size of every push body sent."""
    def measured(client: httpx.Client, method: str, url: Any, **kwargs: Any) -> Any:
        if str(url).endswith("/sync/push"):
            sent.append(len(json.dumps(kwargs.get("json"), separators=(",", ":")).encode()))
        return request(client, method, url, **kwargs)
    return measured
