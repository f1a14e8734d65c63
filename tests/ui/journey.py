"""Steps of the journey tests, done only with what people have: the admin command line for IT,
and for everyone else the app's widgets found by accessible name, typed into by keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.recovery_code_dialog import STORED
from fieldapp.ui.workspace_view import WorkspaceView
from tests.server.conftest import RunningServer, run_cli, running_server
from tests.ui.test_family_dialog import click, named, open_new_family, type_into
from tests.ui.test_profile_flow import create_profile
from tests.ui.test_sync_ui import WAIT, idle, sync_now

TEAM = (("sup1", "Sam Supervisor", "supervisor"), ("rc1", "Rosa Coordinator",
                                                     "recovery coordinator"),
        ("iw1", "Ian Worker", "intact worker"))


@pytest.fixture
def it_set_up(tmp_path: Path) -> Iterator[RunningServer]:
    """What IT does: `init`, a team, its people; then `serve` on loopback."""
    data = tmp_path / "server"
    run_cli(data, "init", "--name", "Riverbend Family Recovery")
    run_cli(data, "team-add", "t1", "--name", "North team")
    for user_id, name, role in TEAM:
        run_cli(data, "user-add", user_id, "--name", name, "--role", role, "--team", "t1")
    with running_server(data, tmp_path / "logs") as server:
        yield server


def workspace(window: MainWindow) -> WorkspaceView:
    """The open profile's sections (the test fails if the profile is not open)."""
    ws = window.workspace
    assert ws is not None, "the profile is not open"
    return ws


def connect(qtbot: QtBot, window: MainWindow, server: RunningServer, user_id: str, *,
            laptop_name: str | None = None) -> None:
    """Settings → Connect to a server: the address and a code IT gave (and a name for the
    laptop, if given, over the computer's); then the recovery code shown once, ticked as
    stored."""
    ws = workspace(window)
    ws.setCurrentWidget(ws.settings)
    ws.settings.open_enrolment()
    dialog = ws.settings.enrol_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.server, server.base_url)
    qtbot.keyClicks(dialog.code, server.new_code(user_id))
    if laptop_name is not None:
        dialog.device_name.selectAll()
        qtbot.keyClicks(dialog.device_name, laptop_name)
    click(qtbot, dialog, dialog.connect_button.accessibleName())
    qtbot.waitUntil(lambda: dialog.recovery_dialog is not None, timeout=WAIT)
    shown = dialog.recovery_dialog
    assert shown is not None
    tick = named(shown, QCheckBox, STORED)
    tick.setFocus()
    qtbot.keyClick(tick, Qt.Key.Key_Space)
    with qtbot.waitSignal(shown.finished, timeout=WAIT):
        click(qtbot, shown, "Done")
    status = window.sync_status
    qtbot.waitUntil(lambda: status.last_sync.text() == "Synced just now" and idle(window),
                    timeout=WAIT)


def enrol(qtbot: QtBot, window: MainWindow, server: RunningServer, user_id: str, *,
          role: str, laptop_name: str | None = None) -> WorkspaceView:
    """First run on a new laptop: a profile for `role` (as the role list says it), then
    connected to the program's server with a code IT made for `user_id`."""
    chooser = window.create_page.role
    chooser.setCurrentIndex(chooser.findText(role))
    assert chooser.currentText() == role
    create_profile(qtbot, window)
    connect(qtbot, window, server, user_id, laptop_name=laptop_name)
    return workspace(window)


def assign(dialog: QWidget, name: str, person: str) -> None:
    """Choose `person` ("Rosa Coordinator (rc1)") in the family dialog's list `name`."""
    combo = named(dialog, QComboBox, name)
    combo.setCurrentIndex(combo.findText(person))
    assert combo.currentText() == person, f"{person} is not on the {name} list"


def open_family(qtbot: QtBot, window: MainWindow, *, family: str, parent: str,
                address: str, coordinator: str, intact_worker: str | None = None) -> None:
    """Caseload → New family: the family, its parent in recovery, where they live, and who
    works with them (names as the team list shows them); saved, and listed."""
    ws = workspace(window)
    ws.setCurrentWidget(ws.caseload)
    before = ws.caseload.model.rowCount()
    dialog = open_new_family(qtbot, ws.caseload)
    type_into(qtbot, dialog, "Family name", family)
    type_into(qtbot, dialog, "Parent 1 name", parent)
    type_into(qtbot, dialog, "Parent 1 relationship", "Parent")
    box = named(dialog, QPlainTextEdit, "Address and directions")
    box.setFocus()
    qtbot.keyClicks(box, address)
    assign(dialog, "Recovery coordinator", coordinator)
    if intact_worker is not None:
        assign(dialog, "Intact worker", intact_worker)
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: ws.caseload.model.rowCount() == before + 1, timeout=WAIT)


def sync_and_settle(qtbot: QtBot, window: MainWindow) -> None:
    """F5, then wait until the sync is over and nothing waits to go up."""
    assert window.sync is not None
    with qtbot.waitSignal(window.sync.synced, timeout=WAIT):
        sync_now(qtbot, window)
    status = window.sync_status
    qtbot.waitUntil(lambda: status.waiting.text() == "Nothing waiting to go up", timeout=WAIT)
    assert status.last_sync.text() == "Synced just now"
    assert not status.note.isVisible()


def families_listed(window: MainWindow) -> list[str]:
    """The family names the caseload table shows, top to bottom."""
    view = workspace(window).caseload.view
    model = view.model()
    return [str(model.index(row, 0).data()) for row in range(model.rowCount())]
