"""Which families are due a visit: the last face-to-face contact and this week's count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from fieldapp.domain.cases import Case
from fieldapp.domain.people import CaseId
from fieldapp.domain.visits import ContactType, VisitDetails


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


def due_status(case: Case, visits: Iterable[VisitDetails], *, today: date) -> DueStatus:
    """How `case` stands against its expected frequency this week, as of `today`.

    Only face-to-face contacts count; attempted visits, calls and video do not. A week's
    expectation builds up day by day: with 2 a week, one is due by Thursday and two by Sunday.
    """
    seen = sorted(v.visit_date for v in visits
                  if v.contact_type is ContactType.FACE_TO_FACE and v.visit_date <= today)
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
