"""Every interactive control has an accessible name and a keyboard path."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory
from tests.ui.test_profile_flow import create_profile

INTERACTIVE = (QAbstractButton, QLineEdit, QTextEdit, QPlainTextEdit, QComboBox,
               QAbstractSpinBox, QAbstractSlider, QAbstractItemView)


def unnamed_controls(root: QWidget) -> list[str]:
    """Visible interactive widgets under `root` without an accessible name."""
    found = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, INTERACTIVE) and widget.isVisible() and not widget.accessibleName():
            found.append(f"{type(widget).__name__} {widget.objectName() or widget!r}")
    return found


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


def test_mnemonics_reach_the_home_actions(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    create_profile(qtbot, window)
    home = window.home_page
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
    assert page.passphrase.hasFocus()
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Tab)
    assert page.confirm.hasFocus()
