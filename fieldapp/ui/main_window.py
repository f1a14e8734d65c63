"""The main window: first run, unlock, and the open profile, one page at a time."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget

from fieldapp import __version__
from fieldapp.domain.clock import Clock
from fieldapp.domain.people import Role
from fieldapp.services import demo
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfileEntry, ProfilePaths, list_profiles, new_profile
from fieldapp.storage.profile_settings import AUTO_LOCK_MINUTES
from fieldapp.ui import shortcuts
from fieldapp.ui.autolock import InactivityWatch
from fieldapp.ui.context import UiContext
from fieldapp.ui.keyboard_help import KeyboardHelp
from fieldapp.ui.ops import on_files, on_profile
from fieldapp.ui.passphrase_dialog import ChangePassphraseDialog
from fieldapp.ui.profile_pages import CreateProfilePage, UnlockPage
from fieldapp.ui.sync_controller import SyncController, SyncOptions
from fieldapp.ui.sync_status import SyncStatus
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.widgets import fit_to_screen, set_error
from fieldapp.ui.workspace_view import WorkspaceView


class MainWindow(QMainWindow):
    """Holds the pages and the actions that apply everywhere (lock, quit).

    The workspace (everything decrypted) exists only while the profile is open: locking closes
    its windows, locks the vault and then deletes it. Other profiles live beside `home` (the
    default profile); switching to one locks the open one first.
    """

    def __init__(self, session: Session, runner: TaskRunner, *, profile_exists: bool,
                 check: Callable[[str], list[str]], clock: Clock,
                 check_ms: int, demo_paths: ProfilePaths | None = None,
                 sync_options: SyncOptions | None = None, home: ProfilePaths | None = None
                 ) -> None:
        super().__init__()
        self.setWindowTitle("FieldApp")
        fit_to_screen(self, QSize(1100, 760))
        self._session, self._runner, self._check, self._clock = session, runner, check, clock
        self._demo_paths = demo_paths
        self._home = home or session.profile.paths
        self._switching = False
        self.workspace: WorkspaceView | None = None
        self.keyboard_help: KeyboardHelp | None = None
        self.sync: SyncController | None = None
        self._sync_options = sync_options or SyncOptions()
        self.watch = InactivityWatch(clock, minutes=AUTO_LOCK_MINUTES.default,
                                     check_ms=check_ms, parent=self)
        self.watch.idle.connect(self._auto_lock)
        self.pages = QStackedWidget()
        self.setCentralWidget(self.pages)
        self.busy_label = QLabel()
        self.busy_label.setAccessibleName("Working")
        self.sync_status = SyncStatus()
        self.statusBar().addPermanentWidget(self.busy_label)
        self.statusBar().addPermanentWidget(self.sync_status)
        self.statusBar().showMessage(f"FieldApp {__version__}")
        # A bound slot, not a lambda: Qt drops the connection when this window is destroyed,
        # while the runner (and its last callbacks) may outlive it.
        runner.busy_changed.connect(self._show_busy)
        self._menus()
        self._install_pages()
        if profile_exists:
            self._show_unlock()
        else:
            self.pages.setCurrentWidget(self.create_page)
            self.create_page.name.setFocus()
            root = self._home.root
            on_files(self._runner, lambda: list_profiles(root), owner=self) \
                .done(self._offer_others).run()

    def _menus(self) -> None:
        self.lock_action = self._action("&Lock", shortcuts.LOCK, self.lock)
        self.lock_action.setEnabled(False)
        quit_action = self._action("&Quit", shortcuts.QUIT, self.close)
        self.sync_action = self._action("&Sync now", shortcuts.SYNC, self._sync_now)
        self.sync_action.setEnabled(False)
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.sync_action)
        menu.addAction(self.lock_action)
        menu.addSeparator()
        menu.addAction(quit_action)
        self.help_action = self._action("&Keyboard shortcuts", shortcuts.HELP,
                                        self.show_keyboard_help)
        self.menuBar().addMenu("&Help").addAction(self.help_action)

    def _action(self, text: str, shortcut: shortcuts.Shortcut, slot: Callable[[], object]
                ) -> QAction:
        """A menu action with its declared keys (the menu shows them beside the text)."""
        action = QAction(text, self)
        shortcuts.give(shortcut, action)
        action.triggered.connect(slot)
        return action

    def show_keyboard_help(self) -> KeyboardHelp:
        """Help → Keyboard shortcuts (F1): the keys of the open profile's role, or, locked, the
        keys every role has. One window at a time; it follows a lock or a change of profile."""
        if self.keyboard_help is None:
            self.keyboard_help = KeyboardHelp(parent=self)
        self.keyboard_help.show_role(self._role())
        return self.keyboard_help

    def _role(self) -> Role | None:
        return self.workspace.role if self.workspace is not None else None

    def _help_follows_role(self) -> None:
        if self.keyboard_help is not None:
            self.keyboard_help.set_role(self._role())

    def _install_pages(self) -> None:
        for name in ("create_page", "unlock_page"):
            old = getattr(self, name, None)
            if old is not None:
                self.pages.removeWidget(old)
                old.deleteLater()
        self.create_page = CreateProfilePage(self._session, self._runner, self._check)
        self.unlock_page = UnlockPage(self._session, self._runner, clock=self._clock,
                                      home=self._home.root)
        self.pages.addWidget(self.create_page)
        self.pages.addWidget(self.unlock_page)
        self.create_page.created.connect(self._created)
        self.create_page.cancelled.connect(self._show_unlock)
        self.unlock_page.unlocked.connect(self._open_workspace)
        self.unlock_page.profile_chosen.connect(self.choose_profile)
        self.unlock_page.new_profile_requested.connect(self.new_profile)
        self.create_page.demo_requested.connect(self.open_demo)
        self.create_page.demo_button.setVisible(self._demo_paths is not None)

    def _show_busy(self, busy: bool) -> None:
        self.busy_label.setText("Working…" if busy else "")

    def current_session(self) -> Session:
        """The profile shown now (the demo's, once the demo was opened)."""
        return self._session

    def open_demo(self, role: Role = Role.RECOVERY_COORDINATOR) -> None:
        """Switch to the demo profile of `role` (a coordinator's, an intact worker's or a
        supervisor's, each made on first use beside the others) and open it."""
        if self._demo_paths is None:
            return
        self._session = Session(demo.demo_paths(self._demo_paths, role), clock=self._clock)
        self._install_pages()
        self.unlock_page.hint.setText(
            f"This is the demo profile, full of invented families. Its passphrase is: "
            f"{demo.DEMO_PASSPHRASE}")
        self.pages.setCurrentWidget(self.unlock_page)
        session, clock = self._session, self._clock
        self.unlock_page.error.setText("Opening the demo…")
        on_profile(self._runner, session, lambda s: demo.open_or_make(s, role=role, clock=clock),
                   owner=self).done(lambda _: self._demo_opened()) \
            .failed(self.unlock_page.show_error).run()

    def _demo_opened(self) -> None:
        self.unlock_page.error.setText("")  # said while it opened; wrong once it is locked
        self._open_workspace()

    def choose_profile(self, entry: ProfileEntry) -> None:
        """Show the unlock page of another profile (this window's own is locked already)."""
        if self.workspace is not None:
            return
        self._session = Session(entry.paths, clock=self._clock)
        self._install_pages()
        if entry.is_demo:
            self.unlock_page.hint.setText(
                f"This is a demo profile, full of invented families. Its passphrase is: "
                f"{demo.DEMO_PASSPHRASE}")
        self._show_unlock()

    def new_profile(self) -> None:
        """Offer the first-run form again, this time naming an additional profile."""
        if self.workspace is not None:
            return
        home, clock = self._home.root, self._clock
        self.create_page.ask_profile_name(
            lambda name: Session(new_profile(home, name), clock=clock))
        self.pages.setCurrentWidget(self.create_page)

    def switch_profile(self) -> None:
        """Lock as Ctrl+L does (editors save first), then let the person choose a profile."""
        if self.workspace is not None:
            self._switching = True
            self.lock()

    def _offer_others(self, found: list[ProfileEntry]) -> None:
        """No default profile (it was removed) but others exist: offer them, not a first run."""
        others = [entry for entry in found if not entry.is_demo]
        if others and self.workspace is None and self._session.profile.paths == self._home \
                and self.pages.currentWidget() is self.create_page \
                and not self.create_page.passphrase.text():
            self.choose_profile(others[0])

    def _created(self) -> None:
        made = self.create_page.session
        if made is not self._session:  # an additional profile: the window now holds it
            self._session = made
            self._install_pages()
        self._open_workspace()

    def lock(self) -> None:
        if self.workspace is None:
            return
        self._stop_sync()  # before the lock: no step of a sync runs after it
        self.watch.stop()
        self.lock_action.setEnabled(False)
        self.workspace.close_windows()  # editors queue their last save before the lock
        on_profile(self._runner, self._session, lambda s: s.lock(), owner=self) \
            .done(lambda _: self._show_unlock()).run()

    def change_passphrase(self) -> None:
        """Open the change-passphrase dialog (window-modal, without blocking the event loop)."""
        dialog = ChangePassphraseDialog(self._session, self._runner, self._check, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if self.workspace is not None:
            status = self.workspace.settings.status
            dialog.accepted.connect(
                lambda: status.setText("Passphrase changed. Use the new one from now on."))
        self.passphrase_dialog = dialog
        dialog.open()

    def _open_workspace(self) -> None:
        on_profile(self._runner, self._session, lambda s: (s.actor().role, s.auto_lock_minutes()),
                   owner=self).done(self._build_workspace).run()

    def _build_workspace(self, facts: tuple[Role, int]) -> None:
        role, minutes = facts
        ctx = UiContext(session=self._session, runner=self._runner, clock=self._clock)
        self.workspace = WorkspaceView(ctx, role=role)
        self.workspace.lock_requested.connect(self.lock)
        self.workspace.change_passphrase_requested.connect(self.change_passphrase)
        self.workspace.settings.switch_profile_requested.connect(self.switch_profile)
        self.workspace.auto_lock_changed.connect(self.watch.set_minutes)
        self._start_sync()
        self.pages.addWidget(self.workspace)
        self.pages.setCurrentWidget(self.workspace)
        self.lock_action.setEnabled(True)
        self.watch.set_minutes(minutes)
        self.watch.start()
        self.workspace.refresh_current()
        self.workspace.setFocus()
        self._help_follows_role()

    def _auto_lock(self) -> None:
        self.lock()
        self.statusBar().showMessage("Locked after a period without use.", 10_000)

    def _start_sync(self) -> None:
        assert self.workspace is not None
        ctx = UiContext(session=self._session, runner=self._runner, clock=self._clock)
        self.sync = SyncController(ctx, options=self._sync_options, parent=self)
        self.sync.revoked.connect(self._wiped)
        self.sync.synced.connect(self._synced)
        self.workspace.settings.server_connected.connect(self._enrolled)
        self.sync_status.bind(self.sync)
        self.sync_action.setEnabled(True)
        self.sync.start()

    def _stop_sync(self) -> None:
        """Cancel a running sync and its timers; its thread ends by itself, off this thread."""
        self.sync_action.setEnabled(False)
        self.sync_status.unbind()
        if self.sync is not None:
            self.sync.stop()
            self.sync = None

    def _sync_now(self) -> None:
        if self.sync is not None:
            self.sync.sync_now()

    def _enrolled(self) -> None:
        # A new device gets the caseload back at once.
        if self.sync is not None:
            self.sync.start(sync_now=True)

    def _synced(self, _: object) -> None:
        if self.workspace is not None:
            self.workspace.refresh_current()

    def _wiped(self, message: str) -> None:
        """The server revoked this laptop and the sync removed the profile: back to first run."""
        self._stop_sync()
        self.watch.stop()
        self.lock_action.setEnabled(False)
        if self.workspace is not None:
            self.workspace.close_windows()
            self.pages.removeWidget(self.workspace)
            self.workspace.deleteLater()
            self.workspace = None
        self._install_pages()
        self.pages.setCurrentWidget(self.create_page)
        set_error(self.create_page.error, message)
        self.statusBar().showMessage(message)

    def _show_unlock(self) -> None:
        if self.workspace is not None:
            self.pages.removeWidget(self.workspace)
            self.workspace.deleteLater()  # every decrypted value on screen goes with it
            self.workspace = None
        self.pages.setCurrentWidget(self.unlock_page)
        self.lock_action.setEnabled(False)
        self.unlock_page.prepare(choose=self._switching)
        self._switching = False
        self._help_follows_role()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # Editors queue their last save; the lock at exit (run_gui) runs after it on the worker.
        if self.workspace is not None:
            self.workspace.close_windows()
        sync = self.sync
        self._stop_sync()
        if sync is not None:
            sync.join()  # leaving: wait (briefly) for the sync thread to stop between steps
        self.hide()
        event.accept()
