"""Time as the app sees it: always timezone-aware UTC, and replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A timestamp as stored: ISO 8601 in UTC with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
