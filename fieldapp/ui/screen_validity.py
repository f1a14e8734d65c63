"""Parts of the drug screen form: the validity readings, the call-in times, what they show;
the results grid's "Not entered" state and the window's size on a small screen."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QModelIndex,
    QPersistentModelIndex,
    QRegularExpression,
    Qt,
    QTime,
    QTimeZone,
    Signal,
)
from PySide6.QtGui import QFont, QRegularExpressionValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateTimeEdit, QHBoxLayout, QLineEdit, QWidget

from fieldapp.domain.screens import DrugScreen, results_to_enter
from fieldapp.domain.validity import UNCONFIRMED, ValidityReadings, court_status, measured
from fieldapp.ui.panel_model import RESULT, PanelModel, ResultDelegate, name_with_inner
from fieldapp.ui.widgets import labelled

# A random call-in is due eight hours after the notice unless the person was told otherwise:
# a morning call then runs to the end of that working day, and an evening call is not due
# before the next morning. The field is there to be changed to what the person was told.
DUE_AFTER = timedelta(hours=8)

_UTC = QTimeZone(QTimeZone.Initialization.UTC)  # the edits hold program-local wall time
_OXIDANT = (("Not tested", None), ("Not detected", False), ("Detected", True))
NOT_ENTERED = "Not entered"


class ResultsModel(PanelModel):
    """The form's panel: while results apply, a substance with no result reads "Not entered".

    Nothing is filled in for the person: a new screen starts with every result unset. When
    results do not apply (a refusal, a no-show) an empty row reads "not tested" as before.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._apply = True

    def set_results_apply(self, apply: bool) -> None:
        self._apply = apply
        self._changed_all()

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        value = super().data(index, role)
        if not self._apply or not self._valid(index) \
                or self.panel[index.row()] in self.results():
            return value
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{self.panel[index.row()]}: {NOT_ENTERED}"
        if index.column() == RESULT and role == Qt.ItemDataRole.DisplayRole:
            return NOT_ENTERED
        if index.column() == RESULT and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)  # with the words, not instead of them
            return font
        return value


class ResultsDelegate(ResultDelegate):
    """The result list opens with nothing chosen for an unset result, so closing it records
    nothing; the list itself only offers negative, positive and inconclusive."""

    def setEditorData(self, editor: QWidget,  # noqa: N802 - Qt API
                      index: QModelIndex | QPersistentModelIndex) -> None:
        super().setEditorData(editor, index)
        if isinstance(editor, QComboBox) and not index.data(Qt.ItemDataRole.EditRole):
            editor.setCurrentIndex(-1)


class ReadingsBox(QWidget):
    """Creatinine, specific gravity, pH and the oxidant test; an empty field is "not measured".

    The fields accept only the shape of a number (specific gravity to four decimals); whether a
    value is plausible is the screen rules' to say, when it is saved.

    Signals:
        changed(): any reading was edited.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.creatinine = _number_field("Creatinine, mg/dL", r"\d{1,4}(\.\d{0,2})?")
        self.specific_gravity = _number_field("Specific gravity", r"\d(\.\d{0,4})?")
        self.ph = _number_field("pH", r"\d{1,2}(\.\d{0,2})?")
        self.oxidant = QComboBox()
        self.oxidant.setAccessibleName("Oxidizing adulterant")
        for text, value in _OXIDANT:
            self.oxidant.addItem(text, value)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for text, field in (("Creatinine (mg/dL)", self.creatinine),
                            ("Specific gravit&y", self.specific_gravity), ("pH", self.ph),
                            ("Oxidi&zing adulterant", self.oxidant)):
            row.addWidget(labelled(text, field))
        for edit in (self.creatinine, self.specific_gravity, self.ph):
            edit.textChanged.connect(self.changed)
        self.oxidant.currentIndexChanged.connect(self.changed)

    def set_readings(self, readings: ValidityReadings | None) -> None:
        taken = readings or ValidityReadings()
        for edit, value in ((self.creatinine, taken.creatinine),
                            (self.specific_gravity, taken.specific_gravity), (self.ph, taken.ph)):
            edit.setText("" if value is None else format(value, "f"))
        self.oxidant.setCurrentIndex(next(i for i, (_, v) in enumerate(_OXIDANT)
                                          if v is taken.oxidant))

    def readings(self) -> ValidityReadings | None:
        """What the fields say; None when nothing was measured."""
        oxidant = self.oxidant.currentData()
        taken = ValidityReadings(creatinine=_decimal(self.creatinine),
                                 specific_gravity=_decimal(self.specific_gravity),
                                 ph=_decimal(self.ph),
                                 oxidant=None if oxidant is None else bool(oxidant))
        return None if taken.empty else taken

    def set_editable(self, editable: bool) -> None:
        for edit in (self.creatinine, self.specific_gravity, self.ph):
            edit.setReadOnly(not editable)
        self.oxidant.setEnabled(editable)


class CallInBox(QWidget):
    """When the person was told to come and when the specimen was due by, in program time.

    Unticking "Call-in times known" records neither (a screen from before they were kept).

    Signals:
        changed(): a time or the tick changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone: ZoneInfo | None = None
        self._original: dict[int, datetime] = {}
        self.known = QCheckBox("Call-in times &known")
        self.known.setAccessibleName("Call-in times known")
        self.notified_at = moment_field("Told to come at, program time")
        self.due_by = moment_field("Due by, program time")
        self.due_by.setToolTip("When the specimen had to be given. A new random screen starts "
                               "eight hours after the notice: change it to what the person "
                               "was told.")
        self._told_box = labelled("Told to come at (program time)", self.notified_at)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.known)
        row.addWidget(self._told_box)
        row.addWidget(labelled("Due &by (program time)", self.due_by))
        self.known.toggled.connect(self._known_toggled)
        self.notified_at.dateTimeChanged.connect(self.changed)
        self.due_by.dateTimeChanged.connect(self.changed)

    def set_zone(self, zone: ZoneInfo) -> None:
        self._zone = zone

    def set_defaults(self, now: datetime) -> None:
        """A new screen: told now, due eight hours later."""
        self.set_times(now, now + DUE_AFTER)

    def set_times(self, notified: datetime | None, due: datetime | None) -> None:
        self.known.setChecked(due is not None)
        for edit, moment in ((self.notified_at, notified), (self.due_by, due)):
            if moment is not None:
                self._set(edit, moment)
        self._known_toggled(self.known.isChecked())

    def times(self, *, told: bool) -> tuple[datetime | None, datetime | None]:
        """(told to come at, due by); the notice only when `told` (a random call-in)."""
        if not self.known.isChecked():
            return None, None
        return (self._read(self.notified_at) if told else None), self._read(self.due_by)

    def show_for(self, *, random: bool, no_show: bool) -> None:
        """Shown for a random call-in (both times) and for any no-show (the due-by time)."""
        self.setVisible(random or no_show)
        self._told_box.setVisible(random)

    def set_editable(self, editable: bool) -> None:
        self.known.setEnabled(editable)
        for edit in (self.notified_at, self.due_by):
            edit.setReadOnly(not editable)

    def _known_toggled(self, known: bool) -> None:
        for edit in (self.notified_at, self.due_by):
            edit.setEnabled(known)
        self.changed.emit()

    def _set(self, edit: QDateTimeEdit, moment: datetime) -> None:
        assert self._zone is not None
        self._original[id(edit)] = moment
        show_moment(edit, moment, self._zone)

    def _read(self, edit: QDateTimeEdit) -> datetime:
        assert self._zone is not None
        return read_moment(edit, self._zone, self._original.get(id(edit)))


def moment_field(name: str) -> QDateTimeEdit:
    """A date and time edit holding the program's wall time (shown to the minute)."""
    edit = QDateTimeEdit()
    edit.setTimeZone(_UTC)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd HH:mm")
    name_with_inner(edit, name)
    return edit


def show_moment(edit: QDateTimeEdit, moment: datetime, zone: ZoneInfo) -> None:
    local = moment.astimezone(zone)
    edit.setDateTime(QDateTime(QDate(local.year, local.month, local.day),
                               QTime(local.hour, local.minute), _UTC))


def read_moment(edit: QDateTimeEdit, zone: ZoneInfo, original: datetime | None) -> datetime:
    """The edit's wall time in `zone`; `original` itself when the minute shown is unchanged,
    so a correction keeps the stored seconds."""
    shown = edit.dateTime()
    day, time = shown.date(), shown.time()
    moment = datetime(day.year(), day.month(), day.day(), time.hour(), time.minute(),
                      tzinfo=zone)
    if original is not None and \
            original.astimezone(zone).replace(second=0, microsecond=0) == moment:
        return original
    return moment


def validity_line(screen: DrugScreen) -> tuple[str, bool]:
    """The readings' classification beside the collector's, and whether the two disagree."""
    finding = measured(screen)
    collector = f"Collector: {screen.validity}."
    if finding is None:
        return f"Measured: nothing measured, so the collector's judgement stands. {collector}", \
            False
    if finding.validity is None:
        return f"Measured: too few readings — {finding.reason}. {collector}", False
    line = f"Measured: {finding.validity} — {finding.reason}. {collector}"
    if finding.validity is screen.validity:
        return line, False
    return (f"DISAGREE: the readings say {finding.validity}, the collector judged "
            f"{screen.validity}. Check both before saving.\n{line}"), True


def court_line(screen: DrugScreen) -> tuple[str, bool]:
    """The court status line, and whether it is the unconfirmed warning."""
    waiting = results_to_enter(screen)
    if waiting:
        return (f"Court status: not entered yet ({len(waiting)} of {len(screen.panel)} "
                "results still to enter)."), False
    status = court_status(screen)
    late = " Collected after the due-by time: late for the call-in." \
        if screen.late_for_call_in else ""
    if status == UNCONFIRMED:
        return ("Court status: UNCONFIRMED, NOT FOR COURT: a positive result without lab "
                f"confirmation.{late}"), True
    return f"Court status: {status}.{late}", bool(late)


def _number_field(name: str, pattern: str) -> QLineEdit:
    field = QLineEdit()
    field.setAccessibleName(name)
    field.setPlaceholderText("not measured")
    field.setValidator(QRegularExpressionValidator(QRegularExpression(pattern), field))
    field.setMaximumWidth(120)
    return field


def _decimal(field: QLineEdit) -> Decimal | None:
    text = field.text().strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # the validator lets nothing else through; say "not measured"
        return None
