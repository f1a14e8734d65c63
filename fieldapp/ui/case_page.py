"""A family's page: who they are, who works with them, and the timeline of everything done."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.cases import Case
from fieldapp.domain.people import CaseId
from fieldapp.services.timeline import CaseTimeline, Entry, case_timeline
from fieldapp.ui import shortcuts
from fieldapp.ui.context import UiContext
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import follow_changes, query
from fieldapp.ui.tables import day_text, table
from fieldapp.ui.widgets import fit_to_screen, heading, message_label, paragraph


class CasePage(QDialog):
    """A non-blocking window per family.

    Signals:
        write_note(str): new visit note for this case id.
        open_note(str, str): open this note (case id, note id).
        record_screen(str): new drug screen for this case id.
        open_screen(str, str): open this screen (case id, screen id).
        open_consents(str): the consents and disclosures of this case id (Ctrl+Shift+C).
    """

    write_note = Signal(str)
    open_note = Signal(str, str)
    record_screen = Signal(str)
    open_screen = Signal(str, str)
    open_consents = Signal(str)

    def __init__(self, ctx: UiContext, *, case_id: CaseId, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self.case_id = ctx, case_id
        self.setWindowTitle("Case")
        self.setAccessibleName("Case")
        fit_to_screen(self, QSize(860, 600))
        self.title = heading("Loading…")
        self.details = paragraph("", name="Family details")
        self.details.setTextFormat(Qt.TextFormat.PlainText)  # what a family said, as typed
        self.empty = message_label("Timeline status")
        self.model: RowsModel[Entry] = RowsModel([
            Column("Date", lambda e: day_text(e.day)),
            Column("What", lambda e: e.kind),
            Column("Summary", lambda e: e.summary, tooltip=lambda e: e.summary),
            Column("Status", lambda e: e.status),
        ])
        self.view = table("Timeline", self.model)
        wrap_rows(self.view)
        self.new_note = QPushButton("&New visit note")
        self.new_note.setAccessibleName("New visit note")
        shortcuts.give(shortcuts.FAMILY_NEW_NOTE, self.new_note)
        self.new_screen = QPushButton("Record drug &screen")
        self.new_screen.setAccessibleName("Record drug screen")
        self.open_button = QPushButton("&Open")
        self.open_button.setAccessibleName("Open the selected entry")
        self.consents_button = QPushButton("Consents && &disclosures")
        self.consents_button.setAccessibleName("Consents and disclosures")
        self.consents_button.setToolTip("Consents to disclose and the accounting of "
                                        "disclosures (Ctrl+Shift+C)")
        shortcuts.bind(shortcuts.CONSENTS, self, self.consents_button.click)
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close")
        buttons = QHBoxLayout()
        for button in (self.new_note, self.new_screen, self.open_button, self.consents_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.details, self.empty):
            layout.addWidget(widget)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.new_note.clicked.connect(lambda: self.write_note.emit(self.case_id))
        self.new_screen.clicked.connect(lambda: self.record_screen.emit(self.case_id))
        self.open_button.clicked.connect(self._open)
        self.consents_button.clicked.connect(lambda: self.open_consents.emit(self.case_id))
        self.view.activated.connect(lambda _: self._open())
        self.close_button.clicked.connect(self.close)
        follow_changes(ctx, self, self.refresh)

    def refresh(self) -> None:
        case_id = self.case_id
        query(self._ctx, lambda ws: case_timeline(ws, case_id), owner=self).done(self._show).run()

    def _show(self, timeline: CaseTimeline) -> None:
        case = timeline.case
        self.setWindowTitle(f"{case.family_name} family")
        self.title.setText(f"{case.family_name} family")
        self.details.setText(family_details(case))
        self.model.set_rows(timeline.entries)
        self.empty.setText("Nothing recorded for this family yet." if not timeline.entries
                           else f"{len(timeline.entries)} "
                           f"{'entry' if len(timeline.entries) == 1 else 'entries'}, newest "
                           "first.")
        self.open_button.setEnabled(bool(timeline.entries))
        if timeline.entries:
            self.view.selectRow(0)

    def _open(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            return
        entry = self.model.row_at(index.row())
        if entry.note_id:
            self.open_note.emit(self.case_id, entry.note_id)
        elif entry.screen_id:
            self.open_screen.emit(self.case_id, entry.screen_id)


def family_details(case: Case) -> str:
    """Who the family are, how to reach them and who referred them, in lines of plain words."""
    parents = ", ".join(p.name for p in case.parents)
    children = ", ".join(f"{c.name} ({c.details})" if c.details else c.name
                         for c in case.children) or "none recorded"
    return (f"Parent in recovery: {parents}\nChildren: {children}\nHome: {case.address}\n"
            f"Phone: {case.phone or 'not recorded'}\n{referral_text(case)}\n"
            f"Status: {case.status} since {day_text(case.start_date)} · "
            f"{case.visits_per_week} home visit(s) a week expected")


def referral_text(case: Case) -> str:
    """'Referral: DCFS caseworker Maria Ortiz, on 2 Nov 2026', or as much of it as is known."""
    said = [case.referral_source] if case.referral_source else []
    said += [f"on {day_text(case.referral_date)}"] if case.referral_date else []
    return f"Referral: {', '.join(said) or 'not recorded'}"


def wrap_rows(view: QTableView) -> None:
    """Every word of the timeline readable: the date and kind columns take what they need, the
    summary and status share the rest, and a row grows to hold its text wrapped. A long
    status ("dilute, unconfirmed, not for court, late for the call-in") was cut off, and
    "not for court" is the part that matters most."""
    header = view.horizontalHeader()
    for column in (0, 1):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    view.setWordWrap(True)
    view.setTextElideMode(Qt.TextElideMode.ElideNone)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
