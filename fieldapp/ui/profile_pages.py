"""First run and unlock: the two pages a person sees before their records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.clock import Clock
from fieldapp.domain.errors import (
    DatabaseUnusable,
    KnownError,
    UnlockDelayed,
    WrongPassphrase,
    format_wait,
)
from fieldapp.domain.passphrase import MIN_LENGTH, normalise
from fieldapp.domain.people import Role
from fieldapp.services.session import Session
from fieldapp.storage.backups import BackupInfo
from fieldapp.storage.paths import ProfileEntry, list_profiles, profile_slug
from fieldapp.ui.ops import on_files, on_profile
from fieldapp.ui.remove_profile_dialog import RemoveProfileDialog
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.widgets import (
    card,
    heading,
    labelled,
    message_label,
    paragraph,
    passphrase_field,
    set_error,
    show_toggle,
)

UNLOCK_HINT = "Type your passphrase to open your records."

class CreateProfilePage(QWidget):
    """Choose a passphrase and create the encrypted profile.

    For an additional profile (`ask_profile_name`), it is named too and made beside the others.

    Signals:
        created: the profile exists and is open; `session` is the one it was made in.
        cancelled: the person went back without creating an additional profile.
    """

    created = Signal()
    cancelled = Signal()
    demo_requested = Signal(object)  # the Role to explore the demo as

    def __init__(self, session: Session, runner: TaskRunner,
                 check: Callable[[str], list[str]]) -> None:
        super().__init__()
        self._session, self._runner, self._check = session, runner, check
        self._working = False
        self._new_session: Callable[[str], Session] | None = None
        self.profile_name = QLineEdit()
        self.profile_name.setAccessibleName("Profile name")
        self.profile_name.setPlaceholderText("For example: Supervisor, or Evening job")
        self.profile_name_row = labelled("Profile na&me", self.profile_name)
        self.profile_name_note = paragraph(
            "The profile's name becomes the name of its folder, which is not encrypted: never "
            "use a family's name in it.", name="About the profile name")
        self.back_button = QPushButton("&Back to unlock")
        self.back_button.setAccessibleName("Back to unlock")
        for widget in (self.profile_name_row, self.profile_name_note, self.back_button):
            widget.hide()
        self.name = QLineEdit()
        self.name.setAccessibleName("Your name")
        self.name.setPlaceholderText("As your supervisor knows you")
        self.role = QComboBox()
        self.role.setAccessibleName("Your role")
        for role in (Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER, Role.SUPERVISOR):
            self.role.addItem(str(role).capitalize(), role)
        self.demo_button = QPushButton()
        self.passphrase = passphrase_field("New passphrase", f"{MIN_LENGTH} characters or more")
        self.confirm = passphrase_field("Repeat the passphrase", "Type it again")
        self.guidance = message_label("Passphrase guidance", lines=2)
        self.error = message_label("Error")
        self.create_button = QPushButton("&Create profile")
        self.create_button.setAccessibleName("Create profile")
        self.create_button.setDefault(True)
        self.create_button.setEnabled(False)
        body = card(
            heading("Create your FieldApp profile"),
            paragraph(
                "Your visit notes, screens and mileage are encrypted on this computer with a "
                "passphrase only you know. Use a few ordinary words with spaces, "
                f"{MIN_LENGTH} characters or more; no symbols are needed. Write it somewhere "
                "safe: if it is forgotten, records not yet synced cannot be recovered.",
                name="About the passphrase"),
            self.profile_name_row, self.profile_name_note,
            labelled("Your &name", self.name), labelled("Your r&ole", self.role),
            labelled("&Passphrase", self.passphrase), labelled("&Repeat it", self.confirm),
            show_toggle(self.passphrase, self.confirm),
            self.guidance, self.error, self.create_button, self.demo_button, self.back_button)
        QVBoxLayout(self).addWidget(body)
        self.passphrase.textChanged.connect(self._update)
        self.confirm.textChanged.connect(self._update)
        self.confirm.returnPressed.connect(self._create)
        self.create_button.clicked.connect(self._create)
        self.demo_button.clicked.connect(lambda: self.demo_requested.emit(self.demo_role()))
        self.role.currentIndexChanged.connect(self._name_demo)
        self._name_demo()
        self.name.textChanged.connect(self._update)
        self.profile_name.textChanged.connect(self._update)
        self.profile_name.returnPressed.connect(self.name.setFocus)
        self.back_button.clicked.connect(self._cancel)
        self._update()

    @property
    def session(self) -> Session:
        """The session the profile is (or will be) created in."""
        return self._session

    def _cancel(self) -> None:
        if self._working:
            return
        self.passphrase.clear()  # a passphrase never lingers in a hidden form
        self.confirm.clear()
        self.cancelled.emit()

    def ask_profile_name(self, new_session: Callable[[str], Session]) -> None:
        """Make an additional profile: ask for its name; `new_session` turns the name into the
        new profile's session or raises a `KnownError` saying why the name will not do."""
        self._new_session = new_session
        for widget in (self.profile_name_row, self.profile_name_note, self.back_button):
            widget.show()
        self.profile_name.setFocus()
        self._update()

    def _problems(self) -> list[str]:
        text = self.passphrase.text()
        problems = self._check(text) if text else []
        if text and not problems and self.name.text().strip():
            # The person's own name is no secret: it may not carry the passphrase.
            problems = self._session.profile.check_passphrase(
                text, context_words=self.name.text().split())
        if not problems and text and self.confirm.text() != text:
            problems.append("The two passphrases are not the same yet.")
        return problems

    def demo_role(self) -> Role:
        """The demo follows the role chosen above: the coordinator's, the intact worker's (each
        their own visits and mileage on the families they share) or the supervisor's (co-sign,
        approve, the team)."""
        return Role(self.role.currentData())

    def _name_demo(self) -> None:
        role = str(self.demo_role())
        who = f"{'an' if role[0] in 'aeiou' else 'a'} {role}"
        self.demo_button.setText(f"Explore a &demo caseload first, as {who}")
        self.demo_button.setAccessibleName(f"Explore a demo caseload first, as {who}")

    def _update(self) -> None:
        text = self.passphrase.text()
        problems = self._problems()
        if not text:
            self.guidance.setText(f"At least {MIN_LENGTH} characters. Spaces are welcome.")
        elif problems:
            self.guidance.setText(" ".join(problems))
        else:
            self.guidance.setText(f"Good: {len(normalise(text))} characters, not a common value.")
        named = self._new_session is None or bool(profile_slug(self.profile_name.text()))
        self.create_button.setEnabled(bool(text) and not problems and not self._working
                                      and named)

    def _create(self) -> None:
        if self._problems() or self._working:
            return
        session = self._session
        if self._new_session is not None:
            try:
                session = self._new_session(self.profile_name.text())
            except KnownError as error:
                set_error(self.error, error.message)
                self.profile_name.setFocus()
                return
        self._working = True
        passphrase, name = self.passphrase.text(), self.name.text().strip()
        role = Role(self.role.currentData())
        self.create_button.setEnabled(False)
        set_error(self.error, "")
        self.guidance.setText("Creating the encrypted profile…")
        on_profile(self._runner, session, lambda s: s.create(passphrase, name=name, role=role),
                   owner=self).done(lambda _: self._done(session)) \
            .shown_in(self.error, after_failure=self._idle).run()

    def _done(self, session: Session) -> None:
        self._session = session
        self._working = False
        self.passphrase.clear()
        self.confirm.clear()
        self.created.emit()

    def _idle(self) -> None:
        self._working = False
        self._update()


class UnlockPage(QWidget):
    """Type the passphrase to open the profile; shows the wait after wrong passphrases.

    With several profiles beside `home` (the default one), a chooser picks which to open and
    another one can be removed; a new one can be asked for.

    Signals:
        unlocked: the profile is open.
        profile_chosen(ProfileEntry): the person chose another profile to open.
        new_profile_requested: the person asked to create another profile.
    """

    unlocked = Signal()
    profile_chosen = Signal(object)
    new_profile_requested = Signal()

    def __init__(self, session: Session, runner: TaskRunner, *, clock: Clock,
                 home: Path | None = None) -> None:
        super().__init__()
        self._session, self._runner, self._clock = session, runner, clock
        self._home = home or session.profile.paths.root
        self._wait_until: datetime | None = None
        self._working = False
        self._backups: list[BackupInfo] = []
        self._profiles: list[ProfileEntry] = []
        self.profile = QComboBox()
        self.profile.setAccessibleName("Profile")
        self.profile_row = labelled("Prof&ile", self.profile)
        self.profile_row.hide()
        self.new_button = QPushButton("&New profile…")
        self.new_button.setAccessibleName("New profile")
        self.remove_button = QPushButton("Re&move profile…")
        self.remove_button.setAccessibleName("Remove profile")
        self.remove_button.hide()
        self.passphrase = passphrase_field("Passphrase", "Your passphrase")
        self.error = message_label("Unlock message", lines=2)
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.restore_button = QPushButton("&Restore from latest backup…")
        self.restore_button.setAccessibleName("Restore from latest backup")
        self.restore_button.hide()
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.unlock_button)
        row.addWidget(self.restore_button)
        row.addStretch(1)
        row.addWidget(self.new_button)
        row.addWidget(self.remove_button)
        self.hint = paragraph(UNLOCK_HINT, name="Unlock help")
        body = card(heading("Unlock FieldApp"), self.hint, self.profile_row,
                    labelled("&Passphrase", self.passphrase), show_toggle(self.passphrase),
                    self.error, buttons)
        QVBoxLayout(self).addWidget(body)
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)
        self.passphrase.returnPressed.connect(self._unlock)
        self.unlock_button.clicked.connect(self._unlock)
        self.restore_button.clicked.connect(self._confirm_restore)
        self.profile.activated.connect(self._choose)
        self.new_button.clicked.connect(self.new_profile_requested)
        self.remove_button.clicked.connect(self.open_removal)

    def prepare(self, *, choose: bool = False) -> None:
        """Reset the page and pick up any wait still running from earlier attempts.

        With `choose` (the person asked to switch profiles), the profile chooser has the focus.
        """
        self.passphrase.clear()
        self.passphrase.setFocus()
        on_profile(self._runner, self._session, lambda s: s.profile.unlock_wait(), owner=self) \
            .done(self._start_wait).run()
        home = self._home
        on_files(self._runner, lambda: list_profiles(home), owner=self) \
            .done(lambda found: self._show_profiles(found, choose=choose)).run()

    def _show_profiles(self, found: list[ProfileEntry], *, choose: bool = False) -> None:
        mine = self._session.profile.paths
        if not any(entry.paths == mine for entry in found):  # a folder outside the family
            found = [ProfileEntry(mine, mine.root.name), *found]
        self._profiles = found
        self.profile.clear()
        for entry in found:
            self.profile.addItem(entry.label)
        self.profile.setCurrentIndex([entry.paths for entry in found].index(mine))
        several = len(found) > 1
        self.profile_row.setVisible(several)
        self.remove_button.setVisible(several)
        if choose and several:
            self.hint.setText("Choose the profile to open, then type its passphrase.")
            self.profile.setFocus()
        elif not several and self.hint.text() != UNLOCK_HINT and \
                self.hint.text().startswith("Choose the profile"):
            self.hint.setText(UNLOCK_HINT)  # the last other profile was just removed

    def profiles(self) -> list[ProfileEntry]:
        """The profiles the chooser lists, this page's own among them."""
        return list(self._profiles)

    def _choose(self, index: int) -> None:
        mine = [entry.paths for entry in self._profiles].index(self._session.profile.paths)
        if self._working:  # an unlock is under way: this page's profile stays chosen
            self.profile.setCurrentIndex(mine)
        elif index != mine:
            self.profile_chosen.emit(self._profiles[index])

    def open_removal(self) -> None:
        """Offer to remove a profile other than this page's own (window-modal, not blocking)."""
        mine = self._session.profile.paths
        others = [entry for entry in self._profiles if entry.paths != mine]
        if not others or self._working:
            return
        dialog = RemoveProfileDialog(others, self._runner, open_one=mine.root, parent=self)
        dialog.removed.connect(self._removed)
        self.removal_dialog = dialog
        dialog.open()

    def _removed(self, message: str) -> None:
        set_error(self.error, "")
        self.error.setText(message)
        home = self._home
        on_files(self._runner, lambda: list_profiles(home), owner=self) \
            .done(self._show_profiles).run()

    def wait_left(self) -> float:
        """Seconds before the next attempt is accepted, as this page counts them down."""
        if self._wait_until is None:
            return 0.0
        return max(0.0, (self._wait_until - self._clock()).total_seconds())

    def _unlock(self) -> None:
        if self._working or self.wait_left() > 0 or not self.passphrase.text():
            return
        self._working = True
        passphrase = self.passphrase.text()
        self.unlock_button.setEnabled(False)
        set_error(self.error, "")
        self.error.setText("Opening…")
        on_profile(self._runner, self._session, lambda s: s.unlock(passphrase), owner=self) \
            .done(self._done).failed(self._refused, after_failure=self._ready).run()

    def _done(self, _: object) -> None:
        self._working = False
        self.passphrase.clear()
        self.error.setText("")
        self.restore_button.hide()
        self.unlock_button.setEnabled(True)
        self.unlocked.emit()

    def show_error(self, error: KnownError) -> None:
        """Show a failure that happened on this page's behalf (such as opening the demo)."""
        self._ready()
        self._refused(error)

    def _ready(self) -> None:
        self._working = False
        self.unlock_button.setEnabled(True)

    def _refused(self, error: KnownError) -> None:
        if isinstance(error, WrongPassphrase):
            self.passphrase.selectAll()
            set_error(self.error, error.message)
            self._start_wait(error.retry_after, keep_message=True)
        elif isinstance(error, UnlockDelayed):
            self._start_wait(error.seconds_left)
        elif isinstance(error, DatabaseUnusable):
            set_error(self.error, error.message)
            on_profile(self._runner, self._session, lambda s: s.backups(), owner=self) \
                .done(self._offer_restore).run()
        else:
            set_error(self.error, error.message)

    def _offer_restore(self, found: list[BackupInfo]) -> None:
        self._backups = found
        self.restore_button.setVisible(bool(found))

    def _confirm_restore(self) -> None:
        backups = [info.path for info in self._backups]
        if not backups or not self.passphrase.text():
            set_error(self.error, "Type your passphrase first; the backup is opened with it.")
            return
        answer = QMessageBox.question(
            self, "Restore from backup",
            f"Replace the damaged database with the backup {backups[0].name}?\n\nChanges made "
            "after that backup and not synced will be missing. The damaged file is kept in the "
            "profile's set-aside folder.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        if self._working:
            return
        self._working = True
        passphrase = self.passphrase.text()
        on_profile(self._runner, self._session, lambda s: s.restore(passphrase, backups[0]),
                   owner=self).done(self._done) \
            .failed(self._refused, after_failure=self._ready).run()

    def _start_wait(self, seconds: object, *, keep_message: bool = False) -> None:
        wait = float(seconds) if isinstance(seconds, int | float) else 0.0
        if wait > 0:
            self._wait_until = self._clock() + timedelta(seconds=wait)
            if not keep_message:
                set_error(self.error, "")
            self._tick()
            self._countdown.start()

    def _tick(self) -> None:
        left = self.wait_left()
        waiting = left > 0
        self.unlock_button.setEnabled(not waiting)
        self.passphrase.setReadOnly(waiting)
        if waiting:
            self.unlock_button.setText(f"Wait {format_wait(left)}")
            self.unlock_button.setAccessibleName(f"Unlock, available in {format_wait(left)}")
        else:
            self._countdown.stop()
            self._wait_until = None
            self.unlock_button.setText("&Unlock")
            self.unlock_button.setAccessibleName("Unlock")
            if self.error.text():
                set_error(self.error, "")
                self.error.setText("You can try again now.")
            self.passphrase.setFocus()
