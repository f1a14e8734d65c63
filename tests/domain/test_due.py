"""Due visits: Monday-to-Sunday weeks, face-to-face contacts only, an expectation that builds up."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from fieldapp.domain.cases import Case, CaseStatus, Person
from fieldapp.domain.due import counts_as_visit, due_status, week_start
from fieldapp.domain.people import CaseId, NoteId, UserId
from fieldapp.domain.visits import ContactType, NoteStatus, VisitDetails, VisitNote

MONDAY = date(2026, 3, 2)
WEEK = [MONDAY + timedelta(days=n) for n in range(7)]  # Monday 2 March to Sunday 8 March
SUNDAY = WEEK[6]
NEXT_MONDAY = date(2026, 3, 9)


def case(**overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": CaseId("case-1"),
        "family_name": "Okafor",
        "parents": (Person(name="Ada Okafor"),),
        "start_date": date(2026, 1, 5),
    }
    fields.update(overrides)
    return Case(**fields)


def visit(day: date, contact: ContactType = ContactType.FACE_TO_FACE,
          status: NoteStatus = NoteStatus.SIGNED) -> VisitNote:
    return VisitNote(id=NoteId(f"n-{day}"), case_id=CaseId("case-1"), author=UserId("rc-1"),
                     details=VisitDetails(visit_date=day, contact_type=contact), status=status)


@pytest.mark.parametrize("day", [*WEEK])
def test_weeks_run_monday_to_sunday(day: date) -> None:
    assert week_start(day) == MONDAY


def test_a_new_week_starts_on_monday() -> None:
    assert week_start(NEXT_MONDAY) == NEXT_MONDAY
    assert week_start(MONDAY - timedelta(days=1)) == date(2026, 2, 23)


@pytest.mark.parametrize(("per_week", "by_day"), [
    (2, [0, 0, 0, 1, 1, 1, 2]),   # one by Thursday, two by Sunday
    (1, [0, 0, 0, 0, 0, 0, 1]),
    (3, [0, 0, 1, 1, 2, 2, 3]),
    (7, [1, 2, 3, 4, 5, 6, 7]),
    (14, [2, 4, 6, 8, 10, 12, 14]),
    (0, [0, 0, 0, 0, 0, 0, 0]),
])
def test_the_expectation_builds_up_through_the_week(per_week: int, by_day: list[int]) -> None:
    for day, expected in zip(WEEK, by_day, strict=True):
        status = due_status(case(visits_per_week=per_week), [], today=day)
        assert status.expected_this_week == per_week
        assert status.expected_by_today == expected, day
        assert status.behind is (expected > 0)


def test_two_a_week_with_one_visit_on_monday() -> None:
    visits = [visit(MONDAY)]
    behind = [due_status(case(), visits, today=day).behind for day in WEEK]
    assert behind == [False, False, False, False, False, False, True]
    assert due_status(case(), visits, today=SUNDAY).this_week == 1


def test_two_visits_meet_the_week() -> None:
    visits = [visit(MONDAY), visit(WEEK[3])]
    status = due_status(case(), visits, today=SUNDAY)
    assert status.this_week == 2
    assert not status.behind
    assert status.last_face_to_face == WEEK[3]
    assert status.next_due == NEXT_MONDAY
    assert status.case_id == "case-1"


@pytest.mark.parametrize("contact", [ContactType.ATTEMPTED, ContactType.PHONE,
                                     ContactType.VIDEO])
def test_only_face_to_face_contacts_count(contact: ContactType) -> None:
    visits = [visit(MONDAY, contact), visit(WEEK[2], contact)]
    status = due_status(case(), visits, today=WEEK[4])
    assert status.this_week == 0
    assert status.last_face_to_face is None
    assert status.behind


def test_a_draft_is_not_a_visit_made() -> None:
    status = due_status(case(), [visit(MONDAY, status=NoteStatus.DRAFT),
                                 visit(WEEK[2], status=NoteStatus.DRAFT)], today=WEEK[3])
    assert status.this_week == 0
    assert status.last_face_to_face is None
    assert status.behind
    assert status.next_due == WEEK[3]


def test_a_draft_beside_a_signed_note_adds_nothing() -> None:
    status = due_status(case(), [visit(MONDAY), visit(WEEK[2], status=NoteStatus.DRAFT)],
                        today=WEEK[6])
    assert status.this_week == 1
    assert status.last_face_to_face == MONDAY
    assert status.behind


@pytest.mark.parametrize("note_status", [NoteStatus.SIGNED, NoteStatus.RETURNED,
                                         NoteStatus.COSIGNED])
def test_a_signed_note_is_a_visit_made(note_status: NoteStatus) -> None:
    status = due_status(case(visits_per_week=1), [visit(MONDAY, status=note_status)],
                        today=WEEK[6])
    assert status.this_week == 1
    assert status.last_face_to_face == MONDAY
    assert not status.behind


@pytest.mark.parametrize(("contact", "note_status", "counts"), [
    (ContactType.FACE_TO_FACE, NoteStatus.DRAFT, False),
    (ContactType.FACE_TO_FACE, NoteStatus.SIGNED, True),
    (ContactType.FACE_TO_FACE, NoteStatus.RETURNED, True),
    (ContactType.FACE_TO_FACE, NoteStatus.COSIGNED, True),
    (ContactType.ATTEMPTED, NoteStatus.SIGNED, False),
    (ContactType.PHONE, NoteStatus.COSIGNED, False),
    (ContactType.VIDEO, NoteStatus.SIGNED, False),
])
def test_counts_as_visit(contact: ContactType, note_status: NoteStatus, counts: bool) -> None:
    assert counts_as_visit(visit(MONDAY, contact, note_status)) is counts


def test_visits_after_today_do_not_count_yet() -> None:
    status = due_status(case(), [visit(WEEK[5]), visit(WEEK[6])], today=WEEK[3])
    assert status.this_week == 0
    assert status.last_face_to_face is None


def test_last_weeks_visits_are_remembered_but_do_not_count_this_week() -> None:
    last_sunday = MONDAY - timedelta(days=1)
    status = due_status(case(), [visit(last_sunday - timedelta(days=3)), visit(last_sunday)],
                        today=WEEK[3])
    assert status.this_week == 0
    assert status.last_face_to_face == last_sunday
    assert status.behind


def test_a_closed_case_expects_nothing() -> None:
    status = due_status(case(status=CaseStatus.CLOSED, visits_per_week=3), [], today=SUNDAY)
    assert status.expected_this_week == 0
    assert status.expected_by_today == 0
    assert not status.behind
    assert status.next_due == NEXT_MONDAY


def test_an_aftercare_case_still_expects_its_visits() -> None:
    status = due_status(case(status=CaseStatus.AFTERCARE, visits_per_week=1), [], today=SUNDAY)
    assert status.expected_this_week == 1
    assert status.behind


def test_next_due_is_today_for_a_family_never_seen() -> None:
    assert due_status(case(), [], today=WEEK[1]).next_due == WEEK[1]


def test_next_due_spaces_the_visits_out() -> None:
    # Two a week: the next visit is due three days after the last one.
    status = due_status(case(), [visit(MONDAY)], today=WEEK[1])
    assert status.next_due == WEEK[3]
    # Once that day has passed, the visit is due today.
    assert due_status(case(), [visit(MONDAY)], today=WEEK[5]).next_due == WEEK[5]


def test_next_due_for_one_a_week_is_a_week_after_the_last() -> None:
    last_week = MONDAY - timedelta(days=4)  # Thursday 26 February
    status = due_status(case(visits_per_week=1), [visit(last_week)], today=MONDAY)
    assert status.next_due == WEEK[3]


def test_next_due_for_many_a_week_is_at_least_the_next_day() -> None:
    status = due_status(case(visits_per_week=14), [visit(WEEK[2])], today=WEEK[2])
    assert status.next_due == WEEK[3]


def test_a_met_week_makes_next_monday_due() -> None:
    status = due_status(case(visits_per_week=1), [visit(MONDAY)], today=WEEK[1])
    assert status.next_due == NEXT_MONDAY
    assert not status.behind
