"""The open profile as a coordinator meets it: Today, Caseload, a family's page, auto-lock, demo."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from fieldapp.app import DEMO_ROLES, build_parser
from fieldapp.domain.people import Role
from fieldapp.services import demo
from fieldapp.services.today import today_summary
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.caseload_page import BEHIND, CaseloadPage
from fieldapp.ui.context import UiContext
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.note_editor import NoteEditor
from fieldapp.ui.today_page import TodayPage
from tests.conftest import FakeClock
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory, WindowFactory
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_profile_flow import create_profile


def shown(qtbot: QtBot, widget: TodayPage | CaseloadPage | CasePage) -> None:
    qtbot.addWidget(widget)
    widget.show()
    widget.refresh()


def test_today_shows_what_needs_attention(qtbot: QtBot, make_context: ContextFactory,
                                          qtmodeltester: ModelTester) -> None:
    ctx = make_context(demo=True)
    page = TodayPage(ctx)
    shown(qtbot, page)
    summary = ctx.runner.worker.call(lambda: today_summary(ctx.session.workspace()))
    qtbot.waitUntil(lambda: page.drafts_model.rowCount() == len(summary.drafts), timeout=5_000)
    assert page.returned_model.rowCount() == len(summary.returned) > 0
    assert "draft" in page.summary_label.text()
    assert f"of {summary.mileage.cap} miles used" in page.meter.format()
    for model in (page.due_model, page.drafts_model, page.returned_model, page.screens_model):
        qtmodeltester.check(model)
    assert unnamed_controls(page) == []
    with qtbot.waitSignal(page.open_note) as opened:
        qtbot.mouseClick(page.open_returned_button, Qt.MouseButton.LeftButton)
    assert opened.args == [summary.returned[0].case_id, summary.returned[0].id]


def test_today_empty_states_say_so(qtbot: QtBot, make_context: ContextFactory) -> None:
    page = TodayPage(make_context())
    shown(qtbot, page)
    qtbot.waitUntil(lambda: page.summary_label.text() == "Nothing is waiting for you.",
                    timeout=5_000)
    assert not page.drafts_view.isVisible()
    assert page.findChild(type(page.title), "") is not None


def test_caseload_search_and_filter(qtbot: QtBot, make_context: ContextFactory,
                                    qtmodeltester: ModelTester) -> None:
    ctx = make_context(demo=True)
    page = CaseloadPage(ctx)
    shown(qtbot, page)
    qtbot.waitUntil(lambda: page.model.rowCount() == 12, timeout=5_000)
    qtmodeltester.check(page.model)
    qtbot.keyClicks(page.search, "castil")
    assert page.proxy.rowCount() == 1
    assert page.empty.text() == "Showing 1 of 12 families."
    page.search.clear()
    qtbot.keyClicks(page.search, "nobody by that name")
    assert page.empty.text() == "No family matches this search."
    page.search.clear()
    page.status.setCurrentText("aftercare")
    assert page.proxy.rowCount() == 1
    page.status.setCurrentText(BEHIND)
    behind = sum(1 for row in page.model.rows if row.due.behind)
    assert page.proxy.rowCount() == behind
    page.status.setCurrentText("All statuses")
    with qtbot.waitSignal(page.open_case) as opened:
        qtbot.keyClick(page.view, Qt.Key.Key_Return)
    assert opened.args[0] in {row.case.id for row in page.model.rows}
    assert unnamed_controls(page) == []


def test_case_page_timeline(qtbot: QtBot, make_context: ContextFactory,
                            qtmodeltester: ModelTester) -> None:
    ctx: UiContext = make_context(demo=True)
    case = ctx.runner.worker.call(lambda: services_of(ctx.session).cases.caseload()[0].case)
    page = CasePage(ctx, case_id=case.id)
    shown(qtbot, page)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=5_000)
    qtmodeltester.check(page.model)
    kinds = {entry.kind.split(" (")[0] for entry in page.model.rows}
    assert {"Visit", "Drug screen"} <= kinds
    assert case.family_name in page.title.text()
    assert case.address in page.details.text()
    days = [entry.day for entry in page.model.rows]
    assert days == sorted(days, reverse=True)
    with qtbot.waitSignal(page.write_note) as wanted:
        qtbot.mouseClick(page.new_note, Qt.MouseButton.LeftButton)
    assert wanted.args == [case.id]
    assert unnamed_controls(page) == []


def test_auto_lock_after_inactivity(qtbot: QtBot, make_window: WindowFactory,
                                    clock: FakeClock) -> None:
    window = make_window()
    create_profile(qtbot, window)
    clock.advance(14 * 60)
    qtbot.wait(200)
    assert window.workspace is not None, "not yet: 14 minutes"
    qtbot.keyClick(window.workspace, Qt.Key.Key_Shift)  # activity restarts the count
    clock.advance(14 * 60)
    qtbot.wait(200)
    assert window.workspace is not None
    clock.advance(60)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=5_000)
    assert window.workspace is None
    assert "without use" in window.statusBar().currentMessage()


def test_demo_opens_in_seconds(qtbot: QtBot, make_window: WindowFactory) -> None:
    window: MainWindow = make_window()
    qtbot.mouseClick(window.create_page.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=15_000)
    workspace = window.workspace
    assert workspace is not None
    qtbot.waitUntil(lambda: workspace.today.drafts_model.rowCount() > 0, timeout=5_000)
    session = window.current_session()
    assert window._runner.worker.call(session.actor).user_id == demo.WORKER
    assert [workspace.tabText(i) for i in range(workspace.count())] == [
        "&Today", "&Caseload", "&Mileage", "Setti&ngs"]


def test_every_section_names_every_control(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    create_profile(qtbot, window)
    workspace = window.workspace
    assert workspace is not None
    for index in range(workspace.count()):
        workspace.setCurrentIndex(index)
        qtbot.wait(100)
        assert unnamed_controls(workspace.currentWidget()) == [], workspace.tabText(index)


def test_supervisor_gets_a_supervisor_section(qtbot: QtBot, make_context: ContextFactory
                                              ) -> None:
    from fieldapp.ui.workspace_view import WorkspaceView  # noqa: PLC0415

    ctx = make_context(demo=True, role=Role.SUPERVISOR, user_id=demo.SUPERVISOR)
    view = WorkspaceView(ctx, role=Role.SUPERVISOR)
    qtbot.addWidget(view)
    assert "Su&pervisor" in [view.tabText(i) for i in range(view.count())]


def test_ctrl_n_writes_a_note_for_the_chosen_family(qtbot: QtBot, make_window: WindowFactory
                                                    ) -> None:
    window = make_window()
    qtbot.mouseClick(window.create_page.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=15_000)
    workspace = window.workspace
    assert workspace is not None
    workspace.setCurrentWidget(workspace.caseload)
    qtbot.waitUntil(lambda: workspace.caseload.model.rowCount() == 12, timeout=5_000)
    chosen = workspace.caseload.selected_case()
    qtbot.keyClick(workspace, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(workspace.open_windows()), timeout=5_000)
    (editor,) = workspace.open_windows()
    assert isinstance(editor, NoteEditor)
    assert editor._case_id == chosen
    editor.close()


def test_the_demo_opens_as_a_supervisor_with_the_coordinators_work_to_review(
        qtbot: QtBot, make_window: WindowFactory) -> None:
    """A newcomer could explore only a coordinator's demo; a supervisor's profile was empty."""
    window: MainWindow = make_window()
    page = window.create_page
    page.role.setCurrentIndex(page.role.findText("Supervisor"))
    assert page.demo_button.accessibleName().endswith("as a supervisor")
    qtbot.mouseClick(page.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=15_000)
    workspace = window.workspace
    assert workspace is not None and workspace.supervisor is not None
    session = window.current_session()
    assert window._runner.worker.call(session.actor).user_id == demo.SUPERVISOR
    supervisor = workspace.supervisor
    workspace.setCurrentWidget(supervisor)
    qtbot.waitUntil(lambda: supervisor.cosign.model.rowCount() > 0
                    and supervisor.mileage.model.rowCount() > 0, timeout=10_000)
    assert "supervisor" in str(session.profile.paths.root)


def test_the_command_line_opens_either_demo() -> None:
    parse = build_parser().parse_args
    assert parse(["--demo"]).demo == "coordinator"
    assert parse(["--demo", "supervisor"]).demo == "supervisor"
    assert DEMO_ROLES[parse(["--demo", "supervisor"]).demo] is Role.SUPERVISOR
    assert parse([]).demo is None
