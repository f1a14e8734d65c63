"""The open profile: its sections, and the case and record windows they open."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QTabWidget, QWidget

from fieldapp.domain.exports import ReportKind
from fieldapp.domain.people import CaseId, NoteId, Role, ScreenId
from fieldapp.ui import shortcuts
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.caseload_page import CaseloadPage
from fieldapp.ui.consents_window import ConsentsWindow
from fieldapp.ui.context import UiContext
from fieldapp.ui.export_dialog import ExportDialog
from fieldapp.ui.mileage_page import MileagePage
from fieldapp.ui.note_editor import NoteEditor
from fieldapp.ui.screen_form import ScreenForm
from fieldapp.ui.settings_page import SettingsPage
from fieldapp.ui.shortcuts import bind, sections_for, tab_shortcuts
from fieldapp.ui.supervisor_page import SupervisorPage
from fieldapp.ui.today_page import TodayPage


class WorkspaceView(QTabWidget):
    """Everything behind the lock. Dropping it (on lock) drops every decrypted value it shows.

    Signals:
        lock_requested: the person asked to lock.
        change_passphrase_requested: the person asked to change the passphrase.
        auto_lock_changed(int): minutes of inactivity before locking.
    """

    lock_requested = Signal()
    change_passphrase_requested = Signal()
    auto_lock_changed = Signal(int)

    def __init__(self, ctx: UiContext, *, role: Role) -> None:
        super().__init__()
        self.setAccessibleName("Sections")
        self._ctx, self.role = ctx, role
        self._windows: list[QDialog] = []
        self.today = TodayPage(ctx)
        self.caseload = CaseloadPage(ctx, role=role)
        self.mileage = MileagePage(ctx)
        self.supervisor = SupervisorPage(ctx) if role is Role.SUPERVISOR else None
        self.settings = SettingsPage(ctx)
        self._add_sections()
        self.currentChanged.connect(lambda _: self.refresh_current())
        self._connect()

    def _add_sections(self) -> None:
        """The tabs and the keys that apply across them, both from `shortcuts`."""
        for section, keys in zip(sections_for(self.role), tab_shortcuts(self.role), strict=True):
            page: QWidget = getattr(self, section.page)
            self.addTab(page, section.title)
            bind(keys, self, partial(self.setCurrentWidget, page))
        bind(shortcuts.NEW_NOTE, self, self.new_note_for_selection)
        bind(shortcuts.EXPORT, self, lambda: self.open_export(
            ReportKind.MILEAGE if self.currentWidget() is self.mileage else ReportKind.VISIT_LOG))

    def _connect(self) -> None:
        self.today.write_note.connect(self.write_note)
        self.today.open_note.connect(self.open_note)
        self.today.record_screen.connect(self.record_screen)
        self.today.open_case.connect(self.open_case)
        self.today.open_mileage.connect(self.show_mileage)
        if self.supervisor is not None:
            self.today.open_supervision.connect(self.show_supervision)
        self.caseload.open_case.connect(self.open_case)
        for page in (self.caseload, self.mileage, self.supervisor):
            if page is not None:
                page.export_requested.connect(lambda kind: self.open_export(ReportKind(kind)))
        self.settings.lock_requested.connect(self.lock_requested)
        self.settings.change_passphrase_requested.connect(self.change_passphrase_requested)
        self.settings.auto_lock_changed.connect(self.auto_lock_changed)

    def refresh_current(self) -> None:
        page = self.currentWidget()
        refresh = getattr(page, "refresh", None)
        if callable(refresh):
            refresh()

    def new_note_for_selection(self) -> None:
        """Ctrl+N: a new visit note for the family selected on Today or in the caseload."""
        case_id = None
        if self.currentWidget() is self.caseload:
            case_id = self.caseload.selected_case()
        elif self.currentWidget() is self.today:
            case_id = self.today.selected_due_case()
        if case_id is None:
            self.setCurrentWidget(self.caseload)
            self.caseload.empty.setText(
                f"Choose a family, then press {shortcuts.NEW_NOTE.keys} for a new note.")
            return
        self.write_note(case_id)

    def open_export(self, kind: ReportKind, *, case_id: str | None = None, person: str = ""
                    ) -> ExportDialog:
        """The export dialog (Ctrl+E), for `kind` (and a family, for its accounting of
        disclosures); one at a time."""
        for window in self.open_windows():
            if isinstance(window, ExportDialog):
                window.raise_()
                window.activateWindow()
                return window
        dialog = ExportDialog(self._ctx, kind=kind, case_id=case_id, person=person, parent=self)
        self._show(dialog)
        return dialog

    def open_consents(self, case_id: str) -> ConsentsWindow:
        """A family's consents and accounting of disclosures."""
        window = ConsentsWindow(self._ctx, case_id=CaseId(case_id), parent=self)
        window.export_requested.connect(lambda case, person: self.open_export(
            ReportKind.ACCOUNTING, case_id=case, person=person))
        self._show(window)
        return window

    def open_case(self, case_id: str) -> None:
        page = CasePage(self._ctx, case_id=CaseId(case_id), parent=self)
        page.write_note.connect(self.write_note)
        page.open_note.connect(self.open_note)
        page.record_screen.connect(self.record_screen)
        page.open_screen.connect(self.open_screen)
        page.open_consents.connect(self.open_consents)
        self._show(page)
        page.refresh()

    def show_mileage(self, month: str) -> None:
        """The Mileage section, on `month` ("2026-10")."""
        self.setCurrentWidget(self.mileage)
        self.mileage.show_month(month)

    def show_supervision(self, part: str) -> None:
        """The Supervisor section, on `part` ("cosign" or "mileage", from Today)."""
        if self.supervisor is not None:
            self.setCurrentWidget(self.supervisor)
            self.supervisor.show_part(part)

    def write_note(self, case_id: str) -> None:
        self._show(NoteEditor(self._ctx, case_id=CaseId(case_id), parent=self))

    def open_note(self, case_id: str, note_id: str) -> None:
        self._show(NoteEditor(self._ctx, case_id=CaseId(case_id), note_id=NoteId(note_id),
                              parent=self))

    def record_screen(self, case_id: str) -> None:
        self._show(ScreenForm(self._ctx, case_id=CaseId(case_id), parent=self))

    def open_screen(self, case_id: str, screen_id: str) -> None:
        self._show(ScreenForm(self._ctx, case_id=CaseId(case_id), screen_id=ScreenId(screen_id),
                              parent=self))

    def open_windows(self) -> list[QDialog]:
        return [w for w in self._windows if w.isVisible()]

    def close_windows(self) -> None:
        """Close every editor and case window; editors save what was typed as they close."""
        for window in list(self._windows):
            window.close()
        self._windows.clear()

    def _show(self, window: QDialog) -> None:
        # Not deleted on close: an editor's last save may still answer after it closes. Windows
        # are children of this view and go with it when the profile locks.
        window.finished.connect(lambda _: self._closed(window))
        self._windows.append(window)
        # Not modal: a worker keeps a case open while writing the note it needs.
        window.setModal(False)
        window.show()

    def _closed(self, window: QDialog) -> None:
        if window in self._windows:
            self._windows.remove(window)
        self.refresh_current()
        for other in self._windows:
            if isinstance(other, CasePage):
                other.refresh()
