"""The wait after wrong passphrases: free mistakes, then doubling delays capped at 15 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.domain.unlock_policy import (
    FIRST_DELAY_SECONDS,
    FREE_ATTEMPTS,
    MAX_DELAY_SECONDS,
    delay_after,
    seconds_left,
)

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

DELAYS = [
    (0, 0.0), (1, 0.0), (2, 0.0),
    (3, 5.0), (4, 10.0), (5, 20.0), (6, 40.0), (7, 80.0), (8, 160.0), (9, 320.0),
    (10, 640.0), (11, 900.0), (12, 900.0), (50, 900.0), (1000, 900.0),
]

# Failure counts a person can reach at the keyboard (about 10 days at 15 minutes a try), and
# any count at all, as an edited attempts file could hold.
REACHABLE = st.integers(min_value=0, max_value=1000)
COUNTS = st.one_of(REACHABLE, st.integers(min_value=0))


def test_constants() -> None:
    assert (FREE_ATTEMPTS, FIRST_DELAY_SECONDS, MAX_DELAY_SECONDS) == (3, 5.0, 900.0)


@pytest.mark.parametrize(("failures", "delay"), DELAYS)
def test_delay_after(failures: int, delay: float) -> None:
    assert delay_after(failures) == delay


@pytest.mark.parametrize("failures", [-1, -100])
def test_a_negative_count_costs_nothing(failures: int) -> None:
    assert delay_after(failures) == 0.0


@pytest.mark.parametrize("failures", [1026, 1027, 10**6, 10**100])
def test_a_huge_count_is_still_capped(failures: int) -> None:
    # 5 * 2.0 ** (failures - 3) overflows a float from 1027 on; an edited attempts file must
    # give the longest wait, not an OverflowError.
    assert delay_after(failures) == MAX_DELAY_SECONDS


# --- seconds_left -------------------------------------------------------------------------------


def test_nothing_to_wait_without_failures_or_a_time() -> None:
    assert seconds_left(failures=0, last_failure=T0, now=T0) == 0.0
    assert seconds_left(failures=2, last_failure=T0, now=T0) == 0.0
    assert seconds_left(failures=5, last_failure=None, now=T0) == 0.0


def test_the_wait_runs_down_with_the_clock() -> None:
    # 4 failures: a 10 second delay.
    assert seconds_left(failures=4, last_failure=T0, now=T0) == 10.0
    assert seconds_left(failures=4, last_failure=T0, now=T0 + timedelta(seconds=3)) == 7.0
    assert seconds_left(failures=4, last_failure=T0, now=T0 + timedelta(seconds=10)) == 0.0
    assert seconds_left(failures=4, last_failure=T0, now=T0 + timedelta(days=2)) == 0.0


@pytest.mark.parametrize("back", [timedelta(seconds=1), timedelta(hours=1), timedelta(days=400)])
def test_a_clock_moved_backwards_never_extends_the_wait(back: timedelta) -> None:
    for failures in range(12):
        left = seconds_left(failures=failures, last_failure=T0, now=T0 - back)
        assert left == delay_after(failures)


def test_timezones_do_not_matter() -> None:
    # Four seconds later, written in another zone: still four seconds later.
    later = (T0 + timedelta(seconds=4)).astimezone(timezone(timedelta(hours=-5)))
    assert later.hour != (T0 + timedelta(seconds=4)).hour
    assert seconds_left(failures=4, last_failure=T0, now=later) == 6.0


# --- properties ---------------------------------------------------------------------------------


@given(failures=COUNTS)
def test_delay_is_bounded(failures: int) -> None:
    delay = delay_after(failures)
    assert 0.0 <= delay <= MAX_DELAY_SECONDS
    assert (delay == 0.0) == (failures < FREE_ATTEMPTS)


@given(a=COUNTS, b=COUNTS)
def test_delay_never_shrinks_as_failures_grow(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert delay_after(low) <= delay_after(high)


@given(
    failures=COUNTS,
    offset=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
)
def test_seconds_left_is_between_zero_and_the_delay(failures: int, offset: float) -> None:
    now = T0 + timedelta(seconds=offset)
    left = seconds_left(failures=failures, last_failure=T0, now=now)
    assert 0.0 <= left <= delay_after(failures)
    if offset >= 0:
        assert left == pytest.approx(max(0.0, delay_after(failures) - offset), abs=1e-6)
