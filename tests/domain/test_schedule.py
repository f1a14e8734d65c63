"""Random screen schedules: re-derivable from the seed, uniform over the period, weekends too."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId
from fieldapp.domain.schedule import (
    AVERAGE_MONTH_DAYS,
    RANK,
    SAMPLE,
    day_hash,
    draw_count,
    draw_days,
    make_schedule,
    verify,
)

CASE = CaseId("case-1")
FEB_1, FEB_28 = date(2026, 2, 1), date(2026, 2, 28)

# The 0.999 quantile of the chi-square distribution with 27 degrees of freedom.
CHI2_27_999 = 55.48


def chi_square(counts: Iterable[float], expected: float) -> float:
    return sum((observed - expected) ** 2 / expected for observed in counts)


# --- re-deriving --------------------------------------------------------------------------------


def test_a_recorded_seed_draws_the_same_days_forever() -> None:
    # Golden values: if these change, schedules recorded earlier can no longer be verified.
    # These are of the earlier method (Python's sample), which schedules drawn before the
    # method was recorded used.
    feb = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                        seed="court-exhibit-7", method=SAMPLE)
    assert feb.days == (date(2026, 2, 2), date(2026, 2, 23))
    year = make_schedule(case_id=CASE, first_day=date(2026, 1, 1), last_day=date(2026, 12, 31),
                         per_month=2, seed="court-exhibit-7", method=SAMPLE)
    assert [d.isoformat() for d in year.days] == [
        "2026-01-21", "2026-01-23", "2026-02-15", "2026-02-23", "2026-03-12", "2026-03-16",
        "2026-03-29", "2026-03-30", "2026-04-01", "2026-04-21", "2026-06-23", "2026-06-30",
        "2026-07-03", "2026-07-09", "2026-08-17", "2026-09-22", "2026-10-11", "2026-10-19",
        "2026-10-22", "2026-11-08", "2026-11-25", "2026-12-07", "2026-12-09", "2026-12-28",
    ]


def test_the_rank_method_is_sha256_alone_and_fixed_forever() -> None:
    # Golden values of the method every new schedule uses: anyone can redo them with a
    # SHA-256 tool, ranking the period's days by the hash of "fieldapp/schedule/v2|seed|case|day".
    feb = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                        seed="court-exhibit-7")
    assert feb.method == RANK
    assert feb.days == (date(2026, 2, 1), date(2026, 2, 3))
    ranked = sorted((FEB_1 + timedelta(days=n) for n in range(28)),
                    key=lambda d: hashlib.sha256(
                        f"fieldapp/schedule/v2|court-exhibit-7|case-1|{d.isoformat()}".encode()
                    ).hexdigest())
    assert tuple(sorted(ranked[:2])) == feb.days
    assert day_hash("court-exhibit-7", CASE, FEB_1) == hashlib.sha256(
        b"fieldapp/schedule/v2|court-exhibit-7|case-1|2026-02-01").hexdigest()


def test_a_schedule_is_checked_by_the_method_it_was_drawn_with() -> None:
    old = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=4,
                        seed="abc123", method=SAMPLE)
    assert verify(old)
    assert not verify(replace(old, method=RANK))
    with pytest.raises(RuleViolation, match="method this FieldApp does not know"):
        verify(replace(old, method="dice/v0"))


def test_same_seed_same_days_and_verify_agrees() -> None:
    first = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=4,
                          seed="abc123")
    again = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=4,
                          seed="abc123")
    assert first == again
    assert verify(first)


def test_verify_refuses_a_schedule_that_was_changed() -> None:
    schedule = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=4,
                             seed="abc123")
    moved = tuple(sorted({*schedule.days[1:], next(
        FEB_1 + timedelta(days=n) for n in range(28)
        if FEB_1 + timedelta(days=n) not in schedule.days)}))
    assert len(moved) == len(schedule.days)
    assert not verify(replace(schedule, days=moved))
    assert not verify(replace(schedule, days=schedule.days[:-1]))
    assert not verify(replace(schedule, seed="abc124"))
    assert not verify(replace(schedule, case_id=CaseId("case-2")))
    assert not verify(replace(schedule, per_month=5))


def test_different_seeds_almost_always_give_different_days() -> None:
    draws = {draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=4,
                       seed=f"seed-{n}") for n in range(200)}
    # 20,475 possible sets of 4 days in 28: a handful of collisions at most.
    assert len(draws) >= 195


def test_the_case_is_part_of_the_draw() -> None:
    draws = {draw_days(case_id=CaseId(f"case-{n}"), first_day=FEB_1, last_day=FEB_28,
                       per_month=4, seed="one seed") for n in range(50)}
    assert len(draws) >= 45


def test_a_new_seed_is_drawn_when_none_is_given() -> None:
    one = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2)
    two = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2)
    assert re.fullmatch(r"[0-9a-f]{32}", one.seed)
    assert one.seed != two.seed
    assert verify(one)
    assert verify(two)


# --- the fingerprint ----------------------------------------------------------------------------


def test_the_fingerprint_is_twelve_hex_characters_and_stable() -> None:
    schedule = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                             seed="court-exhibit-7")
    assert schedule.fingerprint == "e79b94899daa"
    assert schedule.fingerprint == hashlib.sha256(b"court-exhibit-7").hexdigest()[:12]
    assert re.fullmatch(r"[0-9a-f]{12}", schedule.fingerprint)
    assert replace(schedule, seed="court-exhibit-8").fingerprint != schedule.fingerprint


# --- the period and the count -------------------------------------------------------------------


@pytest.mark.parametrize(("first", "last", "per_month", "count"), [
    (FEB_1, FEB_28, 2, 2),                               # 2 * 28 / 30.44 = 1.84
    (date(2026, 3, 1), date(2026, 3, 31), 2, 2),         # 2.04
    (date(2026, 1, 1), date(2026, 12, 31), 2, 24),       # 23.98
    (date(2026, 3, 1), date(2026, 3, 10), 2, 1),         # 0.66
    (date(2026, 3, 1), date(2026, 3, 1), 2, 0),          # 0.07
    (date(2026, 3, 1), date(2026, 3, 1), 31, 1),         # 1.02
    (date(2026, 3, 1), date(2026, 3, 31), 31, 31),       # 31.57, but only 31 days
    (FEB_1, FEB_28, 0, 0),
])
def test_draw_count(first: date, last: date, per_month: int, count: int) -> None:
    assert draw_count(first, last, per_month) == count
    days = draw_days(case_id=CASE, first_day=first, last_day=last, per_month=per_month,
                     seed="x")
    assert len(days) == count


@settings(max_examples=200)
@given(first=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
       span=st.integers(min_value=1, max_value=400),
       per_month=st.integers(min_value=0, max_value=31),
       seed=st.text(max_size=40))
def test_days_are_distinct_sorted_and_inside_the_period(first: date, span: int,
                                                        per_month: int, seed: str) -> None:
    last = first + timedelta(days=span - 1)
    days = draw_days(case_id=CASE, first_day=first, last_day=last, per_month=per_month,
                     seed=seed)
    assert all(first <= day <= last for day in days)
    assert list(days) == sorted(set(days))
    assert len(days) == min(span, round(per_month * span / (365.25 / 12)))
    assert AVERAGE_MONTH_DAYS == 365.25 / 12


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(RuleViolation, match="The period must end on or after its first day"):
        make_schedule(case_id=CASE, first_day=FEB_28, last_day=FEB_1, per_month=2, seed="x")


def test_a_negative_number_of_screens_is_refused() -> None:
    with pytest.raises(RuleViolation, match="screens per month cannot be negative"):
        draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=-1, seed="x")


# --- uniformity ---------------------------------------------------------------------------------


def test_every_day_of_the_period_is_equally_likely() -> None:
    draws = 3000
    counts = Counter(
        (day - FEB_1).days
        for n in range(draws)
        for day in draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                             seed=f"uniform-{n}")
    )
    assert sum(counts.values()) == 2 * draws
    assert set(counts) == set(range(28))
    statistic = chi_square((counts[d] for d in range(28)), expected=2 * draws / 28)
    assert statistic < CHI2_27_999, statistic


def test_the_uniformity_check_would_catch_a_schedule_that_skips_weekends() -> None:
    # The same statistic on a draw that never picks Saturday or Sunday (1 and 7 Feb 2026 are
    # a Sunday and a Saturday): the bound above is not so generous that this passes.
    weekdays = [d for d in range(28) if (FEB_1 + timedelta(days=d)).weekday() < 5]
    share = 6000 / len(weekdays)
    counts = [share if d in weekdays else 0 for d in range(28)]
    assert chi_square(counts, expected=6000 / 28) > CHI2_27_999


def test_weekends_are_included() -> None:
    weekdays = Counter(
        day.weekday()
        for n in range(700)
        for day in draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                             seed=f"weekend-{n}")
    )
    weekend = weekdays[5] + weekdays[6]
    # Expected 2/7 of 1,400 = 400; the bounds sit about five standard deviations out.
    assert 315 < weekend < 485, weekdays


# Quantiles of the chi-square distribution at 0.999, by degrees of freedom (computed from the
# regularised incomplete gamma function; the tables agree).
CHI2_6_999 = 22.46
CHI2_90_999 = 137.21
WINTER_FIRST, WINTER_LAST = date(2026, 12, 1), date(2027, 3, 1)  # 91 days: 13 of each weekday


def weekday_counts(first: date, last: date, per_month: int, draws: int, label: str
                   ) -> Counter[int]:
    return Counter(day.weekday()
                   for n in range(draws)
                   for day in draw_days(case_id=CASE, first_day=first, last_day=last,
                                        per_month=per_month, seed=f"{label}-{n}"))


def test_every_weekday_is_equally_likely() -> None:
    # February 2026 has four of each weekday, so each should get a seventh of the draws.
    counts = weekday_counts(FEB_1, FEB_28, 2, 3000, "weekday")
    assert sum(counts.values()) == 6000
    statistic = chi_square((counts[w] for w in range(7)), expected=6000 / 7)
    assert statistic < CHI2_6_999, counts


def test_a_longer_period_is_uniform_by_day_and_by_weekday() -> None:
    # Thirteen weeks over a month's and a year's end, four screens a month: twelve a draw.
    span = (WINTER_LAST - WINTER_FIRST).days + 1
    assert span == 91 and draw_count(WINTER_FIRST, WINTER_LAST, 4) == 12
    draws = 2000
    by_day: Counter[int] = Counter()
    for n in range(draws):
        by_day.update((d - WINTER_FIRST).days for d in draw_days(
            case_id=CASE, first_day=WINTER_FIRST, last_day=WINTER_LAST, per_month=4,
            seed=f"winter-{n}"))
    assert set(by_day) == set(range(span))
    statistic = chi_square((by_day[d] for d in range(span)), expected=12 * draws / span)
    assert statistic < CHI2_90_999, statistic
    by_weekday = Counter((WINTER_FIRST + timedelta(days=d)).weekday() for d in by_day.elements())
    weekday_statistic = chi_square((by_weekday[w] for w in range(7)), expected=12 * draws / 7)
    assert weekday_statistic < CHI2_6_999, by_weekday


def test_the_weekday_check_would_catch_skipped_weekends_or_a_favourite_day() -> None:
    no_weekends = [6000 / 5] * 5 + [0, 0]
    assert chi_square(no_weekends, expected=6000 / 7) > CHI2_6_999
    # One day in ten moved to Mondays: small, and still caught at this many draws.
    mondays = [6000 / 7 * 0.9 + 600] + [6000 / 7 * 0.9] * 6
    assert abs(sum(mondays) - 6000) < 1e-6
    assert chi_square(mondays, expected=6000 / 7) > CHI2_6_999
