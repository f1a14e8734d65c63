"""Today's compliance section over the demo caseload: it lists the radar's items (severity, what,
family or month, due), opens each item's note, case or month with Enter, says "Nothing is
overdue." when there is nothing, and every control in it has a name."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import Role
from fieldapp.domain.radar import Opens, RadarKind
from fieldapp.services.today import TodaySummary
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.today_page import TodayPage
from fieldapp.ui.workspace_view import WorkspaceView
from tests.conftest import FakeClock
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

DAY = 24 * 3600


def today_page(qtbot: QtBot, make_context: ContextFactory, *, demo: bool = False,
               then: Callable[[], None] = lambda: None) -> tuple[TodayPage, TodaySummary]:
    """The Today page of a new profile (the demo's, with `demo`), `then` done before it reads,
    and the summary it should show."""
    ctx = make_context(demo=demo)
    then()
    page = TodayPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 900)
    page.show()
    summary = ctx.runner.worker.call(ctx.session.today)
    page.refresh()
    qtbot.waitUntil(lambda: page.summary_label.text() != "", timeout=5_000)
    return page, summary


def test_the_compliance_section_lists_the_radar_and_opens_each_item(
        qtbot: QtBot, make_context: ContextFactory, clock: FakeClock,
        qtmodeltester: ModelTester) -> None:
    # The demo is filled on a Tuesday; two days on, families it left unvisited are behind.
    page, summary = today_page(qtbot, make_context, demo=True,
                               then=lambda: clock.advance(2 * DAY))
    radar = summary.radar
    qtbot.waitUntil(lambda: page.radar_model.rowCount() == len(radar) > 0, timeout=5_000)
    qtmodeltester.check(page.radar_model)
    assert unnamed_controls(page) == []
    assert page.radar_view.isVisible() and page.open_item_button.isEnabled()
    assert {i.kind for i in radar} >= {RadarKind.VISITS_BEHIND, RadarKind.COSIGNATURE_OVERDUE,
                                      RadarKind.STALE_DRAFT, RadarKind.MILEAGE_NOT_SUBMITTED}
    first = page.radar_model
    assert [first.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == [
        "Severity", "Family or month", "Due", "What"]
    assert first.data(first.index(0, 0)) == "Overdue"  # overdue first
    assert first.data(first.index(0, 2)) == "30 Jan 2026"  # December 2025's mileage
    assert first.data(first.index(0, 3)) == radar[0].sentence
    assert "compliance item" in page.summary_label.text()

    signals = {Opens.NOTE: page.open_note, Opens.CASE: page.open_case,
               Opens.MILEAGE: page.open_mileage}
    for opens, signal in signals.items():
        row = next(r for r, item in enumerate(radar) if item.opens is opens)
        item = radar[row]
        page.radar_view.setFocus()
        page.radar_view.selectRow(row)
        with qtbot.waitSignal(signal, timeout=2_000) as opened:
            qtbot.keyClick(page.radar_view, Qt.Key.Key_Return)
        expected = {Opens.NOTE: [item.case_id, item.note_id], Opens.CASE: [item.case_id],
                    Opens.MILEAGE: [item.month]}[opens]
        assert opened.args == expected
        subject = first.data(first.index(row, 1))
        assert subject == ("December 2025" if opens is Opens.MILEAGE
                           else summary.families[str(item.case_id)])


def test_nothing_overdue_is_said_so(qtbot: QtBot, make_context: ContextFactory) -> None:
    page, summary = today_page(qtbot, make_context)
    assert summary.radar == []
    empty = page._empty[page.radar_view]
    qtbot.waitUntil(empty.isVisible, timeout=5_000)
    assert empty.text() == empty.accessibleName() == "Nothing is overdue."
    assert not page.radar_view.isVisible()
    assert not page.open_item_button.isVisible()
    assert page.summary_label.text() == "Nothing is waiting for you."


def test_a_mileage_item_shows_its_month_and_a_case_item_its_case(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """The workspace answers the Compliance section: the Mileage section on the month, the
    family's case window."""
    ctx = make_context(demo=True)
    view = WorkspaceView(ctx, role=Role.RECOVERY_COORDINATOR)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.mileage.loaded, timeout=5_000):
        view.today.open_mileage.emit("2025-12")
    assert view.currentWidget() is view.mileage
    qtbot.waitUntil(lambda: view.mileage.month_label.text() == "December 2025", timeout=5_000)
    case_id = ctx.runner.worker.call(lambda: ctx.session.cases().caseload()[0].case.id)
    view.today.open_case.emit(case_id)
    (window,) = view.open_windows()
    assert isinstance(window, CasePage)
    window.close()
