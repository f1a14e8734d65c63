"""The one client for calls from this laptop to its program's server.

Every call to the server (enrolment, check-in, keys, the team, the health probe, push and pull)
goes through `ServerClient`: the base address, TLS, the bearer token, the timeout, retries with
backoff, and the one place that turns what went wrong on the way (no network, a timeout, a 5xx,
a reply that is not the protocol, a refusal) into an error a person can act on:

- `ServerUnreachable`: no answer, a timeout, a 5xx, a 408 or a reply that is not the protocol,
  after the retries `backoff` allows (one attempt by default);
- `RequestTooLarge`: a 413, from the server or a proxy in front of it; never retried;
- `DeviceRevoked`: a refusal that orders this device to wipe itself; the caller wipes;
- `ServerRefused`: any other 4xx, in the server's own words.

Thread rule: any thread except the UI's (calls block); one `ServerClient` per thread.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from fieldapp.services.enrolment import (
    DeviceRevoked,
    RequestTooLarge,
    ServerRefused,
    ServerUnreachable,
)
from sync import protocol as wire

M = TypeVar("M", bound=BaseModel)
Transport = httpx.BaseTransport

# What the person is told when the server stays silent or speaks no protocol, by what is at
# stake: a sync keeps everything for later; anything else changed nothing.
KEPT_FOR_LATER = ("The server could not be reached or did not answer properly; everything is "
                  "kept on this computer and will be sent later.")
REVOKED = ("This laptop's access was revoked by the program. Its FieldApp data has been removed "
           "from it.")


def nothing_changed(server_url: str) -> str:
    return (f"The server at {server_url} could not be reached or did not answer as a FieldApp "
            "server; nothing was changed.")


@dataclass(frozen=True)
class Backoff:
    """Retry timing: `base` * 2**attempt seconds, capped, with full jitter."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        return float(rng() * min(self.cap, self.base * 2 ** attempt))


ONCE = Backoff(attempts=1)  # a person is waiting: say at once what went wrong
RETRIED = Backoff()         # a sync in the background: ride out a flaky network


@lru_cache(maxsize=4)
def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS settings for `verify` (True: the system's CAs; a path: that CA), made once per
    process: loading the CA bundle takes ~25 ms, a quarter of a sync with nothing to do, and
    httpx loads it for every client it makes, even for plain HTTP. A path is read here, as
    httpx would (its own reading of a path is deprecated and warns)."""
    if isinstance(verify, str):
        if Path(verify).is_dir():
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify)


class ServerClient:
    """Calls to one server, over one connection pool; use it as a context manager."""

    def __init__(self, server_url: str, *, verify: bool | str, token: str | None = None,
                 timeout: float = 10.0, backoff: Backoff = ONCE,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random,
                 transport: Transport | None = None, unreachable: str = "",
                 before_each: Callable[[], None] = lambda: None) -> None:
        """`unreachable`: what to say when the server stays silent (default: nothing was
        changed); `before_each`: runs before every attempt (a sync's cancel check)."""
        self._backoff, self._sleep, self._rng = backoff, sleep, rng
        self._unreachable = unreachable or nothing_changed(server_url)
        self._before_each = before_each
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=server_url, headers=headers,
                                    timeout=httpx.Timeout(timeout), verify=tls_context(verify),
                                    transport=transport)

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, path: str, *,
             model: type[M] | TypeAdapter[Any] | None = None, json: Any = None,
             params: dict[str, Any] | None = None) -> Any:
        """One request; its answer checked against `model`. Retried (within `backoff`) on
        network failures, 5xx, 408 (an upload the server stopped waiting for) and replies that
        are not the protocol only, the same request each time; a refusal is not retried."""
        last: Exception | None = None
        for attempt in range(self._backoff.attempts):
            self._before_each()
            if attempt:
                self._sleep(self._backoff.delay(attempt, self._rng))
            try:
                response = self._client.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:  # refused, reset, timed out, TLS
                last = exc
                continue
            if response.status_code >= 500:
                last = ServerUnreachable(f"The server had a problem ({response.status_code}).")
                continue
            if response.status_code == HTTPStatus.REQUEST_TIMEOUT:  # the upload was too slow
                last = ServerUnreachable("The server stopped waiting for this laptop's upload.")
                continue
            if response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                raise _too_large(response)  # the server's Problem or a proxy's own page
            try:
                body = None if response.status_code == HTTPStatus.NO_CONTENT else response.json()
                if response.status_code < 400 and model is not None:
                    if isinstance(model, TypeAdapter):
                        return model.validate_python(body)
                    return model.model_validate(body)
            except (ValueError, ValidationError) as exc:
                last = exc
                continue
            if response.status_code >= 400:
                raise _refused(response.status_code, body)
            return body
        raise ServerUnreachable(self._unreachable) from last

    def health(self) -> None:
        """A cheap look before real work: is the server there at all? Never retried."""
        try:
            answer = self._client.get("/health")
        except httpx.HTTPError as exc:
            raise ServerUnreachable("The server could not be reached. Everything is kept on "
                                    "this computer and goes up when it can.") from exc
        if answer.status_code != HTTPStatus.OK:
            raise ServerUnreachable(f"The server is not ready ({answer.status_code}). "
                                    "Everything is kept on this computer.")


def enrolled_client(enrolled: dict[str, Any], **options: Any) -> ServerClient:
    """A client for the server this profile is enrolled with, as its device."""
    return ServerClient(enrolled["server_url"], verify=enrolled["verify"],
                        token=enrolled["device_token"], **options)


def probe(server_url: str, *, verify: bool | str, timeout: float,
          transport: Transport | None = None) -> None:
    """Raise `ServerUnreachable` unless the server at `server_url` answers its health check."""
    with ServerClient(server_url, verify=verify, timeout=timeout, transport=transport) as client:
        client.health()


def authorities() -> int:
    """How many certificate authorities the context for https:// trusts (the self-test)."""
    return int(tls_context(True).cert_store_stats()["x509_ca"])


def _refused(status: int, body: Any) -> DeviceRevoked | ServerRefused:
    if isinstance(body, dict) and body.get("wipe"):
        return DeviceRevoked(REVOKED)
    message = body.get("message") if isinstance(body, dict) else None
    return ServerRefused(str(message or f"The server refused ({status})."), status=status)


def _too_large(response: httpx.Response) -> RequestTooLarge:
    """A 413 in plain words: not "unreachable" (sending it again cannot help), and what to do."""
    try:
        said = response.json().get("message")
    except (ValueError, AttributeError):
        said = None  # a proxy's HTML page (nginx: "413 Request Entity Too Large")
    where = f"The server said: {said}" if isinstance(said, str) and said else (
        "Something between this laptop and the server (a proxy) refused it as too large.")
    return RequestTooLarge(
        f"The server would not take this much at once. {where} Nothing is lost: it stays on "
        f"this laptop. Tell the program's IT: the server must accept uploads of up to "
        f"{wire.MAX_PUSH_BYTES / 1e6:.1f} MB (the server guide, \"Running behind a proxy\").",
        status=response.status_code)

