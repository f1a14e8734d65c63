"""Settings: what the page says about this computer."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox
from pytestqt.qtbot import QtBot

from fieldapp.ui.settings_page import SettingsPage
from tests.sync.conftest import running_program
from tests.ui.conftest import ContextFactory


def test_last_backup_reads_in_the_programs_time_zone(qtbot: QtBot,
                                                     make_context: ContextFactory) -> None:
    # The clock says 24 Nov 2026 09:30 UTC: 03:30 in the program's zone (America/Chicago).
    page = SettingsPage(make_context())
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: "Last backup: none yet" in page.facts.text(), timeout=10_000)
    qtbot.mouseClick(page.backup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "none yet" not in page.facts.text(), timeout=10_000)
    assert "Last backup: 24 Nov 2026, 03:30\n" in page.facts.text()
    assert "UTC" not in page.facts.text()


def test_the_program_and_the_connection_are_said_under_program_server(
        qtbot: QtBot, make_context: ContextFactory, tmp_path: Path) -> None:
    """"Connected as …" appeared in the Security box, and the program's name nowhere."""
    ctx = make_context()
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.server.text().startswith("Not connected"), timeout=10_000)
    assert page.program_name.text() == "Program: Family recovery program"  # until told
    with running_program(tmp_path / "program") as program:
        page.open_enrolment()
        dialog = page.enrol_dialog
        qtbot.keyClicks(dialog.server, program.url)
        qtbot.keyClicks(dialog.code, program.code("rc1"))
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.server.text().startswith("Connected to"), timeout=20_000)
    assert page.program_name.text() == "Program: Riverbend Family Recovery"
    server_box = next(box for box in page.findChildren(QGroupBox)
                      if box.title() == "Program server")
    assert server_box.isAncestorOf(page.program_name) and server_box.isAncestorOf(page.server)
    assert " as " in page.server.text()
    assert "Connected" not in page.status.text()
    assert not server_box.isAncestorOf(page.status)


def test_an_address_without_its_scheme_is_explained_before_connecting(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A newcomer typed "127.0.0.1:8443" and was told the server could not be reached."""
    page = SettingsPage(make_context())
    qtbot.addWidget(page)
    page.show()
    page.open_enrolment()
    dialog = page.enrol_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.server, "fieldapp.example.org:8443")
    qtbot.keyClicks(dialog.code, "9fa82e-df9f52-fc7b48")
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == (
        "Start the address with https:// as your administrator gave it (for example "
        "https://fieldapp.example.org:8443); http:// is only for a test server on this "
        "computer.")
    assert dialog.isVisible() and dialog.connect_button.isEnabled()
