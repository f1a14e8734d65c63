"""The gate: what the server checks on a request's head, before it reads a byte of the body.

FastAPI reads and parses a body before any dependency runs, so without this the device token,
the failed sign-in limit and the body's size would be checked only after a body of any size had
been read into memory. The gate is a pure ASGI middleware in front of the whole app:

1. A declared `Content-Length` above the route's limit: 413, nothing read, nothing counted.
2. Every route under /v1 but enrolment: the bearer token is looked up (in a worker thread, so
   SQLite never blocks the event loop). An unknown or missing token counts a failed sign-in for
   the client's address (429 `slow_down` above the limit, else 401 `not_enrolled`); a revoked
   device gets 401 `device_revoked` with the wipe order. The device and its user go to the route
   in the request's state, where `caller` (app.py) takes them. A request no route takes is left
   to the app's 404 or 405, as before.
3. Enrolment: the attempt is counted for the address first (429 `slow_down` above the limit).
4. Then the body is read, counting bytes as they come (chunked bodies too): 413 the moment the
   route's limit is passed; 408 when no part of it arrives for `Timeouts.chunk` seconds, or the
   whole of it has not arrived within `Timeouts.deadline`. The route gets the body from memory.

The limits are declared in sync/protocol.py (`MAX_*_BYTES`). A refusal given while the body is
still coming closes the connection after the answer, reading and throwing away what arrives for
up to a second first (as nginx's lingering close does), so the client reads the answer rather
than a reset. Each refusal is logged as the access log logs a request (method, route template,
status, milliseconds), never a body, token or address.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync import protocol as wire

if TYPE_CHECKING:
    from datetime import timedelta

    from fastapi import FastAPI

    from sync.server.app import Context
    from sync.server.store import Device, User

log = logging.getLogger("fieldapp.server")

# The body limit of each route that takes a body (method, route template); every other request
# may carry at most wire.MAX_OTHER_BYTES.
BODY_LIMITS: dict[tuple[str, str], int] = {
    ("POST", f"{wire.API}/enrol"): wire.MAX_ENROL_BYTES,
    ("PUT", f"{wire.API}/cases/{{case_id}}/keys"): wire.MAX_KEY_UPLOAD_BYTES,
    ("POST", f"{wire.API}/sync/push"): wire.MAX_PUSH_BYTES,
    ("PUT", f"{wire.API}/me/keys"): wire.MAX_NEW_KEYS_BYTES,
}
ENROL = ("POST", f"{wire.API}/enrol")
CALLER = "caller"        # the request state's key for the (device, user) the gate found
LINGER_SECONDS = 1.0     # after refusing a body still coming: read and drop it this long ...
LINGER_BYTES = 8 << 20   # ... or this much, then close


@dataclass(frozen=True)
class Timeouts:
    """How long a body may take: `chunk` seconds at most between two parts of it (and before
    the first), `deadline` seconds at most for the whole (a 2 MB push at 10 kB/s takes 200)."""

    chunk: float = 30.0
    deadline: float = 300.0


def set_timeouts(app: FastAPI, timeouts: Timeouts) -> None:
    """Use `timeouts` for the bodies of `app`'s requests (`serve --body-timeout ...`)."""
    app.state.body_timeouts = timeouts


def size_text(limit: int) -> str:
    """A byte count in words people read: 2.1 MB, 262 kB."""
    return f"{limit / 1e6:.1f} MB" if limit >= 1_000_000 else f"{limit / 1e3:.0f} kB"


class Refused(Exception):
    """A refusal, as a Problem with its status: the gate's before the app runs, and the app's
    (its handler answers it the same way)."""

    def __init__(self, status: int, error: str, message: str, *, wipe: bool = False) -> None:
        super().__init__(message)
        self.status, self.problem = status, wire.Problem(error=error, message=message, wipe=wipe)


class Gone(Exception):
    """The client went away while its body was being read: nobody to answer."""


@dataclass
class _Head:
    """What the gate knows of a request before its body."""

    method: str
    path: str
    route: str | None          # the matched route's template (None: no route matches)
    limit: int
    address: str
    declared: int | None       # Content-Length, if given
    pending: bool              # a body is (still) coming

    @classmethod
    def of(cls, scope: Scope) -> _Head:
        method, route = scope["method"], _route(scope)
        length = _header(scope, b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        client = scope.get("client")
        return cls(method, scope["path"], route,
                   BODY_LIMITS.get((method, route or ""), wire.MAX_OTHER_BYTES),
                   client[0] if client else "?", declared,
                   bool(declared) or _header(scope, b"transfer-encoding") is not None)


class Gate:
    """The ASGI middleware (see the module): `app.add_middleware(Gate)`."""

    def __init__(self, app: ASGIApp) -> None:
        from sync.server.app import WINDOW  # noqa: PLC0415 - app.py imports this module

        self.app, self.window = app, WINDOW

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        head = _Head.of(scope)
        try:
            if head.declared is not None and head.declared > head.limit:
                raise _too_large(head.limit)
            await self._sign_in(scope, head)
            body = await self._read(scope, receive, head)
        except Refused as refusal:
            linger = await _answer(send, refusal, head)
            log.info(json.dumps({"method": head.method, "route": head.route or "(unmatched)",
                                 "status": refusal.status,
                                 "ms": round((time.perf_counter() - started) * 1000, 1)}))
            if linger:
                await _drain(receive)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        except Gone:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _sign_in(self, scope: Scope, head: _Head) -> None:
        ctx: Context = scope["app"].state.ctx
        if (head.method, head.route) == ENROL:
            count = await run_in_threadpool(ctx.store.count_attempt, f"enrol:{head.address}",
                                            now=ctx.now(), window=self.window)
            if count > ctx.enrol_limit:
                raise Refused(429, "slow_down", "Too many enrolment attempts; wait a few minutes.")
            return
        if head.route is None or not head.route.startswith(f"{wire.API}/"):
            return  # not a route that takes a token (the app answers 404 or 405)
        authorization = (_header(scope, b"authorization") or b"").decode("latin-1")
        token = authorization.removeprefix("Bearer ").strip()
        device, user = await run_in_threadpool(
            _look_up, ctx, token, f"auth:{head.address}", self.window)
        if device is None:
            raise Refused(401, "not_enrolled", "This device is not enrolled with the server.")
        if user is None:
            raise Refused(401, "device_revoked", "This device has been revoked. Its FieldApp "
                          "data will be removed.", wipe=True)
        scope.setdefault("state", {})[CALLER] = (device, user)

    async def _read(self, scope: Scope, receive: Receive, head: _Head) -> bytes:
        """The whole body, counted as it comes, within the limit and the timeouts."""
        timeouts: Timeouts = getattr(scope["app"].state, "body_timeouts", Timeouts())
        deadline = anyio.current_time() + timeouts.deadline
        chunks: list[bytes] = []
        size = 0
        while True:
            message: Message | None = None
            with anyio.move_on_after(min(timeouts.chunk, deadline - anyio.current_time())):
                message = await receive()
            if message is None:
                raise Refused(408, "too_slow", "The request took too long to arrive; it was "
                              "not taken. Try again on a better connection.")
            if message["type"] == "http.disconnect":
                raise Gone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > head.limit:
                raise _too_large(head.limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                head.pending = False
                return b"".join(chunks)


def _look_up(ctx: Context, token: str, bucket: str, window: timedelta
             ) -> tuple[Device | None, User | None]:
    """The device behind `token` and its user (None for a revoked device); an unknown token
    counts a failed sign-in in `bucket` and is refused 429 above the limit."""
    device = ctx.store.device_for_token(token, now=ctx.now()) if token else None
    if device is None:
        if ctx.store.count_attempt(bucket, now=ctx.now(), window=window) \
                > ctx.auth_failure_limit:
            raise Refused(429, "slow_down", "Too many failed sign-ins; wait a few minutes.")
        return None, None
    if device.revoked_at is not None:
        return device, None
    user = ctx.store.user(device.user_id)
    assert user is not None
    return device, user


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case), as Starlette's `Headers.get` gives it."""
    for key, value in scope["headers"]:
        if key == name:
            found: bytes = value
            return found
    return None


def _too_large(limit: int) -> Refused:
    return Refused(413, "too_large", f"The request is larger than the server accepts (at most "
                   f"{size_text(limit)}).")


def _route(scope: Scope) -> str | None:
    """The template of the app's route that takes this request (method and path)."""
    for route in getattr(getattr(scope.get("app"), "router", None), "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            path: str | None = getattr(route, "path", None)
            return path
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as read, then the connection's own messages (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replayed


async def _answer(send: Send, refusal: Refused, head: _Head) -> bool:
    """The refusal as a Problem, as the app answers one. With a body still coming, the
    connection is closed after it: a stalled body's at once; a flowing one's only after a linger
    (True: the caller drains the body, then ends the answer, which closes)."""
    response = JSONResponse(refusal.problem.model_dump(), status_code=refusal.status)
    headers: list[tuple[bytes, bytes]] = list(response.raw_headers)
    linger = head.pending and refusal.status != 408
    if head.pending:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": linger})
    return linger


async def _drain(receive: Receive) -> None:
    """Read and drop what comes of a refused body, for a second or 8 MiB at most."""
    taken = 0
    with anyio.move_on_after(LINGER_SECONDS):
        while taken < LINGER_BYTES:
            message: Any = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            taken += len(message.get("body", b""))
