"""Dates follow the system locale, set once at start-up: an American laptop reads "Nov 24, 2026"
and a British one "24 Nov 2026", alike in a table, a heading and a printout; tables still sort
by the dates themselves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from PySide6.QtCore import QLocale, Qt
from pytestqt.qtbot import QtBot

from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.formats import set_style
from fieldapp.services import demo
from fieldapp.services.exports import job
from fieldapp.services.exports.collect import collect
from fieldapp.ui.caseload_page import CaseloadPage
from fieldapp.ui.date_style import date_style
from fieldapp.ui.pdf import html_to_pdf
from fieldapp.ui.today_page import TodayPage
from tests.conftest import FakeClock
from tests.services.export_helpers import PAYROLL, pdf_pages
from tests.ui.conftest import ContextFactory

DAY = {"en_US": r"[A-Z][a-z]{2} \d{1,2}, \d{4}", "en_GB": r"\d{1,2} [A-Z][a-z]{2} \d{4}"}
HEADING = {"en_US": "Today, Tuesday, November 24, 2026 · ",
           "en_GB": "Today, Tuesday 24 November 2026 · "}
PERIOD = {"en_US": "Worker: Jordan Demo · Nov 1, 2026 to Nov 24, 2026",
          "en_GB": "Worker: Jordan Demo · 1 Nov 2026 to 24 Nov 2026"}


@pytest.fixture(params=["en_US", "en_GB"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    """The style `run_gui` sets from the system locale, here from a named one."""
    old = set_style(date_style(QLocale(request.param)))
    yield request.param
    set_style(old)


def test_a_table_a_heading_and_a_printout_write_dates_the_locales_way(
        qtbot: QtBot, make_context: ContextFactory, locale: str) -> None:
    ctx = make_context(demo=True)
    caseload = CaseloadPage(ctx)
    qtbot.addWidget(caseload)
    caseload.refresh()
    qtbot.waitUntil(lambda: caseload.model.rowCount() > 2, timeout=10_000)
    next_due = [caseload.model.index(row, 5).data() for row in range(caseload.model.rowCount())]
    assert next_due and all(re.fullmatch(DAY[locale], text) for text in next_due), next_due

    today = TodayPage(ctx)
    qtbot.addWidget(today)
    today.refresh()
    qtbot.waitUntil(lambda: today.title.text() != "Today", timeout=10_000)
    assert today.title.text().startswith(HEADING[locale])

    request = ExportRequest(kind=ReportKind.VISIT_LOG, scope=ScopeKind.WORKER,
                            first_day=date(2026, 11, 1), last_day=date(2026, 11, 24),
                            fmt=ExportFormat.PDF, worker_id=demo.WORKER, terms=PAYROLL)
    # Read on the database worker, laid out here (Qt's text layout wants an event loop).
    report = ctx.runner.worker.call(lambda: collect(ctx.session.workspace(), request))
    pages = pdf_pages(job.render(report, ExportFormat.PDF, pdf=html_to_pdf))
    assert all(PERIOD[locale] in page for page in pages)
    visits = re.findall(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? ({DAY[locale]}) · ", pages[-1])
    assert visits, "each visit is headed by its day, written the same way"


def test_a_date_column_sorts_by_date_not_by_its_text(
        qtbot: QtBot, make_context: ContextFactory, clock: FakeClock, locale: str) -> None:
    # Early in a month the last visits span two months: "1 Dec 2026" sorts before
    # "26 Nov 2026" as text (and "Dec 1, 2026" before "Nov 26, 2026").
    clock.now = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    page = CaseloadPage(make_context(demo=True))
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 2, timeout=10_000)
    for column in (3, 5):  # last face-to-face, next due
        page.view.sortByColumn(column, Qt.SortOrder.AscendingOrder)
        source = [page.proxy.mapToSource(page.proxy.index(row, 0)).row()
                  for row in range(page.proxy.rowCount())]
        rows = [page.model.row_at(row).due for row in source]
        days = [d.last_face_to_face if column == 3 else d.next_due for d in rows]
        known = [d for d in days if d is not None]
        assert len({d.month for d in known}) > 1 or column == 5, "dates across two months"
        assert known == sorted(known) and days[:len(days) - len(known)] == \
            [None] * (len(days) - len(known))

