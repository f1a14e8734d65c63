"""Settings: what the page says about this computer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.ui.settings_page import SettingsPage
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
    assert "Last backup: 24 Nov 2026 03:30\n" in page.facts.text()
    assert "UTC" not in page.facts.text()
