"""Help → Keyboard shortcuts lists the declared keys of one role, fits a laptop, names its parts."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import Role
from fieldapp.ui import shortcuts
from fieldapp.ui.keyboard_help import KeyboardHelp
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_windows_fit import SCREENS, check_fits


def shown(help_window: KeyboardHelp) -> dict[str, list[str]]:
    """What each key does, as the window lists it."""
    listed: dict[str, list[str]] = {}
    for row in help_window.model.rows:
        listed.setdefault(row.keys, []).append(row.does)
    return listed


def test_it_lists_the_keys_of_the_role_whose_profile_is_open(qtbot: QtBot) -> None:
    window = KeyboardHelp()
    qtbot.addWidget(window)
    window.set_role(Role.SUPERVISOR)
    assert window.model.rows == shortcuts.shortcuts_for(Role.SUPERVISOR)
    assert shown(window)["Ctrl+4"] == ["Show the Supervisor tab"]
    assert shown(window)["Ctrl+5"] == ["Show the Settings tab"]
    assert shown(window)["F5"] == [shortcuts.SYNC.does]
    assert "supervisor" in window.whose.text()
    window.set_role(Role.INTACT_WORKER)
    assert shown(window)["Ctrl+4"] == ["Show the Settings tab"]
    assert "Ctrl+5" not in shown(window)
    window.set_role(None)  # locked: what everyone has, no tabs
    assert "Ctrl+1" not in shown(window) and "F1" in shown(window)
    assert "Open your profile" in window.whose.text()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_it_fits_a_laptop_screen_and_names_every_control(qtbot: QtBot, screen: str) -> None:
    window = KeyboardHelp()
    qtbot.addWidget(window)
    window.set_role(Role.SUPERVISOR)
    check_fits(qtbot, window, SCREENS[screen])
    assert unnamed_controls(window) == []
    assert window.close_button.isVisible()
