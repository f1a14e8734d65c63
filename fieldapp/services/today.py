"""What needs a person's attention today, gathered in one read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fieldapp.domain.cases import Case
from fieldapp.domain.mileage import MileageMonth, MonthStatus, month_key
from fieldapp.domain.people import UserId
from fieldapp.domain.visits import NoteStatus, VisitNote
from fieldapp.services.casework import CaseloadRow, CaseService
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.workspace import Workspace

RANDOM_SCREEN_LOOKAHEAD_DAYS = 2


@dataclass(frozen=True, kw_only=True)
class RandomScreenDue:
    case: Case
    day: date


@dataclass(frozen=True, kw_only=True)
class MonthAwaiting:
    worker_id: UserId
    month: str
    miles: str


@dataclass(frozen=True, kw_only=True)
class TodaySummary:
    """Attributes:
    due: cases behind their visit frequency or due today, most urgent first.
    drafts: the actor's notes not yet signed.
    returned: the actor's notes a supervisor returned.
    mileage: the actor's mileage for the current month.
    random_screens: random screen days for the actor's cases, today and the next two days.
    awaiting_cosign: notes waiting for the actor's co-signature (supervisors).
    months_awaiting: submitted months waiting for approval (supervisors).
    """

    today: date
    due: list[CaseloadRow]
    drafts: list[VisitNote]
    returned: list[VisitNote]
    mileage: MileageMonth
    random_screens: list[RandomScreenDue]
    awaiting_cosign: list[VisitNote]
    months_awaiting: list[MonthAwaiting]
    families: dict[str, str]

    def family(self, case_id: str) -> str:
        return self.families.get(case_id, "(not on your caseload)")


def today_summary(workspace: Workspace) -> TodaySummary:
    """Thread rule: the database worker."""
    today = workspace.today()
    me = workspace.actor.user_id
    caseload = CaseService(workspace).caseload()
    notes = NoteService(workspace)
    supervisor = workspace.actor.is_supervisor
    return TodaySummary(
        today=today,
        due=[row for row in caseload if row.due.behind or row.due.next_due <= today]
        if not supervisor else [row for row in caseload if row.due.behind],
        drafts=[n for n in notes.with_status(NoteStatus.DRAFT) if n.author == me],
        returned=[n for n in notes.with_status(NoteStatus.RETURNED) if n.author == me],
        mileage=MileageService(workspace).month(month_key(today)),
        random_screens=_random_screens(workspace, caseload, today),
        awaiting_cosign=[n for n in notes.with_status(NoteStatus.SIGNED) if n.author != me]
        if supervisor else [],
        months_awaiting=_months_awaiting(workspace) if supervisor else [],
        families={row.case.id: row.case.family_name for row in caseload},
    )


def _random_screens(workspace: Workspace, caseload: list[CaseloadRow], today: date
                    ) -> list[RandomScreenDue]:
    horizon = today + timedelta(days=RANDOM_SCREEN_LOOKAHEAD_DAYS)
    screens = ScreenService(workspace)
    due = []
    for row in caseload:
        for schedule in screens.schedules(row.case.id):
            due += [RandomScreenDue(case=row.case, day=d) for d in schedule.days
                    if today <= d <= horizon]
    return sorted(due, key=lambda r: (r.day, r.case.family_name))


def _months_awaiting(workspace: Workspace) -> list[MonthAwaiting]:
    rows = workspace.db.execute(
        "SELECT m.worker_id, m.month, coalesce(sum(CAST(t.total_miles AS REAL)), 0) "
        "FROM mileage_months m LEFT JOIN trips t ON t.worker_id = m.worker_id "
        "AND t.month = m.month WHERE m.status = ? GROUP BY m.worker_id, m.month "
        "ORDER BY m.month, m.worker_id", [str(MonthStatus.SUBMITTED)])
    return [MonthAwaiting(worker_id=UserId(w), month=m, miles=f"{miles:.1f}")
            for w, m, miles in rows.fetchall() if w != workspace.actor.user_id]
