"""The Mileage page: a month's trips, the cap meter, submitting the month, and the year's chart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.errors import NotPermitted
from fieldapp.domain.mileage import EDITABLE, Allocation, MileageMonth, MonthStatus, Trip, month_key
from fieldapp.domain.people import CaseId
from fieldapp.services import enrolment
from fieldapp.services.casework import CaseService
from fieldapp.services.mileage import MileageService
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.ui import shortcuts
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import (
    MileageChart,
    day_text,
    lock_text,
    miles_text,
    month_label,
    shift_month,
    status_text,
    used_text,
)
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import change, follow_changes, on_profile, query
from fieldapp.ui.trip_dialog import CaseChoice, ConfirmDialog, TripDialog, plain_name
from fieldapp.ui.widgets import heading, message_label, set_error

SELECT_FIRST = "Select a trip in the table first."


@dataclass(frozen=True)
class MonthData:
    """One refresh's worth of facts, read in one worker call."""

    ledger: MileageMonth
    today: date
    return_reason: str
    cases: tuple[CaseChoice, ...]
    connected: bool  # enrolled with the program's server: a submitted month can reach it


def _button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(plain_name(text))
    return button


def _miles_tooltip(allocation: Allocation) -> str:
    trip = allocation.trip
    if trip.odometer_start is not None and trip.odometer_end is not None:
        return f"Odometer {miles_text(trip.odometer_start)} to {miles_text(trip.odometer_end)}"
    return f"Round trip: {miles_text(trip.miles)} miles each way" if trip.round_trip else ""


def submit_question(data: MonthData) -> str:
    """What submitting the month shown means: it locks the month (said first while the month
    is not over), and without a server it waits for the next sync."""
    ledger = data.ledger
    name = month_label(ledger.month)
    figures = (f"{miles_text(ledger.total)} miles logged, "
               f"{miles_text(ledger.reimbursable)} reimbursable (${ledger.amount:,.2f}).")
    if ledger.month == month_key(data.today):
        text = (f"{name.split()[0]} is not over. Submitting now locks it: you cannot add or "
                f"change trips in it until your supervisor returns it. Submit it now? {figures}")
    else:
        text = (f"Submit {name} to your supervisor? {figures} Once it is submitted its trips "
                "cannot be changed unless your supervisor returns it.")
    if not data.connected:
        text += (" This profile is not connected to the program's server yet: the month goes "
                 "to your supervisor at the next sync, once you connect it in Settings.")
    return text


class MileagePage(QWidget):
    """Trips of one month against the monthly cap.

    Signals:
        loaded: the page shows fresh figures for its month (tests wait on it).
    """

    loaded = Signal()
    export_requested = Signal(str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._month: str | None = None  # None: this month, as the program's calendar says
        self._request = 0
        self._working = False
        self.data: MonthData | None = None
        self._case_names: dict[CaseId, str] = {}
        self.trip_dialog: TripDialog | None = None
        self.confirm_dialog: ConfirmDialog | None = None
        self.model: RowsModel[Allocation] = RowsModel(self._columns(), self)
        self._build()
        self._wire()
        self._update_buttons()
        self._follower = follow_changes(ctx, self, self.refresh)

    def _columns(self) -> list[Column[Allocation]]:
        def case_name(a: Allocation) -> str:
            if a.trip.case_id is None:
                return "No case"
            return self._case_names.get(a.trip.case_id, "Not on your caseload")

        return [
            Column("Date", lambda a: day_text(a.trip.trip_date)),
            Column("From", lambda a: a.trip.origin),
            Column("To", lambda a: a.trip.destination),
            Column("Purpose", lambda a: a.trip.purpose),
            Column("Case", case_name),
            Column("Miles", lambda a: miles_text(a.trip.total_miles), align_right=True,
                   tooltip=_miles_tooltip),
            Column("Reimbursable", lambda a: miles_text(a.reimbursable), align_right=True),
            Column("Over cap", lambda a: miles_text(a.over_cap), align_right=True,
                   tooltip=lambda a: "Logged but not reimbursed" if a.over_cap else ""),
        ]

    def _build(self) -> None:
        self.previous_button = _button("◀ Pre&vious month")
        self.month_label = QLabel("…")
        self.month_label.setAccessibleName("Month shown")
        font = self.month_label.font()
        font.setBold(True)
        self.month_label.setFont(font)
        self.next_button = _button("Ne&xt month ▶")
        self.this_month_button = _button("T&his month")
        nav = QHBoxLayout()
        for widget in (self.previous_button, self.month_label, self.next_button):
            nav.addWidget(widget)
        nav.addStretch(1)
        nav.addWidget(self.this_month_button)
        self.meter = QProgressBar()
        self.meter.setAccessibleName("Reimbursable miles used this month")
        self.meter.setTextVisible(True)
        self.summary = message_label("Month summary")
        self.status = message_label("Month status", lines=2)
        self.lock_note = message_label("Why trips cannot be changed", lines=2)
        self.lock_note.hide()
        self.table = self._build_table()
        self.add_button = _button("&Add trip…")
        self.add_button.setToolTip("Add a trip (Ctrl+T)")
        self.edit_button = _button("&Edit trip…")
        self.remove_button = _button("&Remove trip")
        self.submit_button = _button("&Submit month…")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.export_button = _button("E&xport…")
        self.export_button.setAccessibleName("Export a mileage reimbursement report")
        self.export_button.clicked.connect(lambda: self.export_requested.emit("mileage"))
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.submit_button)
        self.message = message_label("Mileage message", lines=2)
        self.chart = MileageChart(self._ctx)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Mileage"))
        layout.addLayout(nav)
        for part in (self.meter, self.summary, self.status, self.lock_note):
            layout.addWidget(part)
        trips_label = QLabel("Tr&ips this month")
        trips_label.setBuddy(self.table)
        layout.addWidget(trips_label)
        layout.addWidget(self.table, 3)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.chart, 2)

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setAccessibleName("Trips this month")
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setAccessibleName("Trip columns")
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        table.verticalScrollBar().setAccessibleName("Scroll the trips")
        table.horizontalScrollBar().setAccessibleName("Scroll the trip columns")
        for corner in table.findChildren(QAbstractButton):
            corner.setAccessibleName("Select all trips")
        return table

    def _wire(self) -> None:
        self.previous_button.clicked.connect(lambda: self._go(-1))
        self.next_button.clicked.connect(lambda: self._go(1))
        self.this_month_button.clicked.connect(lambda: self.show_month(None))
        self.add_button.clicked.connect(self.add_trip)
        self.edit_button.clicked.connect(self.edit_trip)
        self.remove_button.clicked.connect(self.remove_trip)
        self.submit_button.clicked.connect(self.submit_month)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.activated.connect(lambda _index: self.edit_trip())
        add = QAction("Add trip", self)
        shortcuts.give(shortcuts.ADD_TRIP, add)
        add.triggered.connect(self.add_trip)
        self.addAction(add)
        remove = QAction("Remove trip", self.table)
        shortcuts.give(shortcuts.REMOVE_TRIP, remove)
        remove.triggered.connect(self.remove_trip)
        self.table.addAction(remove)

    # Reading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the month shown (this month at first) and the chart, off the UI thread."""
        self._request += 1
        request, month = self._request, self._month

        def read(session: Session) -> MonthData:
            workspace = session.workspace()
            ledger = MileageService(workspace).month(month or month_key(workspace.today()))
            reason = MileageService(workspace).return_reason(ledger.month) \
                if ledger.status is MonthStatus.RETURNED else ""
            try:
                caseload = CaseService(workspace).caseload()
            except NotPermitted:  # an administrator: trips without cases
                caseload = []
            cases = tuple(CaseChoice(case_id=row.case.id, family_name=row.case.family_name)
                          for row in caseload)
            return MonthData(ledger=ledger, today=workspace.today(), return_reason=reason,
                             cases=tuple(sorted(cases, key=lambda c: c.family_name)),
                             connected=enrolment.enrolment_of(session) is not None)

        on_profile(self._ctx.runner, self._ctx.session, read, owner=self) \
            .done(lambda data: self._show(request, data)) \
            .shown_in(self.message, after_failure=self._idle).run()
        self.chart.refresh()

    def show_month(self, month: str | None) -> None:
        """Show `month` ('2026-10'), or this month for None."""
        self._month = month
        self.refresh()

    def _go(self, delta: int) -> None:
        if self.data is not None:
            self.show_month(shift_month(self.data.ledger.month, delta))

    def _show(self, request: int, data: MonthData) -> None:
        if request != self._request:
            return  # the person moved on to another month
        self.data = data
        ledger = data.ledger
        self._month = ledger.month
        self._case_names = {c.case_id: c.family_name for c in data.cases}
        self.month_label.setText(month_label(ledger.month))
        self.model.set_rows(ledger.allocations)
        self._show_meter(ledger)
        self.status.setText(status_text(ledger.status, data.return_reason,
                                        connected=data.connected))
        note = lock_text(ledger)
        self.lock_note.setText(note)
        self.lock_note.setVisible(bool(note))
        self._update_buttons()
        self.loaded.emit()

    def _show_meter(self, ledger: MileageMonth) -> None:
        text = used_text(ledger)
        self.meter.setRange(0, max(1, int(ledger.cap * 10)))
        self.meter.setValue(min(self.meter.maximum(), int(ledger.reimbursable * 10)))
        self.meter.setFormat(text)
        self.meter.setAccessibleDescription(text)
        trips = len(ledger.allocations)
        summary = f"Logged: {miles_text(ledger.total)} miles in {trips} " \
                  f"trip{'' if trips == 1 else 's'}."
        if ledger.over_cap > 0:
            summary += f" {miles_text(ledger.over_cap)} miles are over the cap: logged, " \
                       "not reimbursed."
        if ledger.provisional:
            summary += " Provisional until the next sync: the program's server settles " \
                       "reimbursable miles across all your devices."
        self.summary.setText(summary)

    def _update_buttons(self) -> None:
        data = self.data
        editable = data is not None and data.ledger.status in EDITABLE and not self._working
        selected = self.selected() is not None
        locked = "" if data is None else lock_text(data.ledger)
        self.add_button.setEnabled(editable)
        self.edit_button.setEnabled(editable and selected)
        self.remove_button.setEnabled(editable and selected)
        self.submit_button.setEnabled(editable)
        self.add_button.setToolTip(locked or "Add a trip (Ctrl+T)")
        for button in (self.edit_button, self.remove_button):
            button.setToolTip(locked or ("" if selected else SELECT_FIRST))
        self.submit_button.setToolTip(locked or "Send the month to your supervisor")
        this_month = data is not None and data.ledger.month == month_key(data.today)
        self.next_button.setEnabled(data is not None and not this_month)
        self.next_button.setToolTip("This is the current month; later months have no trips "
                                    "yet." if this_month else "")

    def selected(self) -> Allocation | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    # Changing ----------------------------------------------------------------------------

    def _refused(self, *, needs_trip: bool) -> bool:
        """Say why an action cannot run now (nothing is refused silently); True if so."""
        if self.data is None or self._working:
            why = "Wait a moment: the month is still being read or saved."
        else:
            why = lock_text(self.data.ledger) or \
                (SELECT_FIRST if needs_trip and self.selected() is None else "")
        if why:
            set_error(self.message, why)
        return bool(why)

    def add_trip(self) -> None:
        if self._refused(needs_trip=False):
            return
        assert self.data is not None
        ledger, today = self.data.ledger, self.data.today
        first = date.fromisoformat(f"{ledger.month}-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        self._open_dialog(day=min(today, last), trip=None, revision=0)

    def edit_trip(self) -> None:
        if self._refused(needs_trip=True):
            return
        allocation = self.selected()
        assert allocation is not None
        trip_id = allocation.trip.id
        query(self._ctx, lambda ws: MileageService(ws).trip(trip_id), owner=self) \
            .done(self._edit_with_revision) \
            .shown_in(self.message, after_failure=self._idle).run()

    def _edit_with_revision(self, found: tuple[Trip, int]) -> None:
        trip, revision = found
        self._open_dialog(day=trip.trip_date, trip=trip, revision=revision)

    def _open_dialog(self, *, day: date, trip: Trip | None, revision: int) -> None:
        assert self.data is not None
        set_error(self.message, "")
        dialog = TripDialog(self._ctx, cases=self.data.cases, cap=self.data.ledger.cap,
                            today=self.data.today, day=day, trip=trip, revision=revision,
                            parent=self)
        dialog.saved.connect(lambda saved: self._after_change(
            f"Trip on {day_text(saved.trip_date)} saved."))
        dialog.finished.connect(dialog.deleteLater)
        self.trip_dialog = dialog
        dialog.open()

    def remove_trip(self) -> None:
        if self._refused(needs_trip=True):
            return
        allocation = self.selected()
        assert allocation is not None
        trip = allocation.trip
        dialog = self._confirm(
            "Remove trip",
            f"Remove the trip on {day_text(trip.trip_date)} from {trip.origin} to "
            f"{trip.destination} ({miles_text(trip.total_miles)} miles)? This cannot be undone.",
            "&Remove trip")
        dialog.accepted.connect(lambda: self._write(
            lambda ws: MileageService(ws).remove_trip(trip.id), "Trip removed."))

    def submit_month(self) -> None:
        if self._refused(needs_trip=False):
            return
        assert self.data is not None
        data = self.data
        name = month_label(data.ledger.month)
        early = data.ledger.month == month_key(data.today)
        dialog = self._confirm(f"Submit {name} before it ends" if early else f"Submit {name}",
                               submit_question(data), "Submit &now")  # not Alt+S again
        month = data.ledger.month
        done = f"{name} submitted." if data.connected else \
            f"{name} submitted; it goes to your supervisor at the next sync."
        dialog.accepted.connect(lambda: self._write(
            lambda ws: MileageService(ws).submit(month), done))

    def _confirm(self, title: str, text: str, action: str) -> ConfirmDialog:
        dialog = ConfirmDialog(title, text, action, self)
        dialog.finished.connect(dialog.deleteLater)
        self.confirm_dialog = dialog
        dialog.open()
        return dialog

    def _write(self, fn: Callable[[Workspace], object], done: str) -> None:
        self._working = True
        self._update_buttons()
        set_error(self.message, "")
        change(self._ctx, fn, owner=self).done(lambda _: self._after_change(done)) \
            .shown_in(self.message, after_failure=self._idle).run()

    def _after_change(self, done: str) -> None:
        self._working = False
        set_error(self.message, "")
        self.message.setText(done)
        self._follower.reload()

    def _idle(self) -> None:
        self._working = False
        self._update_buttons()
