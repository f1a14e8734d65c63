"""The supervisor's page: the team's caseloads, notes to co-sign, mileage, random screens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Generic, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.people import CaseId, UserId
from fieldapp.domain.schedule import RandomSchedule
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import VisitNote
from fieldapp.services.casework import CaseloadRow, CaseService
from fieldapp.services.directory import Directory, directory
from fieldapp.services.mileage import MileageService, MonthRefused
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.today import MonthAwaiting, TodaySummary, today_summary
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import miles_text
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import change, follow_changes, query
from fieldapp.ui.review_dialogs import (
    DrawScheduleDialog,
    MonthReviewDialog,
    NoteReviewDialog,
    ReviewDialog,
    cosign_summary,
    day_text,
    moment_text,
    month_text,
    push_button,
)
from fieldapp.ui.tables import day_text as caseload_day_text
from fieldapp.ui.tables import table
from fieldapp.ui.trip_dialog import ConfirmDialog
from fieldapp.ui.widgets import heading, labelled, message_label, paragraph, set_error

T = TypeVar("T")
D = TypeVar("D", bound=ReviewDialog)
COLUMN_PADDING = 24  # pixels beyond a column's contents, so neighbouring values do not touch


@dataclass(frozen=True)
class SupervisorData:
    """Attributes:
    chosen: the case whose random screen schedules are in `schedules` (None: no cases).
    people: the team's names, as the server last listed them.
    """

    caseload: list[CaseloadRow]
    summary: TodaySummary
    settings: ProgramSettings
    chosen: CaseId | None
    schedules: list[RandomSchedule]
    people: Directory

    @property
    def zone(self) -> tzinfo:
        return self.settings.zone


NOBODY = Directory(names={}, team=frozenset())  # before the first read: ids as they are


def read_supervisor_data(workspace: Workspace, chosen: CaseId | None) -> SupervisorData:
    """Everything the page shows, `chosen`'s schedules included. Thread rule: the worker."""
    caseload = CaseService(workspace).caseload()
    ids = [row.case.id for row in sorted(caseload, key=lambda r: r.case.family_name)]
    case_id = chosen if chosen in ids else (ids[0] if ids else None)
    return SupervisorData(caseload=caseload, summary=today_summary(workspace),
                          settings=workspace.settings, chosen=case_id,
                          schedules=ScreenService(workspace).schedules(case_id) if case_id
                          else [], people=directory(workspace))


class _TableSection(QWidget, Generic[T]):
    """A labelled table, the sentence it shows when empty, buttons and a message line.

    Signals:
        changed: something was decided here; the page reads everything again.
    """

    changed = Signal()

    def __init__(self, ctx: UiContext, *, label: str, name: str, columns: Sequence[Column[T]],
                 empty: str, stretch: int = -1) -> None:
        super().__init__()
        self._ctx, self._empty = ctx, empty
        self.model: RowsModel[T] = RowsModel(columns, self)
        self.table = table(name, self.model)
        self._stretch = stretch % len(columns)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(self._stretch, QHeaderView.ResizeMode.Stretch)
        self.empty_label = paragraph("", name=f"{name}, empty")
        self.empty_label.hide()
        self.message = message_label(f"{name} message", lines=2)
        self.buttons = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(labelled(label, self.table), 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(self.buttons)
        layout.addWidget(self.message)

    def set_rows(self, rows: Sequence[T]) -> None:
        self.model.set_rows(rows)
        self._fit_columns()
        self.empty_label.setText("" if rows else self._empty)
        self.empty_label.setVisible(not rows)
        if rows:
            self.table.selectRow(0)

    def _fit_columns(self) -> None:
        """Each column as wide as its contents and a margin; the `stretch` column (the one
        whose words run longest) takes the rest. Columns fitted exactly read as one run-on
        line, and a stretched number column sits its values far from their row."""
        for column in range(self.model.columnCount()):
            if column != self._stretch:
                self.table.resizeColumnToContents(column)
                self.table.setColumnWidth(column, self.table.columnWidth(column)
                                          + COLUMN_PADDING)

    def current(self) -> T | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def add_button(self, text: str, name: str) -> QPushButton:
        button = push_button(text, name)
        self.buttons.addWidget(button)
        return button

    def open_review_dialog(self, dialog: D) -> D:
        """Open a review; its verdict is said here and refreshes the page."""
        dialog.reviewed.connect(self._say)
        dialog.reviewed.connect(lambda _: self.changed.emit())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _say(self, text: str) -> None:
        set_error(self.message, "")
        self.message.setText(text)


class TeamSection(_TableSection[CaseloadRow]):
    """The team's cases and how each stands against its visit frequency.

    Signals:
        changed: unused here (the table is read-only).
    """

    def __init__(self, ctx: UiContext) -> None:
        self._people = NOBODY
        super().__init__(ctx, label="Cases &of your team", name="Team cases", empty=(
            "No cases are assigned to your team."), columns=[
            Column("Family", lambda r: r.case.family_name),
            Column("Coordinator", lambda r: self._people.name(r.case.coordinator_id)
                   or "none assigned"),
            Column("Status", lambda r: str(r.case.status).capitalize()),
            # Dates as the Caseload tab writes them, so the two lists read alike.
            Column("Last face-to-face", lambda r: caseload_day_text(r.due.last_face_to_face)),
            Column("This week", lambda r: f"{r.due.this_week} of {r.due.expected_this_week}"),
            Column("Next due", lambda r: caseload_day_text(r.due.next_due)),
            Column("On schedule", _on_schedule)])

    def show_caseload(self, caseload: Sequence[CaseloadRow], people: Directory) -> None:
        self._people = people
        self.set_rows(caseload)


def next_month(today: date) -> tuple[date, date]:
    """The first and last day of the month after `today`'s."""
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _on_schedule(row: CaseloadRow) -> str:
    due = row.due
    if due.behind:
        return f"Behind: {due.this_week} of {due.expected_by_today} expected by today"
    return "On track"


class CosignSection(_TableSection[VisitNote]):
    """Signed notes waiting for the supervisor's co-signature.

    Signals:
        changed: a note was co-signed or returned.
    """

    def __init__(self, ctx: UiContext) -> None:
        self._families: dict[CaseId, str] = {}
        self._people = NOBODY
        self._settings: ProgramSettings | None = None
        self.review_dialog: NoteReviewDialog | None = None
        super().__init__(ctx, label="W&aiting notes", name="Notes waiting for co-signature",
                         empty="No notes are waiting for your co-signature.", columns=[
            Column("Family", self._family),
            Column("Visit date", lambda n: day_text(n.details.visit_date)),
            Column("Author", lambda n: self._people.name(n.author)),
            Column("Signed at", lambda n: moment_text(n.signature.at, self._settings.zone)
                   if n.signature and self._settings else "not signed"),
            Column("Late entry", lambda n: "Late entry" if n.late_entry else "No"),
            Column("Co-signatures", lambda n: cosign_summary(n, settings=self._settings,
                                                             people=self._people)
                   if self._settings else "")])
        self.review_button = self.add_button("Revie&w note…", "Review note")
        self.buttons.addStretch(1)
        self.review_button.clicked.connect(self.open_review)
        self.table.activated.connect(self.open_review)

    def show_notes(self, notes: Sequence[VisitNote], families: dict[CaseId, str],
                   settings: ProgramSettings, people: Directory) -> None:
        self._families, self._settings, self._people = families, settings, people
        self.set_rows(notes)
        self.review_button.setEnabled(bool(notes))

    def _family(self, note: VisitNote) -> str:
        return self._families.get(note.case_id, "unknown family")

    def open_review(self) -> None:
        note = self.current()
        if note is None:
            return
        note_id = note.id
        query(self._ctx, lambda ws: NoteService(ws).get(note_id), owner=self) \
            .done(self._show_review).shown_in(self.message).run()

    def _show_review(self, note: VisitNote) -> None:
        assert self._settings is not None
        self.review_dialog = self.open_review_dialog(NoteReviewDialog(
            self._ctx, note, family=self._family(note), settings=self._settings,
            people=self._people, parent=self))


class MileageSection(_TableSection[MonthAwaiting]):
    """Submitted months waiting for the supervisor's approval: one reviewed at a time (a return
    needs its reason), or several selected (Shift, Ctrl, Ctrl+A) and approved after one
    question.

    Signals:
        changed: a month was approved or returned.
    """

    def __init__(self, ctx: UiContext) -> None:
        self.review_dialog: MonthReviewDialog | None = None
        self.confirmation: ConfirmDialog | None = None  # the question before approving several
        self._people = NOBODY
        super().__init__(ctx, label="W&aiting months", name="Months waiting for approval",
                         stretch=0, empty="No mileage is waiting for your approval.", columns=[
            Column("Worker", lambda m: self._people.name(m.worker_id)),
            Column("Month", lambda m: month_text(m.month)),
            Column("Miles logged", lambda m: miles_text(m.ledger.total), align_right=True),
            Column("Reimbursable", lambda m: miles_text(m.ledger.reimbursable),
                   align_right=True),
            Column("Amount", lambda m: f"${m.ledger.amount:,.2f}", align_right=True)])
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.review_button = self.add_button("Revie&w month…", "Review month")
        self.approve_button = self.add_button("Appr&ove selected…", "Approve the selected months")
        self.buttons.addStretch(1)
        self.review_button.clicked.connect(self.open_review)
        self.approve_button.clicked.connect(self.ask_to_approve)
        self.table.activated.connect(self.open_review)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())

    def show_months(self, months: Sequence[MonthAwaiting], people: Directory) -> None:
        self._people = people
        self.set_rows(months)
        self._enable()

    def _enable(self) -> None:
        self.review_button.setEnabled(self.model.rowCount() > 0)
        self.approve_button.setEnabled(bool(self.selected()))

    def selected(self) -> list[MonthAwaiting]:
        """The selected months, in the list's order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(row) for row in rows]

    def ask_to_approve(self) -> None:
        """Approving is final, so it is asked first, once for all (default: Cancel)."""
        months = self.selected()
        if not months:
            return
        self.confirmation = ConfirmDialog.ask(
            "Approve the selected months?", approval_question(months, self._people),
            f"&Approve {_months(len(months))}", self, lambda: self._approve(months))

    def _approve(self, months: list[MonthAwaiting]) -> None:
        self.approve_button.setEnabled(False)  # also what stops a second click approving twice
        keys = [(m.worker_id, m.month) for m in months]
        change(self._ctx, lambda ws: MileageService(ws).approve_each(keys), owner=self) \
            .done(lambda refused: self._approved(months, refused)) \
            .shown_in(self.message, after_failure=self._enable).run()

    def _approved(self, months: list[MonthAwaiting], refused: list[MonthRefused]) -> None:
        text = approval_outcome(months, refused, self._people)
        if refused:
            set_error(self.message, text)
        else:
            self._say(text)
        self.changed.emit()

    def open_review(self) -> None:
        month = self.current()
        if month is None:
            return
        key, worker = month.month, month.worker_id
        query(self._ctx, lambda ws: MileageService(ws).month(key, worker_id=worker), owner=self) \
            .done(lambda found: self._show_review(found, month)) \
            .shown_in(self.message, after_failure=self._enable).run()

    def _show_review(self, month: Any, awaiting: MonthAwaiting) -> None:
        self.review_dialog = self.open_review_dialog(MonthReviewDialog(
            self._ctx, month, people=self._people, parent=self,
            question=approval_question([awaiting], self._people)))


def _months(count: int) -> str:
    return f"{count} month{'' if count == 1 else 's'}"


def _by_worker(months: Sequence[tuple[UserId, str]], people: Directory) -> str:
    """'Jordan Demo (rc-1): February 2026, March 2026; Sam Lee (rc-2): March 2026'."""
    whose: dict[UserId, list[str]] = {}
    for worker, month in months:
        whose.setdefault(worker, []).append(month_text(month))
    return "; ".join(f"{people.name(w)}: {', '.join(named)}" for w, named in whose.items())


def approval_question(months: Sequence[MonthAwaiting], people: Directory) -> str:
    """How many months, whose, and the reimbursable miles and dollars they come to."""
    miles = sum((m.ledger.reimbursable for m in months), Decimal(0))
    dollars = sum((m.ledger.amount for m in months), Decimal(0))
    early = [m for m in months if m.not_over]
    warning = "" if not early else (
        f"{' and '.join(month_text(m.month) for m in early[:2])}"
        f"{' and others' if len(early) > 2 else ''} {'is' if len(early) == 1 else 'are'} not "
        "over yet: approving now makes the trips final, and the worker cannot log the rest of "
        "the month unless you return it. ")
    return (f"{warning}Approve {_months(len(months))} of mileage? "
            f"{_by_worker([(m.worker_id, m.month) for m in months], people)}. "
            f"Reimbursable in all: {miles_text(miles)} miles, ${dollars:,.2f}. Each approval "
            "is recorded with your name and the time and cannot be taken back; to have a month "
            "corrected, review it and return it instead.")


def approval_outcome(months: Sequence[MonthAwaiting], refused: Sequence[MonthRefused],
                     people: Directory) -> str:
    """What approving several months did: how many were approved, and each refusal's why."""
    done = len(months) - len(refused)
    if not refused:
        return (f"Approved {_months(done)} of mileage: "
                f"{_by_worker([(m.worker_id, m.month) for m in months], people)}.")
    why = " ".join(f"{people.name(r.worker_id)}'s {month_text(r.month)} was not approved: "
                   f"{r.reason}" for r in refused)
    return f"Approved {done} of {_months(len(months))}. {why}"


class ScreensSection(_TableSection[RandomSchedule]):
    """Pick a case, see its random screen schedules, draw next month's.

    Signals:
        changed: unused here (drawing reloads only this section).
        loaded: the chosen case's schedules are on screen.
    """

    loaded = Signal()

    def __init__(self, ctx: UiContext) -> None:
        self._today = date.min
        self.draw_dialog: DrawScheduleDialog | None = None
        super().__init__(ctx, label="Sch&edules", name="Random screen schedules",
                         empty="This case has no random screen schedule yet.", columns=[
            Column("Period", lambda s: f"{day_text(s.first_day)} to {day_text(s.last_day)}"),
            Column("Per month", lambda s: str(s.per_month), align_right=True),
            Column("Fingerprint", lambda s: s.fingerprint),
            Column("Days", self._days)])
        self.case = QComboBox()
        self.case.setAccessibleName("Family")
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(0, labelled("Famil&y", self.case))
        layout.insertWidget(2, paragraph(
            "Days are shown only once a schedule's period has started; until then they stay "
            "sealed, so nobody can know them in advance. Note each fingerprint when you draw: "
            "it shows later that the days were not changed.", name="About the schedules"))
        self.draw_button = self.add_button("&Draw next month's schedule…",
                                           "Draw next month's schedule")
        self.buttons.addStretch(1)
        self.case.currentIndexChanged.connect(self.load_schedules)
        self.draw_button.clicked.connect(self.open_draw)

    def show_cases(self, data: SupervisorData) -> None:
        """Fill the case picker and show the chosen case's schedules, read with the rest."""
        self._today = data.summary.today
        self.case.blockSignals(True)
        self.case.clear()
        for row in sorted(data.caseload, key=lambda r: r.case.family_name):
            self.case.addItem(row.case.family_name, row.case.id)
        self.case.setCurrentIndex(max(0, self.case.findData(data.chosen)))
        self.case.blockSignals(False)
        self.draw_button.setEnabled(self.case.count() > 0)
        self._show(data.chosen, data.schedules)

    def _days(self, schedule: RandomSchedule) -> str:
        if schedule.first_day > self._today:
            return f"Sealed until the period starts on {day_text(schedule.first_day)}"
        return ", ".join(day_text(d) for d in schedule.days) or "No days drawn"

    def load_schedules(self) -> None:
        case_id = self.case.currentData()
        if case_id is None:
            self.set_rows([])
            self.loaded.emit()
            return
        query(self._ctx, lambda ws: ScreenService(ws).schedules(case_id), owner=self) \
            .done(lambda found: self._show(case_id, found)).shown_in(self.message).run()

    def _show(self, case_id: CaseId | None, found: list[RandomSchedule]) -> None:
        if case_id == self.case.currentData():  # else a newer choice is on its way
            self.set_rows(found)
            self.loaded.emit()

    def open_draw(self) -> None:
        case_id = self.case.currentData()
        if case_id is None:
            return
        first, last = next_month(self._today)
        dialog = DrawScheduleDialog(self._ctx, case_id=case_id, family=self.case.currentText(),
                                    first_day=first, last_day=last,
                                    existing=self.model.rows, parent=self)
        dialog.drawn.connect(self._drawn)
        self.draw_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _drawn(self, schedule: RandomSchedule) -> None:
        self._say(f"Drawn for {self.case.currentText()}, {day_text(schedule.first_day)} to "
                  f"{day_text(schedule.last_day)}. Note this fingerprint: {schedule.fingerprint}")
        self.load_schedules()


class SupervisorPage(QWidget):
    """Everything a supervisor decides, one tab per kind of work.

    Signals:
        loaded: a refresh finished and every section shows its result.
    """

    loaded = Signal()
    export_requested = Signal(str)

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self._ctx = ctx
        self.team, self.cosign = TeamSection(ctx), CosignSection(ctx)
        self.mileage, self.screens = MileageSection(ctx), ScreensSection(ctx)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Supervision")
        for section, title in ((self.team, "Team case&loads"), (self.cosign, "Notes to co-&sign"),
                               (self.mileage, "Mileage to appro&ve"),
                               (self.screens, "&Random screens")):
            self.tabs.addTab(section, title)
        self.refresh_button = push_button("Refres&h")
        self.error = message_label("Supervision message")
        top = QHBoxLayout()
        top.addWidget(heading("Supervision"), 1)
        self.export_button = push_button("E&xport reports…", "Export reports")
        top.addWidget(self.export_button)
        top.addWidget(self.refresh_button)
        self.export_button.clicked.connect(lambda: self.export_requested.emit("visit-log"))
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.tabs, 1)
        self.error.hide()
        self.refresh_button.clicked.connect(self.refresh)
        self._follower = follow_changes(ctx, self, self.refresh)
        self.cosign.changed.connect(self._follower.reload)
        self.mileage.changed.connect(self._follower.reload)

    def show_part(self, part: str) -> None:
        """Bring a kind of work forward: "cosign" (notes to co-sign) or "mileage" (months to
        approve), as Today's supervisor sections ask; its list takes the focus."""
        sections: dict[str, CosignSection | MileageSection] = {
            "cosign": self.cosign, "mileage": self.mileage}
        section = sections.get(part)
        if section is not None:
            self.tabs.setCurrentWidget(section)
            section.table.setFocus()

    def refresh(self) -> None:
        """Read the caseload and today's waiting work again, off the UI thread."""
        chosen = self.screens.case.currentData()
        self.refresh_button.setEnabled(False)
        query(self._ctx, lambda ws: read_supervisor_data(ws, chosen), owner=self) \
            .done(self._show).shown_in(self.error, after_failure=self._not_read).run()

    def _show(self, data: SupervisorData) -> None:
        self.refresh_button.setEnabled(True)
        self.error.hide()
        summary = data.summary
        families = {row.case.id: row.case.family_name for row in data.caseload}
        self.team.show_caseload(data.caseload, data.people)
        self.cosign.show_notes(summary.awaiting_cosign, families, data.settings, data.people)
        self.mileage.show_months(summary.months_awaiting, data.people)
        self.screens.show_cases(data)
        self.tabs.setTabText(1, f"Notes to co-&sign ({len(summary.awaiting_cosign)})")
        self.tabs.setTabText(2, f"Mileage to appro&ve ({len(summary.months_awaiting)})")
        self.loaded.emit()

    def _not_read(self) -> None:
        self.refresh_button.setEnabled(True)
        self.error.show()
