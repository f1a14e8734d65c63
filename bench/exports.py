"""Export figures: a supervisor's visit log of 10,000 visits as CSV and as PDF.

On a real profile (Argon2id key, WAL, sealed rows) in a temp dir, fills 10,000 visit notes over
the two years before a fixed clock, on 20 cases of 4 recovery coordinators, all supervised by one
supervisor, in one transaction through the stores (like bench/records.py): narratives of 300 to
800 characters, the people present, one to three services; 97% signed (1 in 20 of them late),
of those 55% co-signed and 8% returned (note_reviews rows), 5% with an addendum. Then, as the
supervisor, a team visit log for the whole period, each step timed separately:
- collect: open every note, addendum and review in scope and assemble the report;
- CSV render (`render_csv`), and CSV total: `job.export` (collect + render + atomic write + the
  audit entry), which is what the command line and the app's export thread do;
- HTML build (`render_html`), PDF render (`html_to_pdf`: QTextDocument layout + QPdfWriter,
  timed inside each PDF total run) and PDF total (`job.export`), with when the first progress
  report came and the longest stretch without a cancel check (how long Cancel can go unheard);
median of 3 runs each, plus pages, file sizes and the peak resident memory of each step.
Targets (issue 7): 10,000 visits to CSV under 1 s, to PDF under 10 s.
Prints a table; asserts nothing.
Run: `.venv/bin/python bench/exports.py [--visits N] [--runs N] [--profile csv|pdf]`
(`--profile` prints where one run of that export spends its time, with cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import random
import runpy
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _results import report
from PySide6 import __version__ as pyside_version
from PySide6.QtGui import QGuiApplication

from fieldapp.domain import visits
from fieldapp.domain.cases import Case, Person
from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.people import Actor, CaseId, NoteId, Role, UserId, new_id
from fieldapp.domain.settings import DEFAULT_SERVICES, ProgramSettings
from fieldapp.domain.visits import Addendum, ContactType, Place, VisitDetails, VisitNote
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.services.exports import job
from fieldapp.services.exports.collect import VisitLog, collect
from fieldapp.services.exports.csv_file import render_csv
from fieldapp.services.exports.pages import render_html
from fieldapp.services.workspace import Stores, Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile
from fieldapp.ui.pdf import html_to_pdf

# bench/records.py's signing of notes (the evening after the visit, one in twenty late).
sign = runpy.run_path(str(ROOT / "bench" / "records.py"), run_name="bench_records")["sign"]
PASSPHRASE = "benchmark passphrase of some length"
NOW = datetime(2026, 11, 24, 18, tzinfo=UTC)  # noon in the program's zone (America/Chicago)
TODAY = date(2026, 11, 24)
DAYS = 730  # the visits' period: the two years before TODAY
CASES, WORKERS = 20, 4
SUPERVISOR = Actor(user_id=UserId("sup-01"), role=Role.SUPERVISOR)
SETTINGS = ProgramSettings()
FIRST_NAMES = ("Robin", "Casey", "Dana", "Frankie", "Harper", "Jesse", "Kendall", "Logan",
               "Morgan", "Parker", "Quinn", "Reese", "Sage", "Tatum", "Rowan", "Emery")
SENTENCES = (
    "Met {parent} at home; the children were at school for most of the visit.",
    "{parent} reports attending every group session this week and a sponsor meeting on "
    "Thursday.",
    "Discussed the relapse-prevention plan and who to call on a hard evening.",
    "{parent} is looking for work; we went through two applications together and a résumé.",
    "The home was clean and stocked with food; no safety concerns observed.",
    "Reviewed the court dates and transport to the next treatment appointment.",
    "Talked through the upcoming random screen and the chain-of-custody steps.",
    "Practised the bedtime routine with the younger child, who settled quickly.",
    "{parent} described cravings after a difficult call and used the coping plan: called the "
    "sponsor, then went for a walk.",
    "Went over the parenting class schedule and childcare during sessions.",
)
T = TypeVar("T")


def clock() -> datetime:
    return NOW


def worker(i: int) -> UserId:
    return UserId(f"rc-{i % WORKERS + 1:02d}")


def narrative(rng: random.Random, parent: str) -> str:
    """300 to 800 characters of whole sentences like a worker's."""
    target, text = rng.randint(300, 800), ""
    while len(text) < target:
        text = f"{text} {rng.choice(SENTENCES).format(parent=parent)}".strip()
    return text if len(text) <= 800 else text[:800].rsplit(". ", 1)[0] + "."


def details(rng: random.Random, case: Case, day: date) -> VisitDetails:
    parent = case.parents[0].name
    start = rng.randrange(8, 17)
    contact = rng.choices(list(ContactType), (80, 8, 8, 4))[0]
    present = (parent, *(c.name for c in case.children))
    concern = rng.random() < 0.03
    return VisitDetails(
        visit_date=day, time_in=clock_time(start, rng.choice((0, 15, 30))),
        time_out=clock_time(start + 1, rng.choice((0, 15, 45))),
        place=rng.choices(list(Place), (70, 8, 4, 8, 6, 4))[0], contact_type=contact,
        people_present=present[:rng.randint(1, len(present))]
        if contact is not ContactType.ATTEMPTED else (),
        services=tuple(rng.sample(DEFAULT_SERVICES, rng.randint(1, 3))),
        safety_concerns=concern,
        safety_description="A space heater next to the children's bedding; moved it together "
        "and agreed to check again next visit." if concern else "",
        narrative=narrative(rng, parent.split()[0]),
        next_steps="Visit again Thursday; bring the treatment referral forms.",
        next_visit_date=day + timedelta(days=3))


def open_cases(stores: Stores) -> list[Case]:
    cases = []
    for i in range(CASES):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        family = f"Family{i:02d}"
        case = Case(id=CaseId(new_id()), family_name=family,
                    parents=(Person(name=f"{first} {family}", relationship="parent in recovery"),),
                    children=(Person(name=f"Kit {family}", relationship="child"),
                              Person(name=f"Ash {family}", relationship="child")),
                    address=f"{100 + i} Elm Street", coordinator_id=worker(i),
                    supervisor_ids=(SUPERVISOR.user_id,), start_date=TODAY - timedelta(days=800))
        stores.cases.add(case)
        cases.append(case)
    return cases


def fill(stores: Stores, count: int, rng: random.Random) -> dict[str, int]:
    """`count` visit notes on 20 cases through the stores; how many of each kind were made."""
    cases = open_cases(stores)
    made = {"signed": 0, "co-signed": 0, "returned": 0, "addenda": 0, "late": 0}
    for i in range(count):
        case = cases[i % CASES]
        day = TODAY - timedelta(days=rng.randrange(1, DAYS))
        note = VisitNote(id=NoteId(new_id()), case_id=case.id, author=worker(i % CASES),
                         details=details(rng, case, day), revision=1)
        stores.notes.add_draft(note)
        if rng.random() < 0.03:
            continue  # a draft: not yet signed
        note = sign(stores, note, rng)
        made["signed"] += 1
        made["late"] += note.late_entry
        note = review(stores, note, rng, made)
        if rng.random() < 0.05:
            assert note.signature is not None
            addendum = Addendum(id=new_id(), note_id=note.id, author=note.author,
                                at=note.signature.at + timedelta(days=2), reason="Late information",
                                text="The parent called afterwards to confirm the treatment "
                                "appointment time and asked for a ride.")
            updated = visits.add_addendum(note, addendum)
            stores.notes.add_addendum(addendum)
            if updated.status is not note.status:
                stores.notes.set_status(note.id, updated.status)
            made["addenda"] += 1
    return made


def review(stores: Stores, note: VisitNote, rng: random.Random, made: dict[str, int]
           ) -> VisitNote:
    assert note.signature is not None
    roll, at = rng.random(), min(note.signature.at + timedelta(days=1), NOW)
    if roll < 0.55:
        updated = visits.cosign(note, reviewer=SUPERVISOR, at=at, settings=SETTINGS)
        made["co-signed"] += 1
    elif roll < 0.63:
        updated = visits.return_note(note, reviewer=SUPERVISOR, at=at,
                                     comment="Please add who else was in the home.")
        made["returned"] += 1
    else:
        return note
    stores.notes.add_review(note.id, updated.reviews[-1])
    stores.notes.set_status(note.id, updated.status)
    return updated


# -- measuring -------------------------------------------------------------------------------

@dataclass
class Step:
    """One measured step: wall seconds of each run, and the peak resident memory it reached."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark of resident memory (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(step: Step, action: Callable[[], T], runs: int) -> T:
    result: T | None = None
    for _ in range(runs):
        tracked = _reset_peak()
        started = time.perf_counter()
        result = action()
        step.seconds.append(time.perf_counter() - started)
        if tracked:
            step.peak_mb = max(step.peak_mb, _peak_mb())
    assert result is not None
    return result


def profiled(action: Callable[[], object], title: str, top: int = 25) -> None:
    profile = cProfile.Profile()
    profile.runcall(action)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\n==== profile: {title} ====\n{out.getvalue()}")


@dataclass
class Figures:
    visits: int = 0
    made: dict[str, int] = field(default_factory=dict)
    fill_s: float = 0.0
    database_mb: float = 0.0
    steps: dict[str, Step] = field(default_factory=dict)
    pages: int = 0
    csv_bytes: int = 0
    pdf_bytes: int = 0
    html_chars: int = 0
    watch: Watch | None = None
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)


def run(args: argparse.Namespace, tmp: Path) -> Figures:
    figures = Figures(load=os.getloadavg())
    profile = Profile(ProfilePaths(tmp / "p"), clock=clock)
    vault = profile.create(PASSPHRASE)
    ws = Workspace(vault, actor=SUPERVISOR, clock=clock)
    started = time.perf_counter()
    with ws.unit() as stores:
        figures.made = fill(stores, args.visits, random.Random(20261124))
    remember_staff(ws, [StaffMember(user_id=SUPERVISOR.user_id, name="Sam Supervisor",
                                    role=Role.SUPERVISOR),
                        *(StaffMember(user_id=worker(i), name=f"{FIRST_NAMES[i]} Coordinator",
                                      role=Role.RECOVERY_COORDINATOR) for i in range(WORKERS))])
    ws.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    figures.fill_s = time.perf_counter() - started
    figures.database_mb = profile.paths.database.stat().st_size / 1e6
    first = TODAY - timedelta(days=DAYS)
    as_csv = ExportRequest(kind=ReportKind.VISIT_LOG, scope=ScopeKind.TEAM,
                           fmt=ExportFormat.CSV, first_day=first, last_day=TODAY,
                           terms=Terms(recipient=Recipient(name="Program director",
                                                           kind=RecipientKind.PROGRAM_STAFF),
                                       purpose="annual review",
                                       exception=Exception_.PROGRAM_USE,
                                       reference="annual review"))
    as_pdf = replace(as_csv, fmt=ExportFormat.PDF)
    out_csv, out_pdf = tmp / as_csv.file_name(), tmp / as_pdf.file_name()
    if args.profile == "csv":
        profiled(lambda: job.export(ws, as_csv, out_csv, pdf=None, overwrite=True),
                 "CSV export (job.export)")
    if args.profile == "pdf":
        profiled(lambda: job.export(ws, as_pdf, out_pdf, pdf=html_to_pdf, overwrite=True),
                 "PDF export (job.export)")
    steps = figures.steps = {name: Step(name) for name in (
        "collect", "csv render", "csv total", "html build", "pdf render", "pdf total")}
    report = measure(steps["collect"], lambda: collect(ws, as_csv), args.runs)
    assert isinstance(report, VisitLog)
    figures.visits = len(report.visits)
    figures.csv_bytes = len(measure(steps["csv render"], lambda: render_csv(report), args.runs))
    measure(steps["csv total"],
            lambda: job.export(ws, as_csv, out_csv, pdf=None, overwrite=True), args.runs)
    figures.html_chars = len(measure(steps["html build"], lambda: render_html(report),
                                     args.runs))
    watch = Watch()
    exported = measure(steps["pdf total"], lambda: watch.export(ws, as_pdf, out_pdf), args.runs)
    steps["pdf render"].seconds = watch.render_s
    figures.pages, figures.pdf_bytes, figures.watch = watch.pages, exported.size, watch
    vault.lock(backup=False)
    return figures


@dataclass
class Watch:
    """Runs the PDF export as the app does, timing `html_to_pdf` inside it (so the PDF is laid
    out 3 times, not 6) and noting when progress is first reported and how long the export
    goes without asking whether it was cancelled."""

    render_s: list[float] = field(default_factory=list)
    pages: int = 0
    first_progress_s: list[float] = field(default_factory=list)
    longest_unpolled_s: list[float] = field(default_factory=list)

    def export(self, ws: Workspace, request: ExportRequest, path: Path) -> job.Exported:
        started = last = time.perf_counter()
        longest, first = 0.0, None

        def cancelled() -> bool:
            nonlocal last, longest
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
            return False

        def progress(done: int, total: int) -> None:
            nonlocal first
            first = first if first is not None else time.perf_counter() - started
            self.pages = total

        def timed_pdf(html: str, frame: job.PageFrame, *, progress: job.Progress | None,
                      cancelled: job.Cancelled) -> bytes:
            began = time.perf_counter()
            data = html_to_pdf(html, frame, progress=progress, cancelled=cancelled)
            self.render_s.append(time.perf_counter() - began)
            return data

        exported = job.export(ws, request, path, pdf=timed_pdf, progress=progress,
                              cancelled=cancelled, overwrite=True)
        self.longest_unpolled_s.append(max(longest, time.perf_counter() - last))
        self.first_progress_s.append(first if first is not None else float("nan"))
        return exported


def print_table(figures: Figures, runs: int) -> None:
    s = figures.steps

    def met(seconds: float, target: float) -> str:
        return "met" if seconds < target else "NOT MET"

    def row(name: str, key: str, target: str = "", verdict: str = "", size: str = ""
            ) -> tuple[str, ...]:
        step = s[key]
        spread = f"{min(step.seconds):.2f}-{max(step.seconds):.2f}"
        return (name, f"{step.median:.2f} s", spread, target, verdict, size,
                f"{step.peak_mb:.0f} MB" if step.peak_mb else "")

    rows = [
        row("collect (decrypt + assemble)", "collect"),
        row("CSV render (render_csv)", "csv render"),
        row("CSV total (job.export: collect+render+write+audit)", "csv total", "< 1 s",
            met(s["csv total"].median, 1.0), f"{figures.csv_bytes / 1e6:.1f} MB"),
        row("HTML build (render_html)", "html build", "", "",
            f"{figures.html_chars / 1e6:.1f} M chars"),
        row(f"PDF render (html_to_pdf), {figures.pages:,} pages", "pdf render"),
        row("PDF total (job.export)", "pdf total", "< 10 s", met(s["pdf total"].median, 10.0),
            f"{figures.pdf_bytes / 1e6:.1f} MB"),
    ]
    m = figures.made
    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
          f"{platform.python_version()}, PySide6 {pyside_version}, SQLite "
          f"{sqlite3.sqlite_version}, {platform.platform(terse=True)}; load average before the "
          f"run {figures.load[0]:.2f} {figures.load[1]:.2f} {figures.load[2]:.2f}")
    print(f"filled {figures.visits:,} visit notes on {CASES} cases ({m.get('signed', 0):,} "
          f"signed, {m.get('late', 0):,} late, {m.get('co-signed', 0):,} co-signed, "
          f"{m.get('returned', 0):,} returned, {m.get('addenda', 0):,} with an addendum) in "
          f"{figures.fill_s:.1f} s, one transaction; database {figures.database_mb:.1f} MB")
    header = ("team visit log, whole period", f"median of {runs}", "min-max", "target", "",
              "output", "peak RSS")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for line in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(f"{cell:>{widths[i]}}" if i in (1, 2, 5, 6) else f"{cell:<{widths[i]}}"
                        for i, cell in enumerate(line)).rstrip())
    n = f"{figures.visits:,}"
    report(f"export {n} visits to CSV (team visit log), median of {runs}",
           s["csv total"].median, "s", target=1)
    report(f"export {n} visits to PDF ({figures.pages:,} pages), median of {runs}",
           s["pdf total"].median, "s", target=10)
    report("peak memory of that PDF export", s["pdf total"].peak_mb, "MB")
    if figures.watch:
        w = figures.watch
        print(f"PDF export: first progress report after {statistics.median(w.first_progress_s):.1f}"
              f" s (median); longest stretch without a cancel check "
              f"{statistics.median(w.longest_unpolled_s):.1f} s; PDF render peak RSS is the PDF "
              "total's")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", choices=("csv", "pdf"))
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args, Path(tmp))
    print_table(figures, args.runs)
    del app


if __name__ == "__main__":
    main()
