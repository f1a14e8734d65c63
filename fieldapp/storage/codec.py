"""Plain values to and from what SQLite and JSON hold: ISO dates, decimal strings, enums."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def to_day(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def moment(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value else None


def to_moment(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def clock_time(value: time | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def to_clock_time(value: object) -> time | None:
    return time.fromisoformat(str(value)) if value else None


def number(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def to_number(value: object) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None
