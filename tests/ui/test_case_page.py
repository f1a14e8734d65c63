"""The family's page: how to reach the family and who referred them, and a timeline whose every
word can be read (a screen's "not for court" was cut off)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QStyle, QTableView
from pytestqt.qtbot import QtBot

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.people import CaseId, Role, UserId
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.context import UiContext
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.tables import table
from fieldapp.ui.widgets import fit_to_screen
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory

LONG_STATUS = "dilute, measured invalid (disagree), unconfirmed, not for court, late for the " \
              "call-in"


def cut_cells(view: QTableView) -> list[str]:
    """Cells whose text, wrapped at words as the view draws it, does not fit the cell, or
    cells that lie outside the view's width (columns scrolled away sideways)."""
    model, metrics = view.model(), view.fontMetrics()
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    found = []
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            text = str(model.data(index))
            cell = view.visualRect(index)
            width = cell.width() - 2 * margin
            needed = metrics.boundingRect(QRect(0, 0, width, 10_000),
                                          int(Qt.TextFlag.TextWordWrap), text)
            if needed.width() > width or needed.height() > cell.height() \
                    or cell.right() > view.viewport().width():
                found.append(f"row {row} column {column}: {text!r} in {cell}")
    return found


def test_the_check_catches_a_cut_off_status(qtbot: QtBot) -> None:
    model: RowsModel[str] = RowsModel([Column("Date", lambda s: "Tue 24 Nov"),
                                       Column("Status", lambda s: s)])
    view = table("Plain timeline", model)
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    model.set_rows([LONG_STATUS])
    assert cut_cells(view) != []


def shown_page(qtbot: QtBot, ctx: UiContext, case_id: CaseId) -> CasePage:
    page = CasePage(ctx, case_id=case_id)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    page.refresh()
    qtbot.waitUntil(lambda: "family" in page.title.text(), timeout=10_000)
    return page


def test_every_word_of_the_timeline_is_readable(qtbot: QtBot,
                                                make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    alder = ctx.runner.worker.call(lambda: next(
        r.case for r in services_of(ctx.session).cases.caseload() if r.case.family_name == "Alder"))
    page = shown_page(qtbot, ctx, alder.id)
    statuses = [e.status for e in page.model.rows]
    assert any("not for court" in s for s in statuses), statuses
    qtbot.waitUntil(lambda: cut_cells(page.view) == [], timeout=2_000)
    # Narrower, on a small screen: the rows grow taller and the words still all show.
    fit_to_screen(page, QSize(860, 600), QRect(0, 0, 720, 560))
    qtbot.waitUntil(lambda: page.width() <= 720 and cut_cells(page.view) == [], timeout=2_000)
    court = next(row for row, e in enumerate(page.model.rows) if "not for court" in e.status)
    assert page.view.rowHeight(court) > page.view.fontMetrics().lineSpacing() * 2


def open_family(ctx: UiContext, case: Case) -> Case:
    return ctx.runner.worker.call(lambda: services_of(ctx.session).cases.open_case(case))


def family(**fields: object) -> Case:
    return Case(id=CaseId(f"case-{len(fields)}"), family_name="Birch",
                parents=(Person(name="Jo Birch"),), supervisor_ids=(UserId("sup-1"),),
                start_date=date(2026, 10, 1), **fields)  # type: ignore[arg-type]


def test_the_page_shows_how_to_reach_the_family_and_who_referred_them(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    case = open_family(ctx, family(phone="(815) 555-0142", referral_source="DCFS caseworker "
                                   "Maria Ortiz", referral_date=date(2026, 9, 28)))
    page = shown_page(qtbot, ctx, case.id)
    lines = page.details.text().splitlines()
    assert "Phone: (815) 555-0142" in lines
    assert "Referral: DCFS caseworker Maria Ortiz, on 28 Sep 2026" in lines
    assert page.details.isVisible()


def test_a_family_without_them_says_so(qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    case = open_family(ctx, family())
    lines = shown_page(qtbot, ctx, case.id).details.text().splitlines()
    assert {"Phone: not recorded", "Referral: not recorded"} <= set(lines)
    dated = open_family(ctx, family(referral_date=date(2026, 9, 28), phone=""))
    assert "Referral: on 28 Sep 2026" in shown_page(
        qtbot, ctx, dated.id).details.text().splitlines()
