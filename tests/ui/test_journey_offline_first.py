"""A coordinator who worked before joining the program's server keeps every record.

IT sets the server up with the admin command line and a supervisor connects. A new coordinator
installs FieldApp on a laptop that has never seen the server: creates a profile, meets a family
in the field and starts it (a referral), writes and signs a visit note (with a mistake first),
logs a trip. Then connects in Settings: the work goes up as hers, nothing is lost or doubled.
The supervisor finds the family waiting for confirmation, confirms it and assigns the intact
worker; the coordinator's next sync shows it confirmed, with her note and trip as they were.

No service, store or demo call sets anything up or takes a step: the widgets by accessible name,
the keyboard, and `fieldapp-server`. Only the clock is the test's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QLabel, QPlainTextEdit
from pytestqt.qtbot import QtBot

from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.main_window import MainWindow
from tests.server.conftest import RunningServer
from tests.ui import journey, test_journey_program, test_sync_ui
from tests.ui.journey import (
    assign,
    connect,
    enrol,
    families_listed,
    sync_and_settle,
    workspace,
)
from tests.ui.test_family_dialog import click, named, open_new_family, type_into
from tests.ui.test_journey_program import (
    add_trip,
    correct_and_sign,
    open_alder,
    supervision,
    timeline_rows,
    write_note_with_a_mistake,
)
from tests.ui.test_profile_flow import create_profile
from tests.ui.test_sync_ui import WAIT, AppFactory

open_app = test_sync_ui.open_app  # the real window on a profile folder (a fixture)
it_set_up = journey.it_set_up  # the program's server, set up by IT (a fixture)
clock = test_journey_program.clock  # 24 November 2026, 15:30 in Chicago (a fixture)

SIGNED_NOTE = ["24 Nov 2026", "Visit (face to face, home)",
               "Met Dana at home; reviewed the recovery plan together.", "signed"]


def start_a_family_in_the_field(qtbot: QtBot, window: MainWindow) -> None:
    """Caseload → New family, as a coordinator: the dialog says the family is hers until a
    supervisor confirms it; the caseload says it waits."""
    ws = workspace(window)
    ws.setCurrentWidget(ws.caseload)
    qtbot.waitUntil(lambda: "New family (Alt+W)" in ws.caseload.empty.text(), timeout=WAIT)
    dialog = open_new_family(qtbot, ws.caseload)
    assert "yours alone and open until a supervisor" in named(dialog, QLabel, "Referral").text()
    type_into(qtbot, dialog, "Family name", "Alder")
    type_into(qtbot, dialog, "Parent 1 name", "Dana Alder")
    type_into(qtbot, dialog, "Parent 1 relationship", "Mother")
    box = named(dialog, QPlainTextEdit, "Address and directions")
    box.setFocus()
    qtbot.keyClicks(box, "12 Elm St, Joliet; blue door at the back")
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: families_listed(window) == ["Alder"], timeout=WAIT)
    assert caseload_status(window) == "Awaiting confirmation"


def caseload_status(window: MainWindow) -> str:
    view = workspace(window).caseload.view
    return str(view.model().index(0, 2).data())


def work_offline(qtbot: QtBot, window: MainWindow) -> None:
    """A profile that has never been connected: a family, a signed note, a trip."""
    create_profile(qtbot, window)  # the role offered first: recovery coordinator
    status = window.sync_status
    qtbot.waitUntil(lambda: "connect in Settings" in status.last_sync.text(), timeout=WAIT)
    start_a_family_in_the_field(qtbot, window)
    page = open_alder(qtbot, window)
    editor = write_note_with_a_mistake(qtbot, window, page)
    correct_and_sign(qtbot, editor)
    qtbot.waitUntil(lambda: timeline_rows(page) == [SIGNED_NOTE], timeout=WAIT)
    click(qtbot, page, "Close")
    ws = workspace(window)
    with qtbot.waitSignal(ws.mileage.loaded, timeout=WAIT):
        ws.setCurrentWidget(ws.mileage)
    add_trip(qtbot, window, case="Alder", purpose="Home visit", miles="12")
    assert ws.mileage.meter.format() == "24 of 150 miles used · 126 left · $17.40"


def supervisor_confirms(qtbot: QtBot, window: MainWindow) -> None:
    """The supervisor's caseload lists the family as waiting; Edit family says who started it,
    offers to confirm it, and the intact worker is assigned as it is confirmed."""
    sync_and_settle(qtbot, window)
    ws = workspace(window)
    ws.setCurrentWidget(ws.caseload)
    qtbot.waitUntil(lambda: families_listed(window) == ["Alder"], timeout=WAIT)
    assert caseload_status(window) == "Awaiting confirmation"
    ws.caseload.view.selectRow(0)
    click(qtbot, ws.caseload, "Edit family")
    dialog = ws.caseload.family_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.isEnabled(), timeout=WAIT)
    assert named(dialog, QLabel, "Referral").text().startswith(
        "Rosa Coordinator started this family in the field.")
    assert named(dialog, QCheckBox, "Confirm family").isChecked()
    assign(dialog, "Intact worker", "Ian Worker (iw1)")
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT):
        click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: caseload_status(window) == "Open", timeout=WAIT)
    sync_and_settle(qtbot, window)
    page = supervision(qtbot, window)
    assert page.tabs.tabText(1) == "Notes to co-&sign (1)"


def test_work_done_before_connecting_goes_up_as_hers_and_nothing_is_lost(
        qtbot: QtBot, it_set_up: RunningServer, open_app: AppFactory, tmp_path: Path) -> None:
    supervisor = open_app(ProfilePaths(tmp_path / "supervisor-laptop"))
    enrol(qtbot, supervisor, it_set_up, "sup1", role="Supervisor")
    coordinator = open_app(ProfilePaths(tmp_path / "coordinator-laptop"))
    work_offline(qtbot, coordinator)

    connect(qtbot, coordinator, it_set_up, "rc1")  # waits for the first sync to be done
    status = coordinator.sync_status
    qtbot.waitUntil(lambda: status.waiting.text() == "Nothing waiting to go up", timeout=WAIT)

    supervisor_confirms(qtbot, supervisor)
    sync_and_settle(qtbot, coordinator)
    ws = workspace(coordinator)
    ws.setCurrentWidget(ws.caseload)
    qtbot.waitUntil(lambda: caseload_status(coordinator) == "Open", timeout=WAIT)
    page = open_alder(qtbot, coordinator, first_visit=False)
    # The note and the trip, each once: nothing lost, nothing doubled.
    assert sorted(timeline_rows(page)) == sorted([
        SIGNED_NOTE, ["24 Nov 2026", "Trip", "Office → Alder home: 24.0 miles", "Home visit"]])
    click(qtbot, page, "Close")
    ws.setCurrentWidget(ws.mileage)
    qtbot.waitUntil(lambda: ws.mileage.model.rowCount() == 1, timeout=WAIT)
    assert ws.mileage.meter.format() == "24 of 150 miles used · 126 left · $17.40"
