"""What `serve` adds below the app, at the connection: a deadline for a request's head, and as
many file descriptors as the system allows.

uvicorn (0.55, h11) has no timeout for a request's head: a connection that sends half a request
line and then nothing is held for ever (its keep-alive timeout runs only between requests), so a
few thousand such connections use up the process's descriptors and nothing else is answered.
`head_timeout_protocol` closes a connection whose head is not complete within the given seconds
of its first byte (or of the connection, for one that sends nothing at all). The body's own
timeouts are the gate's (sync/server/limits.py).

Imported only when serving: it loads uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeadTimeoutH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request head is late."""

    head_timeout: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first byte of a new request (after a keep-alive pause)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete (the body has timeouts of its own)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout, self._late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _late(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def head_timeout_protocol(seconds: float) -> type[HeadTimeoutH11]:
    """The protocol class for uvicorn's `http=`, with a head deadline of `seconds`."""
    return type("HeadTimeoutH11", (HeadTimeoutH11,), {"head_timeout": seconds})


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise this process's soft limit of open files to its hard limit (a systemd service starts
    at 1,024, its hard limit is usually far higher); returns (soft, hard) as they are now. Where
    the limits cannot be read (not Unix), (-1, -1)."""
    try:
        import resource  # noqa: PLC0415 - Unix only
    except ImportError:  # pragma: no cover - Windows
        return -1, -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # e.g. macOS: the hard limit is "unlimited"
            pass
    return soft, hard
