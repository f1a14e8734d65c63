"""Dates in a printout are written one way, the screens' (the locale's), in the header as in the
body; a CSV keeps ISO dates for the machines that read it, and its column names say so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QApplication

from fieldapp.domain.exports import ExportFormat, ReportKind
from fieldapp.domain.formats import DateStyle, set_style
from fieldapp.ui.date_style import date_style
from tests.services.export_helpers import (
    Team,
    add_screens,
    add_trips,
    add_visits,
    ask,
    pdf_pages,
    read_csv,
    run_export,
)

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
ISO_HEADED = re.compile(r"\((YYYY-MM-DD|YYYY-MM|HH:MM|YYYY-MM-DD HH:MM)( zone)?\)$")


@pytest.fixture
def american() -> Iterator[None]:
    old = set_style(date_style(QLocale("en_US")))
    yield
    set_style(old)


def test_a_printout_writes_every_date_in_the_default_style(
        team: Team, tmp_path: Path, qapp: QApplication) -> None:
    add_visits(team)
    add_trips(team)
    texts = {}
    for kind in (ReportKind.VISIT_LOG, ReportKind.MILEAGE):
        pages = pdf_pages(run_export(team.ws(), ask(kind, ExportFormat.PDF), tmp_path))
        texts[kind] = text = " ".join(pages)
        assert "Period 1 Oct 2026 to 31 Oct 2026" in text, kind
        assert all("· 1 Oct 2026 to 31 Oct 2026" in page for page in pages), kind
        assert ISO_DAY.findall(text) == [], kind
    assert "Thu 1 Oct 2026 · Alder" in texts[ReportKind.VISIT_LOG]
    assert "3 Oct 2026 county office" in texts[ReportKind.MILEAGE]


def test_an_american_printout_writes_them_month_first(
        team: Team, tmp_path: Path, qapp: QApplication, american: None) -> None:
    add_visits(team)
    add_trips(team)
    visits = " ".join(pdf_pages(run_export(team.ws(), ask(ReportKind.VISIT_LOG,
                                                          ExportFormat.PDF), tmp_path)))
    assert "Period Oct 1, 2026 to Oct 31, 2026" in visits
    assert "Thu, Oct 1, 2026 · Alder" in visits
    assert "Signed by Sam Rivera on Oct 1, 2026, 18:00" in visits
    assert "1 Oct 2026" not in visits and ISO_DAY.findall(visits) == []
    mileage = " ".join(pdf_pages(run_export(team.ws(), ask(ReportKind.MILEAGE,
                                                           ExportFormat.PDF), tmp_path)))
    assert "Sam Rivera: October 2026 (approved; approved by Pat Morgan on Nov 4, 2026, " \
           "10:00)" in mileage
    assert "Oct 3, 2026 county office" in mileage


@pytest.mark.parametrize("style", [DateStyle(), date_style(QLocale("en_US"))],
                         ids=["default", "en_US"])
def test_a_csv_keeps_iso_dates_whatever_the_locale_and_says_so(
        team: Team, tmp_path: Path, style: DateStyle) -> None:
    add_visits(team)
    add_trips(team)
    add_screens(team)
    old = set_style(style)
    try:
        reports = {kind: read_csv(run_export(team.ws(), ask(kind, ExportFormat.CSV), tmp_path))
                   for kind in (ReportKind.VISIT_LOG, ReportKind.MILEAGE, ReportKind.SCREENS)}
    finally:
        set_style(old)
    visits = reports[ReportKind.VISIT_LOG]
    assert visits.head["Period"] == "2026-10-01 to 2026-10-31"
    assert visits.head["Generated"] == "2026-11-24 03:30 CST"
    assert visits.rows[0]["Visit date (YYYY-MM-DD)"] == "2026-10-01"
    assert visits.rows[0]["Signed at (YYYY-MM-DD HH:MM)"] == "2026-10-01 18:00"
    assert visits.rows[0]["Time in (HH:MM)"] == "14:00"
    trips = reports[ReportKind.MILEAGE]
    assert trips.rows[0]["Trip date (YYYY-MM-DD)"] == "2026-10-03"
    assert trips.rows[0]["Month (YYYY-MM)"] == "2026-10"
    screens = reports[ReportKind.SCREENS]
    assert screens.rows[0]["Collected (YYYY-MM-DD HH:MM)"] == "2026-10-06 11:00"
    # Every column that holds a date or a time says how it is written.
    for report in reports.values():
        for column in report.columns:
            values = [r[column] for r in report.rows if r[column]]
            if values and all(re.fullmatch(r"\d{4}-\d{2}(-\d{2})?( \d{2}:\d{2})?|\d{2}:\d{2}",
                                           v) for v in values):
                assert ISO_HEADED.search(column), column
