"""From a blank install to a family on the coordinator's laptop, through only what people have:
IT sets the server up with the admin command line; a supervisor creates a profile in the app,
connects it, opens a family and assigns the recovery coordinator from the team list; the
coordinator creates a profile, connects it and finds the family on the caseload. No service,
store or demo call sets anything up: the widgets by accessible name, and `fieldapp-server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.main_window import MainWindow
from tests.conftest import PASSPHRASE
from tests.server.conftest import RunningServer, run_cli, running_server
from tests.ui import test_sync_ui
from tests.ui.test_family_dialog import click, named, open_new_family, type_alder
from tests.ui.test_profile_flow import create_profile
from tests.ui.test_sync_ui import WAIT, AppFactory, idle, sync_now

open_app = test_sync_ui.open_app  # the real window on a profile folder (a fixture)
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


def connect(qtbot: QtBot, window: MainWindow, server: RunningServer, user_id: str) -> None:
    """Settings → Connect to a server: the address, a code IT gave, the passphrase."""
    ws = window.workspace
    assert ws is not None
    ws.setCurrentWidget(ws.settings)
    ws.settings.open_enrolment()
    dialog = ws.settings.enrol_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.server, server.base_url)
    qtbot.keyClicks(dialog.code, server.new_code(user_id))
    qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
    click(qtbot, dialog, dialog.connect_button.accessibleName())
    status = window.sync_status
    qtbot.waitUntil(lambda: status.last_sync.text() == "Synced just now" and idle(window),
                    timeout=WAIT)


def test_a_supervisor_opens_a_family_and_it_reaches_the_coordinator(
        qtbot: QtBot, it_set_up: RunningServer, open_app: AppFactory, tmp_path: Path) -> None:
    supervisor = open_app(ProfilePaths(tmp_path / "supervisor-laptop"))
    role = supervisor.create_page.role
    role.setCurrentIndex(role.findText("Supervisor"))
    create_profile(qtbot, supervisor)
    connect(qtbot, supervisor, it_set_up, "sup1")

    ws = supervisor.workspace
    assert ws is not None
    ws.setCurrentWidget(ws.caseload)
    dialog = open_new_family(qtbot, ws.caseload)
    type_alder(qtbot, dialog)
    coordinator = named(dialog, QComboBox, "Recovery coordinator")
    coordinator.setCurrentIndex(coordinator.findText("Rosa Coordinator (rc1)"))
    assert coordinator.currentText() == "Rosa Coordinator (rc1)", "the team list came by sync"
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: ws.caseload.model.rowCount() == 1, timeout=WAIT)
    sync_now(qtbot, supervisor)
    status = supervisor.sync_status
    qtbot.waitUntil(lambda: idle(supervisor) and status.waiting.text() ==
                    "Nothing waiting to go up", timeout=WAIT)

    laptop = open_app(ProfilePaths(tmp_path / "coordinator-laptop"))
    create_profile(qtbot, laptop)
    connect(qtbot, laptop, it_set_up, "rc1")
    mine = laptop.workspace
    assert mine is not None
    mine.setCurrentWidget(mine.caseload)
    # The family's key is wrapped for each member by a member who holds it, never by the
    # server: until the supervisor's next sync the coordinator is told why the family waits.
    qtbot.waitUntil(lambda: "1 family is assigned to you but cannot be opened yet"
                    in mine.caseload.empty.text(), timeout=WAIT)
    assert mine.caseload.model.rowCount() == 0
    sync_now(qtbot, supervisor)  # by itself every few minutes; here F5
    qtbot.waitUntil(lambda: idle(supervisor), timeout=WAIT)
    sync_now(qtbot, laptop)
    qtbot.waitUntil(lambda: idle(laptop) and mine.caseload.model.rowCount() == 1, timeout=WAIT)
    row = mine.caseload.model.row_at(0)
    assert row.case.family_name == "Alder"
    assert [p.name for p in row.case.parents] == ["Dana Alder"]
    assert "cannot be opened yet" not in mine.caseload.empty.text()
