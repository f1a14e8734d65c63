"""Due visits and overlaps at their edges: overlapping visits named by the time they began,
whatever their notes are called, and a visit at midnight; the day the next visit falls due when
a week does not divide evenly."""

from __future__ import annotations

from datetime import date

import pytest

from fieldapp.domain.due import due_status, overlapping_visits
from tests.domain.test_due import MONDAY, WEEK, case, visit
from tests.domain.test_visit_overlap import SIGNING, note


@pytest.mark.parametrize(("per_week", "due_on"), [
    (3, WEEK[2]),  # seven days over three visits: every two days, rounded down
    (4, WEEK[1]),  # every day and three quarters: the next day
    (5, WEEK[1]),
])
def test_the_next_visit_falls_due_a_whole_number_of_days_after_the_last(per_week: int,
                                                                         due_on: date) -> None:
    status = due_status(case(visits_per_week=per_week), [visit(MONDAY)], today=MONDAY)
    assert status.next_due == due_on


def test_overlaps_are_named_by_start_time_not_by_their_notes_names() -> None:
    others = [note("16:00", "17:15", note_id="z-started-first"),
              note("16:45", "17:15", note_id="a-started-last"),
              note("16:20", "16:40", note_id="m-started-second")]
    assert [n.id for n in overlapping_visits(SIGNING, others)] == [
        "z-started-first", "m-started-second", "a-started-last"]


def test_overlaps_that_began_together_are_in_the_order_of_their_notes() -> None:
    others = [note("16:00", "17:15", note_id="n-2"), note("16:00", "16:45", note_id="n-1")]
    assert [n.id for n in overlapping_visits(SIGNING, others)] == ["n-1", "n-2"]


def test_a_visit_from_midnight_comes_before_one_later_that_night() -> None:
    night = note("00:00", "03:00", note_id="new")
    others = [note("01:00", "02:00", note_id="a-later"), note("00:00", "00:30", note_id="b-first")]
    assert [n.id for n in overlapping_visits(night, others)] == ["b-first", "a-later"]
