"""Random screen schedules at their edges: the statement for a court on the first day of the
period, on a screen day, on the last day (the seed still sealed) and the day after (the seed
and every day), a schedule drawn on the period's first day or before it, a record that was
changed, and the exact refusals a supervisor acts on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import UserId
from fieldapp.domain.schedule import (
    SAMPLE,
    DrawnSchedule,
    RandomSchedule,
    court_statement,
    draw_days,
    make_schedule,
)
from tests.domain.test_schedule import CASE, FEB_1, FEB_28

DRAWN_ON = date(2026, 1, 30)
# Drawn by rank with this seed, February's two screen days are the 1st and the 3rd.
FEBRUARY = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                         seed="court-exhibit-7")
HEAD = ("Random screen days for 2026-02-01 to 2026-02-28 (2 a month, every day of the period "
        "equally likely, weekends included), drawn on 2026-01-30 by Sam Rivera before the period "
        "began; fingerprint e79b94899daa; method sha256-rank/v2.")


def statement(schedule: RandomSchedule = FEBRUARY, *, today: date,
              drawn_on: date = DRAWN_ON) -> str:
    drawn = DrawnSchedule(schedule=schedule, drawn_by=UserId("sup-1"),
                          drawn_at=datetime.combine(drawn_on, datetime.min.time(), tzinfo=UTC))
    return court_statement(drawn, today=today, drawn_on=drawn_on, by="Sam Rivera")


def test_the_schedules_days_are_the_first_and_third() -> None:
    assert FEBRUARY.days == (date(2026, 2, 1), date(2026, 2, 3))


@pytest.mark.parametrize(("today", "so_far"), [
    (date(2026, 2, 1), "none; 2 more to come"),               # a screen day is not past yet
    (date(2026, 2, 3), "2026-02-01; 1 more to come"),
    (date(2026, 2, 28), "2026-02-01, 2026-02-03; 0 more to come"),  # the period's last day
])
def test_until_the_period_ends_the_seed_stays_sealed(today: date, so_far: str) -> None:
    assert statement(today=today) == (
        f"{HEAD} The seed stays sealed until the period ends; days so far: {so_far}.")


def test_the_day_after_the_period_the_seed_and_every_day_are_given() -> None:
    assert statement(today=date(2026, 3, 1)) == (
        f"{HEAD} Seed court-exhibit-7 (SHA-256 begins e79b94899daa); case id case-1; days: "
        "2026-02-01, 2026-02-03. Drawn again from the seed for this report: the same days. "
        "Each day's rank is the SHA-256 of fieldapp/schedule/v2|<seed>|<case id>|<day>; the "
        "smallest are chosen.")


def test_a_changed_record_is_said_to_be_changed() -> None:
    moved = replace(FEBRUARY, days=(date(2026, 2, 1), date(2026, 2, 4)))
    assert statement(moved, today=date(2026, 3, 1)).endswith(
        "days: 2026-02-01, 2026-02-04. Drawn again from the seed for this report: DIFFERENT "
        "days: the record was changed. Each day's rank is the SHA-256 of "
        "fieldapp/schedule/v2|<seed>|<case id>|<day>; the smallest are chosen.")


def test_a_schedule_of_the_earlier_method_has_no_rank_explained() -> None:
    old = make_schedule(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2,
                        seed="court-exhibit-7", method=SAMPLE)
    assert statement(old, today=date(2026, 3, 1)).endswith(
        "method python-sample/v1. Seed court-exhibit-7 (SHA-256 begins e79b94899daa); case id "
        "case-1; days: 2026-02-02, 2026-02-23. Drawn again from the seed for this report: the "
        "same days.")


def test_drawn_on_the_periods_first_day_is_not_before_it_began() -> None:
    text = statement(today=date(2026, 3, 1), drawn_on=FEB_1)
    assert text.startswith(
        "Random screen days for 2026-02-01 to 2026-02-28 (2 a month, every day of the period "
        "equally likely, weekends included), drawn on 2026-02-01 by Sam Rivera; fingerprint "
        "e79b94899daa; method sha256-rank/v2. Seed court-exhibit-7")


# --- refusals -----------------------------------------------------------------------------------


def test_a_period_ending_the_day_before_it_starts_is_refused_in_these_words() -> None:
    with pytest.raises(RuleViolation) as refused:
        draw_days(case_id=CASE, first_day=FEB_1, last_day=date(2026, 1, 31), per_month=2,
                  seed="x")
    assert str(refused.value) == "The period must end on or after its first day."


def test_a_one_day_period_is_a_period() -> None:
    assert draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_1, per_month=31,
                     seed="x") == (FEB_1,)


def test_a_negative_number_of_screens_is_refused_in_these_words() -> None:
    with pytest.raises(RuleViolation) as refused:
        draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=-1, seed="x")
    assert str(refused.value) == "The number of screens per month cannot be negative."


def test_an_unknown_method_is_refused_in_these_words() -> None:
    with pytest.raises(RuleViolation) as refused:
        draw_days(case_id=CASE, first_day=FEB_1, last_day=FEB_28, per_month=2, seed="x",
                  method="dice/v0")
    assert str(refused.value) == ("This schedule was drawn by a method this FieldApp does not "
                                  "know (dice/v0); update FieldApp to check it.")
