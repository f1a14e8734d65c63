"""A small, hand-built program for the export tests, and readers for what an export writes.

The program: supervisor sup-1 ("Pat Morgan") supervises the Alder case (coordinator rc-1, intact
worker iw-1) and the Brennan case (coordinator rc-2). Supervisor sup-2 supervises Castillo
(coordinator rc-1, so rc-1 works on both teams) and Dovey (coordinator rc-3, on sup-2's team
only). Every record that must stay out of sup-1's October export carries a word in capitals
(`OUTSIDE`, `SECRET`) so a test can show it is absent. The `assert_*` helpers check what
every export of a kind must carry: the Part 2 notice, the header, the page frame, CRLF rows.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from fieldapp.domain.cases import Case
from fieldapp.domain.clock import iso
from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.people import Actor, CaseId, Role, UserId
from fieldapp.domain.screens import (
    Attendance,
    LabConfirmation,
    LabStatus,
    Method,
    ScreenReason,
    SubstanceResult,
    Validity,
)
from fieldapp.domain.visits import Place, VisitNote
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.services.exports import job
from fieldapp.services.workspace import Workspace
from fieldapp.storage.resources import part2_notice
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    INTACT_WORKER,
    OTHER_SUPERVISOR,
    OTHER_WORKER,
    SUPERVISOR,
    WORKER,
    Services,
    drug_screen,
    make_case,
    make_trip,
    open_case,
    services,
    visit_details,
)

PROGRAM = "Riverbend Family Recovery Program"
OFF_TEAM = Actor(user_id=UserId("rc-3"), role=Role.RECOVERY_COORDINATOR)
NAMES = {"rc-1": "Sam Rivera", "rc-2": "Lee Okafor", "iw-1": "Ana Núñez", "sup-1": "Pat Morgan"}
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
TEAM_SCOPE = "Team of Pat Morgan: 2 case(s), 3 worker(s)"
NEVER_IN_SUP1_OCTOBER = ("OUTSIDE", "SECRET", "Castillo", "Dovey", "rc-3")

# Everything a worker can type that a CSV must carry through as it is.
AWKWARD = ('Mother said "we\'re fine, really", then asked about the class.\n'
           "Second line: José's niño, café résumé 👍; done.")
FORMULA = '=HYPERLINK("http://evil.example","click")'
# Typed text that looks like HTML: the PDF shows it as typed, never as markup.
MARKUP = "Brennan visit: <b>reviewed</b> the safety plan & the <i>school</i> forms."


@dataclass
class Team:
    vault: Vault
    clock: FakeClock
    alder: Case
    brennan: Case
    castillo: Case
    dovey: Case

    def as_(self, actor: Actor) -> Services:
        return services(self.vault, self.clock, actor)

    def ws(self, actor: Actor = SUPERVISOR) -> Workspace:
        return Workspace(self.vault, actor=actor, clock=self.clock)

    def at(self, moment: datetime) -> None:
        self.clock.now = moment


def make_team(vault: Vault, clock: FakeClock) -> Team:
    """The four cases, sup-1's team's names, and the program's name; no records yet."""
    alder = open_case(vault, clock, family_name="Alder")
    brennan = open_case(vault, clock, family_name="Brennan", coordinator=OTHER_WORKER,
                        intact_worker=None)
    other = services(vault, clock, OTHER_SUPERVISOR).cases
    castillo = other.open_case(make_case(family_name="Castillo", intact_worker=None,
                                         supervisors=(OTHER_SUPERVISOR,)))
    dovey = other.open_case(make_case(family_name="Dovey", coordinator=OFF_TEAM,
                                      intact_worker=None, supervisors=(OTHER_SUPERVISOR,)))
    ws = Workspace(vault, actor=SUPERVISOR, clock=clock)
    remember_staff(ws, [StaffMember(user_id=UserId(i), name=n,
                                    role=Role.SUPERVISOR if i.startswith("sup")
                                    else Role.RECOVERY_COORDINATOR)
                        for i, n in NAMES.items()])
    with ws.db.atomic():
        save_settings(ws.db, replace(load_settings(ws.db), program_name=PROGRAM),
                      now=iso(clock()))
    return Team(vault=vault, clock=clock, alder=alder, brennan=brennan, castillo=castillo,
                dovey=dovey)


def visit(team: Team, author: Actor, case: Case, day: date, narrative: str, *,
          sign_after: timedelta | None = timedelta(hours=2), **details: Any) -> VisitNote:
    """A visit 14:00-15:30 Chicago on `day`, written that afternoon, signed `sign_after` later
    (None: left a draft)."""
    team.at(datetime.combine(day, time(21, 0), tzinfo=UTC))
    notes = team.as_(author).notes
    note = notes.start_draft(case.id, visit_details(visit_date=day, narrative=narrative,
                                                    **details))
    if sign_after is None:
        return note
    team.at(team.clock.now + sign_after)
    return notes.sign(note.id)


@dataclass(frozen=True)
class Visits:
    """The notes of `add_visits`, by name."""

    first: VisitNote        # 1 Oct, Alder, rc-1, signed in time, co-signed, awkward text
    brennan: VisitNote      # 7 Oct, Brennan, rc-2, signed, waiting for co-signature
    late: VisitNote         # 12 Oct, Alder, rc-1, signed late, returned, two addenda
    draft: VisitNote        # 20 Oct, Alder, iw-1, a draft starting with '='
    last_day: VisitNote     # 31 Oct, Brennan, rc-2, co-signed
    outside: tuple[VisitNote, ...]  # before, after, and on sup-2's cases


def add_visits(team: Team) -> Visits:
    sup = team.as_(SUPERVISOR).notes
    before = visit(team, WORKER, team.alder, date(2026, 9, 30), "SEPTEMBER-OUTSIDE visit.")
    first = visit(team, WORKER, team.alder, FIRST, AWKWARD)
    team.at(team.clock.now + timedelta(hours=20))
    sup.cosign(first.id)
    brennan = visit(team, OTHER_WORKER, team.brennan, date(2026, 10, 7), MARKUP,
                    place=Place.OFFICE, people_present=("mother", "Noor <9> & aunt"))
    castillo = visit(team, WORKER, team.castillo, date(2026, 10, 10), "CASTILLO-SECRET visit.")
    late = visit(team, WORKER, team.alder, date(2026, 10, 12),
                 "Late visit narrative: the family moved rooms.", sign_after=timedelta(days=3))
    team.at(team.clock.now + timedelta(hours=1))
    sup.return_note(late.id, comment="Please list who else was home.")
    team.at(team.clock.now + timedelta(hours=1))
    team.as_(WORKER).notes.add_addendum(late.id, reason="asked by supervisor",
                                        text="Grandmother Inés was also present.")
    team.at(team.clock.now + timedelta(hours=1))
    sup.add_addendum(late.id, reason="supervisor review", text="Discussed with the worker.")
    dovey = visit(team, OFF_TEAM, team.dovey, date(2026, 10, 15), "DOVEY-SECRET visit.")
    draft = visit(team, INTACT_WORKER, team.alder, date(2026, 10, 20), FORMULA, sign_after=None)
    last_day = visit(team, OTHER_WORKER, team.brennan, LAST, "Last day of the month visit.")
    team.at(team.clock.now + timedelta(hours=2))
    sup.cosign(last_day.id)
    after = visit(team, WORKER, team.alder, date(2026, 11, 2), "NOVEMBER-OUTSIDE visit.")
    team.at(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    get = team.as_(SUPERVISOR).notes.get
    return Visits(first=get(first.id), brennan=get(brennan.id), late=get(late.id),
                  draft=get(draft.id), last_day=get(last_day.id),
                  outside=(before, castillo, dovey, after))


def add_trips(team: Team) -> None:
    """rc-1: 100 + 60 + 30 miles in October (the 60 crosses the 150 cap), approved by sup-1;
    one trip in November. rc-2: 20 miles in September, 40 in October, submitted. rc-3 (another
    team): 25 miles in October."""
    team.at(datetime(2026, 11, 3, 15, 0, tzinfo=UTC))
    rc1, rc2 = team.as_(WORKER).mileage, team.as_(OTHER_WORKER).mileage
    for day, miles, case, purpose in ((3, 100, team.alder, "home visit"),
                                      (10, 60, team.castillo, "home visit"),
                                      (17, 30, None, "training at the county office")):
        rc1.add_trip(make_trip(trip_date=date(2026, 10, day), miles=Decimal(miles),
                               round_trip=False, case_id=case.id if case else None,
                               purpose=purpose))
    rc1.add_trip(make_trip(trip_date=date(2026, 11, 2), purpose="NOVEMBER-OUTSIDE trip"))
    rc2.add_trip(make_trip(trip_date=date(2026, 9, 15), miles=Decimal(10), case_id=None))
    rc2.add_trip(make_trip(trip_date=date(2026, 10, 8), miles=Decimal(40), round_trip=False,
                           case_id=team.brennan.id, purpose="Brennan visit"))
    team.as_(OFF_TEAM).mileage.add_trip(make_trip(trip_date=date(2026, 10, 9),
                                                  miles=Decimal(25), purpose="DOVEY-SECRET trip",
                                                  case_id=team.dovey.id))
    rc1.submit("2026-10")
    rc2.submit("2026-10")
    team.at(datetime(2026, 11, 4, 16, 0, tzinfo=UTC))
    team.as_(SUPERVISOR).mileage.approve(WORKER.user_id, "2026-10")
    team.at(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))


NEGATIVE_ALL = {"cocaine": SubstanceResult.NEGATIVE, "opiates": SubstanceResult.NEGATIVE,
                "marijuana (THC)": SubstanceResult.NEGATIVE}


def add_screens(team: Team) -> None:
    """Alder: seven screens in October (Chicago time), one just before it; Brennan: one;
    Castillo (sup-2's case): one."""
    team.at(datetime(2026, 11, 3, 15, 0, tzinfo=UTC))
    rc1, rc2 = team.as_(WORKER).screens, team.as_(OTHER_WORKER).screens

    def alder(moment: datetime, **fields: Any) -> None:
        rc1.record(drug_screen(team.alder.id, collected_at=moment, **fields))

    # 30 Sep 23:00 in Chicago, though 1 Oct in UTC: outside October.
    alder(datetime(2026, 10, 1, 4, 0, tzinfo=UTC), comments="SEPTEMBER-OUTSIDE screen",
          results=NEGATIVE_ALL, lab=None)
    alder(datetime(2026, 10, 6, 16, 0, tzinfo=UTC), reason=ScreenReason.RANDOM,
          results=NEGATIVE_ALL, lab=None, comments="all clear")
    lab = rc1.record(drug_screen(
        team.alder.id, collected_at=datetime(2026, 10, 13, 16, 0, tzinfo=UTC),
        reason=ScreenReason.SCHEDULED, method=Method.LAB, chain_of_custody="CC-1001",
        results={**NEGATIVE_ALL, "cocaine": SubstanceResult.POSITIVE},
        lab=LabConfirmation(status=LabStatus.PENDING), comments=""))
    rc1.confirm_lab(lab.id, status=LabStatus.CONFIRMED_POSITIVE, on=date(2026, 10, 16))
    alder(datetime(2026, 10, 20, 16, 0, tzinfo=UTC), reason=ScreenReason.RANDOM, lab=None,
          comments="")  # instant THC positive, never sent to a lab
    alder(datetime(2026, 10, 22, 16, 0, tzinfo=UTC), reason=ScreenReason.RANDOM,
          attendance=Attendance.NO_SHOW, results={}, lab=None, comments="did not come",
          notified_at=datetime(2026, 10, 22, 13, 0, tzinfo=UTC),
          due_by=datetime(2026, 10, 22, 15, 0, tzinfo=UTC))  # a no-show keeps its due-by time
    alder(datetime(2026, 10, 24, 16, 0, tzinfo=UTC), reason=ScreenReason.SCHEDULED,
          attendance=Attendance.REFUSED, results={}, lab=None, comments="")
    alder(datetime(2026, 10, 27, 16, 0, tzinfo=UTC), reason=ScreenReason.SCHEDULED,
          validity=Validity.DILUTE, results=NEGATIVE_ALL, lab=None, comments="")
    # 31 Oct 22:00 in Chicago, though 1 Nov in UTC: inside October.
    alder(datetime(2026, 11, 1, 3, 0, tzinfo=UTC), reason=ScreenReason.RANDOM,
          results=NEGATIVE_ALL, lab=None, comments="late evening")
    rc2.record(drug_screen(team.brennan.id, person="Brennan parent",
                           collected_at=datetime(2026, 10, 9, 16, 0, tzinfo=UTC),
                           results=NEGATIVE_ALL, lab=None, comments=""))
    rc1.record(drug_screen(team.castillo.id, person="CASTILLO-SECRET parent",
                           collected_at=datetime(2026, 10, 10, 16, 0, tzinfo=UTC), lab=None))
    team.at(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))


# Exports inside the program: no consent needed (42 CFR 2.12(c)(3)), accounted all the same.
PAYROLL = Terms(recipient=Recipient(name="Payroll office", kind=RecipientKind.PROGRAM_STAFF),
                purpose="monthly reimbursement", exception=Exception_.PROGRAM_USE,
                reference="monthly reimbursement")


def ask(kind: ReportKind, fmt: ExportFormat, scope: ScopeKind = ScopeKind.TEAM, *,
        worker: Actor | None = None, cases: tuple[Case, ...] = (),
        first: date = FIRST, last: date = LAST, terms: Terms = PAYROLL) -> ExportRequest:
    return ExportRequest(kind=kind, scope=scope, first_day=first, last_day=last, fmt=fmt,
                         worker_id=worker.user_id if worker else None,
                         case_ids=tuple(CaseId(c.id) for c in cases), terms=terms)


def pdf_renderer() -> job.PdfRenderer:
    """The app's PDF writer (needs a QGuiApplication: take pytest-qt's `qapp`)."""
    from fieldapp.ui.pdf import html_to_pdf  # noqa: PLC0415 - Qt only for the PDF tests

    return html_to_pdf


def run_export(ws: Workspace, request: ExportRequest, folder: Path, **kwargs: Any) -> bytes:
    """Export into `folder` under the default name and give back the file's bytes."""
    pdf = pdf_renderer() if request.fmt is ExportFormat.PDF else None
    done = job.export(ws, request, folder / request.file_name(), pdf=pdf, **kwargs)
    return done.path.read_bytes()


# --- reading back --------------------------------------------------------------------------------


def squash(text: str) -> str:
    """Whitespace as single spaces (a PDF breaks lines where the layout did) and ligatures as
    letters (the PDF sets "fi" as one glyph, which text extraction gives back as U+FB01)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, extracted by pypdf, whitespace squashed."""
    assert data.startswith(b"%PDF-")
    return [squash(page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


@dataclass(frozen=True)
class CsvReport:
    notice: list[str]                # the first row
    head: dict[str, str]             # label -> value lines after it
    columns: list[str]
    rows: list[dict[str, str]]
    lines: int                       # every row, the blank one included

    def column(self, name: str) -> list[str]:
        return [r[name] for r in self.rows]


def read_csv(data: bytes) -> CsvReport:
    """Parse an export as Excel would: UTF-8 with its byte order mark, CRLF rows."""
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    blank = rows.index([])
    columns = rows[blank + 1]
    body = rows[blank + 2:]
    assert all(len(r) == len(columns) for r in body), "a row with the wrong number of cells"
    return CsvReport(notice=rows[0], head={r[0]: r[1] for r in rows[1:blank]}, columns=columns,
                     rows=[dict(zip(columns, r, strict=True)) for r in body], lines=len(rows))


def positions(text: str, *needles: str) -> list[int]:
    """Where each needle first occurs in `text`; each must occur exactly once."""
    found = []
    for needle in needles:
        assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
        found.append(text.index(needle))
    return found


def counting(limit: int, *, layout: bool = False
             ) -> tuple[Callable[[int, int], None], Callable[[], bool], list[int]]:
    """A progress callback and a `cancelled` that turns True after `limit` progress calls:
    calls for rows or pages drawn, or with `layout` the PDF's layout steps (done = 0)."""
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        if (done == 0) == layout:
            calls.append(done)

    return progress, lambda: len(calls) >= limit, calls


def assert_pdf_frame(pages: list[str], title: str, scope: str, period: str) -> None:
    """The full notice on page 1 only; the running head, short notice and page x of y on
    every page; the header lines on page 1."""
    notice = part2_notice()
    assert len(pages) >= 2, "the data set should fill more than one page"
    for paragraph in notice.paragraphs:
        assert squash(paragraph) in pages[0], f"not on page 1: {paragraph[:50]}"
        assert all(squash(paragraph) not in page for page in pages[1:]), paragraph[:50]
    for number, page in enumerate(pages, start=1):
        assert f"{PROGRAM}: {title}" in page, f"no running head on page {number}"
        assert f"{scope} · {period}" in page, f"no scope and period on page {number}"
        assert f"Page {number} of {len(pages)}" in page, f"no page number on page {number}"
        assert squash(notice.short) in page, f"no short notice on page {number}"
    for line in (f"Report {title}", f"Program {PROGRAM}", f"Scope {scope}", f"Period {period}",
                 "Generated by Pat Morgan", "Generated 24 Nov 2026, 03:30 CST",
                 "Disclosed to Payroll office (program staff)",
                 "Purpose monthly reimbursement", "Basis No consent: within the program "
                 "(42 CFR 2.12(c)(3))"):
        assert line in pages[0], f"not on page 1: {line}"


def assert_csv_head(report: CsvReport, raw: bytes, title: str, scope: str, period: str) -> None:
    notice = part2_notice()
    assert report.notice == ["42 CFR Part 2 notice", "\n\n".join(notice.paragraphs)]
    assert all(p in report.notice[1] for p in notice.paragraphs)
    basis = report.head.pop("Basis")
    assert report.head.pop("Information") in ("visit notes", "drug screen results",
                                              "attendance and participation")
    assert report.head == {"Report": title, "Program": PROGRAM, "Scope": scope,
                           "Period": period, "Generated by": "Pat Morgan",
                           "Generated": "2026-11-24 03:30 CST",
                           "Disclosed to": "Payroll office (program staff)",
                           "Purpose": "monthly reimbursement"}
    assert basis.startswith("No consent: within the program (42 CFR 2.12(c)(3)).")
    # Every row ends CRLF; the only bare newlines are inside quoted cells.
    assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == report.lines
    assert raw.count(b"\r") == raw.count(b"\r\n")
