"""A report as CSV that Excel and LibreOffice open as it is: UTF-8 with a byte order mark.

The 42 CFR Part 2 notice and the report's header (who it is for, and the consents it rests on)
come first, one line each, then a blank line, the column names and one row per visit, trip,
screen or disclosure. Every text cell goes through `spreadsheet_safe`, so nothing a worker
typed can run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fieldapp.domain.exports import Cancelled, ExportCancelled, Progress, spreadsheet_safe
from fieldapp.services.exports.accounting import ACCOUNTING_COLUMNS, accounting_table
from fieldapp.services.exports.collect import (
    AccountingReport,
    MileageReport,
    Report,
    ReportHeader,
    ScreenSummary,
    VisitLog,
)
from fieldapp.services.exports.tables import (
    SCREEN_COLUMNS,
    TRIP_COLUMNS,
    VISIT_COLUMNS,
    screen_rows,
    trip_rows,
    visit_rows,
)


def render_csv(report: Report, *, progress: Progress | None = None,
               cancelled: Cancelled = lambda: False) -> bytes:
    """The whole file as bytes (nothing touches the disk here); `ExportCancelled` if asked to
    stop."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    _head(writer, report.header)
    if isinstance(report, ScreenSummary):  # how each random schedule was drawn
        for case in report.cases:
            for statement in case.statements:
                writer.writerow([f"Random schedule: {case.case.family_name}",
                                 spreadsheet_safe(statement)])
    writer.writerow([])
    columns: Sequence[str]
    if isinstance(report, VisitLog):
        columns, rows, total = VISIT_COLUMNS, visit_rows(report), len(report.visits)
    elif isinstance(report, MileageReport):
        columns, rows = TRIP_COLUMNS, trip_rows(report)
        total = sum(len(m.ledger.allocations) + 1 for m in report.months)
    elif isinstance(report, AccountingReport):
        columns, total = ACCOUNTING_COLUMNS, len(report.rows)
        rows = accounting_table(report.rows, report.people, report.zone)
    else:
        columns, rows = SCREEN_COLUMNS, screen_rows(report)
        total = sum(len(c.screens) for c in report.cases)
    writer.writerow(columns)
    _body(writer, rows, total, progress, cancelled)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _head(writer: Any, header: ReportHeader) -> None:
    writer.writerow(["42 CFR Part 2 notice", header.notice.text])
    for label, value in header.lines(iso=True):
        writer.writerow([label, spreadsheet_safe(value)])
    # 42 CFR 2.32(b): a disclosure made with consent carries a copy or a clear explanation of
    # the consent: here, every element of each consent relied on, one line each.
    for number, lines in enumerate(header.sheet.consent_lines() if header.sheet else [], 1):
        for label, value in lines:
            writer.writerow([f"Consent {number}: {label}", spreadsheet_safe(value)])


def _body(writer: Any, rows: Iterable[list[str]], total: int,
          progress: Progress | None, cancelled: Cancelled) -> None:
    for done, row in enumerate(rows, start=1):
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        if done % 500 == 0:
            if cancelled():
                raise ExportCancelled()
            if progress:
                progress(done, total)
    if progress:
        progress(total, total)
