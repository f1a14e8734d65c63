"""The one way from a screen to the vault (`fieldapp.ui.ops`): the work gets the workspace on
the database worker; an error a person can act on is shown where the screen says and its buttons
come back; a bug is never swallowed; an answer for a closed window is dropped; every change, and
only a change, is announced, and a page on screen shows what a change elsewhere wrote."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from fieldapp.domain.errors import KnownError, NotPermitted
from fieldapp.domain.people import Role
from fieldapp.domain.visits import VisitNote
from fieldapp.services.casework import CaseService
from fieldapp.services.notes import NoteService
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import change, follow_changes, on_files, on_profile, query
from fieldapp.ui.today_page import TodayPage
from tests.services.records_helpers import visit_details
from tests.ui.conftest import ContextFactory

ADMIN_REFUSAL = "Administrators manage people and devices, not case records."


def _settle(qtbot: QtBot, ctx: UiContext) -> None:
    qtbot.waitUntil(lambda: not ctx.runner.busy, timeout=5_000)


def _today_on_screen(qtbot: QtBot, ctx: UiContext) -> TodayPage:
    """Today shown, in the active window, and read once."""
    page = TodayPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=5_000)
    with qtbot.waitSignal(ctx.runner.busy_changed, check_params_cb=lambda busy: not busy,
                          timeout=5_000):
        page.refresh()
    return page


def _a_draft(narrative: str = "") -> Any:
    """A change: a draft note on the first family of the caseload."""
    def write(ws: Workspace) -> object:
        case_id = CaseService(ws).caseload()[0].case.id
        details = visit_details(narrative=narrative) if narrative else visit_details()
        return NoteService(ws).start_draft(case_id, details)
    return write


def _announcements(ctx: UiContext) -> list[None]:
    heard: list[None] = []
    ctx.runner.records_changed.connect(lambda: heard.append(None))
    return heard


def test_the_work_gets_the_open_workspace_on_the_database_thread(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """The callable is handed the open profile's workspace, as its owner, on the worker."""
    ctx, owner = make_context(), QLabel()
    qtbot.addWidget(owner)
    seen: list[tuple[Any, str, str]] = []
    ui_thread = threading.current_thread().name
    query(ctx, lambda ws: (ws, str(ws.actor.user_id), threading.current_thread().name),
          owner=owner).done(seen.append).run()
    qtbot.waitUntil(lambda: bool(seen), timeout=5_000)
    workspace, who, thread = seen[0]
    assert isinstance(workspace, Workspace)
    assert who == "rc-1"
    assert thread.startswith("fieldapp-db") and thread != ui_thread


def test_profile_and_folder_work_runs_on_the_database_thread(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """Work on the profile gets the session; work on the profiles folder gets nothing; both on
    the worker."""
    ctx, owner = make_context(), QLabel()
    qtbot.addWidget(owner)
    seen: list[tuple[object, str]] = []
    on_profile(ctx.runner, ctx.session, lambda s: (s, threading.current_thread().name),
               owner=owner).done(seen.append).run()
    on_files(ctx.runner, lambda: ("files", threading.current_thread().name),
             owner=owner).done(seen.append).run()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5_000)
    assert seen[0][0] is ctx.session
    assert seen[1][0] == "files"
    assert all(thread.startswith("fieldapp-db") for _, thread in seen)


def test_a_known_error_is_shown_in_the_label_and_the_buttons_come_back(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """An administrator asks for case records: the refusal is said in the message line, the
    button pressed is enabled again, and nothing reaches the crash handler."""
    ctx = make_context(role=Role.ADMIN)
    message, button = QLabel(), QPushButton("Save")
    qtbot.addWidget(message)
    qtbot.addWidget(button)
    button.setEnabled(False)
    done: list[object] = []
    with qtbot.captureExceptions() as exceptions:
        change(ctx, lambda ws: ws.require_clinical_access(), owner=message).done(done.append) \
            .shown_in(message, after_failure=lambda: button.setEnabled(True)).run()
        qtbot.waitUntil(button.isEnabled, timeout=5_000)
    assert message.text() == ADMIN_REFUSAL
    assert done == []
    assert exceptions == []


def test_a_handler_gets_the_known_error_instead_of_a_label(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A screen that says more than the message gets the error itself."""
    ctx, owner = make_context(role=Role.ADMIN), QLabel()
    qtbot.addWidget(owner)
    refused: list[KnownError] = []
    query(ctx, lambda ws: ws.require_clinical_access(), owner=owner) \
        .failed(refused.append).run()
    qtbot.waitUntil(lambda: bool(refused), timeout=5_000)
    assert isinstance(refused[0], NotPermitted)
    assert refused[0].message == ADMIN_REFUSAL


def test_a_bug_is_raised_not_shown(qtbot: QtBot, make_context: ContextFactory) -> None:
    """A fault that is no one's doing reaches the crash handler (here pytest-qt's capture); the
    label does not pass it off as a message, and the window's buttons still come back."""
    ctx = make_context()
    message, button = QLabel(), QPushButton("Save")
    qtbot.addWidget(message)
    qtbot.addWidget(button)
    button.setEnabled(False)

    def broken(ws: Workspace) -> None:
        raise ZeroDivisionError("a bug")

    with qtbot.captureExceptions() as exceptions:
        change(ctx, broken, owner=message) \
            .shown_in(message, after_failure=lambda: button.setEnabled(True)).run()
        _settle(qtbot, ctx)
        qtbot.waitUntil(lambda: bool(exceptions), timeout=5_000)
    assert [type(error) for _, error, _ in exceptions] == [ZeroDivisionError]
    assert message.text() == ""
    assert button.isEnabled()


@pytest.mark.parametrize("fails", [False, True], ids=["result", "known error"])
def test_an_answer_for_a_closed_window_is_dropped(
        qtbot: QtBot, make_context: ContextFactory, fails: bool) -> None:
    """The window closed while the work ran: neither its result nor its refusal reaches it,
    and nothing is raised."""
    ctx = make_context(role=Role.ADMIN if fails else Role.RECOVERY_COORDINATOR)
    owner = QLabel()
    gate = threading.Event()
    reached: list[object] = []

    def slow(ws: Workspace) -> object:
        gate.wait(5)
        ws.require_clinical_access()
        return CaseService(ws).caseload()

    with qtbot.captureExceptions() as exceptions:
        query(ctx, slow, owner=owner).done(reached.append) \
            .shown_in(owner, after_failure=lambda: reached.append("re-enabled")).run()
        owner.deleteLater()
        qtbot.waitUntil(lambda: not shiboken6.isValid(owner), timeout=2_000)
        gate.set()
        _settle(qtbot, ctx)
    assert reached == []
    assert exceptions == []


def test_a_change_is_announced_once_and_a_query_never(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """Reading announces nothing; a change that was written is announced once, before the
    screen's own answer; a refused change announces nothing."""
    ctx, owner = make_context(demo=True), QLabel()
    qtbot.addWidget(owner)
    heard = _announcements(ctx)
    order: list[str] = []
    ctx.runner.records_changed.connect(lambda: order.append("announced"))
    cases: list[Any] = []
    query(ctx, lambda ws: CaseService(ws).caseload(), owner=owner).done(cases.append).run()
    qtbot.waitUntil(lambda: bool(cases), timeout=5_000)
    _settle(qtbot, ctx)
    assert heard == []

    case_id = cases[0][0].case.id
    drafts: list[VisitNote] = []

    def started(note: VisitNote) -> None:
        order.append("done")
        drafts.append(note)

    change(ctx, lambda ws: NoteService(ws).start_draft(case_id, visit_details()), owner=owner) \
        .done(started).run()
    _settle(qtbot, ctx)
    assert len(heard) == 1
    assert order == ["announced", "done"]

    refused: list[KnownError] = []
    draft_id = drafts[0].id
    change(ctx, lambda ws: NoteService(ws).add_addendum(draft_id, reason="r", text="t"),
           owner=owner).failed(refused.append).run()
    _settle(qtbot, ctx)
    assert [e.message for e in refused] == ["A draft is edited directly; addenda are for "
                                            "signed notes."]
    assert len(heard) == 1


def test_a_change_is_announced_even_when_its_window_closed(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """The dialog that asked is gone, but the change was written: the pages must still hear."""
    ctx = make_context(demo=True)
    owner = QLabel()
    heard = _announcements(ctx)
    gate = threading.Event()

    def write(ws: Workspace) -> object:
        gate.wait(5)
        case_id = CaseService(ws).caseload()[0].case.id
        return NoteService(ws).start_draft(case_id, visit_details())

    change(ctx, write, owner=owner).run()
    owner.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(owner), timeout=2_000)
    gate.set()
    _settle(qtbot, ctx)
    assert len(heard) == 1


def test_today_shows_a_draft_written_elsewhere_without_a_sync_or_a_window_closing(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """Today is on screen; a note started from another window appears among its drafts."""
    ctx = make_context(demo=True)
    page = _today_on_screen(qtbot, ctx)
    before = page.drafts_model.rowCount()
    elsewhere = QLabel()
    qtbot.addWidget(elsewhere)

    change(ctx, _a_draft("From elsewhere."), owner=elsewhere).run()
    qtbot.waitUntil(lambda: page.drafts_model.rowCount() == before + 1, timeout=5_000)
    assert any(note.details.narrative == "From elsewhere."
               for note in page.drafts_model.rows)


def test_a_page_out_of_sight_waits_to_be_shown(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A hidden page (another tab) is not read again for every change; it reads when shown."""
    ctx = make_context(demo=True)
    page = TodayPage(ctx)
    qtbot.addWidget(page)
    page.hide()
    shown: list[object] = []
    page.drafts_model.modelReset.connect(lambda: shown.append(None))
    owner = QLabel()
    qtbot.addWidget(owner)

    change(ctx, _a_draft(), owner=owner).run()
    _settle(qtbot, ctx)
    qtbot.wait(50)
    assert shown == []


def test_a_page_behind_another_window_reads_when_its_window_is_active_again(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """Today is on screen but the person works in another window (a note autosaving): Today is
    not read again for each save, and shows the change once its window is active again."""
    ctx = make_context(demo=True)
    page = _today_on_screen(qtbot, ctx)
    before = page.drafts_model.rowCount()
    other = QLabel("Another window")
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not page.isActiveWindow(), timeout=5_000)

    change(ctx, _a_draft(), owner=other).run()
    _settle(qtbot, ctx)
    qtbot.wait(50)
    assert page.drafts_model.rowCount() == before, "read again behind another window"
    page.activateWindow()
    qtbot.waitUntil(lambda: page.drafts_model.rowCount() == before + 1, timeout=5_000)


def test_a_page_that_reads_after_its_own_change_reads_once(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A page on screen makes a change and reads itself again after it (`reload`): one read,
    not one for the change and one for itself. The second read once arrived after the person's
    next click and answered for it (a supervisor's second approval)."""
    ctx = make_context(demo=True)
    page = _today_on_screen(qtbot, ctx)
    reads: list[None] = []
    follower = follow_changes(ctx, page, lambda: reads.append(None))

    write = _a_draft()
    change(ctx, write, owner=page).done(lambda _: follower.reload()).run()
    _settle(qtbot, ctx)
    qtbot.wait(50)
    assert reads == [None]
    change(ctx, write, owner=page).run()  # a change it does not answer itself: read once too
    _settle(qtbot, ctx)
    qtbot.wait(50)
    assert reads == [None, None]
