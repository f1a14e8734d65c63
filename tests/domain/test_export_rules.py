"""Who may export what, and the shape of an export request: table-driven over every role and
scope, plus the period rules, the default file name and the spreadsheet formula guard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.domain.errors import KnownError, NotPermitted, RuleViolation
from fieldapp.domain.exports import (
    ExportCancelled,
    ExportFormat,
    ExportRequest,
    ExportScope,
    ReportKind,
    ScopeKind,
    last_three_years,
    permitted_scope,
    spreadsheet_safe,
    team_workers,
)
from fieldapp.domain.people import Actor, CaseId, Role, UserId

INTERNAL = Terms(recipient=Recipient(name="Program director", kind=RecipientKind.PROGRAM_STAFF),
                 purpose="quarterly review", exception=Exception_.PROGRAM_USE,
                 reference="quarterly review")

SUPERVISOR = Actor(user_id=UserId("sup-1"), role=Role.SUPERVISOR)
WORKER = Actor(user_id=UserId("rc-1"), role=Role.RECOVERY_COORDINATOR)
OTHER_WORKER = Actor(user_id=UserId("rc-2"), role=Role.RECOVERY_COORDINATOR)
INTACT = Actor(user_id=UserId("iw-1"), role=Role.INTACT_WORKER)
OFF_TEAM = UserId("rc-3")
ADMIN = Actor(user_id=UserId("admin-1"), role=Role.ADMIN)


def _case(case_id: str, family: str, *, coordinator: str | None, intact: str | None = None,
          supervisors: tuple[str, ...] = ("sup-1",)) -> Case:
    return Case(id=CaseId(case_id), family_name=family, parents=(Person(name=f"{family} P"),),
                coordinator_id=UserId(coordinator) if coordinator else None,
                intact_worker_id=UserId(intact) if intact else None,
                supervisor_ids=tuple(UserId(s) for s in supervisors),
                start_date=date(2026, 1, 5))


# Listed out of alphabetical order: the scope sorts cases by family name.
BRENNAN = _case("c-brennan", "Brennan", coordinator="rc-2")
ALDER = _case("c-alder", "Alder", coordinator="rc-1", intact="iw-1")
CASTILLO = _case("c-castillo", "Castillo", coordinator="rc-3", supervisors=("sup-2",))
CASES = (BRENNAN, ALDER, CASTILLO)

NOT_YOUR_TEAM_CASE = "You can export only cases on your own caseload or your team's."
NOT_YOUR_CASE = "You can export only cases on your own caseload."


def request(scope: ScopeKind, *, kind: ReportKind = ReportKind.VISIT_LOG,
            worker: str | None = None, cases: tuple[str, ...] = (),
            first: date = date(2026, 10, 1), last: date = date(2026, 10, 31),
            fmt: ExportFormat = ExportFormat.PDF) -> ExportRequest:
    return ExportRequest(kind=kind, scope=scope, first_day=first, last_day=last, fmt=fmt,
                         worker_id=UserId(worker) if worker else None,
                         case_ids=tuple(CaseId(c) for c in cases), terms=INTERNAL)


@dataclass(frozen=True)
class Row:
    """One line of the table: an actor asks; either a scope comes back or these words."""

    actor: Actor
    ask: ExportRequest
    cases: tuple[Case, ...] = ()
    workers: tuple[str, ...] = ()
    author: str | None = None
    refused: str | None = None
    team: tuple[str, ...] = ()


TEAM = ScopeKind.TEAM
ONE_WORKER = ScopeKind.WORKER
SOME_CASES = ScopeKind.CASES

PERMISSIONS: dict[str, Row] = {
    # a supervisor
    "supervisor team": Row(SUPERVISOR, request(TEAM), cases=(ALDER, BRENNAN),
                           workers=("iw-1", "rc-1", "rc-2")),
    "supervisor team adds the server's team": Row(
        SUPERVISOR, request(TEAM), cases=(ALDER, BRENNAN),
        workers=("iw-1", "rc-1", "rc-2", "rc-9"), team=("rc-9",)),
    "supervisor worker on team": Row(SUPERVISOR, request(ONE_WORKER, worker="rc-1"),
                                     cases=(ALDER,), workers=("rc-1",), author="rc-1"),
    "supervisor intact worker on team": Row(SUPERVISOR, request(ONE_WORKER, worker="iw-1"),
                                            cases=(ALDER,), workers=("iw-1",), author="iw-1"),
    "supervisor worker off team": Row(SUPERVISOR, request(ONE_WORKER, worker=OFF_TEAM),
                                      refused="This worker is not on your team."),
    "supervisor worker on the server's team only": Row(
        SUPERVISOR, request(ONE_WORKER, worker="rc-9"), cases=(), workers=("rc-9",),
        author="rc-9", team=("rc-9",)),
    "supervisor case supervised": Row(SUPERVISOR, request(SOME_CASES, cases=("c-brennan",)),
                                      cases=(BRENNAN,)),
    "supervisor cases kept in the order asked, once each": Row(
        SUPERVISOR, request(SOME_CASES, cases=("c-brennan", "c-alder", "c-brennan")),
        cases=(BRENNAN, ALDER)),
    "supervisor case not supervised": Row(SUPERVISOR, request(SOME_CASES, cases=("c-castillo",)),
                                          refused=NOT_YOUR_TEAM_CASE),
    "supervisor one case of two not supervised": Row(
        SUPERVISOR, request(SOME_CASES, cases=("c-alder", "c-castillo")),
        refused=NOT_YOUR_TEAM_CASE),
    "supervisor unknown case": Row(SUPERVISOR, request(SOME_CASES, cases=("c-nowhere",)),
                                   refused=NOT_YOUR_TEAM_CASE),
    # a recovery coordinator and an intact worker
    "worker self": Row(WORKER, request(ONE_WORKER, worker="rc-1"), cases=(ALDER,),
                       workers=("rc-1",), author="rc-1"),
    "intact worker self": Row(INTACT, request(ONE_WORKER, worker="iw-1"), cases=(ALDER,),
                              workers=("iw-1",), author="iw-1"),
    "worker other worker": Row(WORKER, request(ONE_WORKER, worker="rc-2"),
                               refused="You can export only your own work and cases."),
    "worker other worker, even a teammate on the server's list": Row(
        WORKER, request(ONE_WORKER, worker="iw-1"), team=("iw-1",),
        refused="You can export only your own work and cases."),
    "worker own case": Row(WORKER, request(SOME_CASES, cases=("c-alder",)), cases=(ALDER,)),
    "worker other's case": Row(WORKER, request(SOME_CASES, cases=("c-brennan",)),
                               refused=NOT_YOUR_CASE),
    "worker unknown case": Row(WORKER, request(SOME_CASES, cases=("c-nowhere",)),
                               refused=NOT_YOUR_CASE),
    "worker team": Row(WORKER, request(TEAM), refused="Only a supervisor exports for a whole "
                                                      "team; choose your own cases or your own "
                                                      "work."),
}

ADMIN_REFUSAL = "Administrators manage people and devices; they do not export case records."
for _name, _ask in {"team": request(TEAM), "worker": request(ONE_WORKER, worker="rc-1"),
                    "own id as worker": request(ONE_WORKER, worker="admin-1"),
                    "case": request(SOME_CASES, cases=("c-alder",))}.items():
    PERMISSIONS[f"admin {_name}"] = Row(ADMIN, _ask, refused=ADMIN_REFUSAL)


@pytest.mark.parametrize("row", PERMISSIONS.values(), ids=PERMISSIONS.keys())
def test_permitted_scope(row: Row) -> None:
    team = tuple(UserId(t) for t in row.team)
    if row.refused is not None:
        with pytest.raises(NotPermitted) as refused:
            permitted_scope(row.actor, row.ask, cases=CASES, team=team)
        assert refused.value.message == row.refused
        return
    scope = permitted_scope(row.actor, row.ask, cases=CASES, team=team)
    assert scope == ExportScope(cases=row.cases, workers=tuple(UserId(w) for w in row.workers),
                                author=UserId(row.author) if row.author else None)


def test_every_role_and_scope_is_in_the_table() -> None:
    asked = {(r.actor.role, r.ask.scope) for r in PERMISSIONS.values()}
    assert asked == {(role, scope) for role in Role for scope in ScopeKind} - {
        (Role.INTACT_WORKER, ScopeKind.TEAM), (Role.INTACT_WORKER, ScopeKind.CASES)}


def test_an_unassigned_case_is_refused_in_the_words_of_a_missing_one() -> None:
    def words(case_id: str) -> str:
        with pytest.raises(NotPermitted) as refused:
            permitted_scope(SUPERVISOR, request(SOME_CASES, cases=(case_id,)), cases=CASES)
        return refused.value.message

    assert words("c-castillo") == words("c-does-not-exist")


def test_team_workers_are_the_workers_of_supervised_cases_only() -> None:
    assert team_workers(SUPERVISOR, CASES) == {"rc-1", "iw-1", "rc-2"}
    assert team_workers(Actor(user_id=UserId("sup-2"), role=Role.SUPERVISOR), CASES) == {"rc-3"}
    assert team_workers(WORKER, CASES) == set()


# --- the request -------------------------------------------------------------------------------


BAD_REQUESTS: dict[str, tuple[dict[str, Any], str]] = {
    "period reversed": ({"first": date(2026, 10, 31), "last": date(2026, 10, 1)},
                        "The period must end on or after the day it starts."),
    "four years": ({"first": date(2022, 1, 1), "last": date(2025, 12, 31)},
                   "Export at most three years at a time."),
    "worker missing": ({"scope": ONE_WORKER}, "Choose the worker."),
    "cases missing": ({"scope": SOME_CASES}, "Choose at least one case."),
    "mileage by cases": ({"scope": SOME_CASES, "cases": ("c-alder",),
                          "kind": ReportKind.MILEAGE},
                         "Mileage is reported per worker: choose your team or a worker."),
}


@pytest.mark.parametrize(("fields", "words"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_request_is_refused_in_plain_words(fields: dict[str, Any], words: str) -> None:
    fields = dict(fields)
    scope = fields.pop("scope", TEAM)
    with pytest.raises(RuleViolation) as refused:
        request(scope, **fields)
    assert refused.value.message == words


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(RuleViolation) as refused:
        request(SOME_CASES, kind=ReportKind.MILEAGE, first=date(2026, 2, 1),
                last=date(2026, 1, 1))
    assert refused.value.message == (
        "The period must end on or after the day it starts. Choose at least one case. "
        "Mileage is reported per worker: choose your team or a worker.")


@pytest.mark.parametrize(("first", "last"), [
    (date(2026, 10, 5), date(2026, 10, 5)),     # one day
    (date(2024, 1, 1), date(2026, 12, 31)),     # three calendar years, a leap year among them
])
def test_good_periods_are_accepted(first: date, last: date) -> None:
    assert request(TEAM, first=first, last=last).first_day == first


@pytest.mark.parametrize(("first", "last", "months"), [
    (date(2026, 10, 5), date(2026, 10, 5), ["2026-10"]),
    (date(2026, 11, 30), date(2027, 2, 1), ["2026-11", "2026-12", "2027-01", "2027-02"]),
    (date(2026, 12, 31), date(2027, 1, 1), ["2026-12", "2027-01"]),
    (date(2026, 1, 1), date(2026, 12, 31), [f"2026-{m:02d}" for m in range(1, 13)]),
])
def test_months_of_a_period(first: date, last: date, months: list[str]) -> None:
    assert request(TEAM, kind=ReportKind.MILEAGE, first=first, last=last).months == months


@pytest.mark.parametrize(("make", "name"), [
    (lambda: request(TEAM, kind=ReportKind.MILEAGE, fmt=ExportFormat.CSV),
     "mileage-team-2026-10.csv"),
    (lambda: request(ONE_WORKER, worker="rc-1", first=date(2026, 2, 1),
                     last=date(2026, 2, 28)), "visit-log-worker-2026-02.pdf"),
    (lambda: request(SOME_CASES, kind=ReportKind.SCREENS, cases=("c-alder",),
                     first=date(2028, 2, 1), last=date(2028, 2, 29)),
     "screens-cases-2028-02.pdf"),
    (lambda: request(TEAM, first=date(2026, 10, 1), last=date(2026, 10, 30)),
     "visit-log-team-2026-10-01_2026-10-30.pdf"),
    (lambda: request(TEAM, first=date(2026, 10, 2), last=date(2026, 10, 31)),
     "visit-log-team-2026-10-02_2026-10-31.pdf"),
    (lambda: request(TEAM, first=date(2026, 10, 1), last=date(2026, 11, 30),
                     fmt=ExportFormat.CSV), "visit-log-team-2026-10-01_2026-11-30.csv"),
    (lambda: request(TEAM, first=date(2026, 12, 1), last=date(2027, 1, 31)),
     "visit-log-team-2026-12-01_2027-01-31.pdf"),
])
def test_file_name_names_report_scope_and_period(make: Callable[[], ExportRequest],
                                                 name: str) -> None:
    made = make().file_name()
    assert made == name
    assert "rc-1" not in made and "alder" not in made.lower()


@pytest.mark.parametrize(("typed", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1 555 0100", "'+1 555 0100"),
    ("-reviewed the plan", "'-reviewed the plan"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tindented", "'\tindented"),
    ("\rreturn first", "'\rreturn first"),
    ("Met the mother at home.", "Met the mother at home."),
    ("a = b, c + d - e @ f", "a = b, c + d - e @ f"),
    ("", ""),
    ("150.0", "150.0"),
    ("José, niño 👍", "José, niño 👍"),
])
def test_spreadsheet_safe(typed: str, cell: str) -> None:
    assert spreadsheet_safe(typed) == cell


def test_a_cancelled_export_is_a_known_error_in_plain_words() -> None:
    cancelled = ExportCancelled()
    assert isinstance(cancelled, KnownError)
    assert cancelled.message == "The export was cancelled; no file was written."


def test_report_labels() -> None:
    assert [k.label for k in ReportKind] == ["Visit log", "Mileage reimbursement report",
                                             "Drug screen summary",
                                             "Accounting of disclosures"]


@pytest.mark.parametrize(("today", "first"), [
    (date(2026, 11, 24), date(2023, 11, 25)),
    (date(2028, 2, 29), date(2025, 3, 1)),
])
def test_an_accounting_reaches_back_three_years(today: date, first: date) -> None:
    assert last_three_years(today) == first
    request(ScopeKind.CASES, kind=ReportKind.ACCOUNTING, cases=("c",), first=first, last=today)
