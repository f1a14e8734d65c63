"""Settings: auto-lock, the program's rules (read-only), backups, passphrase, the program's
server, the keys to compare (yours and your team's), data folder, about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fieldapp import __version__
from fieldapp.domain.settings import ProgramSettings
from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.storage.profile_settings import AUTO_LOCK_MINUTES
from fieldapp.ui.context import UiContext
from fieldapp.ui.enrol_dialog import EnrolDialog
from fieldapp.ui.ops import on_profile
from fieldapp.ui.own_keys_dialogs import TakeUpKeysDialog
from fieldapp.ui.review_dialogs import moment_text
from fieldapp.ui.team_keys import KeysFacts, OwnKeyBox, TeamKeysBox, read_keys
from fieldapp.ui.widgets import heading, labelled, message_label, paragraph, set_error


@dataclass(frozen=True)
class SettingsFacts:
    program: ProgramSettings
    auto_lock: int
    last_backup: str | None
    folder: str
    owner: str
    role: str
    server: str


class SettingsPage(QWidget):
    """Signals:
    lock_requested: the person asked to lock.
    change_passphrase_requested: the person asked to change the passphrase.
    auto_lock_changed(int): the new inactivity limit in minutes.
    server_connected: this profile was just enrolled with the program's server, or took up
        keys replaced on another laptop of its person (either way: sync now).
    switch_profile_requested: the person asked to lock this profile and open another.
    """

    lock_requested = Signal()
    change_passphrase_requested = Signal()
    auto_lock_changed = Signal(int)
    server_connected = Signal()
    switch_profile_requested = Signal()

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self._ctx = ctx
        self.auto_lock = QSpinBox()
        self.auto_lock.setRange(AUTO_LOCK_MINUTES.lowest, AUTO_LOCK_MINUTES.highest)
        self.auto_lock.setSuffix(" minutes")
        self.auto_lock.setAccessibleName("Lock after this many minutes without use")
        self.program = message_label("Program settings", lines=10)
        self.facts = message_label("Profile", lines=4)
        self.status = message_label("Last action")
        self.lock_button = QPushButton("&Lock now")
        self.lock_button.setAccessibleName("Lock now")
        self.lock_button.setToolTip("Lock FieldApp (Ctrl+L)")
        self.backup_button = QPushButton("&Back up now")
        self.backup_button.setAccessibleName("Back up now")
        self.passphrase_button = QPushButton("Change &passphrase…")
        self.passphrase_button.setAccessibleName("Change passphrase")
        self.program_name = message_label("Program name")
        self.server = message_label("Program server", lines=2)
        self.connect_button = QPushButton("Connect to your program's ser&ver…")
        self.connect_button.setAccessibleName("Connect to your program's server")
        self.own_key = OwnKeyBox()
        self.team_keys = TeamKeysBox(ctx)
        self._build()

    def _build(self) -> None:
        security = QGroupBox("Security")
        box = QVBoxLayout(security)
        box.addWidget(labelled("Lock &automatically after", self.auto_lock))
        row = QHBoxLayout()
        for button in (self.lock_button, self.backup_button, self.passphrase_button):
            row.addWidget(button)
        row.addStretch(1)
        box.addLayout(row)
        box.addWidget(self.status)
        program = QGroupBox("Program rules (set by your program; read-only here)")
        QVBoxLayout(program).addWidget(self.program)
        about = QGroupBox("This computer")
        QVBoxLayout(about).addWidget(self.facts)
        server = QGroupBox("Program server")
        server_box = QVBoxLayout(server)
        server_box.addWidget(self.program_name)
        server_box.addWidget(self.server)
        server_box.addWidget(self.connect_button)
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(heading("Settings"))
        for group in (security, server, self.own_key, self.team_keys, program, about,
                      self._profiles_group()):
            column.addWidget(group)
        column.addWidget(paragraph(
            f"FieldApp {__version__}. Records on this computer are encrypted; full-disk "
            "encryption of the laptop is still recommended.", name="About FieldApp"))
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        QVBoxLayout(self).addWidget(scroll)
        self.lock_button.clicked.connect(self.lock_requested)
        self.passphrase_button.clicked.connect(self.change_passphrase_requested)
        self.backup_button.clicked.connect(self._backup)
        self.auto_lock.editingFinished.connect(self._save_auto_lock)
        self.connect_button.clicked.connect(self.open_enrolment)
        self.own_key.take_up_button.clicked.connect(self.open_take_up)

    def _profiles_group(self) -> QGroupBox:
        """Another person's or another job's profile on this laptop: lock this one first."""
        group = QGroupBox("Profiles")
        self.switch_profile_button = QPushButton("S&witch profile…")
        self.switch_profile_button.setAccessibleName("Switch profile")
        self.switch_profile_button.setToolTip("Lock this profile and open another")
        self.switch_profile_button.clicked.connect(self.switch_profile_requested)
        row = QHBoxLayout(group)
        row.addWidget(self.switch_profile_button)
        row.addStretch(1)
        return group

    def open_enrolment(self) -> None:
        dialog = EnrolDialog(self._ctx, self)
        # Who the server knows this device as is said in the Program server box (refreshed
        # when the dialog closes), not in Security's line for lock and backup news.
        dialog.enrolled.connect(self.server_connected)
        dialog.finished.connect(lambda _: self.refresh())
        self.enrol_dialog = dialog
        dialog.open()

    def open_take_up(self) -> None:
        dialog = TakeUpKeysDialog(self._ctx, parent=self)
        dialog.taken_up.connect(self._taken_up)
        self.take_up_dialog = dialog
        dialog.open()

    def _taken_up(self, said: str) -> None:
        self.own_key.message.setText(said)
        self.refresh()  # the new fingerprint
        self.server_connected.emit()  # the main window syncs now, with the new keys

    def refresh(self) -> None:
        on_profile(self._ctx.runner, self._ctx.session, _read, owner=self).done(self._show).run()
        on_profile(self._ctx.runner, self._ctx.session, read_keys, owner=self) \
            .done(self._show_keys).shown_in(self.team_keys.message).run()

    def _show_keys(self, facts: KeysFacts) -> None:
        self.own_key.show_facts(facts)
        self.team_keys.show_facts(facts)

    def _show(self, facts: SettingsFacts) -> None:
        p = facts.program
        self.auto_lock.setValue(facts.auto_lock)
        self.program.setText(
            f"Mileage cap: {p.mileage_cap} miles a month at ${p.rate_per_mile} a mile\n"
            f"Expected home visits: {p.visits_per_week} a week\n"
            f"A note signed more than {p.late_entry_hours} hours after the visit is a late "
            f"entry\nRandom screens: {p.random_screens_per_month} a month\n"
            f"Drug screen panel: {', '.join(p.panel)}\nTime zone: {p.timezone}\n"
            + ("Notes are co-signed by both the intact and the SUD supervisor\n"
               if p.cosupervision_required else "Notes are co-signed by one supervisor\n")
            + f"A note waiting more than {p.cosign_deadline_days} days for co-signature is "
            f"escalated; a draft older than {p.draft_stale_days} days is flagged\n"
            f"Mileage is submitted within {p.mileage_submit_days} days of the month's end; "
            f"consents are flagged {p.consent_warning_days} days before they end")
        backup = _readable_stamp(facts.last_backup, p.zone) if facts.last_backup \
            else "none yet"
        self.program_name.setText(f"Program: {p.program_name}")
        self.server.setText(facts.server)
        self.connect_button.setVisible(facts.server.startswith("Not connected"))
        self.facts.setText(f"Profile of: {facts.owner or 'not named'} ({facts.role})\n"
                           f"Last backup: {backup}\nData folder: {facts.folder}")

    def _save_auto_lock(self) -> None:
        minutes = self.auto_lock.value()
        on_profile(self._ctx.runner, self._ctx.session,
                   lambda s: s.set_auto_lock_minutes(minutes), owner=self) \
            .done(lambda _: self.auto_lock_changed.emit(minutes)) \
            .shown_in(self.status, after_failure=self._idle).run()

    def _backup(self) -> None:
        self.backup_button.setEnabled(False)
        self.status.setText("Backing up…")
        on_profile(self._ctx.runner, self._ctx.session, lambda s: s.backup_now(), owner=self) \
            .done(self._backed_up).shown_in(self.status, after_failure=self._idle).run()

    def _backed_up(self, _: object) -> None:
        self.backup_button.setEnabled(True)
        set_error(self.status, "")
        self.status.setText("Backup written.")
        self.refresh()

    def _idle(self) -> None:
        self.backup_button.setEnabled(True)


def _read(session: Session) -> SettingsFacts:
    """What the page shows (the database worker)."""
    backups = session.backups()
    return SettingsFacts(program=session.workspace().settings,
                         auto_lock=session.auto_lock_minutes(),
                         last_backup=backups[0].created_at if backups else None,
                         folder=str(session.profile.paths.root), owner=session.owner_name(),
                         role=str(session.actor().role), server=_server_text(session))


def _server_text(session: Session) -> str:
    found = enrolment.enrolment_of(session)
    if found is None:
        return ("Not connected: everything stays on this computer. Connect with the address and "
                "code your program's administrator gives you.")
    user = found["user"]
    return (f"Connected to {found['server_url']} as {user['name']} ({user['role']}), "
            f"device {found['device_id']}.")


def _readable_stamp(stamp: str, zone: tzinfo) -> str:
    # Backups are stamped in UTC (20261124T201131.637173Z); show the program's local time,
    # as every other time in the app: 24 Nov 2026 14:11 in America/Chicago.
    moment = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    return moment_text(moment, zone)
