"""Change the passphrase: the data key is rewrapped, records are not touched."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QVBoxLayout, QWidget

from fieldapp.services.session import Session
from fieldapp.ui.ops import on_profile
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.widgets import labelled, message_label, passphrase_field, show_toggle


class ChangePassphraseDialog(QDialog):
    """Ask for the current passphrase and a new one twice."""

    def __init__(self, session: Session, runner: TaskRunner,
                 check: Callable[[str], list[str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change passphrase")
        self.setAccessibleName("Change passphrase")
        self._session, self._runner, self._check = session, runner, check
        self._working = False
        self.current = passphrase_field("Current passphrase", "Current passphrase")
        self.new = passphrase_field("New passphrase", "New passphrase, 15 characters or more")
        self.confirm = passphrase_field("Repeat the new passphrase", "Type it again")
        self.message = message_label("Passphrase guidance", lines=3)
        self.setMinimumWidth(480)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.change_button = QPushButton("Change passphrase")
        self.change_button.setAccessibleName("Change passphrase")
        self.buttons.addButton(self.change_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        layout = QVBoxLayout(self)
        for widget in (labelled("&Current passphrase", self.current),
                       labelled("&New passphrase", self.new),
                       labelled("&Repeat the new passphrase", self.confirm),
                       show_toggle(self.current, self.new, self.confirm), self.message,
                       self.buttons):
            layout.addWidget(widget)
        self.buttons.accepted.connect(self._change)
        self.buttons.rejected.connect(self.reject)
        for field in (self.new, self.confirm):
            field.textChanged.connect(self._update)
        self._update()

    def _problems(self) -> list[str]:
        new = self.new.text()
        problems = self._check(new) if new else ["Type a new passphrase."]
        if not problems and self.confirm.text() != new:
            problems.append("The two new passphrases are not the same yet.")
        return problems

    def _update(self) -> None:
        problems = self._problems()
        self.message.setText(" ".join(problems) if problems else "Good.")
        self.change_button.setEnabled(not problems)

    def _change(self) -> None:
        if self._problems() or self._working:
            return
        self._working = True
        old, new = self.current.text(), self.new.text()
        self.change_button.setEnabled(False)
        self.message.setText("Changing the passphrase…")
        on_profile(self._runner, self._session, lambda s: s.change_passphrase(old, new),
                   owner=self).done(lambda _: self.accept()) \
            .shown_in(self.message, after_failure=self._try_again).run()

    def _try_again(self) -> None:
        self._working = False
        self.change_button.setEnabled(True)
