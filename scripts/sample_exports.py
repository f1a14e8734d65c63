"""The sample exports in docs/samples/: the demo caseload's three reports as PDF and CSV.

Builds the demo profile (`fieldapp.services.demo.fill_demo`: invented families and staff only)
in a temp dir with a fixed clock, 2026-11-24 21:00 UTC (15:00 in Chicago, the demo's zone: the
demo dates its drug screens one to eight hours before "now", so an afternoon keeps them in the
day), and a seeded id generator, so every run writes the same figures, ids and names. One
returned note gets the coordinator's answering addendum (the demo has none otherwise), so the
visit log shows an addendum in place. Then, as the demo supervisor over the same vault, it
exports through `fieldapp.services.exports.job.export` (the command line's path: collect,
render, atomic write, audit) for the team:
- the visit log, 20 Oct to 20 Nov 2026;
- the mileage reimbursement report, October and November 2026;
- the drug screen summary, October and November 2026;
each as PDF and CSV under the request's own file name, and renders pages of each PDF to PNG
(QtPdf, 1.5x, on white) beside them. Between runs only the PDFs' creation date and document id
(which Qt sets) differ.
Run: `QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/sample_exports.py [OUT]`
(`make samples` does this).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtPdf import QPdfDocument

from fieldapp.domain import schedule
from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.people import Actor, Role
from fieldapp.domain.visits import NoteStatus
from fieldapp.services import demo
from fieldapp.services.exports import job
from fieldapp.services.notes import NoteService
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.pdf import html_to_pdf

PROGRAM_DIRECTOR = Terms(
    recipient=Recipient(name="Program director", kind=RecipientKind.PROGRAM_STAFF),
    purpose="monthly program review", exception=Exception_.PROGRAM_USE,
    reference="monthly program review")

NOW = datetime(2026, 11, 24, 21, tzinfo=UTC)  # 15:00 in the demo program's zone (Chicago)
SCALE = 1.5  # page images at 108 dpi: readable, and small enough for a repository
PERIODS = {
    ReportKind.VISIT_LOG: (date(2026, 10, 20), date(2026, 11, 20)),
    ReportKind.MILEAGE: (date(2026, 10, 1), date(2026, 11, 30)),
    ReportKind.SCREENS: (date(2026, 10, 1), date(2026, 11, 30)),
}
IMAGED_PAGES = {ReportKind.VISIT_LOG: 2, ReportKind.MILEAGE: 1, ReportKind.SCREENS: 1}


def clock() -> datetime:
    return NOW


def seeded_ids(seed: int) -> None:
    """Every record id made from here on comes from a seeded generator, so the CSV's case and
    note ids are the same at each run (the ids are UUID4s from `uuid.uuid4`)."""
    rng = random.Random(seed)
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    # The random schedules' seeds too, so their fingerprints stay the same.
    schedule.new_seed = lambda: f"{rng.getrandbits(128):032x}"


def build_demo(root: Path) -> Session:
    session = Session(ProfilePaths(root), clock=clock)
    session.create(demo.DEMO_PASSPHRASE, user_id=demo.WORKER, role=Role.RECOVERY_COORDINATOR,
                   name="Jordan Demo")
    demo.fill_demo(session, clock=clock)
    answer_a_return(session)
    return session


def answer_a_return(session: Session) -> None:
    """The coordinator answers the first returned note in the visit log's period with an
    addendum, as the app asks them to."""
    notes = NoteService(Workspace(session.vault(), actor=Actor(
        user_id=demo.WORKER, role=Role.RECOVERY_COORDINATOR), clock=clock))
    first, last = PERIODS[ReportKind.VISIT_LOG]
    returned = sorted((n for n in notes.with_status(NoteStatus.RETURNED)
                       if first <= n.details.visit_date <= last),
                      key=lambda n: (n.details.visit_date, n.id))
    if returned:
        notes.add_addendum(returned[0].id, reason="Returned by the supervisor: who else was "
                           "in the home", text="Also present for the last half hour: the "
                           "children's grandmother, who helps with school pick-ups.")


def export_all(session: Session, out: Path) -> list[tuple[Path, ReportKind]]:
    supervisor = Workspace(session.vault(), actor=Actor(user_id=demo.SUPERVISOR,
                                                        role=Role.SUPERVISOR), clock=clock)
    written = []
    for kind, (first, last) in PERIODS.items():
        for fmt in (ExportFormat.PDF, ExportFormat.CSV):
            request = ExportRequest(kind=kind, scope=ScopeKind.TEAM, first_day=first,
                                    last_day=last, fmt=fmt, terms=PROGRAM_DIRECTOR)
            exported = job.export(supervisor, request, out / request.file_name(),
                                  pdf=html_to_pdf, overwrite=True)
            print(f"wrote {shown(exported.path)}: {exported.records} record(s), "
                  f"{exported.size:,} bytes")
            if fmt is ExportFormat.PDF:
                written.append((exported.path, kind))
    return written


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def page_images(pdf: Path, pages: int) -> list[Path]:
    """The first `pages` pages of `pdf` as PNGs beside it (`NAME-page1.png`, ...)."""
    document = QPdfDocument()
    document.load(str(pdf))
    if document.status() is not QPdfDocument.Status.Ready:
        raise SystemExit(f"{pdf} did not open: {document.error()}")
    saved = []
    for index in range(min(pages, document.pageCount())):
        points = document.pagePointSize(index)
        size = QSize(round(points.width() * SCALE), round(points.height() * SCALE))
        rendered = document.render(index, size)
        # QtPdf renders onto a transparent image; a page is paper, so paint it onto white.
        page = QImage(size, QImage.Format.Format_RGB32)
        page.fill(Qt.GlobalColor.white)
        painter = QPainter(page)
        painter.drawImage(0, 0, rendered)
        painter.end()
        target = pdf.with_name(f"{pdf.stem}-page{index + 1}.png")
        if not page.save(str(target)):
            raise SystemExit(f"could not save {target}")
        saved.append(target)
        print(f"saved {target.name} ({size.width()}x{size.height()})")
    document.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "samples")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    seeded_ids(20261124)
    with tempfile.TemporaryDirectory() as tmp:
        session = build_demo(Path(tmp) / "demo")
        try:
            pdfs = export_all(session, args.out.resolve())
        finally:
            session.lock()
    for pdf, kind in pdfs:
        page_images(pdf, IMAGED_PAGES[kind])
    del app


if __name__ == "__main__":
    main()
