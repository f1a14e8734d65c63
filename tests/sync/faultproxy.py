"""A small HTTP/1.1 proxy between client profiles and the real server, for the sync fault tests:
it forwards every request, and breaks the ones a script names the way a field laptop's network
breaks them (dropped, late, cut short, answered by a failing gateway, delivered twice).

One request per client connection: every answer says `Connection: close` (the server's own
answers do, because the proxy asks for it), so a fault never leaks into a later request.

Thread rule: the proxy runs one asyncio loop on one thread of its own, started by `start()` and
joined by `close()`; every public method may be called from any other thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from enum import Enum
from urllib.parse import urlsplit


class Fault(Enum):
    DROP_REQUEST = "drop the request"           # close without forwarding
    DROP_RESPONSE = "drop the response"         # forward (the server commits), answer nothing
    DELAY = "delay"                             # wait `delay` seconds, then forward or not
    STATUS = "gateway error"                    # answer `status` (5xx) without forwarding
    TRUNCATE = "truncate"                       # forward, send only part of the answer
    TWICE = "deliver twice"                     # forward twice, answer with the second reply
    MALFORMED = "malformed 200"                 # answer 200 with `body`, forwarded or not


@dataclass(frozen=True)
class Rule:
    """Apply `fault` to the `nth` request (counted from 1) matching method, path and device (a
    device token; empty: any device), and to the `times` - 1 matching requests after it."""

    fault: Fault
    method: str
    prefix: str
    suffix: str = ""
    device: str = ""
    nth: int = 1
    times: int = 1
    status: int = 503
    delay: float = 0.0
    forward: bool = True
    body: bytes = b"<html>not a FieldApp answer</html>"
    content_type: str = "text/html"

    def matches(self, request: _Request) -> bool:
        return request.method == self.method and request.path.startswith(self.prefix) and \
            request.path.endswith(self.suffix) and self.device in ("", request.token)


@dataclass(frozen=True)
class Event:
    """What happened to one request: `fault` None means it was passed through untouched;
    `forwarded` counts deliveries to the server, `upstream` holds the server's status codes,
    `answered` the status the client received in full (None: no complete answer)."""

    method: str
    path: str
    fault: Fault | None
    forwarded: int = 0
    upstream: tuple[int, ...] = ()
    answered: int | None = None


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    token: str
    raw: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class FaultProxy:
    """Attributes: `url` (give it to `SyncServer.device(..., url=)`), `events` (a copy)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._rules: list[Rule] = []
        self._seen: list[int] = []
        self._hits: list[int] = []
        self._events: list[Event] = []
        self._active = 0
        self._changed = threading.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self.url = ""

    # -- control (any thread) ------------------------------------------------------------------

    def start(self) -> FaultProxy:
        listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, sock=listener), self._loop).result(timeout=10)
        return self

    def close(self) -> None:
        """Stop listening, cut requests still in progress, and join the proxy's thread."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._loop.is_closed():
            self._loop.close()

    def script(self, *rules: Rule) -> None:
        """Replace the rules (and their counts); the events recorded so far are forgotten."""
        with self._changed:
            self._rules, self._events = list(rules), []
            self._seen, self._hits = [0] * len(rules), [0] * len(rules)

    def clear(self) -> None:
        """No more faults: every request is passed through from now on (`hits` stay)."""
        with self._changed:
            self._rules = []

    @property
    def events(self) -> list[Event]:
        with self._changed:
            return list(self._events)

    @property
    def hits(self) -> list[int]:
        """How many requests each rule of the script has broken so far (counted as they
        arrive, so a request still being delayed counts)."""
        with self._changed:
            return list(self._hits)

    def faulted(self) -> list[Event]:
        return [e for e in self.events if e.fault is not None]

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is in progress (a delayed one may still reach the server after
        the client gave up on it)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._active == 0, timeout=timeout):
                raise TimeoutError(f"{self._active} proxied requests still in progress")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the loop's side -----------------------------------------------------------------------

    async def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _rule_for(self, request: _Request) -> Rule | None:
        with self._changed:
            found = None
            for index, rule in enumerate(self._rules):
                if rule.matches(request):
                    self._seen[index] += 1
                    if found is None and rule.nth <= self._seen[index] < rule.nth + rule.times:
                        found = rule
                        self._hits[index] += 1
            return found

    @contextmanager
    def _busy(self) -> Iterator[None]:
        with self._changed:
            self._active += 1
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            with self._busy():
                request = await _read_request(reader)
                if request is not None:
                    event = await self._handle(request, writer)
                    with self._changed:
                        self._events.append(event)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away: that is what some faults are for
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _handle(self, request: _Request, writer: asyncio.StreamWriter) -> Event:
        rule = self._rule_for(request)
        if rule is not None and rule.fault is Fault.DELAY:
            await asyncio.sleep(rule.delay)
        replies = [await self._forward(request) for _ in range(_deliveries(rule))]
        event = Event(request.method, request.path, rule.fault if rule else None,
                      forwarded=len(replies), upstream=tuple(map(_status, replies)))
        answer = _answer_for(rule, replies)
        if answer is None:
            return event
        try:
            writer.write(answer)
            await writer.drain()
        except ConnectionError:
            return event  # the client gave up waiting (a late answer)
        whole = rule is None or rule.fault is not Fault.TRUNCATE
        return replace(event, answered=_status(answer) if whole else None)

    async def _forward(self, request: _Request) -> bytes:
        """Send the request to the server on a new connection and read its whole answer."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await self._loop.sock_connect(sock, self._upstream)
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock)
        try:
            writer.write(request.raw)
            await writer.drain()
            return await reader.read()  # the server closes after answering (Connection: close)
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """One request with its body (Content-Length framing, as httpx sends it); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [line for line in lines[1:] if line]
    length, token, kept = 0, "", []
    for line in headers:
        name, _, value = (part.strip() for part in line.partition(":"))
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "authorization":
            token = value.removeprefix("Bearer ")
        if name.lower() not in ("connection", "keep-alive"):
            kept.append(line)
    body = await reader.readexactly(length) if length else b""
    raw = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
    return _Request(method, target, token, raw)


def _deliveries(rule: Rule | None) -> int:
    """How many times the server gets the request."""
    if rule is None:
        return 1
    if rule.fault in (Fault.DROP_REQUEST, Fault.STATUS):
        return 0
    if rule.fault in (Fault.DELAY, Fault.MALFORMED):
        return int(rule.forward)
    return 2 if rule.fault is Fault.TWICE else 1


def _answer_for(rule: Rule | None, replies: list[bytes]) -> bytes | None:
    """What the client gets (None: the connection is closed without a word)."""
    if rule is None:
        return replies[-1]
    match rule.fault:
        case Fault.STATUS:
            return _response(rule.status, b'{"error": "bad gateway"}', "application/json")
        case Fault.MALFORMED:
            return _response(200, rule.body, rule.content_type)
        case Fault.TRUNCATE:
            return _truncated(replies[-1])
        case Fault.DELAY | Fault.TWICE:
            return replies[-1] if replies else None
        case _:
            return None


def _response(status: int, body: bytes, content_type: str) -> bytes:
    head = (f"HTTP/1.1 {status} Proxy\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + body


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0


def _truncated(reply: bytes) -> bytes:
    """The headers (with the full Content-Length) and half the body; an answer without a body
    (204) is cut inside its headers instead, so the client never gets a whole answer."""
    head, _, body = reply.partition(b"\r\n\r\n")
    if body:
        return head + b"\r\n\r\n" + body[: len(body) // 2]
    return head[: len(head) // 2]
