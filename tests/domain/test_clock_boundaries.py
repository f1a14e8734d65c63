"""Time as stored: the wall clock is UTC and aware, and a timestamp is written in UTC with
microseconds even from a moment given in another zone, on a machine set to another zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fieldapp.domain.clock import iso, system_clock

CHICAGO_WINTER = timezone(timedelta(hours=-6))


@pytest.fixture
def machine_in_chicago(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The laptop's own time zone is not UTC (a coordinator's laptop in Illinois)."""
    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_system_clock_is_aware_utc_now(machine_in_chicago: None) -> None:
    before = datetime.now(UTC)
    now = system_clock()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after


def test_a_timestamp_is_stored_in_utc_with_microseconds(machine_in_chicago: None) -> None:
    moment = datetime(2026, 1, 15, 18, 30, tzinfo=CHICAGO_WINTER)
    assert iso(moment) == "2026-01-16T00:30:00.000000+00:00"


def test_a_utc_timestamp_keeps_its_microseconds(machine_in_chicago: None) -> None:
    assert iso(datetime(2026, 1, 15, 9, 5, 7, 42, tzinfo=UTC)) == "2026-01-15T09:05:07.000042+00:00"
