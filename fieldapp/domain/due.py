"""Visits made: which families are due a visit (the last face-to-face contact and this week's
count), and which of a worker's visits overlap."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from fieldapp.domain.cases import Case
from fieldapp.domain.people import CaseId
from fieldapp.domain.visits import ContactType, NoteStatus, VisitNote


@dataclass(frozen=True, kw_only=True)
class DueStatus:
    """Attributes:
    expected_by_today: face-to-face visits the case should have had this week by today.
    behind: fewer visits this week than expected by today.
    next_due: the day the next visit is due.
    """

    case_id: CaseId
    last_face_to_face: date | None
    this_week: int
    expected_this_week: int
    expected_by_today: int
    behind: bool
    next_due: date


def week_start(day: date) -> date:
    """Weeks run Monday to Sunday."""
    return day - timedelta(days=day.weekday())


def counts_as_visit(note: VisitNote) -> bool:
    """A visit is made when a note of a face-to-face contact is signed: a draft is a visit
    still being written (or never made), and attempted visits, calls and video are no visit."""
    return note.status is not NoteStatus.DRAFT and \
        note.details.contact_type is ContactType.FACE_TO_FACE


def due_status(case: Case, notes: Iterable[VisitNote], *, today: date) -> DueStatus:
    """How `case` stands against its expected frequency this week, as of `today`.

    Only visits made (`counts_as_visit`) count. A week's expectation builds up day by day:
    with 2 a week, one is due by Thursday and two by Sunday.
    """
    seen = sorted(n.details.visit_date for n in notes
                  if counts_as_visit(n) and n.details.visit_date <= today)
    last = seen[-1] if seen else None
    monday = week_start(today)
    this_week = sum(1 for day in seen if day >= monday)
    expected = case.visits_per_week if case.needs_visits else 0
    by_today = (expected * (today.weekday() + 1)) // 7
    if expected == 0 or this_week >= expected:
        next_due = monday + timedelta(days=7)
    else:
        gap = max(1, 7 // expected)
        next_due = max(today, (last + timedelta(days=gap)) if last else today)
    return DueStatus(case_id=case.id, last_face_to_face=last, this_week=this_week,
                     expected_this_week=expected, expected_by_today=by_today,
                     behind=this_week < by_today, next_due=next_due)


def overlapping_visits(note: VisitNote, others: Iterable[VisitNote]) -> list[VisitNote]:
    """The notes among `others` that `note` overlaps, earliest first: signed (not draft) notes
    by the same author, of a visit the same day whose time range intersects `note`'s (one
    visit ending as the next begins does not).

    One worker is rarely at two visits at once, so signing such a note is questioned; it is
    not refused, since one visit may be recorded once for each family member seen.
    """
    start, end = note.details.time_in, note.details.time_out
    if start is None or end is None:
        return []
    found = [other for other in others
             if other.id != note.id and other.author == note.author and other.locked
             and other.details.visit_date == note.details.visit_date
             and other.details.time_in is not None and other.details.time_out is not None
             and other.details.time_in < end and start < other.details.time_out]
    return sorted(found, key=lambda other: (other.details.time_in or end, other.id))
