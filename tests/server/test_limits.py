"""What the server refuses before it reads a body, and the connections it does not keep: a real
`serve` process on 127.0.0.1, spoken to over raw sockets where a well-behaved client (httpx)
could not misbehave enough.

- A declared body over the route's limit is refused (413) at once, before a byte of it is read;
  a chunked one is cut (413) as soon as it passes the limit.
- A missing, unknown or revoked token is refused before the body, and failed sign-ins and
  enrolment attempts are counted before it, so a body too large or not JSON changes nothing.
- A request head that stalls is closed after --header-timeout, a body that stalls gets 408 after
  --body-timeout (or --body-deadline for the whole), and /health answers while hundreds of
  stalled connections are held, even when the server was started with a small open-files limit.

Each test uses its own client address (127.0.0.x: all of 127/8 is loopback), so the per-address
attempt counters of one test do not reach another's.
"""

from __future__ import annotations

import json
import resource
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sync import protocol as wire
from tests.server.conftest import RunningServer, prepared_server

MIB = 1 << 20
PUSH = f"{wire.API}/sync/push"
ENROL = f"{wire.API}/enrol"
# The module's server: short timeouts, so a stall is seen in a second or two.
FAST = ("--header-timeout", "1", "--body-timeout", "1", "--body-deadline", "3",
        "--auth-failure-limit", "3", "--enrol-limit", "3")
PROMPT = 2.0      # seconds within which an answer given before the body must come
SLOW = 6.0        # seconds after which a stalled connection counts as kept for ever


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        assert set(found) == {"error", "message", "wipe"}, found
        return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with prepared_server(tmp_path_factory.mktemp("limits"), extra_args=FAST) as running:
        yield running


@pytest.fixture(scope="module")
def token(server: RunningServer) -> str:
    return server.enrol("rc1", device_name="rc1 laptop")


def connect(server: RunningServer, source: str = "127.0.0.1") -> socket.socket:
    url = urlsplit(server.base_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(PROMPT)
    sock.connect((url.hostname or "127.0.0.1", url.port or 80))
    return sock


def head(method: str, path: str, *, token: str | None = None, length: int | None = None,
         chunked: bool = False) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket, timeout: float = PROMPT) -> Answer:
    """One whole response (Content-Length framing, as the server answers), within `timeout`."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed without an answer: {data!r}"
        data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside the answer"
        body += chunk
    return Answer(int(lines[0].split()[1]), headers, body)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (None: still open after `seconds`); what
    it sent before closing is read and dropped."""
    started = time.monotonic()
    while (left := seconds - (time.monotonic() - started)) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - started
        except TimeoutError:
            return None
        except ConnectionResetError:
            return time.monotonic() - started
    return None


def attempts(server: RunningServer) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{server.data_dir / 'server.sqlite3'}?mode=ro", uri=True)
    try:
        return sorted(conn.execute("SELECT * FROM attempts").fetchall())
    finally:
        conn.close()


def memory_kib(server: RunningServer) -> int:
    """The server process's peak resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


# -- sizes -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "said"), [(PUSH, "2.1 MB"), (ENROL, "262 kB")])
def test_a_huge_declared_body_without_a_token_is_refused_at_once(
        server: RunningServer, path: str, said: str) -> None:
    before, counted = server.snapshot(), attempts(server)
    with connect(server, "127.0.0.11") as sock:
        sock.sendall(head("POST", path, length=50 * MIB) + b'{"ops": [')
        started = time.monotonic()
        answer = read_answer(sock)
        assert time.monotonic() - started < PROMPT
        assert answer.status == 413
        assert answer.problem() == {
            "error": "too_large", "wipe": False,
            "message": f"The request is larger than the server accepts (at most {said})."}
        assert answer.headers["connection"] == "close"
        assert closed_within(sock, SLOW) is not None, "the connection was kept"
    assert server.snapshot() == before
    assert attempts(server) == counted, "a refusal for size counted an attempt"
    assert memory_kib(server) < 200 * 1024


def test_a_chunked_body_over_the_limit_is_cut(server: RunningServer, token: str) -> None:
    before = server.snapshot()
    chunk = b"A" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with connect(server, "127.0.0.12") as sock:
        sock.sendall(head("POST", PUSH, token=token, chunked=True))
        answer: Answer | None = None
        while sent < 32 * MIB:  # never the last chunk: only the server can end this
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            sock.setblocking(False)
            try:
                peek = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                peek = None
            sock.setblocking(True)
            if peek:
                break
        answer = read_answer(sock)
        assert answer.status == 413, answer
        assert answer.problem()["error"] == "too_large"
        assert sent < 32 * MIB, "the answer came only after the whole body was sent"
        assert closed_within(sock, SLOW) is not None, "the connection was kept"
    assert server.snapshot() == before
    # Within the limit, a push is read as before (an empty batch: the model refuses it, 422).
    with connect(server, "127.0.0.12") as sock:
        sock.sendall(head("POST", PUSH, token=token, length=11) + b'{"ops": []}')
        assert read_answer(sock).status == 422


def test_a_chunked_enrolment_over_its_limit_is_cut(server: RunningServer) -> None:
    with connect(server, "127.0.0.13") as sock:
        sock.sendall(head("POST", ENROL, chunked=True))
        frame = b"10000\r\n" + b"B" * 65536 + b"\r\n"
        for _ in range(wire.MAX_ENROL_BYTES // 65536 + 1):
            sock.sendall(frame)
        answer = read_answer(sock)
    assert answer.status == 413 and answer.problem()["error"] == "too_large"


# -- sign-in before the body -------------------------------------------------------------------

def test_a_bad_token_is_refused_before_the_body(server: RunningServer) -> None:
    for method, path in (("POST", PUSH), ("PUT", f"{wire.API}/cases/c1/keys")):
        with connect(server, "127.0.0.14") as sock:
            sock.sendall(head(method, path, token="not-a-token", length=MIB) + b'{"ke')
            answer = read_answer(sock)
            assert answer.status == 401
            assert answer.problem() == {
                "error": "not_enrolled", "wipe": False,
                "message": "This device is not enrolled with the server."}
            assert closed_within(sock, SLOW) is not None


def test_a_revoked_device_gets_the_wipe_order_before_the_body(server: RunningServer) -> None:
    revoked = server.enrol_device("iw1", device_name="old laptop")
    server.cli("revoke", revoked["device_id"])
    with connect(server, "127.0.0.15") as sock:
        sock.sendall(head("POST", PUSH, token=revoked["device_token"], length=MIB) + b"{")
        answer = read_answer(sock)
    assert answer.status == 401
    assert answer.problem() == {"error": "device_revoked", "wipe": True, "message":
                                "This device has been revoked. Its FieldApp data will be "
                                "removed."}


def test_failed_sign_ins_are_counted_whatever_the_body(server: RunningServer, token: str
                                                       ) -> None:
    """--auth-failure-limit 3: the fourth bad token from an address is slowed down, though no
    body was JSON and one was never sent in full; a good token from there still works."""
    bodies = [b"{{{ not json", b"\xff\xfe", b"[" * 1000, None]
    statuses = []
    for body in [*bodies, b"{{{ not json"]:
        with connect(server, "127.0.0.16") as sock:
            if body is None:  # a large body, never sent
                sock.sendall(head("POST", PUSH, token="nope", length=2 * MIB) + b"{")
            else:
                sock.sendall(head("POST", PUSH, token="nope", length=len(body)) + body)
            answer = read_answer(sock)
            statuses.append((answer.status, answer.problem()["error"]))
    assert statuses == [(401, "not_enrolled")] * 3 + [(429, "slow_down")] * 2
    with connect(server, "127.0.0.16") as sock:
        sock.sendall(head("GET", f"{wire.API}/me", token=token))
        assert read_answer(sock).status == 200


def test_enrolment_attempts_are_counted_before_the_body(server: RunningServer) -> None:
    """--enrol-limit 3: the fourth attempt is slowed down, though none was JSON."""
    statuses = []
    for _ in range(4):
        with connect(server, "127.0.0.17") as sock:
            sock.sendall(head("POST", ENROL, length=9) + b"not json!")
            statuses.append(read_answer(sock).status)
    assert statuses == [422, 422, 422, 429]


# -- stalls ------------------------------------------------------------------------------------

def test_a_stalled_head_is_closed(server: RunningServer) -> None:
    """--header-timeout 1: half a head, or nothing at all, is closed within about a second."""
    with connect(server, "127.0.0.18") as half, connect(server, "127.0.0.18") as silent:
        half.sendall(b"POST /v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for sock in (half, silent):
            took = closed_within(sock, SLOW)
            assert took is not None, "a stalled head was kept"
            assert took < 3


def test_a_head_trickled_after_a_kept_alive_request_is_closed(server: RunningServer) -> None:
    """uvicorn's keep-alive timer stops at the next request's first byte: the head timeout
    takes over from there."""
    with connect(server, "127.0.0.19") as sock:
        sock.sendall(head("GET", "/health"))
        assert read_answer(sock).status == 200
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        took = closed_within(sock, SLOW)
        assert took is not None and took < 3


def test_a_stalled_body_is_answered_408_and_closed(server: RunningServer, token: str) -> None:
    """--body-timeout 1: a body that stops coming; --body-deadline 3: one that keeps trickling."""
    with connect(server, "127.0.0.20") as sock:
        sock.sendall(head("POST", PUSH, token=token, length=1000) + b'{"ops": [')
        answer = read_answer(sock, timeout=SLOW)
        assert answer.status == 408 and answer.problem()["error"] == "too_slow"
        assert closed_within(sock, PROMPT) is not None
    with connect(server, "127.0.0.20") as sock:
        sock.sendall(head("POST", PUSH, token=token, length=1000))
        started = time.monotonic()
        sock.setblocking(False)
        answered = b""
        while time.monotonic() - started < SLOW and not answered:
            try:
                sock.send(b" ")
                answered = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.3)
        sock.setblocking(True)
        assert 2.5 < time.monotonic() - started < 5
        answer = read_answer(sock)
        assert answer.status == 408


# -- many stalled connections ------------------------------------------------------------------

@contextmanager
def inherited_descriptor_limit(soft: int) -> Iterator[None]:
    """A process started inside begins with this soft open-files limit (a systemd service
    starts with 1,024), the hard limit as it is."""
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


def test_health_answers_while_many_stalled_connections_are_held(tmp_path: Path) -> None:
    """300 stalled connections (half a head or half a body each) against a server started with
    a soft limit of 200 open files (a systemd service starts with 1,024): it raises its limit to
    the hard one and keeps answering /health."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1000:
        pytest.skip(f"the hard open-files limit here is {hard}")
    soft = max(200, len(list(Path("/proc/self/fd").iterdir())) + 64)  # this process starts it
    with ExitStack() as stack:
        with inherited_descriptor_limit(soft):
            server = stack.enter_context(prepared_server(tmp_path))
        token = server.enrol("rc1", device_name="rc1 laptop")
        stalled = []
        for n in range(soft + 100):
            sock = stack.enter_context(connect(server, f"127.0.1.{n % 200 + 1}"))
            if n % 2:
                sock.sendall(b"GET /v1/sync/pull HTTP/1.1\r\nHost: 12")
            else:
                sock.sendall(head("POST", PUSH, token=token, length=10_000) + b'{"ops": [')
            stalled.append(sock)
        time.sleep(0.5)  # the server has taken them all in
        for _ in range(5):
            started = time.monotonic()
            with connect(server, "127.0.0.21") as sock:
                sock.sendall(head("GET", "/health"))
                assert read_answer(sock).status == 200
            assert time.monotonic() - started < PROMPT
        held = len(list(Path(f"/proc/{server.process.pid}/fd").iterdir()))
        assert held >= len(stalled), f"the server holds {held} descriptors"
        assert all(closed_within(sock, 0.01) is None for sock in stalled[:10]), \
            "the stalled connections were not held (the test proves nothing)"
