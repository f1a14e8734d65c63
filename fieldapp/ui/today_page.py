"""Today: the compliance radar, what is due, what waits to be signed, what came back, and the
month's miles; for a supervisor, the notes to co-sign and the months to approve instead of a
worker's sections (kept when the supervisor also works cases)."""

from __future__ import annotations

from PySide6.QtCore import Signal, SignalInstance
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.formats import long_day_text
from fieldapp.domain.people import CaseId
from fieldapp.domain.radar import Opens, RadarItem, Severity
from fieldapp.domain.visits import VisitNote
from fieldapp.services.casework import CaseloadRow
from fieldapp.services.today import MonthAwaiting, RandomScreenDue, TodaySummary, today_summary
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import miles_text, used_text
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import follow_changes, query
from fieldapp.ui.review_dialogs import day_text as full_day_text
from fieldapp.ui.review_dialogs import month_text
from fieldapp.ui.tables import day_text, table
from fieldapp.ui.widgets import heading, message_label


class TodayPage(QWidget):
    """The first page after unlocking.

    Signals:
        write_note(str): the person wants a new note for this case id.
        open_note(str, str): open this note (case id, note id).
        record_screen(str): record a screen for this case id.
        open_case(str): open this case (from the compliance radar).
        open_mileage(str): show this month's mileage ("2026-10", from the compliance radar).
        open_supervision(str): a supervisor wants this part of the Supervisor tab: "cosign"
            (notes to co-sign) or "mileage" (months to approve).
    """

    write_note = Signal(str)
    open_note = Signal(str, str)
    record_screen = Signal(str)
    open_case = Signal(str)
    open_mileage = Signal(str)
    open_supervision = Signal(str)

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self._ctx = ctx
        self.title = heading("Today")
        self.title.setWordWrap(True)  # the program's name can be long
        self.summary_label = message_label("Summary", lines=2)
        self.due_model: RowsModel[CaseloadRow] = RowsModel([
            Column("Family", lambda r: r.case.family_name),
            Column("Last face-to-face", lambda r: day_text(r.due.last_face_to_face)),
            Column("This week", lambda r: f"{r.due.this_week} of {r.due.expected_this_week}"),
            Column("Next due", lambda r: day_text(r.due.next_due)),
            Column("Status", lambda r: "Behind" if r.due.behind else "Due"),
        ])
        self.drafts_model: RowsModel[VisitNote] = RowsModel(self._note_columns("Draft"))
        self.returned_model: RowsModel[VisitNote] = RowsModel([
            *self._note_columns("Returned"),
            Column("Supervisor's comment", lambda n: n.reviews[-1].comment if n.reviews else ""),
        ])
        self.screens_model: RowsModel[RandomScreenDue] = RowsModel([
            Column("Family", lambda r: r.case.family_name),
            Column("Random screen on", lambda r: day_text(r.day)),
        ])
        # The sentence last: it takes the width the others leave.
        self.radar_model: RowsModel[RadarItem] = RowsModel([
            Column("Severity", lambda i: SEVERITY[i.severity]),
            Column("Family or month", self._subject),
            Column("Due", lambda i: full_day_text(i.due)),
            Column("What", lambda i: i.sentence, tooltip=lambda i: i.sentence),
        ])
        self.cosign_model: RowsModel[VisitNote] = RowsModel([
            *self._note_columns("To co-sign"),
            Column("Author", lambda n: self._summary.people.name(n.author)
                   if self._summary else n.author)])
        self.months_model: RowsModel[MonthAwaiting] = RowsModel([
            Column("Worker", lambda m: self._summary.people.name(m.worker_id)
                   if self._summary else m.worker_id),
            Column("Month", lambda m: month_text(m.month)),
            Column("Reimbursable miles", lambda m: miles_text(m.ledger.reimbursable),
                   align_right=True),
            Column("Amount", lambda m: f"${m.ledger.amount:,.2f}", align_right=True)])
        self.radar_view = table("Compliance", self.radar_model, fit_columns=True,
                                wrap_rows=True)  # its sentences must be read whole
        self.cosign_view = table("Notes waiting for your co-signature", self.cosign_model)
        self.months_view = table("Months waiting for your approval", self.months_model)
        self.due_view = table("Visits due", self.due_model)
        self.drafts_view = table("Drafts to sign", self.drafts_model)
        self.returned_view = table("Notes returned by your supervisor", self.returned_model)
        self.screens_view = table("Random screens due", self.screens_model)
        self.meter = QProgressBar()
        self.meter.setAccessibleName("Mileage this month against the cap")
        self.meter.setTextVisible(True)
        self.write_button = QPushButton("&Write a note for this family")
        self.write_button.setAccessibleName("Write a note for the selected family")
        self.open_draft_button = QPushButton("&Open draft")
        self.open_draft_button.setAccessibleName("Open the selected draft")
        self.open_returned_button = QPushButton("Open &returned note")
        self.open_returned_button.setAccessibleName("Open the selected returned note")
        self.screen_button = QPushButton("Record &screen")
        self.screen_button.setAccessibleName("Record the selected random screen")
        self.open_item_button = QPushButton("Open &compliance item")
        self.open_item_button.setAccessibleName("Open the selected compliance item")
        self.cosign_button = QPushButton("Re&view notes to co-sign")
        self.cosign_button.setAccessibleName("Review the notes to co-sign in the Supervisor tab")
        self.months_button = QPushButton("Review mileage to &approve")
        self.months_button.setAccessibleName(
            "Review the months to approve in the Supervisor tab")
        self._build()

    def _note_columns(self, _: str) -> list[Column[VisitNote]]:
        return [Column("Family", lambda n: self._family(n.case_id)),
                Column("Visit date", lambda n: day_text(n.details.visit_date))]

    def _build(self) -> None:
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(self.title)
        column.addWidget(self.summary_label)
        self._empty: dict[QTableView, QLabel] = {}
        self._boxes: dict[QTableView, QGroupBox] = {}
        for title, view, button, empty in (
            ("Compliance", self.radar_view, self.open_item_button, "Nothing is overdue."),
            ("Notes waiting for your co-signature", self.cosign_view, self.cosign_button,
             "No notes are waiting for your co-signature."),
            ("Months of mileage waiting for your approval", self.months_view,
             self.months_button, "No months of mileage are waiting for your approval."),
            ("Visits due", self.due_view, self.write_button,
             "No family is due a visit today."),
            ("Drafts waiting to be signed", self.drafts_view, self.open_draft_button,
             "No drafts: every note is signed."),
            ("Returned by your supervisor", self.returned_view, self.open_returned_button,
             "No notes have been returned to you."),
            ("Random screens due", self.screens_view, self.screen_button,
             "No random screens in the next two days."),
        ):
            self._boxes[view], self._empty[view] = _group(title, view, button, empty)
            column.addWidget(self._boxes[view])
        self.miles_box = QGroupBox("Mileage this month")
        QVBoxLayout(self.miles_box).addWidget(self.meter)
        column.addWidget(self.miles_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        QVBoxLayout(self).addWidget(scroll)
        self.write_button.clicked.connect(lambda: self._emit_case(self.due_view, self.write_note))
        self.due_view.activated.connect(lambda _: self.write_button.click())
        self.open_draft_button.clicked.connect(lambda: self._emit_note(self.drafts_view))
        self.drafts_view.activated.connect(lambda _: self.open_draft_button.click())
        self.open_returned_button.clicked.connect(lambda: self._emit_note(self.returned_view))
        self.returned_view.activated.connect(lambda _: self.open_returned_button.click())
        self.screen_button.clicked.connect(
            lambda: self._emit_case(self.screens_view, self.record_screen))
        self.open_item_button.clicked.connect(self.open_radar_item)
        self.cosign_button.clicked.connect(lambda: self.open_supervision.emit("cosign"))
        self.cosign_view.activated.connect(lambda _: self.cosign_button.click())
        self.months_button.clicked.connect(lambda: self.open_supervision.emit("mileage"))
        self.months_view.activated.connect(lambda _: self.months_button.click())
        self.radar_view.activated.connect(lambda _: self.open_radar_item())
        self.radar_view.selectionModel().currentRowChanged.connect(
            lambda *_: self._enable_open_item())
        self._summary: TodaySummary | None = None
        follow_changes(self._ctx, self, self.refresh)

    def refresh(self) -> None:
        query(self._ctx, today_summary, owner=self).done(self._show).run()

    def _show(self, summary: TodaySummary) -> None:
        self._summary = summary
        self.title.setText(f"Today, {long_day_text(summary.today)} · {summary.program}")
        self.due_model.set_rows(summary.due)
        self.drafts_model.set_rows(summary.drafts)
        self.returned_model.set_rows(summary.returned)
        self.screens_model.set_rows(summary.random_screens)
        self.radar_model.set_rows(summary.radar)
        self.cosign_model.set_rows(summary.awaiting_cosign)
        self.months_model.set_rows(summary.months_awaiting)
        self._show_sections(summary)
        month = summary.mileage
        self.meter.setMaximum(max(1, int(month.cap * 10)))
        self.meter.setValue(int(month.reimbursable * 10))
        self.meter.setFormat(used_text(month))
        self.summary_label.setText(_sentence(summary))
        for view, button in ((self.radar_view, self.open_item_button),
                             (self.cosign_view, self.cosign_button),
                             (self.months_view, self.months_button),
                             (self.due_view, self.write_button),
                             (self.drafts_view, self.open_draft_button),
                             (self.returned_view, self.open_returned_button),
                             (self.screens_view, self.screen_button)):
            rows = view.model().rowCount()
            button.setEnabled(rows > 0)
            view.setVisible(rows > 0)
            button.setVisible(rows > 0)
            self._empty[view].setVisible(rows == 0)
            if rows:
                view.selectRow(0)
        self._enable_open_item()

    def _show_sections(self, summary: TodaySummary) -> None:
        """A supervisor's sections for a supervisor; a worker's for whoever has a worker's own
        work (a supervisor without cases, notes or trips of their own has none to show)."""
        for view in (self.cosign_view, self.months_view):
            self._boxes[view].setVisible(summary.supervisor)
        for view in (self.due_view, self.drafts_view, self.returned_view, self.screens_view):
            self._boxes[view].setVisible(summary.own_work)
        self.miles_box.setVisible(summary.own_work)
        mine = summary.supervisor and not summary.own_work
        self._boxes[self.radar_view].setTitle("Compliance of your team" if mine
                                              else "Compliance")
        empty = "Nothing is overdue in your team's work." if mine else "Nothing is overdue."
        self._empty[self.radar_view].setText(empty)
        self._empty[self.radar_view].setAccessibleName(empty)

    def selected_radar_item(self) -> RadarItem | None:
        index = self.radar_view.currentIndex()
        return self.radar_model.row_at(index.row()) if index.isValid() else None

    def open_radar_item(self) -> None:
        """Open what the selected compliance item is about: its note, case or month."""
        item = self.selected_radar_item()
        if item is None or item.opens is None:
            return
        if item.opens is Opens.NOTE and item.case_id and item.note_id:
            self.open_note.emit(item.case_id, item.note_id)
        elif item.opens is Opens.CASE and item.case_id:
            self.open_case.emit(item.case_id)
        elif item.opens is Opens.MILEAGE and item.month:
            self.open_mileage.emit(item.month)

    def _enable_open_item(self) -> None:
        item = self.selected_radar_item()
        self.open_item_button.setEnabled(item is not None and item.opens is not None)

    def _subject(self, item: RadarItem) -> str:
        if item.case_id:
            return self._family(item.case_id)
        return month_text(item.month) if item.month else ""

    def selected_due_case(self) -> str | None:
        index = self.due_view.currentIndex()
        if not index.isValid() or not self.due_view.isVisible():
            return None
        return self.due_model.row_at(index.row()).case.id

    def _family(self, case_id: CaseId) -> str:
        return self._summary.family(case_id) if self._summary else ""

    def _emit_case(self, view: QTableView, signal: SignalInstance) -> None:
        model = view.model()
        if isinstance(model, RowsModel) and view.currentIndex().isValid():
            signal.emit(model.row_at(view.currentIndex().row()).case.id)

    def _emit_note(self, view: QTableView) -> None:
        model = view.model()
        if isinstance(model, RowsModel) and view.currentIndex().isValid():
            note = model.row_at(view.currentIndex().row())
            self.open_note.emit(note.case_id, note.id)


def _group(title: str, view: QTableView, button: QPushButton, empty_text: str
           ) -> tuple[QGroupBox, QLabel]:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    empty = QLabel(empty_text)
    empty.setAccessibleName(empty_text)
    layout.addWidget(empty)
    layout.addWidget(view)
    layout.addWidget(button)
    return box, empty


SEVERITY = {Severity.OVERDUE: "Overdue", Severity.DUE_SOON: "Due soon"}


def _sentence(summary: TodaySummary) -> str:
    parts = []
    overdue = sum(1 for i in summary.radar if i.severity is Severity.OVERDUE)
    if overdue:
        parts.append(f"{overdue} compliance item{'s' if overdue != 1 else ''} overdue")
    behind = sum(1 for r in summary.due if r.due.behind)
    if behind:
        parts.append(f"{behind} famil{'y is' if behind == 1 else 'ies are'} behind on visits")
    if summary.drafts:
        parts.append(f"{len(summary.drafts)} draft{'s' if len(summary.drafts) != 1 else ''} "
                     "to sign")
    if summary.returned:
        parts.append(f"{len(summary.returned)} note{'s' if len(summary.returned) != 1 else ''} "
                     "returned to you")
    if summary.awaiting_cosign:
        parts.append(f"{len(summary.awaiting_cosign)} note(s) waiting for your co-signature")
    if summary.months_awaiting:
        parts.append(f"{len(summary.months_awaiting)} month(s) of mileage to approve")
    if parts:
        return ("; ".join(parts) + ".").capitalize()
    if summary.supervisor:
        return ("Nothing is waiting for you: no notes to co-sign, no mileage to approve and "
                "nothing overdue.")
    return "Nothing is waiting for you."
