"""From a blank install to a family on the coordinator's laptop, through only what people have:
IT sets the server up with the admin command line; a supervisor creates a profile in the app,
connects it, opens a family and assigns the recovery coordinator from the team list; the
coordinator creates a profile, connects it and finds the family on the caseload. No service,
store or demo call sets anything up: the widgets by accessible name, and `fieldapp-server`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from fieldapp.storage.paths import ProfilePaths
from tests.server.conftest import RunningServer
from tests.ui import journey, test_sync_ui
from tests.ui.journey import connect
from tests.ui.test_family_dialog import click, named, open_new_family, type_alder
from tests.ui.test_profile_flow import create_profile
from tests.ui.test_sync_ui import WAIT, AppFactory, idle, sync_now

open_app = test_sync_ui.open_app  # the real window on a profile folder (a fixture)
it_set_up = journey.it_set_up  # the program's server, set up by IT (a fixture)


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
    qtbot.waitUntil(lambda: "1 family is on your caseload but cannot be opened yet"
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
