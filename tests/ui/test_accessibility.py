"""Every interactive control has an accessible name and a keyboard path."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QCalendarWidget,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory
from tests.ui.test_profile_flow import create_profile

INTERACTIVE = (QAbstractButton, QLineEdit, QTextEdit, QPlainTextEdit, QComboBox,
               QAbstractSpinBox, QAbstractSlider, QAbstractItemView)


# Parts Qt builds inside a control (a spin box's line edit, a tab bar's scroll arrows, a
# scroll area's bars) are announced as part of that control, not named one by one.
COMPOSITES = (QAbstractSpinBox, QComboBox, QLineEdit, QTabBar, QCalendarWidget)


def unnamed_controls(root: QWidget) -> list[str]:
    """Visible interactive widgets under `root` without an accessible name."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible() \
                or widget.accessibleName() or _internal(widget):
            continue
        found.append(f"{type(widget).__name__} {widget.objectName() or widget!r}")
    return found


def _internal(widget: QWidget) -> bool:
    if widget.objectName().startswith("qt_") or isinstance(widget, QScrollBar):
        return True
    parent = widget.parentWidget()
    return parent is not None and isinstance(parent, COMPOSITES)


def test_the_check_catches_an_unnamed_control(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    QPushButton("Nameless", parent)
    parent.show()
    assert len(unnamed_controls(parent)) == 1


def test_every_page_names_every_control(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    assert unnamed_controls(window) == [], "first run"
    create_profile(qtbot, window)
    assert unnamed_controls(window) == [], "open profile"
    window.change_passphrase()
    assert unnamed_controls(window.passphrase_dialog) == [], "change passphrase"
    window.passphrase_dialog.reject()
    window.lock()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=10_000)
    assert unnamed_controls(window) == [], "unlock"


def test_mnemonics_reach_the_settings_actions(qtbot: QtBot, make_window: WindowFactory
                                             ) -> None:
    window = make_window()
    create_profile(qtbot, window)
    assert window.workspace is not None
    home = window.workspace.settings
    window.workspace.setCurrentWidget(home)
    qtbot.keyClick(home.lock_button, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: home.status.text() == "Backup written.", timeout=10_000)
    qtbot.keyClick(home.lock_button, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: getattr(window, "passphrase_dialog", None) is not None
                    and window.passphrase_dialog.isVisible(), timeout=5_000)
    window.passphrase_dialog.reject()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(home.lock_button, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=10_000)


def test_tab_order_on_first_run_follows_the_form(qtbot: QtBot, make_window: WindowFactory
                                                 ) -> None:
    window = make_window()
    page = window.create_page
    assert page.name.hasFocus()
    for widget, following in ((page.name, page.role), (page.role, page.passphrase),
                              (page.passphrase, page.confirm)):
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
        assert following.hasFocus()


def test_no_two_mnemonics_on_settings_share_a_letter(qtbot: QtBot, make_window: WindowFactory
                                                     ) -> None:
    """Alt and a letter does one thing on the Settings page: its buttons' underlined letters
    and the section tabs' are all different (Alt+C once meant both Caseload and "Mark as
    compared…", and the first press did nothing visible)."""
    window = make_window()
    create_profile(qtbot, window)
    assert window.workspace is not None
    home = window.workspace.settings
    window.workspace.setCurrentWidget(home)
    texts = [window.workspace.tabText(i) for i in range(window.workspace.count())]
    texts += [b.text() for b in home.findChildren(QAbstractButton)]
    letters = [m.group(1).lower() for t in texts for m in [re.search(r"&(\w)", t)] if m]
    assert sorted(set(letters)) == sorted(letters), texts
