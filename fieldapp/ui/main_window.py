"""The main window: first run, unlock, and the open profile, one page at a time."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget

from fieldapp import __version__
from fieldapp.domain.clock import Clock
from fieldapp.services.session import Session
from fieldapp.ui.home_page import HomePage
from fieldapp.ui.passphrase_dialog import ChangePassphraseDialog
from fieldapp.ui.profile_pages import CreateProfilePage, UnlockPage
from fieldapp.ui.tasks import TaskRunner


class MainWindow(QMainWindow):
    """Holds the pages and the actions that apply everywhere (lock, quit)."""

    def __init__(self, session: Session, runner: TaskRunner, *, profile_exists: bool,
                 check: Callable[[str], list[str]], clock: Clock) -> None:
        super().__init__()
        self.setWindowTitle("FieldApp")
        self.resize(900, 640)
        self._session, self._runner, self._check = session, runner, check
        self.create_page = CreateProfilePage(session, runner, check)
        self.unlock_page = UnlockPage(session, runner, clock=clock)
        self.home_page = HomePage(session, runner)
        self.pages = QStackedWidget()
        for page in (self.create_page, self.unlock_page, self.home_page):
            self.pages.addWidget(page)
        self.setCentralWidget(self.pages)
        self.busy_label = QLabel()
        self.busy_label.setAccessibleName("Working")
        self.statusBar().addPermanentWidget(self.busy_label)
        self.statusBar().showMessage(f"FieldApp {__version__}")
        runner.busy_changed.connect(
            lambda busy: self.busy_label.setText("Working…" if busy else ""))
        self.lock_action = QAction("&Lock", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(self.lock)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.lock_action)
        menu.addSeparator()
        menu.addAction(quit_action)
        self.create_page.created.connect(self._show_home)
        self.unlock_page.unlocked.connect(self._show_home)
        self.home_page.lock_requested.connect(self.lock)
        self.home_page.change_passphrase_requested.connect(self.change_passphrase)
        if profile_exists:
            self._show_unlock()
        else:
            self.pages.setCurrentWidget(self.create_page)
            self.create_page.passphrase.setFocus()
            self.lock_action.setEnabled(False)

    def lock(self) -> None:
        if self.pages.currentWidget() is not self.home_page:
            return
        self._runner.run(self._session.lock, on_success=lambda _: self._show_unlock())

    def change_passphrase(self) -> None:
        """Open the change-passphrase dialog (window-modal, without blocking the event loop)."""
        dialog = ChangePassphraseDialog(self._session, self._runner, self._check, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.home_page.status.setText(
            "Passphrase changed. Use the new one from now on."))
        self.passphrase_dialog = dialog
        dialog.open()

    def _show_home(self) -> None:
        self.pages.setCurrentWidget(self.home_page)
        self.lock_action.setEnabled(True)
        self.home_page.refresh()
        self.home_page.lock_button.setFocus()

    def _show_unlock(self) -> None:
        self.pages.setCurrentWidget(self.unlock_page)
        self.lock_action.setEnabled(False)
        self.unlock_page.prepare()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # Locking writes the backup and truncates the WAL; the window is already hidden by then.
        self.hide()
        event.accept()
