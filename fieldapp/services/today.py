"""What needs a person's attention today, gathered in one read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fieldapp.domain.cases import Case
from fieldapp.domain.mileage import MileageMonth, MonthStatus, month_key
from fieldapp.domain.people import UserId
from fieldapp.domain.radar import ConsentDue, MonthOfTrips, RadarItem, compliance_radar
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import (
    NoteStatus,
    SupervisorCapacity,
    VisitNote,
    cosignatures,
    missing_cosigners,
)
from fieldapp.services import consents
from fieldapp.services.casework import CaseloadRow, CaseService
from fieldapp.services.directory import Directory, directory
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.workspace import Workspace

RANDOM_SCREEN_LOOKAHEAD_DAYS = 2
# Overdue co-signatures listed one by one on the radar; beyond them, one line says how many.
RADAR_NOTES = 50


@dataclass(frozen=True, kw_only=True)
class RandomScreenDue:
    case: Case
    day: date


@dataclass(frozen=True, kw_only=True)
class MonthAwaiting:
    """A submitted month; `ledger` its miles against the cap and what they come to."""

    worker_id: UserId
    month: str
    miles: str
    ledger: MileageMonth
    not_over: bool = False  # submitted early: the month has days left (program's zone)


@dataclass(frozen=True, kw_only=True)
class TodaySummary:
    """Attributes:
    due: cases behind their visit frequency or due today, most urgent first.
    drafts: the actor's notes not yet signed.
    returned: the actor's notes a supervisor returned.
    mileage: the actor's mileage for the current month.
    random_screens: random screen days for the actor's cases, today and the next two days.
    awaiting_cosign: notes waiting for the actor's co-signature (supervisors): under
        co-supervision, those still missing the co-signature of the actor's capacity.
    months_awaiting: submitted months waiting for approval (supervisors).
    radar: what is overdue or soon due (`fieldapp.domain.radar`), overdue first.
    program: the program's name, as its server hands it down.
    supervisor: the actor supervises (co-signs notes, approves months).
    own_work: the actor has a worker's own work: always for a coordinator or intact worker; for
        a supervisor, only with a case of their own, notes of their own or trips of their own.
    people: the staff's names (authors of notes to co-sign, workers of months to approve).
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
    radar: list[RadarItem]
    program: str
    supervisor: bool
    own_work: bool
    people: Directory

    def family(self, case_id: str) -> str:
        return self.families.get(case_id, "(not on your caseload)")


def today_summary(workspace: Workspace) -> TodaySummary:
    """Thread rule: the database worker."""
    today = workspace.today()
    me = workspace.actor.user_id
    caseload = CaseService(workspace).caseload()
    notes = NoteService(workspace)
    supervisor = workspace.actor.is_supervisor
    staff = directory(workspace)
    drafts = notes.with_status(NoteStatus.DRAFT)
    capacity = staff.capacity(me)
    late = workspace.now() - timedelta(days=workspace.settings.cosign_deadline_days)
    if supervisor:  # every signed note is opened for the co-sign list; the late ones are there
        signed = notes.with_status(NoteStatus.SIGNED)
        past = sorted((n for n in signed if n.signature and n.signature.at < late),
                      key=lambda n: n.signature.at if n.signature else late)
        overdue, waiting = past[:RADAR_NOTES], len(past)
    else:
        signed = []
        overdue, waiting = notes.waiting_since(late, author=me, limit=RADAR_NOTES)
    returned = [n for n in notes.with_status(NoteStatus.RETURNED) if n.author == me]
    months = _months_of_trips(workspace)
    return TodaySummary(
        today=today,
        due=[row for row in caseload if row.due.behind or row.due.next_due <= today]
        if not supervisor else [row for row in caseload if row.due.behind],
        drafts=[n for n in drafts if n.author == me],
        returned=returned,
        mileage=MileageService(workspace).month(month_key(today)),
        random_screens=_random_screens(workspace, caseload, today),
        awaiting_cosign=[n for n in signed if _awaits(n, me=me, capacity=capacity,
                                                      settings=workspace.settings)],
        months_awaiting=_months_awaiting(workspace) if supervisor else [],
        families={row.case.id: row.case.family_name for row in caseload},
        radar=compliance_radar(
            viewer=me, now=workspace.now(), settings=workspace.settings,
            caseload=[(row.case, row.due) for row in caseload], notes=[*overdue, *drafts],
            months=months, consents=_expiring_consents(workspace),
            names=staff.names, unlisted_cosignatures=waiting - len(overdue)),
        program=workspace.settings.program_name, supervisor=supervisor,
        own_work=not supervisor or _has_own_work(me, caseload=caseload, notes=[
            *drafts, *signed, *returned], months=months), people=staff,
    )


def _has_own_work(me: UserId, *, caseload: list[CaseloadRow], notes: list[VisitNote],
                  months: list[MonthOfTrips]) -> bool:
    """Whether a supervisor also works cases: one of theirs as coordinator or intact worker, a
    note they wrote, or a trip they logged. Then Today keeps a worker's sections for them."""
    return bool(months) or any(n.author == me for n in notes) or any(
        me in (row.case.coordinator_id, row.case.intact_worker_id) for row in caseload)


def _awaits(note: VisitNote, *, me: UserId, capacity: SupervisorCapacity | None,
            settings: ProgramSettings) -> bool:
    """Whether a signed note waits for my co-signature: not mine, not co-signed by me since the
    author's last change, and (under co-supervision) my capacity's co-signature still missing;
    with my capacity unknown it is listed, and co-signing says why it cannot be done."""
    if note.author == me or any(r.reviewer == me for r in cosignatures(note)):
        return False
    missing = missing_cosigners(note, settings=settings)
    return not missing or capacity is None or capacity in missing


def _months_of_trips(workspace: Workspace) -> list[MonthOfTrips]:
    """The actor's months with trips, and each month's status (plain columns only)."""
    rows = workspace.db.execute(
        "SELECT t.month, coalesce(m.status, 'open'), count(*) FROM trips t "
        "LEFT JOIN mileage_months m ON m.worker_id = t.worker_id AND m.month = t.month "
        "WHERE t.worker_id = ? GROUP BY t.month ORDER BY t.month", [workspace.actor.user_id])
    return [MonthOfTrips(month=month, status=MonthStatus(status), trips=int(count))
            for month, status, count in rows.fetchall()]


def _expiring_consents(workspace: Workspace) -> list[ConsentDue]:
    """Consents in force on the actor's caseload that end within the program's warning
    period."""
    return [ConsentDue(c.case_id, c.patient, c.expires_on) for c in consents.expiring(
        workspace, within_days=workspace.settings.consent_warning_days)]


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
    mileage = MileageService(workspace)
    current = month_key(workspace.today())
    return [MonthAwaiting(worker_id=UserId(w), month=m, miles=f"{miles:.1f}",
                          ledger=mileage.month(m, worker_id=UserId(w)), not_over=m >= current)
            for w, m, miles in rows.fetchall() if w != workspace.actor.user_id]
