"""Log or change one trip, with a live preview of what it leaves of the month's allowance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

import shiboken6
from PySide6.QtCore import QDate, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.mileage import Preview, Trip, check_trip, month_key
from fieldapp.domain.people import CaseId, TripId, UserId, new_id
from fieldapp.services.mileage import MileageService
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import miles_text, month_label
from fieldapp.ui.ops import change, query
from fieldapp.ui.widgets import labelled, message_label, paragraph, set_error

PREVIEW_DELAY_MS = 200
OFFICE = "Office"
WARNING_STYLE = ("color: black; background: #ffe08a; border: 1px solid #c77700; "
                 "border-radius: 4px; padding: 6px;")


@dataclass(frozen=True)
class CaseChoice:
    """A case the trip can be for, as the case combo shows it."""

    case_id: CaseId
    family_name: str


def plain_name(text: str) -> str:
    """A button's text as its accessible name: no mnemonic ampersand, no ellipsis."""
    return text.replace("&", "").replace("…", "").strip()


def name_inner_editors(widget: QWidget, name: str) -> None:
    """Spin boxes, date edits and editable combos hold a line edit; give it the same name."""
    widget.setAccessibleName(name)
    for inner in widget.findChildren(QLineEdit):
        inner.setAccessibleName(name)


def set_warning(label: QLabel, text: str) -> None:
    label.setStyleSheet(WARNING_STYLE if text else "")
    label.setText(text)
    label.setVisible(bool(text))


def _miles_box(name: str, maximum: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(1)
    box.setSingleStep(0.1)
    box.setRange(0.0, maximum)
    box.setKeyboardTracking(True)
    box.setAccelerated(True)
    name_inner_editors(box, name)
    return box


def _decimal(box: QDoubleSpinBox) -> Decimal:
    return Decimal(f"{box.value():.1f}")


class ConfirmDialog(QDialog):
    """A question with one action and Cancel; Cancel is the default, so Enter changes nothing.

    `cancel` names the safe choice when "Cancel" would be unclear ("Keep editing").

    Signals (QDialog's): accepted when the action is chosen, rejected on Cancel or Escape.
    """

    @classmethod
    def ask(cls, title: str, text: str, action: str, parent: QWidget,
            then: Callable[[], object], *, cancel: str = "Cancel") -> ConfirmDialog:
        """Open the question (window-modal, deleted once answered); `then` runs if the person
        chooses the action. Returns the question, for tests and to avoid asking twice."""
        dialog = cls(title, text, action, parent, cancel=cancel)
        dialog.finished.connect(dialog.deleteLater)
        dialog.accepted.connect(then)
        dialog.open()
        return dialog

    def __init__(self, title: str, text: str, action: str, parent: QWidget | None = None,
                 *, cancel: str = "Cancel") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(420)
        self.text = paragraph(text, name=title)
        self.confirm_button = QPushButton(action)
        self.confirm_button.setAccessibleName(plain_name(action))
        self.confirm_button.setAutoDefault(False)
        self.cancel_button = QPushButton(cancel)
        self.cancel_button.setAccessibleName(plain_name(cancel))
        self.cancel_button.setDefault(True)
        buttons = QDialogButtonBox()
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()


def ask_to_discard(parent: QWidget, *, thing: str, what: str, asking: ConfirmDialog | None,
                   discard: Callable[[], None]) -> ConfirmDialog:
    """Ask whether to close a changed form without saving `what` (default: keep editing);
    `discard` runs if the person says so. A question already open is not asked again.
    Returns the question being asked."""
    if asking is not None and shiboken6.isValid(asking) and asking.isVisible():
        return asking
    return ConfirmDialog.ask(f"Discard {thing}?", f"Close without saving {what}? What you "
                             "entered will be lost.", "&Discard", parent, discard,
                             cancel="Keep editing")


class TripDialog(QDialog):
    """Add a trip, or edit one; the service checks the rules and the dialog shows its refusals.

    Save is the one default button (Cancel never is, even after a refusal), so Enter saves
    and never throws a trip away; closing a changed form asks first (`discard_dialog`).

    Signals:
        saved(Trip): the trip was written; the dialog then closes.
        previewed(Preview): a fresh preview is on screen (tests wait on it).
    """

    saved = Signal(object)
    previewed = Signal(object)

    def __init__(self, ctx: UiContext, *, cases: Sequence[CaseChoice], cap: Decimal,
                 today: date, day: date, trip: Trip | None = None, revision: int = 0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._cap, self._today = ctx, cap, today
        self._trip, self._revision = trip, revision
        self._trip_id = trip.id if trip else TripId(new_id())
        self._request, self._working, self._finished = 0, False, False
        self._refused = False  # a save was refused: the fields are then checked as they change
        title = "Edit trip" if trip else "Add trip"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(520)
        self._build_fields(cases, day)
        self._build_layout()
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._run_preview)
        if trip is not None:
            self._fill(trip)
        self._connect()
        self._show_mode()
        self._schedule_preview()
        self.discard_dialog: ConfirmDialog | None = None
        self._as_opened = self._form_state()

    def _build_fields(self, cases: Sequence[CaseChoice], day: date) -> None:
        self.date = QDateEdit(QDate(day.year, day.month, day.day))
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("d MMM yyyy")  # Tab visits each part, then moves on
        self.date.setMaximumDate(QDate(self._today.year, self._today.month, self._today.day))
        name_inner_editors(self.date, "Trip date")
        places = [OFFICE, *(f"{c.family_name} home" for c in cases)]
        self.origin = QComboBox()
        self.destination = QComboBox()
        for combo, name in ((self.origin, "From"), (self.destination, "To")):
            combo.setEditable(True)
            combo.addItems(places)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            name_inner_editors(combo, name)
        self.destination.setCurrentIndex(-1)
        self.purpose = QLineEdit()
        self.purpose.setAccessibleName("Purpose")
        self.purpose.setPlaceholderText("For example: home visit, transport to treatment")
        self.case = QComboBox()
        self.case.setAccessibleName("Case")
        self.case.addItem("No case", None)
        for choice in cases:
            self.case.addItem(choice.family_name, choice.case_id)
        self.use_odometer = QCheckBox("&Use odometer readings instead of miles")
        self.use_odometer.setAccessibleName("Use odometer readings instead of miles")
        self.miles = _miles_box("Miles", 1000.0)
        self.round_trip = QCheckBox("&Round trip (the miles are doubled)")
        self.round_trip.setAccessibleName("Round trip")
        self.odometer_start = _miles_box("Odometer at the start", 9_999_999.9)
        self.odometer_end = _miles_box("Odometer at the end", 9_999_999.9)
        self.allowance = message_label("Allowance this month", lines=2)
        self.warning = message_label("Cap warning", lines=2)
        self.warning.hide()
        self.error = message_label("Error", lines=2)
        self.save_button = QPushButton("&Save trip")
        self.save_button.setAccessibleName("Save trip")
        self.save_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setAutoDefault(False)  # focus on Cancel must not make Enter discard

    def _build_layout(self) -> None:
        self.miles_box = QWidget()
        miles_row = QGridLayout(self.miles_box)
        miles_row.setContentsMargins(0, 0, 0, 0)
        miles_row.addWidget(labelled("&Miles (one way if a round trip)", self.miles), 0, 0)
        miles_row.addWidget(self.round_trip, 0, 1)
        self.odometer_box = QWidget()
        odometer_row = QGridLayout(self.odometer_box)
        odometer_row.setContentsMargins(0, 0, 0, 0)
        odometer_row.addWidget(labelled("Odometer at the s&tart", self.odometer_start), 0, 0)
        odometer_row.addWidget(labelled("Odometer at the &end", self.odometer_end), 0, 1)
        grid = QGridLayout()
        grid.addWidget(labelled("&Date", self.date), 0, 0)
        grid.addWidget(labelled("&Case (optional)", self.case), 0, 1)
        grid.addWidget(labelled("&From", self.origin), 1, 0)
        grid.addWidget(labelled("T&o", self.destination), 1, 1)
        grid.addWidget(labelled("&Purpose", self.purpose), 2, 0, 1, 2)
        buttons = QDialogButtonBox()
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        for widget in (self.use_odometer, self.miles_box, self.odometer_box, self.allowance,
                       self.warning, self.error, buttons):
            layout.addWidget(widget)
        chain = (self.date, self.origin, self.destination, self.purpose, self.case,
                 self.use_odometer, self.miles, self.round_trip, self.odometer_start,
                 self.odometer_end, self.save_button, self.cancel_button)
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)  # the order a trip is told in, not the grid's

    def _fill(self, trip: Trip) -> None:
        self.date.setDate(QDate(trip.trip_date.year, trip.trip_date.month, trip.trip_date.day))
        self.origin.setEditText(trip.origin)
        self.destination.setEditText(trip.destination)
        self.purpose.setText(trip.purpose)
        index = self.case.findData(trip.case_id) if trip.case_id else 0
        if index < 0:  # a case no longer on this caseload: keep it, by id
            self.case.addItem(f"Case {trip.case_id}", trip.case_id)
            index = self.case.count() - 1
        self.case.setCurrentIndex(index)
        odometer = trip.odometer_start is not None and trip.odometer_end is not None
        self.use_odometer.setChecked(odometer)
        if odometer:
            self.odometer_start.setValue(float(trip.odometer_start or 0))
            self.odometer_end.setValue(float(trip.odometer_end or 0))
        else:
            self.miles.setValue(float(trip.miles))
            self.round_trip.setChecked(trip.round_trip)

    def _connect(self) -> None:
        self.date.dateChanged.connect(self._schedule_preview)
        self.miles.valueChanged.connect(self._schedule_preview)
        self.odometer_start.valueChanged.connect(self._schedule_preview)
        self.odometer_end.valueChanged.connect(self._schedule_preview)
        self.round_trip.toggled.connect(self._schedule_preview)
        self.use_odometer.toggled.connect(self._show_mode)
        self.use_odometer.toggled.connect(self._schedule_preview)
        self.case.currentIndexChanged.connect(self._suggest_destination)
        for signal in (self.date.dateChanged, self.origin.editTextChanged,
                       self.destination.editTextChanged, self.purpose.textChanged,
                       self.case.currentIndexChanged, self.use_odometer.toggled,
                       self.miles.valueChanged, self.round_trip.toggled,
                       self.odometer_start.valueChanged, self.odometer_end.valueChanged):
            signal.connect(self._revalidate)

    def _form_state(self) -> tuple[object, ...]:
        """What the fields say, to tell whether closing would throw something away."""
        return (self.date.date(), self.origin.currentText(), self.destination.currentText(),
                self.purpose.text(), self.case.currentIndex(), self.use_odometer.isChecked(),
                self.miles.value(), self.round_trip.isChecked(), self.odometer_start.value(),
                self.odometer_end.value())

    def _revalidate(self) -> None:
        """After a refused save, keep the error true as the fields change: say what is still
        wrong, or nothing.

        `check_trip` is the service's own first check and pure, so it runs here on the UI
        thread; refusals it cannot see (a locked month) come back at the next save.
        """
        if not self._refused or self._working:
            return
        try:
            check_trip(self.trip(), today=self._today)
        except RuleViolation as problem:
            set_error(self.error, problem.message)
        else:
            set_error(self.error, "")

    def _show_mode(self) -> None:
        odometer = self.use_odometer.isChecked()
        self.miles_box.setVisible(not odometer)
        self.odometer_box.setVisible(odometer)

    def _suggest_destination(self) -> None:
        if self.case.currentData() is not None and not self.destination.currentText().strip():
            self.destination.setEditText(f"{self.case.currentText()} home")

    def trip(self) -> Trip:
        """The trip as the fields describe it now (not checked: the service does that)."""
        odometer = self.use_odometer.isChecked()
        start, end = _decimal(self.odometer_start), _decimal(self.odometer_end)
        picked = self.date.date()
        case_id = self.case.currentData()
        return Trip(
            id=self._trip_id,
            worker_id=self._trip.worker_id if self._trip else UserId(""),
            trip_date=date(picked.year(), picked.month(), picked.day()),
            origin=self.origin.currentText().strip(),
            destination=self.destination.currentText().strip(),
            purpose=self.purpose.text().strip(),
            miles=max(end - start, Decimal(0)) if odometer else _decimal(self.miles),
            recorded_at=self._trip.recorded_at if self._trip else self._ctx.clock(),
            case_id=CaseId(str(case_id)) if case_id is not None else None,
            round_trip=not odometer and self.round_trip.isChecked(),
            odometer_start=start if odometer else None,
            odometer_end=end if odometer else None)

    def _schedule_preview(self) -> None:
        self._preview_timer.start()  # restarts: one preview once the typing pauses

    def _run_preview(self) -> None:
        if self._finished:
            return
        trip = self.trip()
        self._request += 1
        request = self._request
        if trip.total_miles <= 0:
            self.allowance.setText("Enter the miles (or both odometer readings) to see what "
                                   "this trip leaves of the month's allowance.")
            set_warning(self.warning, "")
            return
        query(self._ctx, lambda ws: MileageService(ws).preview(trip), owner=self) \
            .done(lambda p: self._show_preview(request, trip, p)) \
            .failed(self._preview_failed).run()

    def _show_preview(self, request: int, trip: Trip, preview: Preview) -> None:
        if self._closed() or request != self._request:
            return  # the dialog closed, or the fields changed since this was asked
        when = "this month" if trip.month == month_key(self._today) \
            else f"in {month_label(trip.month)}"
        text = f"{miles_text(preview.remaining_before)} of {miles_text(self._cap)} miles " \
               f"left {when}. This trip: {miles_text(trip.total_miles)} miles"
        if preview.crosses_cap:
            text += f", {miles_text(preview.reimbursable)} of them reimbursable."
        else:
            text += ", all reimbursable."
        self.allowance.setText(text)
        warnings = []
        if preview.over_cap > 0:
            warnings.append(f"⚠ This trip crosses the monthly cap: "
                            f"{miles_text(preview.over_cap)} miles will be logged but not "
                            "reimbursed.")
        if preview.displaced > 0:
            warnings.append(f"⚠ It is dated before other trips this month and is paid first: "
                            f"{miles_text(preview.displaced)} miles of those later trips will "
                            "no longer be reimbursed.")
        set_warning(self.warning, "\n".join(warnings))
        self.previewed.emit(preview)

    def _preview_failed(self, error: KnownError) -> None:
        if not self._closed():
            self.allowance.setText(f"No preview: {error.message}")

    def _save(self) -> None:
        if self._working:
            return
        self._working = True
        self.save_button.setEnabled(False)
        self.cancel_button.setEnabled(False)  # the save goes ahead; closing now would hide it
        set_error(self.error, "")
        trip, revision, new = self.trip(), self._revision, self._trip is None
        change(self._ctx, lambda ws: MileageService(ws).add_trip(trip) if new else
               MileageService(ws).edit_trip(trip, expected_revision=revision), owner=self) \
            .done(self._saved).failed(self._save_failed, after_failure=self._stop_working).run()

    def _saved(self, trip: Trip) -> None:
        self._working = False
        if self._closed():
            return
        self.saved.emit(trip)
        self.accept()

    def _stop_working(self) -> None:
        self._working = False

    def _save_failed(self, error: KnownError) -> None:
        if not self._closed():
            self.save_button.setEnabled(True)
            self.cancel_button.setEnabled(True)
            self.save_button.setDefault(True)  # disabling it handed the default on
            self._refused = True
            set_error(self.error, error.message)

    def _closed(self) -> bool:
        """True once the dialog is done or deleted: late answers from the worker are dropped."""
        return self._finished or not shiboken6.isValid(self)

    def reject(self) -> None:
        """Escape, Cancel or the close box: a changed form asks before it is thrown away."""
        if self._working:  # Escape while saving waits for the answer
            return
        if self._form_state() == self._as_opened:
            super().reject()
            return
        self.discard_dialog = ask_to_discard(
            self, thing="trip", what="your changes to this trip" if self._trip else "this trip",
            asking=self.discard_dialog, discard=self._discard)

    def _discard(self) -> None:
        if not self._closed() and not self._working:
            super().reject()

    def done(self, result: int) -> None:
        """Closing stops the preview; answers still on their way are then ignored."""
        self._finished = True
        self._preview_timer.stop()
        super().done(result)
