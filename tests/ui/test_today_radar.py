"""Today's compliance section over the demo caseload: it lists the radar's items (severity, what,
family or month, due), opens each item's note, case or month with Enter, says "Nothing is
overdue." when there is nothing, and every control in it has a name."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import Role, UserId
from fieldapp.domain.radar import Opens, RadarKind
from fieldapp.services import demo
from fieldapp.services.today import TodaySummary, today_summary
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.context import UiContext
from fieldapp.ui.today_page import TodayPage
from fieldapp.ui.workspace_view import WorkspaceView
from tests.conftest import FakeClock
from tests.services.records_helpers import make_trip, services_of
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_case_page import cut_cells

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
    summary = ctx.runner.worker.call(lambda: today_summary(ctx.session.workspace()))
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
    page.resize(700, 900)  # a narrow window: the sentences wrap, and are read whole
    qtbot.waitUntil(lambda: cut_cells(page.radar_view) == [], timeout=2_000)

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
    case_id = ctx.runner.worker.call(lambda: services_of(ctx.session).cases.caseload()[0].case.id)
    view.today.open_case.emit(case_id)
    (window,) = view.open_windows()
    assert isinstance(window, CasePage)
    window.close()


def supervisor_today(qtbot: QtBot, make_context: ContextFactory, *, user_id: UserId,
                     demo: bool, then: Callable[[UiContext], None] = lambda _: None
                     ) -> tuple[TodayPage, TodaySummary]:
    ctx = make_context(role=Role.SUPERVISOR, user_id=user_id, demo=demo)
    then(ctx)
    page = TodayPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 900)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.summary_label.text() != "", timeout=5_000)
    return page, ctx.runner.worker.call(lambda: today_summary(ctx.session.workspace()))


def worker_boxes(page: TodayPage) -> list[QWidget]:
    return [page._boxes[v] for v in (page.due_view, page.drafts_view, page.returned_view,
                                     page.screens_view)] + [page.miles_box]


def test_a_supervisor_sees_the_work_to_decide_not_a_workers_sections(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A supervisor's Today showed "Returned by your supervisor" and their own mileage, and
    not the notes to co-sign nor the months to approve."""
    page, summary = supervisor_today(qtbot, make_context, user_id=demo.SUPERVISOR, demo=True)
    assert summary.awaiting_cosign and summary.months_awaiting
    assert not any(box.isVisible() for box in worker_boxes(page))
    assert page._boxes[page.cosign_view].isVisible()
    assert page.cosign_model.rowCount() == len(summary.awaiting_cosign)
    author = summary.awaiting_cosign[0].author
    assert page.cosign_model.index(0, 2).data() == f"{summary.people.names[author]} ({author})"
    assert page.months_model.rowCount() == len(summary.months_awaiting)
    assert page.months_model.index(0, 3).data().startswith("$")
    assert page._boxes[page.radar_view].title() == "Compliance of your team"
    assert page.title.text().endswith(f" · {demo.PROGRAM}")
    assert unnamed_controls(page) == []
    page.months_view.setFocus()
    with qtbot.waitSignal(page.open_supervision, timeout=2_000) as opened:
        qtbot.keyClick(page.months_view, Qt.Key.Key_Return)
    assert opened.args == ["mileage"]
    with qtbot.waitSignal(page.open_supervision, timeout=2_000) as opened:
        qtbot.mouseClick(page.cosign_button, Qt.MouseButton.LeftButton)
    assert opened.args == ["cosign"]


def test_a_supervisor_with_trips_of_their_own_keeps_a_workers_sections(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    def drive(ctx: UiContext) -> None:
        ctx.runner.worker.call(lambda: services_of(ctx.session).mileage.add_trip(make_trip()))

    page, summary = supervisor_today(qtbot, make_context, user_id=demo.SUPERVISOR, demo=True,
                                     then=drive)
    assert summary.own_work
    assert all(box.isVisible() for box in worker_boxes(page))
    assert page._boxes[page.months_view].isVisible()
    assert page._boxes[page.radar_view].title() == "Compliance"


def test_a_new_supervisors_empty_today_says_what_would_be_there(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    page, _ = supervisor_today(qtbot, make_context, user_id=UserId("sup-new"), demo=False)
    for view, text in ((page.cosign_view, "No notes are waiting for your co-signature."),
                       (page.months_view, "No months of mileage are waiting for your approval."),
                       (page.radar_view, "Nothing is overdue in your team's work.")):
        assert page._empty[view].isVisible() and not view.isVisible()
        assert page._empty[view].text() == page._empty[view].accessibleName() == text
    assert not page.cosign_button.isVisible() and not page.months_button.isVisible()
    assert not any(box.isVisible() for box in worker_boxes(page))
    assert page.summary_label.text() == (
        "Nothing is waiting for you: no notes to co-sign, no mileage to approve and nothing "
        "overdue.")


def test_a_coordinator_has_no_supervisors_sections(qtbot: QtBot,
                                                    make_context: ContextFactory) -> None:
    page, _ = today_page(qtbot, make_context)
    assert not page._boxes[page.cosign_view].isVisible()
    assert not page._boxes[page.months_view].isVisible()
    assert all(box.isVisible() for box in worker_boxes(page))
    assert page.title.text().endswith(" · Family recovery program")


def test_todays_supervisor_sections_open_the_supervisor_tab_on_that_work(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=demo.SUPERVISOR, demo=True)
    view = WorkspaceView(ctx, role=Role.SUPERVISOR)
    qtbot.addWidget(view)
    view.show()
    supervisor = view.supervisor
    assert supervisor is not None
    with qtbot.waitSignal(supervisor.loaded, timeout=5_000):
        view.today.open_supervision.emit("mileage")
    assert view.currentWidget() is supervisor
    assert supervisor.tabs.currentWidget() is supervisor.mileage
    view.today.open_supervision.emit("cosign")
    assert supervisor.tabs.currentWidget() is supervisor.cosign
