"""Every declared shortcut is installed where it is declared, and only those: Ctrl+1 … Ctrl+n
switch tabs in order (the README says so truly for each role), F1, F5, Ctrl+E and Ctrl+L do what
the declaration says, and the family and note windows carry their keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import CaseId, Role, UserId
from fieldapp.services import demo
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui import shortcuts
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.export_dialog import ExportDialog
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.note_editor import NoteEditor
from fieldapp.ui.shortcuts import EVERYONE, Place, keys_of, shortcuts_for
from fieldapp.ui.workspace_view import WorkspaceView
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory, WindowFactory
from tests.ui.test_profile_flow import try_unlock

README = Path(__file__).resolve().parents[2] / "README.md"
WHO = {Role.RECOVERY_COORDINATOR: "for a coordinator or an intact worker",
       Role.INTACT_WORKER: "for a coordinator or an intact worker",
       Role.SUPERVISOR: "for a supervisor"}


def installed_keys(root: QObject) -> set[str]:
    """The keys of every shortcut installed under `root`: actions, `QShortcut`s and buttons'
    keys (a button's Alt+letter from its "&" text is its label's mnemonic, not a shortcut)."""
    found = {keys.toString() for action in root.findChildren(QAction)
             for keys in action.shortcuts() if not keys.isEmpty()}
    found |= {made.key().toString() for made in root.findChildren(QShortcut)
              if not made.key().isEmpty()}
    found |= {button.shortcut().toString() for button in root.findChildren(QAbstractButton)
              if not button.shortcut().isEmpty()
              and button.shortcut() != QKeySequence.mnemonic(button.text())}
    return found


def declared_keys(role: Role | None, *places: Place) -> set[str]:
    return {keys_of(s).toString() for s in shortcuts_for(role)
            if s.place in places and not s.own_handler}


def open_view(qtbot: QtBot, make_context: ContextFactory, role: Role) -> WorkspaceView:
    owner = demo.SUPERVISOR if role is Role.SUPERVISOR else None
    view = WorkspaceView(make_context(role=role, user_id=owner), role=role)
    qtbot.addWidget(view)
    view.show()
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)  # shortcuts reach only the active window
    return view


@pytest.mark.parametrize("role", list(WHO))
def test_the_readme_names_each_roles_tab_shortcuts(qtbot: QtBot, make_context: ContextFactory,
                                                   role: Role) -> None:
    view = open_view(qtbot, make_context, role)
    titles = [view.tabText(i).replace("&", "") for i in range(view.count())]
    last = len(titles)
    qtbot.keyClick(view, getattr(Qt.Key, f"Key_{last}"), Qt.KeyboardModifier.ControlModifier)
    assert view.currentWidget() is view.settings
    said = " ".join(README.read_text(encoding="utf-8").split())
    names = f"{', '.join(titles[:-1])} and {titles[-1]}"
    assert f"{names} (Ctrl+1 … Ctrl+{last}) {WHO[role]}" in said


@pytest.mark.parametrize("role", list(WHO))
def test_each_tab_key_shows_the_tab_it_is_declared_for(qtbot: QtBot,
                                                       make_context: ContextFactory,
                                                       role: Role) -> None:
    view = open_view(qtbot, make_context, role)
    sections = shortcuts.sections_for(role)
    assert [view.tabText(i) for i in range(view.count())] == [s.title for s in sections]
    for number, section in reversed(list(enumerate(sections, start=1))):
        qtbot.keyClick(view, getattr(Qt.Key, f"Key_{number}"),
                       Qt.KeyboardModifier.ControlModifier)
        assert view.currentWidget() is getattr(view, section.page), section.name


def open_profile(qtbot: QtBot, make_window: WindowFactory, paths: ProfilePaths,
                 clock: FakeClock, role: Role) -> MainWindow:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE, role=role, user_id=UserId("someone"))
    session.lock()
    window = make_window()
    try_unlock(qtbot, window, PASSPHRASE)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=10_000)
    return window


def press(qtbot: QtBot, window: MainWindow, shortcut: shortcuts.Shortcut) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    combo = keys_of(shortcut)[0]
    qtbot.keyClick(window, combo.key(), combo.keyboardModifiers())


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_the_main_window_has_the_declared_keys_and_they_do_what_they_say(
        qtbot: QtBot, make_window: WindowFactory, paths: ProfilePaths, clock: FakeClock,
        role: Role) -> None:
    window = open_profile(qtbot, make_window, paths, clock, role)
    assert installed_keys(window) == declared_keys(
        role, shortcuts.ANYWHERE, shortcuts.MAIN_WINDOW, shortcuts.OPEN_PROFILE,
        shortcuts.MILEAGE_TAB)
    workspace = window.workspace
    assert workspace is not None
    with qtbot.waitSignal(window.sync_action.triggered, timeout=2_000):
        press(qtbot, window, shortcuts.SYNC)
    press(qtbot, window, shortcuts.EXPORT)
    qtbot.waitUntil(lambda: any(isinstance(w, ExportDialog) for w in workspace.open_windows()),
                    timeout=5_000)
    (export,) = workspace.open_windows()
    export.activateWindow()
    qtbot.waitUntil(export.isActiveWindow)
    qtbot.keyClick(export, Qt.Key.Key_F1)  # help answers in every window, not only the main one
    help_window = window.keyboard_help
    assert help_window is not None and help_window.isVisible()
    assert help_window.model.rows == shortcuts_for(role)
    workspace.close_windows()
    press(qtbot, window, shortcuts.LOCK)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=10_000)
    assert help_window.model.rows == shortcuts_for(None), "locked: no role's keys"


def test_the_family_and_note_windows_have_their_declared_keys(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    case = CaseId(ctx.runner.worker.call(
        lambda: services_of(ctx.session).cases.caseload()[0].case.id))
    family = CasePage(ctx, case_id=case)
    note = NoteEditor(ctx, case_id=case)
    for window in (family, note):
        qtbot.addWidget(window)
    assert installed_keys(family) == declared_keys(Role.RECOVERY_COORDINATOR,
                                                   shortcuts.FAMILY_WINDOW)
    assert installed_keys(note) == declared_keys(Role.RECOVERY_COORDINATOR,
                                                 shortcuts.NOTE_WINDOW)
    family.show()
    family.activateWindow()
    qtbot.waitUntil(family.isActiveWindow)
    with qtbot.waitSignal(family.write_note, timeout=2_000) as written:
        qtbot.keyClick(family, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert written.args == [case]


def test_ctrl_t_adds_a_trip_as_soon_as_the_mileage_tab_shows(
        qtbot: QtBot, make_window: WindowFactory, paths: ProfilePaths, clock: FakeClock) -> None:
    """A newcomer clicked the Mileage tab (the focus stays on the tab bar) and pressed Ctrl+T:
    nothing happened. The tab's keys work in the whole window while it shows, and only then."""
    window = open_profile(qtbot, make_window, paths, clock, Role.RECOVERY_COORDINATOR)
    workspace = window.workspace
    assert workspace is not None
    page = workspace.mileage
    press(qtbot, window, shortcuts.ADD_TRIP)  # Today shows: Ctrl+T is not Today's
    assert page.trip_dialog is None
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        workspace.setCurrentWidget(page)
    workspace.tabBar().setFocus()
    press(qtbot, window, shortcuts.ADD_TRIP)
    qtbot.waitUntil(lambda: page.trip_dialog is not None and page.trip_dialog.isVisible(),
                    timeout=5_000)
