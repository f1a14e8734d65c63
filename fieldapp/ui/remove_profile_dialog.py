"""Remove another profile from this computer: say what is lost, then ask for its name."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.storage.paths import ProfileEntry
from fieldapp.storage.profile_removal import RemovalFacts, removal_facts, remove_profile
from fieldapp.ui.ops import on_files
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.widgets import labelled, message_label


class RemoveProfileDialog(QDialog):
    """Choose a profile other than the window's own, read what it would lose, type its name.

    Cancel is the default button: Enter never removes anything.

    Signals:
        removed(str): a sentence saying which profile was removed.
    """

    removed = Signal(str)

    def __init__(self, choices: list[ProfileEntry], runner: TaskRunner, *, open_one: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices, self._runner, self._open_one = choices, runner, open_one
        self._working = False
        self.setWindowTitle("Remove a profile")
        self.setAccessibleName("Remove a profile")
        self.setMinimumWidth(480)
        self.profile = QComboBox()
        self.profile.setAccessibleName("Profile to remove")
        for entry in choices:
            self.profile.addItem(entry.label)
        self.loss = message_label("What is lost", lines=6)
        self.confirm = QLineEdit()
        self.confirm.setAccessibleName("Type the profile's name to confirm")
        self.message = message_label("Removal message", lines=2)
        self.remove_button = QPushButton("&Remove for good")
        self.remove_button.setAccessibleName("Remove for good")
        self.remove_button.setAutoDefault(False)
        self.remove_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.remove_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        cancel.setDefault(True)
        layout = QVBoxLayout(self)
        for widget in (labelled("&Profile to remove", self.profile), self.loss,
                       labelled("&Type its name to confirm", self.confirm), self.message,
                       buttons):
            layout.addWidget(widget)
        buttons.rejected.connect(self.reject)
        self.remove_button.clicked.connect(self._remove)
        self.confirm.textChanged.connect(self._update)
        self.profile.currentIndexChanged.connect(self._read_facts)
        self._read_facts()

    def chosen(self) -> ProfileEntry:
        return self._choices[self.profile.currentIndex()]

    def _read_facts(self) -> None:
        entry = self.chosen()
        self.confirm.clear()
        self.loss.setText("Checking what this profile holds…")
        on_files(self._runner, lambda: removal_facts(entry.paths), owner=self) \
            .done(lambda facts: self._show_facts(entry, facts)).run()

    def _show_facts(self, entry: ProfileEntry, facts: RemovalFacts) -> None:
        if entry is self.chosen():  # the person may have chosen another one meanwhile
            self.loss.setText(loss_text(entry, facts))
            self._update()

    def _update(self) -> None:
        typed = " ".join(self.confirm.text().split()).casefold()
        self.remove_button.setEnabled(
            not self._working and typed == self.chosen().label.casefold())

    def _remove(self) -> None:
        if self._working or not self.remove_button.isEnabled():
            return
        self._working = True
        self._update()
        entry, open_one = self.chosen(), self._open_one
        on_files(self._runner, lambda: remove_profile(entry.paths, open_one=open_one),
                 owner=self).done(lambda gone: self._done(entry, bool(gone))) \
            .shown_in(self.message, after_failure=self._idle).run()

    def _done(self, entry: ProfileEntry, gone: bool) -> None:
        self._working = False
        self.removed.emit(
            f"The profile “{entry.label}” was removed." if gone else
            f"The profile “{entry.label}” was removed; its folder {entry.paths.root} also held "
            "other files, which were left in place.")
        self.accept()

    def _idle(self) -> None:
        self._working = False
        self._update()


def loss_text(entry: ProfileEntry, facts: RemovalFacts) -> str:
    """What removing `entry` loses, in the words a person needs to decide."""
    lines = [f"Removing “{entry.label}” deletes its records, backups and set-aside files from "
             "this computer. Records not synced to a program server are lost for good: nobody "
             "can recover them."]
    if facts.last_sync is not None:
        lines.append(f"This profile is connected to a program server and last synced at "
                     f"{facts.last_sync[:16].replace('T', ' ')} UTC: the server keeps what was "
                     "synced.")
        if facts.waiting:
            lines.append(f"{facts.waiting} change(s) made since were never sent and are lost.")
    else:
        lines.append("This profile has never synced with a program server, so nothing of it "
                     "is kept anywhere else.")
    lines.append("FieldApp does not contact the server to remove a profile, so it cannot check "
                 "what the server holds: unlock and sync the profile first if you are unsure.")
    return "\n\n".join(lines)  # three things to weigh: a paragraph each
