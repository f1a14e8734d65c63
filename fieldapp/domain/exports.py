"""What may be exported, by whom: reports, their scope and period, and the rule that decides.

An export decrypts records onto paper or into a spreadsheet, where no key protects them any
more, so the rule is strict: a supervisor exports only the cases they supervise and the workers
of their team; a worker only their own cases and their own work; an administrator nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from fieldapp.domain.cases import Case
from fieldapp.domain.consent import Information
from fieldapp.domain.disclosure import Terms
from fieldapp.domain.errors import KnownError, NotPermitted, RuleViolation
from fieldapp.domain.mileage import month_key
from fieldapp.domain.people import Actor, CaseId, Role, UserId

# An export covers at most three years: an accounting of disclosures reaches back three years
# (42 CFR 2.24(a)), to the same day of the month (a 29 February start: to 1 March).
LONGEST_PERIOD_YEARS = 3

# How a long export reports and is stopped: progress(done, total) and cancelled() -> stop now.
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class ExportCancelled(KnownError):
    def __init__(self) -> None:
        super().__init__("The export was cancelled; no file was written.")


class ReportKind(StrEnum):
    VISIT_LOG = "visit-log"
    MILEAGE = "mileage"
    SCREENS = "screens"
    ACCOUNTING = "disclosures"

    @property
    def label(self) -> str:
        return {ReportKind.VISIT_LOG: "Visit log",
                ReportKind.MILEAGE: "Mileage reimbursement report",
                ReportKind.SCREENS: "Drug screen summary",
                ReportKind.ACCOUNTING: "Accounting of disclosures"}[self]

    @property
    def information(self) -> Information:
        """The kind of information the report discloses, which a consent must cover. Mileage
        and the accounting say which families were seen and when: attendance."""
        return {ReportKind.VISIT_LOG: Information.VISIT_NOTES,
                ReportKind.SCREENS: Information.DRUG_SCREENS}.get(self, Information.ATTENDANCE)


class ExportFormat(StrEnum):
    PDF = "pdf"
    CSV = "csv"


class ScopeKind(StrEnum):
    TEAM = "team"        # every case the supervisor supervises, every worker of the team
    WORKER = "worker"    # one worker: their cases, their visits, their mileage
    CASES = "cases"      # one or several cases


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    """One export as a person asks for it.

    Attributes:
        worker_id: the worker, for `ScopeKind.WORKER`.
        case_ids: the cases, for `ScopeKind.CASES`.
        terms: who the export is for, why, and the exception it rests on (if not consent).
        person: for the accounting of disclosures, one person's (empty: everyone's).
        first_day, last_day: the period, both included (mileage: the months they touch).
    """

    kind: ReportKind
    scope: ScopeKind
    first_day: date
    last_day: date
    fmt: ExportFormat = ExportFormat.PDF
    worker_id: UserId | None = None
    case_ids: tuple[CaseId, ...] = field(default=())
    terms: Terms
    person: str = ""

    def __post_init__(self) -> None:
        check_request(self)

    @property
    def months(self) -> list[str]:
        """The months the period touches, oldest first ("2026-10")."""
        found, day = [], self.first_day.replace(day=1)
        while day <= self.last_day:
            found.append(month_key(day))
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return found

    def file_name(self) -> str:
        """A default file name naming the report and period, never a person."""
        period = (self.months[0] if self.months == [month_key(self.first_day)] and
                  self.first_day.day == 1 and _last_of_month(self.last_day)
                  else f"{self.first_day.isoformat()}_{self.last_day.isoformat()}")
        return f"{self.kind}-{self.scope}-{period}.{self.fmt}"


def years_after(day: date, years: int) -> date:
    """The same day `years` later; 1 March for a 29 February that year lacks."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def check_request(request: ExportRequest) -> None:
    problems = []
    if request.last_day < request.first_day:
        problems.append("The period must end on or after the day it starts.")
    elif request.last_day > years_after(request.first_day, LONGEST_PERIOD_YEARS):
        problems.append("Export at most three years at a time.")
    if request.scope is ScopeKind.WORKER and not request.worker_id:
        problems.append("Choose the worker.")
    if request.scope is ScopeKind.CASES and not request.case_ids:
        problems.append("Choose at least one case.")
    if request.scope is ScopeKind.CASES and request.kind is ReportKind.MILEAGE:
        problems.append("Mileage is reported per worker: choose your team or a worker.")
    if request.kind is ReportKind.ACCOUNTING and request.scope is not ScopeKind.CASES:
        problems.append("The accounting of disclosures is kept per family: choose the case.")
    if problems:
        raise RuleViolation(" ".join(problems))


@dataclass(frozen=True, kw_only=True)
class ExportScope:
    """What a permitted request covers.

    Attributes:
        cases: the cases whose records are in the export.
        workers: the workers whose mileage is in it (mileage reports).
        author: only visits written by this worker (a worker's visit log), or None for all.
    """

    cases: tuple[Case, ...]
    workers: tuple[UserId, ...]
    author: UserId | None = None


def team_workers(actor: Actor, cases: Iterable[Case]) -> set[UserId]:
    """The workers on the cases `actor` supervises: the team their exports may cover."""
    return {w for c in cases if actor.user_id in c.supervisor_ids
            for w in (c.coordinator_id, c.intact_worker_id) if w}


def permitted_scope(actor: Actor, request: ExportRequest, *, cases: Sequence[Case],
                    team: Iterable[UserId] = ()) -> ExportScope:
    """The cases and workers `request` covers, or `NotPermitted` saying why not.

    `cases` are every case this laptop knows; `team` adds workers the program's server names as
    the supervisor's team to those found on their cases. A case the actor is not assigned to is
    refused with the same words as one that does not exist.
    """
    if actor.role is Role.ADMIN:
        raise NotPermitted("Administrators manage people and devices; they do not export case "
                           "records.")
    mine = tuple(sorted((c for c in cases if c.assigned_to(actor.user_id)),
                        key=lambda c: (c.family_name, c.id)))
    if request.scope is ScopeKind.TEAM:
        if not actor.is_supervisor:
            raise NotPermitted("Only a supervisor exports for a whole team; choose your own "
                               "cases or your own work.")
        return ExportScope(cases=mine, workers=tuple(sorted(team_workers(actor, cases)
                                                            | set(team))))
    if request.scope is ScopeKind.WORKER:
        return _worker_scope(actor, request, mine, team_workers(actor, cases) | set(team))
    known = {c.id: c for c in mine}
    missing = [i for i in request.case_ids if i not in known]
    if missing:
        raise NotPermitted("You can export only cases on your own caseload"
                           + (" or your team's." if actor.is_supervisor else "."))
    chosen = tuple(known[i] for i in dict.fromkeys(request.case_ids))
    return ExportScope(cases=chosen, workers=())


def _worker_scope(actor: Actor, request: ExportRequest, mine: tuple[Case, ...],
                  team: set[UserId]) -> ExportScope:
    worker = request.worker_id
    assert worker is not None
    if actor.is_supervisor:
        if worker not in team:
            raise NotPermitted("This worker is not on your team.")
        return ExportScope(cases=tuple(c for c in mine if worker in
                                       (c.coordinator_id, c.intact_worker_id)),
                           workers=(worker,), author=worker)
    if worker != actor.user_id:
        raise NotPermitted("You can export only your own work and cases.")
    return ExportScope(cases=mine, workers=(worker,), author=worker)


def last_three_years(today: date) -> date:
    """The first day of the three years up to `today` (an accounting of disclosures' reach,
    42 CFR 2.24); 29 February falls back to the 28th."""
    try:
        return today.replace(year=today.year - 3) + timedelta(days=1)
    except ValueError:
        return date(today.year - 3, 3, 1)


def _last_of_month(day: date) -> bool:
    return month_key(day) != month_key(date.fromordinal(day.toordinal() + 1))


FORMULA_STARTS = frozenset("=+-@\t\r")


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will show, never run: a cell starting like a formula gets a quote.

    Excel and LibreOffice evaluate a cell that starts with =, +, -, @, a tab or a return
    (OWASP's CSV injection); a narrative such as "-reviewed the plan" or a typed "=HYPERLINK(…)"
    would otherwise become a formula on the supervisor's machine.
    """
    return "'" + text if text[:1] in FORMULA_STARTS else text
