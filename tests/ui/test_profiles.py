"""Several profiles on one laptop: create another, switch between them, remove one; through the
widgets, by accessible name."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.storage.paths import ProfileEntry, ProfilePaths
from fieldapp.storage.profile_removal import RemovalFacts
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.remove_profile_dialog import loss_text
from tests.conftest import OTHER_PASSPHRASE, PASSPHRASE
from tests.ui.conftest import WindowFactory
from tests.ui.test_profile_flow import create_profile, is_open, lock, try_unlock
from tests.ui.test_windows_fit import SCREENS, check_fits, cut_off

W = TypeVar("W", bound=QWidget)


def named(root: QWidget, kind: type[W], name: str) -> W:
    """The one visible control of `kind` called `name` under `root`."""
    found = [w for w in root.findChildren(kind) if w.accessibleName() == name and w.isVisible()]
    assert len(found) == 1, f"{len(found)} visible {kind.__name__} named {name!r}"
    return found[0]


def click(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def create_second(qtbot: QtBot, window: MainWindow, *, name: str = "Evening job") -> None:
    """From the unlock page: New profile…, named, its own owner and passphrase."""
    click(qtbot, named(window.unlock_page, QPushButton, "New profile"))
    fill_second(qtbot, window, name=name)


def fill_second(qtbot: QtBot, window: MainWindow, *, name: str) -> None:
    page = window.create_page
    assert window.pages.currentWidget() is page
    assert "not encrypted" in named(page, QLabel, "About the profile name").text()
    qtbot.keyClicks(named(page, QLineEdit, "Profile name"), name)
    qtbot.keyClicks(named(page, QLineEdit, "Your name"), "Sam Second")
    qtbot.keyClicks(named(page, QLineEdit, "New passphrase"), OTHER_PASSPHRASE)
    qtbot.keyClicks(named(page, QLineEdit, "Repeat the passphrase"), OTHER_PASSPHRASE)
    click(qtbot, named(page, QPushButton, "Create profile"))
    qtbot.waitUntil(lambda: is_open(window), timeout=10_000)


def owner_shown(qtbot: QtBot, window: MainWindow) -> str:
    assert window.workspace is not None
    settings = window.workspace.settings
    window.workspace.setCurrentWidget(settings)
    qtbot.waitUntil(lambda: "Data folder" in settings.facts.text(), timeout=5_000)
    return settings.facts.text().splitlines()[0]


def profile_labels(window: MainWindow) -> list[str]:
    combo = named(window.unlock_page, QComboBox, "Profile")
    return [combo.itemText(i) for i in range(combo.count())]


def test_create_a_second_profile_then_switch_between_them(
    qtbot: QtBot, make_window: WindowFactory, paths: ProfilePaths
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    lock(qtbot, window)
    qtbot.waitUntil(lambda: window.unlock_page.profiles() != [])
    assert not window.unlock_page.profile.isVisible(), "one profile: nothing to choose"
    create_second(qtbot, window)
    second = paths.root.with_name("profile-evening-job")
    assert window.current_session().profile.paths.root == second
    assert owner_shown(qtbot, window) == "Profile of: Sam Second (recovery coordinator)"

    click(qtbot, named(window.workspace, QPushButton, "Switch profile"))  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page
                    and window.unlock_page.profile.isVisible(), timeout=10_000)
    assert window.workspace is None, "switching locks the open profile first"
    assert profile_labels(window) == ["Default", "Evening job"]
    combo = named(window.unlock_page, QComboBox, "Profile")
    assert combo.hasFocus() and combo.currentText() == "Evening job"
    qtbot.keyClick(combo, Qt.Key.Key_Up)  # the keyboard's way to choose "Default"
    qtbot.waitUntil(lambda: window.current_session().profile.paths == paths)
    qtbot.waitUntil(lambda: window.unlock_page.profile.currentText() == "Default")

    try_unlock(qtbot, window, OTHER_PASSPHRASE)  # the other profile's passphrase: refused
    assert "does not open this profile" in window.unlock_page.error.text()
    try_unlock(qtbot, window, PASSPHRASE)
    assert is_open(window)
    assert owner_shown(qtbot, window) == "Profile of: not named (recovery coordinator)"

    lock(qtbot, window)
    qtbot.waitUntil(window.unlock_page.profile.isVisible)
    window.unlock_page.profile.setCurrentIndex(1)
    window.unlock_page.profile.activated.emit(1)  # as a click in the list does
    qtbot.waitUntil(lambda: window.current_session().profile.paths.root == second)
    try_unlock(qtbot, window, OTHER_PASSPHRASE)
    assert owner_shown(qtbot, window) == "Profile of: Sam Second (recovery coordinator)"


def test_new_profile_name_is_refused_plainly_then_back(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    lock(qtbot, window)
    click(qtbot, named(window.unlock_page, QPushButton, "New profile"))
    page = window.create_page
    create = named(page, QPushButton, "Create profile")
    qtbot.keyClicks(named(page, QLineEdit, "New passphrase"), OTHER_PASSPHRASE)
    qtbot.keyClicks(named(page, QLineEdit, "Repeat the passphrase"), OTHER_PASSPHRASE)
    assert not create.isEnabled(), "an additional profile needs a name"
    qtbot.keyClicks(named(page, QLineEdit, "Profile name"), "Default")
    click(qtbot, create)
    assert "kept for FieldApp" in page.error.text()
    assert not is_open(window)
    click(qtbot, named(page, QPushButton, "Back to unlock"))
    assert window.pages.currentWidget() is window.unlock_page
    assert page.passphrase.text() == page.confirm.text() == "", "no passphrase lingers"


def test_remove_another_profile_after_typing_its_name(
    qtbot: QtBot, make_window: WindowFactory, paths: ProfilePaths
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    lock(qtbot, window)
    create_second(qtbot, window)
    lock(qtbot, window)  # the window now holds "Evening job"; "Default" can go
    page = window.unlock_page
    qtbot.waitUntil(page.remove_button.isVisible)
    click(qtbot, named(page, QPushButton, "Remove profile"))
    dialog = page.removal_dialog
    qtbot.waitUntil(dialog.isVisible)
    choices = named(dialog, QComboBox, "Profile to remove")
    assert [choices.itemText(i) for i in range(choices.count())] == ["Default"], \
        "the profile this window holds is never offered"
    loss = named(dialog, QLabel, "What is lost")
    qtbot.waitUntil(lambda: "lost for good" in loss.text())
    assert "never synced" in loss.text() and "cannot check" in loss.text()
    remove = named(dialog, QPushButton, "Remove for good")
    confirm = named(dialog, QLineEdit, "Type the profile's name to confirm")
    qtbot.keyClicks(confirm, "Evening job")
    assert not remove.isEnabled()
    confirm.clear()
    qtbot.keyClicks(confirm, "default")
    assert remove.isEnabled()
    qtbot.keyClick(confirm, Qt.Key.Key_Return)  # Enter means Cancel here
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert paths.key_file.exists()

    page.prepare(choose=True)  # as Switch profile… leaves it: "Choose the profile…"
    qtbot.waitUntil(lambda: page.hint.text().startswith("Choose the profile"))
    click(qtbot, named(page, QPushButton, "Remove profile"))
    dialog = page.removal_dialog
    qtbot.waitUntil(dialog.isVisible)
    loss = named(dialog, QLabel, "What is lost")
    qtbot.waitUntil(lambda: "\n\nThis profile has never synced" in loss.text())  # spaced
    qtbot.keyClicks(named(dialog, QLineEdit, "Type the profile's name to confirm"), "Default")
    click(qtbot, named(dialog, QPushButton, "Remove for good"))
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)
    assert not paths.root.exists()
    assert page.error.text() == "The profile “Default” was removed."
    qtbot.waitUntil(lambda: not page.profile.isVisible() and not page.remove_button.isVisible())
    assert page.hint.text() == "Type your passphrase to open your records.", \
        "no chooser left to choose from"
    try_unlock(qtbot, window, OTHER_PASSPHRASE)
    assert is_open(window), "the remaining profile still opens"
    # Started again without the default profile: the remaining one is offered, not a first run.
    again = make_window()
    qtbot.waitUntil(lambda: again.pages.currentWidget() is again.unlock_page, timeout=5_000)
    assert again.current_session().profile.paths.root == paths.root.with_name(
        "profile-evening-job")


def test_removal_of_an_enrolled_profile_says_the_server_keeps_what_was_synced(
    paths: ProfilePaths
) -> None:
    text = loss_text(ProfileEntry(paths, "Evening job"),
                     RemovalFacts(last_sync="2026-11-24T09:30:00.123Z", waiting=3))
    assert "last synced at 2026-11-24 09:30 UTC: the server keeps what was synced" in text
    assert "3 change(s) made since were never sent and are lost" in text
    assert "cannot check what the server holds" in text


def test_profile_pages_and_removal_fit_a_laptop_screen(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    create_profile(qtbot, window)
    lock(qtbot, window)
    click(qtbot, named(window.unlock_page, QPushButton, "New profile"))
    check_fits(qtbot, window, SCREENS["1280x720"])  # the longest form: naming a new profile
    fill_second(qtbot, window, name="Evening job")
    lock(qtbot, window)
    page = window.unlock_page
    qtbot.waitUntil(page.remove_button.isVisible)
    check_fits(qtbot, window, SCREENS["1280x720"])
    click(qtbot, named(page, QPushButton, "Remove profile"))
    qtbot.waitUntil(page.removal_dialog.isVisible)
    assert cut_off(page.removal_dialog) == []
