"""What a person is told when a call to the server goes wrong, and that it changed nothing.

Every call from the laptop goes through one client (sync/client/http.py). Here the network is
the thing faked (it is outside the project): a port nobody listens on, a socket that never
answers, or httpx's MockTransport playing a broken server; the profiles are real vaults.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldapp.services import enrolment
from fieldapp.services.enrolment import (
    DeviceRevoked,
    RequestTooLarge,
    ServerRefused,
    ServerUnreachable,
)
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync import protocol as wire
from sync.client.enrol import check_in, enrol
from sync.client.http import Backoff, ServerClient, authorities, enrolled_client, probe
from tests.conftest import PASSPHRASE, FakeClock
from tests.server.test_server_secrecy import _self_signed

SERVER = "http://fieldapp.test"
CODE = "abcdefgh-12"
REVOKED = {"error": "device_revoked", "wipe": True,
           "message": "This device has been revoked. Its FieldApp data will be removed."}
JOINED = {"device_id": "dev-1", "device_token": "token-1",
          "user": {"id": "rc1", "name": "Rosa Coordinator", "role": "recovery coordinator"},
          "key_material": None, "program": {"name": "Riverbend", "mileage_cap": "150"}}
NOT_REACHED = f"The server at {SERVER} could not be reached or did not answer as a FieldApp " \
              "server; nothing was changed."
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    opened = Session(ProfilePaths(tmp_path / "laptop"), clock=FakeClock())
    opened.create(PASSPHRASE, name="Rosa")
    yield opened
    if opened.is_open:
        opened.lock()


def answering(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def failing(error: type[httpx.TransportError]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("the network let us down", request=request)
    return httpx.MockTransport(handler)


def joined(session: Session) -> None:
    """Enrol `session` against a server that accepts the code (played by a MockTransport)."""
    enrol(session, server_url=SERVER, code=CODE, device_name="laptop",
          transport=answering(lambda request: httpx.Response(200, json=JOINED)))


def state(session: Session) -> dict[str, Any]:
    """Everything a failed call must leave as it was: the records, the rules, who we are."""
    return {"records": sorted((o.row["kind"], str(o.row["id"])) for o in session.records().all()),
            "settings": session.workspace().settings,
            "enrolment": enrolment.enrolment_of(session),
            "actor": session.actor().user_id}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- enrolling: a person waits, so one attempt and a plain sentence ---------------------------

BROKEN_SERVERS: dict[str, httpx.MockTransport] = {
    "timeout": failing(httpx.ReadTimeout),
    "refused connection": failing(httpx.ConnectError),
    "5xx with the server's Problem": answering(lambda request: httpx.Response(
        500, json={"error": "internal", "message": "Internal error"})),
    "5xx from a proxy": answering(lambda request: httpx.Response(
        502, text="<html>502 Bad Gateway</html>")),
    "malformed JSON": answering(lambda request: httpx.Response(200, text='{"device_id": ')),
    "a captive portal's page": answering(lambda request: httpx.Response(
        200, text="<html>Sign in to the hotel wifi</html>")),
    "JSON that is not an answer": answering(lambda request: httpx.Response(200, json=[1, 2])),
}


@pytest.mark.parametrize("broken", list(BROKEN_SERVERS))
def test_enrolling_with_a_broken_server_says_so_and_keeps_nothing(
        session: Session, broken: str) -> None:
    """A timeout, a refused connection, a 5xx or a reply that is not the protocol: the person
    is told the server could not be reached (naming it) and that nothing was changed; no key
    pair, no credential, no record is kept, and the profile still belongs to its maker."""
    before = state(session)
    with pytest.raises(ServerUnreachable) as failed:
        enrol(session, server_url=SERVER, code=CODE, device_name="laptop",
              transport=BROKEN_SERVERS[broken])
    assert failed.value.message == NOT_REACHED
    assert state(session) == before
    assert enrolment.identity_of(session) is None


def test_enrolling_against_a_closed_port_is_plain_words(session: Session) -> None:
    """The address typed wrong (nobody listens there): the real refusal of a connection."""
    before = state(session)
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachable, match=re.escape(f"The server at {url} could not")):
        enrol(session, server_url=url, code=CODE, device_name="laptop")
    assert state(session) == before


def test_a_refused_code_is_the_servers_own_words_and_keeps_nothing(session: Session) -> None:
    """A 4xx with the protocol's Problem: its message, as the server wrote it for people."""
    before = state(session)
    said = "This enrolment code is not valid. Ask your administrator for a new one."
    transport = answering(lambda request: httpx.Response(
        403, json={"error": "bad_code", "message": said}))
    with pytest.raises(ServerRefused) as refused:
        enrol(session, server_url=SERVER, code=CODE, device_name="laptop", transport=transport)
    assert (refused.value.message, refused.value.status) == (said, 403)
    assert state(session) == before


def test_a_person_waiting_is_answered_after_one_attempt(session: Session) -> None:
    """Enrolling is not retried: a 503 is said at once, not after a minute of backoff."""
    calls: list[str] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, json={"error": "busy", "message": "Try later"})
    with pytest.raises(ServerUnreachable):
        enrol(session, server_url=SERVER, code=CODE, device_name="laptop",
              transport=answering(unavailable))
    assert calls == ["/v1/enrol"]


# --- checking in: an enrolled profile ---------------------------------------------------------

@pytest.mark.parametrize("broken", list(BROKEN_SERVERS))
def test_checking_in_with_a_broken_server_changes_nothing(session: Session, broken: str
                                                          ) -> None:
    joined(session)
    before = state(session)
    with pytest.raises(ServerUnreachable) as failed:
        check_in(session, transport=BROKEN_SERVERS[broken])
    assert failed.value.message == NOT_REACHED
    assert state(session) == before


def test_a_revoked_device_is_told_plainly_and_wiped_on_check_in(session: Session) -> None:
    """The server's 401 with the wipe order: the person reads that access was revoked and
    the data removed, and the profile's folder is gone."""
    joined(session)
    root = session.profile.paths.root
    transport = answering(lambda request: httpx.Response(401, json=REVOKED))
    with pytest.raises(DeviceRevoked) as revoked:
        check_in(session, transport=transport)
    assert revoked.value.message == ("This laptop's access was revoked by the program. Its "
                                     "FieldApp data has been removed from it.")
    assert not root.exists()
    assert not session.is_open


def test_a_401_without_the_wipe_order_wipes_nothing(session: Session) -> None:
    """A refusal that is not the wipe order (a token the server does not know, or a lying
    proxy) is said in the server's words and never removes the profile."""
    joined(session)
    before = state(session)
    said = "Sign in again: this device's token is not known here."
    transport = answering(lambda request: httpx.Response(
        401, json={"error": "unauthorized", "message": said}))
    with pytest.raises(ServerRefused, match=said):
        check_in(session, transport=transport)
    assert session.profile.paths.root.exists()
    assert state(session) == before


# --- the client itself: what is retried, what is not -----------------------------------------

def counting(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[str]]:
    """A server giving `responses` in turn (the last one again after that)."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return responses[min(len(seen), len(responses)) - 1]
    return httpx.MockTransport(handler), seen


RETRIES = Backoff(attempts=3, base=0.0, cap=0.0)


def test_a_sync_rides_out_a_5xx_and_sends_the_same_request_again() -> None:
    transport, seen = counting(httpx.Response(502), httpx.Response(200, json={"ok": True}))
    with ServerClient(SERVER, verify=True, backoff=RETRIES, transport=transport) as client:
        assert client.call("GET", "/v1/me") == {"ok": True}
    assert seen == ["GET", "GET"]


def test_a_refusal_is_not_retried_and_a_413_is_too_large_not_unreachable() -> None:
    transport, seen = counting(httpx.Response(413, text="<html>413 Too Large</html>"))
    with ServerClient(SERVER, verify=True, backoff=RETRIES, transport=transport) as client, \
            pytest.raises(RequestTooLarge, match="a proxy"):
        client.call("POST", "/v1/sync/push", json={})
    assert seen == ["POST"]


def test_silence_after_every_retry_is_said_in_the_callers_words() -> None:
    transport, seen = counting(httpx.Response(500))
    kept = "Everything is kept on this computer."
    with ServerClient(SERVER, verify=True, backoff=RETRIES, transport=transport,
                      unreachable=kept) as client, pytest.raises(ServerUnreachable) as failed:
        client.call("GET", "/v1/sync/digest")
    assert (failed.value.message, len(seen)) == (kept, 3)


def test_a_silent_server_times_out_in_plain_words() -> None:
    """A server that takes the connection and never answers: after the client's timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with ServerClient(url, verify=True, timeout=0.2) as client, \
                pytest.raises(ServerUnreachable, match="could not be reached") as failed:
            client.call("GET", "/v1/me")
    assert isinstance(failed.value.__cause__, httpx.TimeoutException)


# --- the health probe before a sync -----------------------------------------------------------

def test_the_probe_says_an_absent_server_could_not_be_reached() -> None:
    with pytest.raises(ServerUnreachable, match=r"could not be reached\. Everything is kept"):
        probe(f"http://127.0.0.1:{free_port()}", verify=True, timeout=1.0)


def test_the_probe_says_a_server_not_ready_with_its_status() -> None:
    transport = answering(lambda request: httpx.Response(
        503 if request.url.path == "/health" else 200))
    with pytest.raises(ServerUnreachable, match=r"^The server is not ready \(503\)\. "
                       r"Everything is kept on this computer\.$"):
        probe(SERVER, verify=True, timeout=1.0, transport=transport)
    healthy = answering(lambda request: httpx.Response(
        200 if request.url.path == "/health" else 404))
    probe(SERVER + "/", verify=True, timeout=1.0, transport=healthy)


def test_retries_grow_exponentially_up_to_the_cap_with_full_jitter() -> None:
    """Waits of base * 2**attempt seconds, never over the cap, scaled by the jitter draw."""
    backoff = Backoff(attempts=5, base=0.25, cap=8.0)
    assert [backoff.delay(n, lambda: 1.0) for n in (1, 2, 3, 5, 6)] == [0.5, 1.0, 2.0, 8.0, 8.0]
    assert backoff.delay(3, lambda: 0.5) == 1.0


@pytest.mark.parametrize("first", ["network", "408", "not the protocol"])
def test_a_sync_sends_the_same_request_again_after_a_passing_fault(first: str) -> None:
    """A dropped connection, a 408 (an upload too slow for the server) and a reply that is not
    the protocol are retried, with the same body and query; the second answer is the result."""
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url.params), request.content))
        if len(seen) == 1:
            if first == "network":
                raise httpx.RemoteProtocolError("connection reset", request=request)
            if first == "408":
                return httpx.Response(408)
            return httpx.Response(200, text="<html>portal</html>")
        return httpx.Response(200, json={"count": 1, "hash": "ab"})
    with ServerClient(SERVER, verify=True, backoff=RETRIES,
                      transport=httpx.MockTransport(handler)) as client:
        answer = client.call("POST", "/v1/sync/push", json={"ops": [1]}, params={"since": 4})
    assert answer == {"count": 1, "hash": "ab"}
    assert seen == [("POST", "since=4", b'{"ops":[1]}')] * 2


def test_the_last_fault_is_kept_as_the_cause_for_the_log() -> None:
    """The person reads one sentence; the log keeps what happened at the last attempt."""
    for status, said in ((503, "The server had a problem (503)."),
                         (408, "The server stopped waiting for this laptop's upload.")):
        transport, _ = counting(httpx.Response(status))
        with ServerClient(SERVER, verify=True, transport=transport) as client, \
                pytest.raises(ServerUnreachable) as failed:
            client.call("GET", "/v1/me")
        cause = failed.value.__cause__
        assert isinstance(cause, ServerUnreachable) and cause.message == said
    transport, _ = counting(httpx.Response(200, text="<html>Sign in to the wifi</html>"))
    with ServerClient(SERVER, verify=True, transport=transport) as client, \
            pytest.raises(ServerUnreachable) as failed:
        client.call("GET", "/v1/me")
    assert isinstance(failed.value.__cause__, ValueError)  # the reply that was not JSON


def test_answers_are_checked_against_their_model_and_no_content_is_none() -> None:
    transport = answering(lambda request: httpx.Response(
        204 if request.method == "PUT" else 200, json=None if request.method == "PUT" else
        {"count": 3, "digest": "c0ffee"}))
    with ServerClient(SERVER, verify=True, transport=transport) as client:
        digest = client.call("GET", "/v1/sync/digest", model=wire.Digest)
        assert (digest.count, digest.digest) == (3, "c0ffee")
        assert client.call("PUT", "/v1/cases/c1/keys", json={"keys": []}) is None


@pytest.mark.parametrize("status", [400, 401, 409])
def test_every_4xx_is_a_refusal_in_the_servers_words_even_with_a_model(status: int) -> None:
    said = "That change conflicts with the server's copy."
    transport, seen = counting(httpx.Response(status, json={"error": "x", "message": said}))
    with ServerClient(SERVER, verify=True, backoff=RETRIES, transport=transport) as client, \
            pytest.raises(ServerRefused) as refused:
        client.call("GET", "/v1/sync/digest", model=wire.Digest)
    assert (refused.value.message, refused.value.status, len(seen)) == (said, status, 1)
    assert not isinstance(refused.value, DeviceRevoked)


def test_a_refusal_without_the_protocols_words_says_its_status() -> None:
    transport, _ = counting(httpx.Response(409, json=["not", "a", "problem"]))
    with ServerClient(SERVER, verify=True, transport=transport) as client, \
            pytest.raises(ServerRefused, match=r"^The server refused \(409\)\.$"):
        client.call("GET", "/v1/me")


def test_a_413_in_the_servers_own_words_says_what_to_tell_it() -> None:
    said = "This push is larger than 2.1 MB."
    transport, _ = counting(httpx.Response(413, json={"error": "too_large", "message": said}))
    with ServerClient(SERVER, verify=True, transport=transport) as client, \
            pytest.raises(RequestTooLarge) as refused:
        client.call("POST", "/v1/sync/push", json={})
    assert refused.value.status == 413
    assert refused.value.message == (
        f"The server would not take this much at once. The server said: {said} Nothing is "
        "lost: it stays on this laptop. Tell the program's IT: the server must accept uploads "
        "of up to 2.1 MB (the server guide, \"Running behind a proxy\").")


@pytest.mark.parametrize("page", [
    httpx.Response(413, text="<html>413 Request Entity Too Large"),   # nginx's own page
    httpx.Response(413, json={"message": ""}),                        # nothing said
    httpx.Response(413, json={"message": 413}),                       # not words
    httpx.Response(413, json=["too", "large"]),                       # not a Problem
], ids=["html", "empty", "number", "list"])
def test_a_413_from_a_proxy_names_the_proxy(page: httpx.Response) -> None:
    transport, _ = counting(page)
    with ServerClient(SERVER, verify=True, transport=transport) as client, \
            pytest.raises(RequestTooLarge) as refused:
        client.call("POST", "/v1/sync/push", json={})
    assert "The server would not take this much at once. Something between this laptop and " \
           "the server (a proxy) refused it as too large. Nothing is lost" in refused.value.message
    assert refused.value.status == 413


def test_the_device_speaks_with_its_token_and_an_applicant_without_one(session: Session
                                                                        ) -> None:
    """Enrolling sends no credential; every later call carries the device's bearer token."""
    headers: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("Authorization"))
        if request.url.path == "/v1/enrol":
            return httpx.Response(200, json=JOINED)
        return httpx.Response(200, json={"id": "rc1", "role": "admin"})
    enrol(session, server_url=SERVER, code=CODE, device_name="laptop",
          transport=httpx.MockTransport(handler))
    check_in(session, transport=httpx.MockTransport(handler))
    assert headers == [None, "Bearer token-1", "Bearer token-1"]


def test_a_sync_stops_before_its_next_attempt_when_cancelled() -> None:
    class Stopped(Exception):
        pass
    attempts: list[int] = []

    def before_each() -> None:
        if attempts:
            raise Stopped
        attempts.append(1)
    transport, seen = counting(httpx.Response(503))
    with ServerClient(SERVER, verify=True, backoff=RETRIES, transport=transport,
                      before_each=before_each) as client, pytest.raises(Stopped):
        client.call("GET", "/v1/me")
    assert len(seen) == 1


def test_the_https_context_trusts_the_system_authorities() -> None:
    assert authorities() > 10


# --- TLS: only a server whose certificate is trusted is spoken to ----------------------------

@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTPS server on 127.0.0.1 with a self-signed certificate; its URL and CA file."""
    cert, key = _self_signed(tmp_path)

    class Healthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status": "ok"}'
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_certificate_nobody_vouches_for_is_not_spoken_to(https_server: tuple[str, Path]
                                                            ) -> None:
    url, ca = https_server
    with pytest.raises(ServerUnreachable, match="could not be reached"):
        probe(url, verify=True, timeout=5.0)
    probe(url, verify=str(ca), timeout=5.0)  # the program's own CA, as `--ca` gives it
    enrolled = {"server_url": url, "verify": str(ca), "device_token": "t"}
    with enrolled_client(enrolled) as client, pytest.raises(ServerRefused) as refused:
        client.call("GET", "/v1/me")
    assert refused.value.status == 404
    untrusted = {**enrolled, "verify": True}
    with enrolled_client(untrusted) as client, pytest.raises(ServerUnreachable):
        client.call("GET", "/v1/me")


def test_the_probe_gives_up_after_its_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(ServerUnreachable, match=r"^The server could not be reached\. "
                           r"Everything is kept on this computer and goes up when it can\.$"):
            probe(f"http://127.0.0.1:{silent.getsockname()[1]}", verify=True, timeout=0.3)
    assert time.monotonic() - started < 3
