"""The page behind the lock: the profile's state and its vault actions."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from fieldapp.domain.errors import KnownError
from fieldapp.services.session import Session
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.widgets import card, heading, message_label, paragraph, set_error


@dataclass(frozen=True)
class HomeFacts:
    records: int
    last_backup: str | None
    folder: str


class HomePage(QWidget):
    """Shown while the profile is open.

    Signals:
        lock_requested: the person asked to lock.
        change_passphrase_requested: the person asked to change the passphrase.
    """

    lock_requested = Signal()
    change_passphrase_requested = Signal()

    def __init__(self, session: Session, runner: TaskRunner) -> None:
        super().__init__()
        self._session, self._runner = session, runner
        self.facts = message_label("Profile status")
        self.status = message_label("Last action")
        self.lock_button = QPushButton("&Lock now")
        self.lock_button.setAccessibleName("Lock now")
        self.lock_button.setToolTip("Lock FieldApp (Ctrl+L)")
        self.backup_button = QPushButton("&Back up now")
        self.backup_button.setAccessibleName("Back up now")
        self.passphrase_button = QPushButton("Change &passphrase…")
        self.passphrase_button.setAccessibleName("Change passphrase")
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.lock_button, self.backup_button, self.passphrase_button):
            row.addWidget(button)
        row.addStretch(1)
        body = card(
            heading("Your profile is open"),
            paragraph("Your records on this computer are encrypted. FieldApp locks them when "
                      "you press Lock now or close the window. Visits, drug screens and mileage "
                      "are not part of this version yet.", name="About this page"),
            self.facts, buttons, self.status)
        QVBoxLayout(self).addWidget(body)
        self.lock_button.clicked.connect(self.lock_requested)
        self.passphrase_button.clicked.connect(self.change_passphrase_requested)
        self.backup_button.clicked.connect(self._backup)

    def refresh(self) -> None:
        self._runner.run(self._read_facts, on_success=self._show_facts)

    def _read_facts(self) -> HomeFacts:
        backups = self._session.backups()
        return HomeFacts(records=self._session.records().count(),
                         last_backup=backups[0].created_at if backups else None,
                         folder=str(self._session.profile.paths.root))

    def _show_facts(self, facts: HomeFacts) -> None:
        backup = _readable_stamp(facts.last_backup) if facts.last_backup else "none yet"
        self.facts.setText(f"Records stored: {facts.records}\nLast backup: {backup}\n"
                           f"Data folder: {facts.folder}")

    def _backup(self) -> None:
        self.backup_button.setEnabled(False)
        self.status.setText("Backing up…")
        self._runner.run(self._session.backup_now, on_success=self._backed_up,
                         on_error=self._failed)

    def _backed_up(self, _: object) -> None:
        self.backup_button.setEnabled(True)
        set_error(self.status, "")
        self.status.setText("Backup written.")
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.backup_button.setEnabled(True)
        if not isinstance(error, KnownError):
            raise error
        set_error(self.status, error.message)


def _readable_stamp(stamp: str) -> str:
    # Backups are named 20261124T201131.637173Z; show 2026-11-24 20:11 UTC.
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]} UTC"
