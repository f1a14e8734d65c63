"""A proxy in front of the server that refuses large bodies (nginx's `client_max_body_size`, 1 MB
unless set): the laptop says so plainly, as a refusal, and does not retry the push as if the
server were unreachable. A real server process, and a small real proxy on 127.0.0.1 that answers
a body over its limit with nginx's own 413 page, before reading it, as nginx does.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partialmethod
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fieldapp.services.enrolment import RequestTooLarge, ServerRefused, ServerUnreachable
from sync import protocol as wire
from sync.client.engine import status_of
from sync.client.replica import Replica
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import SyncServer, engine, sync
from tests.sync.test_end_to_end import family

# What nginx answers to a body over client_max_body_size (its built-in error page).
NGINX_413 = (b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
             b"<center><h1>413 Request Entity Too Large</h1></center>\r\n"
             b"<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n")


class SizeLimitingProxy(socketserver.ThreadingTCPServer):
    """Forwards each request to `upstream` (one per connection), except a body over `max_body`
    bytes: that one gets NGINX_413 at once, its body is read and dropped, and the connection
    closes. `hits` counts every request by method and path."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: str, max_body: int) -> None:
        url = urlsplit(upstream)
        self.upstream = (url.hostname or "127.0.0.1", url.port or 80)
        self.max_body = max_body
        self.hits: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.StreamRequestHandler):
    server: SizeLimitingProxy

    def handle(self) -> None:
        lines = []
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b""):
            lines.append(line)
        if not lines:
            return
        method, path, _ = lines[0].decode("latin-1").split(" ", 2)
        with self.server.lock:
            self.server.hits[(method, path.split("?")[0])] += 1
        length = 0
        kept = [lines[0]]
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            if name.strip().lower() not in ("connection", "keep-alive"):
                kept.append(line)
        if length > self.server.max_body:
            self.wfile.write(b"HTTP/1.1 413 Request Entity Too Large\r\nServer: nginx/1.24.0\r\n"
                             b"Content-Type: text/html\r\nContent-Length: "
                             + str(len(NGINX_413)).encode() + b"\r\nConnection: close\r\n\r\n"
                             + NGINX_413)
            self.wfile.flush()
            with suppress(OSError):
                self.rfile.read(length)  # nginx's lingering close: the client reads the answer
            return
        body = self.rfile.read(length) if length else b""
        with socket.create_connection(self.server.upstream, timeout=10) as upstream:
            upstream.sendall(b"".join(kept) + b"Connection: close\r\n\r\n" + body)
            while chunk := upstream.recv(65536):
                self.wfile.write(chunk)


@contextmanager
def size_limiting_proxy(upstream: str, max_body: int) -> Iterator[SizeLimitingProxy]:
    proxy = SizeLimitingProxy(upstream, max_body)
    thread = threading.Thread(target=proxy.serve_forever, name="size-limiting-proxy",
                              daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)


def test_a_push_a_proxy_refuses_as_too_large_is_said_plainly_and_not_retried(
        sync_server: SyncServer) -> None:
    with size_limiting_proxy(sync_server.url, max_body=64 * 1024) as proxy:
        supervisor = sync_server.device("sup-laptop", "sup1", url=proxy.url)
        worker = sync_server.device("rc-laptop", "rc1", url=proxy.url)
        case = services_of(supervisor).cases.open_case(family())
        assert sync(supervisor).verified and sync(worker).verified  # small bodies pass
        for n in range(40):  # about 160 kB sealed: more than the proxy's 64 kB
            services_of(worker).notes.start_draft(case.id,
                                                  visit_details(narrative=f"Visit {n}. " * 300))
        waiting = status_of(worker)["waiting"]
        proxy.hits.clear()

        with pytest.raises(ServerRefused) as refused:
            engine(worker).sync()
        assert isinstance(refused.value, RequestTooLarge), type(refused.value)
        assert not isinstance(refused.value, ServerUnreachable)
        assert refused.value.status == 413
        message = refused.value.message
        assert "would not take this much at once" in message
        assert "a proxy" in message and "2.1 MB" in message and "<html>" not in message
        assert proxy.hits[("POST", f"{wire.API}/sync/push")] == 1, "a refusal was retried"
        assert status_of(worker)["waiting"] == waiting, "nothing may be lost"

        proxy.max_body = wire.MAX_PUSH_BYTES  # the proxy set as docs/server.md says
        report = sync(worker)
        assert report.verified and report.pushed == waiting
        assert status_of(worker)["waiting"] == 0


def test_a_push_too_large_for_the_server_itself_is_refused_in_its_words(
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A laptop whose batches are larger than the server takes (as a newer laptop's might be):
    the server's own 413, a Problem, is passed on in its words, and not retried."""
    supervisor = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    case = services_of(supervisor).cases.open_case(family())
    assert sync(supervisor).verified and sync(worker).verified
    for n in range(12):  # about 240 kB sealed each, 2.9 MB in all
        services_of(worker).notes.start_draft(
            case.id, visit_details(narrative=f"{n:02} " + "w" * 180_000))
    waiting = status_of(worker)["waiting"]
    monkeypatch.setattr(Replica, "freeze", partialmethod(Replica.freeze, max_bytes=10**7))
    pushes = []
    monkeypatch.setattr(httpx.Client, "request", _counting(httpx.Client.request, pushes))

    with pytest.raises(RequestTooLarge, match=r"The server said: The request is larger than "
                       r"the server accepts \(at most 2\.1 MB\)\."):
        engine(worker).sync()
    assert pushes == [f"{wire.API}/sync/push"], "a refusal was retried"
    assert status_of(worker)["waiting"] == waiting

    monkeypatch.undo()  # batches the server takes: everything goes
    assert sync(worker).verified and status_of(worker)["waiting"] == 0


def _counting(request: Any, pushes: list[str]) -> Any:
    def counted(client: httpx.Client, method: str, url: Any, **kwargs: Any) -> Any:
        if str(url).endswith("/sync/push"):
            pushes.append(str(url))
        return request(client, method, url, **kwargs)
    return counted
