"""First run, lock, unlock with wrong then right passphrase, change passphrase: via the widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from fieldapp.ui.main_window import MainWindow
from tests.conftest import OTHER_PASSPHRASE, PASSPHRASE, FakeClock
from tests.ui.conftest import WindowFactory


def create_profile(qtbot: QtBot, window: MainWindow) -> None:
    page = window.create_page
    qtbot.keyClicks(page.passphrase, PASSPHRASE)
    qtbot.keyClicks(page.confirm, PASSPHRASE)
    assert page.create_button.isEnabled()
    qtbot.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace is not None
                    and window.pages.currentWidget() is window.workspace, timeout=10_000)


def is_open(window: MainWindow) -> bool:
    return window.workspace is not None and window.pages.currentWidget() is window.workspace


def lock(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()  # after a dialog closes, focus returns to the window
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=10_000)


def try_unlock(qtbot: QtBot, window: MainWindow, passphrase: str) -> None:
    page = window.unlock_page
    qtbot.waitUntil(page.unlock_button.isEnabled, timeout=3_000)  # as a person waits it out
    page.passphrase.clear()
    qtbot.keyClicks(page.passphrase, passphrase)
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.error.text() not in ("", "Opening…")
                    or window.pages.currentWidget() is not page, timeout=10_000)


def test_first_run_refuses_weak_then_creates(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    page = window.create_page
    assert window.pages.currentWidget() is page
    qtbot.keyClicks(page.passphrase, "password12345678")
    assert "common or breached" in page.guidance.text()
    assert not page.create_button.isEnabled()
    page.passphrase.clear()
    qtbot.keyClicks(page.passphrase, PASSPHRASE)
    qtbot.keyClicks(page.confirm, PASSPHRASE[:-1])
    assert "not the same" in page.guidance.text()
    assert not page.create_button.isEnabled()
    page.passphrase.clear()
    page.confirm.clear()
    create_profile(qtbot, window)
    settings = window.workspace.settings
    window.workspace.setCurrentWidget(settings)
    qtbot.waitUntil(lambda: "Data folder" in settings.facts.text())
    assert page.passphrase.text() == "", "the passphrase must not linger in the widget"


def test_wrong_then_right_passphrase_shows_the_delay(
    qtbot: QtBot, make_window: WindowFactory, clock: FakeClock
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    lock(qtbot, window)
    page = window.unlock_page
    for _ in range(3):
        try_unlock(qtbot, window, "not the right passphrase")
    assert "does not open this profile" in page.error.text()
    assert page.unlock_button.text() == "Wait 5 seconds"
    assert not page.unlock_button.isEnabled()
    # Enter during the wait does nothing.
    qtbot.keyClick(page.passphrase, Qt.Key.Key_Return)
    assert page.error.text().startswith("That passphrase")
    clock.advance(5)
    qtbot.waitUntil(page.unlock_button.isEnabled, timeout=3_000)
    assert page.error.text() == "You can try again now."
    try_unlock(qtbot, window, PASSPHRASE)
    qtbot.waitUntil(lambda: is_open(window), timeout=10_000)


def test_delay_survives_restarting_the_app(
    qtbot: QtBot, make_window: WindowFactory, clock: FakeClock
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    lock(qtbot, window)
    for _ in range(3):
        try_unlock(qtbot, window, "not the right passphrase")
        clock.advance(window.unlock_page.wait_left())
    try_unlock(qtbot, window, "not the right passphrase")  # the 4th: 10 seconds
    window.close()
    restarted = make_window()
    page = restarted.unlock_page
    qtbot.waitUntil(lambda: page.unlock_button.text() == "Wait 10 seconds", timeout=5_000)
    assert not page.unlock_button.isEnabled()


def test_change_passphrase_dialog(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    create_profile(qtbot, window)
    window.workspace.setCurrentWidget(window.workspace.settings)
    qtbot.mouseClick(window.workspace.settings.passphrase_button, Qt.MouseButton.LeftButton)
    dialog = window.passphrase_dialog
    qtbot.keyClicks(dialog.current, PASSPHRASE)
    qtbot.keyClicks(dialog.new, OTHER_PASSPHRASE)
    assert not dialog.change_button.isEnabled()
    qtbot.keyClicks(dialog.confirm, OTHER_PASSPHRASE)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)
    assert "Passphrase changed" in window.workspace.settings.status.text()
    lock(qtbot, window)
    try_unlock(qtbot, window, PASSPHRASE)
    assert "does not open" in window.unlock_page.error.text()
    try_unlock(qtbot, window, OTHER_PASSPHRASE)
    qtbot.waitUntil(lambda: is_open(window), timeout=10_000)


def test_change_passphrase_with_wrong_current_says_so(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    window.change_passphrase()
    dialog = window.passphrase_dialog
    qtbot.keyClicks(dialog.current, "this is not my current one")
    qtbot.keyClicks(dialog.new, OTHER_PASSPHRASE)
    qtbot.keyClicks(dialog.confirm, OTHER_PASSPHRASE)
    qtbot.mouseClick(dialog.change_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "does not open" in dialog.message.text(), timeout=10_000)
    assert dialog.isVisible()
    dialog.reject()


def test_damaged_database_offers_restore(
    qtbot: QtBot, make_window: WindowFactory, monkeypatch: object
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    settings = window.workspace.settings
    window.workspace.setCurrentWidget(settings)
    qtbot.mouseClick(settings.backup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settings.status.text() == "Backup written.", timeout=10_000)
    lock(qtbot, window)
    database = window.unlock_page._session.profile.paths.database
    database.write_bytes(b"\0" * 8192)
    try_unlock(qtbot, window, PASSPHRASE)
    page = window.unlock_page
    assert "damaged" in page.error.text()
    qtbot.waitUntil(page.restore_button.isVisible, timeout=5_000)
    # The confirmation box is Qt's; answer it as a person would.
    monkeypatch.setattr(QMessageBox, "question",  # type: ignore[attr-defined]
                        lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(page.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: is_open(window), timeout=10_000)
