"""Dates in a printout are written one way (2026-10-01), in the header as in the tables."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QApplication

from fieldapp.domain.exports import ExportFormat, ReportKind
from tests.services.export_helpers import Team, add_trips, add_visits, ask, pdf_pages, run_export

MONTH_NAMES = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w* \d{4}")


def test_the_period_is_written_as_the_visits_and_trips_are(
        team: Team, tmp_path: Path, qapp: QApplication) -> None:
    add_visits(team)
    add_trips(team)
    for kind in (ReportKind.VISIT_LOG, ReportKind.MILEAGE):
        pages = pdf_pages(run_export(team.ws(), ask(kind, ExportFormat.PDF), tmp_path))
        text = " ".join(pages)
        assert "Period 2026-10-01 to 2026-10-31" in text, kind
        assert all("· 2026-10-01 to 2026-10-31" in page for page in pages), kind
        assert MONTH_NAMES.findall(text) == [], kind
