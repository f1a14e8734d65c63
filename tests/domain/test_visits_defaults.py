"""A visit note as a worker first opens it, with only the visit's date: nothing is filled in for
them. Signing it names everything still to write, beginning with the time in; and the blank
form holds no times, no narrative, no next steps and no next visit."""

from __future__ import annotations

from datetime import time

from fieldapp.domain.visits import VisitDetails, sign_problems
from tests.domain.test_visits import SETTINGS, SIGN_AT, VISIT_DAY


def test_a_blank_note_holds_nothing_the_worker_did_not_write() -> None:
    blank = VisitDetails(visit_date=VISIT_DAY)
    assert (blank.time_in, blank.time_out, blank.narrative, blank.next_steps,
            blank.next_visit_date) == (None, None, "", "", None)


def test_signing_a_blank_note_names_each_thing_still_to_write() -> None:
    found = sign_problems(VisitDetails(visit_date=VISIT_DAY), SETTINGS, at=SIGN_AT)
    assert [(p.field, p.text) for p in found] == [
        ("time_in", "Fill in the time in and the time out."),
        ("narrative", "Write the narrative of the visit."),
        ("people_present", "List who was present."),
    ]


def test_a_note_with_no_next_visit_or_next_steps_can_be_signed() -> None:
    written = VisitDetails(visit_date=VISIT_DAY, time_in=time(9), time_out=time(10),
                           people_present=("Ada Okafor",), narrative="Reviewed the plan.")
    assert sign_problems(written, SETTINGS, at=SIGN_AT) == ()
