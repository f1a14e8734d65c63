"""The note editor's parts: the visit form and its fields, the attestation, the addendum dialog."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QEvent, Qt, QTime, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain import visits
from fieldapp.domain.formats import moment_text
from fieldapp.domain.people import NoteId, UserId
from fieldapp.domain.visits import ContactType, NoteStatus, Place, VisitDetails, VisitNote
from fieldapp.services.directory import Directory
from fieldapp.services.notes import NoteService
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import Op, change
from fieldapp.ui.widgets import heading, labelled, message_label, paragraph, set_error

STATUS_TEXT = {
    NoteStatus.DRAFT: "Draft: not signed yet.",
    NoteStatus.SIGNED: "Signed: waiting for a supervisor's review.",
    NoteStatus.RETURNED: "Returned for correction: answer with an addendum.",
    NoteStatus.COSIGNED: "Co-signed by a supervisor.",
}
RETURNED_STYLE = "background: #fff4ce; color: #3b2f00; border: 2px solid #c69026; " \
                 "border-radius: 4px; padding: 8px;"


def when(moment: datetime, zone: ZoneInfo) -> str:
    """'24 Nov 2026, 10:42' (in the locale's style) in the program's time zone."""
    return moment_text(moment, zone)


def who(user_id: UserId, me: UserId, people: Directory) -> str:
    """'you', or the person's name (and id) from the team directory."""
    return "you" if user_id == me else people.name(user_id)


RunFn = Callable[[Op[Any]], None]  # sends an operation; the note editor counts its own
# Where the form says what stops signing: one place per row of fields, top to bottom, and
# which `VisitDetails` fields share a row's place.
PROBLEM_PLACES = {"times": "Visit date and times", "people_present": "People present",
                  "services": "Services provided", "safety_description": "Safety concerns",
                  "narrative": "Narrative", "next_visit_date": "Next visit date"}
PROBLEM_FIELDS = {"visit_date": "times", "time_in": "times", "time_out": "times"}
SERVICE_ROLE = Qt.ItemDataRole.UserRole + 1


def name_scrollbars(area: QAbstractScrollArea, name: str) -> None:
    area.verticalScrollBar().setAccessibleName(f"Scroll {name}")
    area.horizontalScrollBar().setAccessibleName(f"Scroll {name} sideways")


def name_spinbox(box: QAbstractSpinBox, name: str) -> None:
    box.setAccessibleName(name)
    inner = box.findChild(QLineEdit)
    if inner is not None:
        inner.setAccessibleName(name)


def text_box(name: str, lines: int, *, grow: bool = False) -> QPlainTextEdit:
    """Plain text only; Tab moves on (a keyboard user must be able to leave the field).

    `lines` high; only a box that may `grow` takes spare height.
    """
    box = QPlainTextEdit()
    box.setAccessibleName(name)
    box.setTabChangesFocus(True)
    height = box.fontMetrics().lineSpacing() * lines + 12
    if grow:
        box.setMinimumHeight(height)
    else:
        box.setFixedHeight(height)
    name_scrollbars(box, name)
    return box


def to_qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def from_qdate(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


class KeyboardEntry:
    """Typing into a date or time field the way people type into any other field.

    Qt's date and time edits keep Tab for moving between their own sections and ignore digits
    typed over a whole selection; here Tab moves to the next field, focus selects the whole
    text, and digits typed over it replace it from the first section ("1430", "14:30",
    "2026-11-20" and "20261120" all work: a separator typed right after a section filled itself
    in is not taken as "skip the next section").
    """

    def __init__(self, edit: QDateTimeEdit) -> None:
        self._edit = edit
        self._filled = False  # the last digit filled a section and the cursor moved on

    def leave_on_tab(self, event: QEvent) -> bool:
        """Move the focus on Tab / Shift+Tab; True when `event` was that key."""
        if event.type() is not QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        held = event.modifiers()
        if event.key() not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) or held & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        forward = event.key() == Qt.Key.Key_Tab and not held & Qt.KeyboardModifier.ShiftModifier
        QAbstractSpinBox.focusNextPrevChild(self._edit, forward)  # not the section-stepping one
        return True

    def focused(self, event: QFocusEvent) -> None:
        if event.reason() is not Qt.FocusReason.MouseFocusReason:
            self._edit.selectAll()
        self._filled = False

    def swallow(self, event: QKeyEvent) -> bool:
        """Prepare for `event` before Qt sees it; True when Qt must not see it."""
        typed, filled, self._filled = event.text(), self._filled, False
        if typed and not typed.isdigit() and typed.isprintable() and filled:
            return True  # the separator after a complete section: the cursor is already past it
        line = self._edit.findChild(QLineEdit)
        if typed.isdigit() and line is not None and line.hasSelectedText() \
                and line.selectedText() == line.text():
            first = self._edit.sectionAt(0)
            self._edit.setCurrentSection(first)
            self._edit.setSelectedSection(first)
        return False

    def typed(self, event: QKeyEvent, section_before: QDateTimeEdit.Section) -> None:
        self._filled = event.text().isdigit() and self._edit.currentSection() != section_before


class DateEdit(QDateEdit):
    """A date typed as yyyy-MM-dd (see `KeyboardEntry`), or picked from the calendar."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._entry = KeyboardEntry(self)
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd")
        name_spinbox(self, name)

    def event(self, event: QEvent) -> bool:
        return self._entry.leave_on_tab(event) or super().event(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(event)
        self._entry.focused(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if not self._entry.swallow(event):
            before = self.currentSection()
            super().keyPressEvent(event)
            self._entry.typed(event, before)


class TimeEdit(QTimeEdit):
    """A time that may be unset: its minimum (00:00) reads "Not set". Typing a digit starts a
    time; Delete or Backspace on the whole text unsets it. (Exactly midnight cannot be set.)
    Typed like any field (see `KeyboardEntry`)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._entry = KeyboardEntry(self)
        self.setDisplayFormat("HH:mm")
        self.setMinimumTime(QTime(0, 0))
        self.setSpecialValueText("Not set")
        self.setTime(QTime(0, 0))
        name_spinbox(self, name)

    def event(self, event: QEvent) -> bool:
        return self._entry.leave_on_tab(event) or super().event(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(event)
        self._entry.focused(event)

    def value(self) -> time | None:
        chosen = self.time()
        return None if chosen == self.minimumTime() else time(chosen.hour(), chosen.minute())

    def set_value(self, value: time | None) -> None:
        self.setTime(QTime(value.hour, value.minute) if value else self.minimumTime())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        line = self.findChild(QLineEdit)
        if self.value() is None and event.text().isdigit() and not self.isReadOnly():
            self.setTime(QTime(12, 0))
            self.setCurrentSection(QTimeEdit.Section.HourSection)
            self.setSelectedSection(QTimeEdit.Section.HourSection)
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and line is not None \
                and line.selectedText() == line.text() and not self.isReadOnly():
            self.setTime(self.minimumTime())
            return
        if not self._entry.swallow(event):
            before = self.currentSection()
            super().keyPressEvent(event)
            self._entry.typed(event, before)


def combo(name: str, values: list[Any]) -> QComboBox:
    box = QComboBox()
    box.setAccessibleName(name)
    for value in values:
        box.addItem(str(value).capitalize(), value)
    return box


def fill_services(model: QStandardItemModel, available: tuple[str, ...],
                  chosen: tuple[str, ...]) -> None:
    """One checkable row per service; a stored service no longer offered is kept, ticked."""
    model.clear()
    for name in (*available, *(s for s in chosen if s not in available)):
        item = QStandardItem(name if name in available else f"{name} (no longer offered)")
        item.setData(name, SERVICE_ROLE)
        item.setCheckable(True)
        item.setEditable(False)
        item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
        model.appendRow(item)


class VisitForm(QWidget):
    """Every field of `VisitDetails`, with labels, mnemonics and accessible names.

    Signals:
        changed: the person changed something.
    """

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.visit_date = DateEdit("Visit date")
        self.time_in, self.time_out = TimeEdit("Time in"), TimeEdit("Time out")
        self.place = combo("Place", list(Place))
        self.contact_type = combo("Contact type", list(ContactType))
        self.people = text_box("People present, one per line", 3)
        self.people.setPlaceholderText("One person per line")
        self.services = QStandardItemModel(self)
        self.services_view = QListView()
        self.services_view.setAccessibleName("Services provided")
        self.services_view.setModel(self.services)
        self.services_view.setFixedHeight(self.fontMetrics().lineSpacing() * 7 + 16)
        name_scrollbars(self.services_view, "services")
        self.safety = QCheckBox("Sa&fety concerns seen")
        self.safety.setAccessibleName("Safety concerns seen")
        self.safety_description = text_box("Description of the safety concerns", 3)
        self.narrative = text_box("Narrative", 12, grow=True)
        self.next_steps = text_box("Next steps", 4)
        self.next_visit = DateEdit("Next visit date")
        self.no_next_visit = QCheckBox("No ne&xt visit set")
        self.no_next_visit.setAccessibleName("No next visit set")
        # What stops signing, said under the field it is about (hidden while there is none).
        self.problem_labels = {key: message_label(f"{name}: not ready to sign", lines=1)
                               for key, name in PROBLEM_PLACES.items()}
        for label in self.problem_labels.values():
            label.hide()
        self._lay_out()
        self._connect()
        order = (self.visit_date, self.time_in, self.time_out, self.place, self.contact_type,
                 self.people, self.services_view, self.safety, self.safety_description,
                 self.narrative, self.next_steps, self.next_visit, self.no_next_visit)
        for before, after in pairwise(order):  # the reading order, whatever the grid does
            QWidget.setTabOrder(before, after)

    def _lay_out(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(labelled("Visit &date", self.visit_date), 0, 0)
        grid.addWidget(labelled("Time &in", self.time_in), 0, 1)
        grid.addWidget(labelled("Time &out", self.time_out), 0, 2)
        grid.addWidget(self.problem_labels["times"], 1, 0, 1, 3)
        grid.addWidget(labelled("&Place", self.place), 2, 0)
        grid.addWidget(labelled("&Contact type", self.contact_type), 2, 1, 1, 2)
        grid.addWidget(labelled("P&eople present", self.people), 3, 0, 1, 3)
        grid.addWidget(self.problem_labels["people_present"], 4, 0, 1, 3)
        grid.addWidget(labelled("Se&rvices provided (Space ticks one)", self.services_view),
                       5, 0, 1, 3)
        grid.addWidget(self.problem_labels["services"], 6, 0, 1, 3)
        grid.addWidget(self.safety, 7, 0, 1, 3)
        grid.addWidget(labelled("Descri&be the concerns", self.safety_description), 8, 0, 1, 3)
        grid.addWidget(self.problem_labels["safety_description"], 9, 0, 1, 3)
        grid.addWidget(labelled("&Narrative", self.narrative), 10, 0, 1, 3)
        grid.addWidget(self.problem_labels["narrative"], 11, 0, 1, 3)
        grid.addWidget(labelled("Next s&teps", self.next_steps), 12, 0, 1, 3)
        grid.addWidget(labelled("Next &visit date", self.next_visit), 13, 0)
        grid.addWidget(self.no_next_visit, 13, 1, 1, 2, Qt.AlignmentFlag.AlignBottom)
        grid.addWidget(self.problem_labels["next_visit_date"], 14, 0, 1, 3)

    def _connect(self) -> None:
        self.safety.toggled.connect(self.safety_description.setEnabled)
        self.no_next_visit.toggled.connect(lambda on: self.next_visit.setEnabled(not on))
        for edit in (self.visit_date, self.next_visit):
            edit.dateChanged.connect(self.changed)
        for clock in (self.time_in, self.time_out):
            clock.timeChanged.connect(self.changed)
        for box in (self.place, self.contact_type):
            box.currentIndexChanged.connect(self.changed)
        for text in (self.people, self.safety_description, self.narrative, self.next_steps):
            text.textChanged.connect(self.changed)
        for check in (self.safety, self.no_next_visit):
            check.toggled.connect(self.changed)
        self.services.itemChanged.connect(self.changed)

    def show_details(self, details: VisitDetails, available: tuple[str, ...]) -> None:
        """Fill the form (without emitting `changed`)."""
        self.blockSignals(True)
        try:
            self.visit_date.setDate(to_qdate(details.visit_date))
            self.time_in.set_value(details.time_in)
            self.time_out.set_value(details.time_out)
            self.place.setCurrentIndex(self.place.findData(details.place))
            self.contact_type.setCurrentIndex(self.contact_type.findData(details.contact_type))
            self.people.setPlainText("\n".join(details.people_present))
            fill_services(self.services, available, details.services)
            self.safety.setChecked(details.safety_concerns)
            self.safety_description.setEnabled(details.safety_concerns)
            self.safety_description.setPlainText(details.safety_description)
            self.narrative.setPlainText(details.narrative)
            self.next_steps.setPlainText(details.next_steps)
            self.no_next_visit.setChecked(details.next_visit_date is None)
            self.next_visit.setDate(to_qdate(details.next_visit_date or details.visit_date))
            self.next_visit.setEnabled(details.next_visit_date is not None)
        finally:
            self.blockSignals(False)

    def details(self) -> VisitDetails:
        """What the form holds now; the safety description is kept even when unticked."""
        lines = self.people.toPlainText().splitlines()
        chosen = [self.services.item(row) for row in range(self.services.rowCount())]
        return VisitDetails(
            visit_date=from_qdate(self.visit_date.date()), time_in=self.time_in.value(),
            time_out=self.time_out.value(), place=Place(self.place.currentData()),
            contact_type=ContactType(self.contact_type.currentData()),
            people_present=tuple(line.strip() for line in lines if line.strip()),
            services=tuple(str(item.data(SERVICE_ROLE)) for item in chosen
                           if item.checkState() == Qt.CheckState.Checked),
            safety_concerns=self.safety.isChecked(),
            safety_description=self.safety_description.toPlainText(),
            narrative=self.narrative.toPlainText(), next_steps=self.next_steps.toPlainText(),
            next_visit_date=None if self.no_next_visit.isChecked()
            else from_qdate(self.next_visit.date()))

    def show_problems(self, problems: Sequence[visits.Problem]) -> QLabel | None:
        """Say each problem under its field (none: clear them all); returns the topmost label
        that says one."""
        texts: dict[str, list[str]] = {}
        for problem in problems:
            texts.setdefault(PROBLEM_FIELDS.get(problem.field, problem.field), []).append(
                problem.text)
        first = None
        for key, label in self.problem_labels.items():  # in the order of the form
            text = " ".join(texts.get(key, ()))
            set_error(label, text)
            label.setVisible(bool(text))
            first = first or (label if text else None)
        return first

    def set_read_only(self) -> None:
        """A signed note: text stays selectable, nothing can change."""
        for text in (self.people, self.safety_description, self.narrative, self.next_steps):
            text.setReadOnly(True)
        for box in (self.visit_date, self.time_in, self.time_out, self.next_visit):
            box.setReadOnly(True)
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        for widget in (self.place, self.contact_type, self.safety, self.no_next_visit):
            widget.setEnabled(False)
        for row in range(self.services.rowCount()):
            item = self.services.item(row)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)

    def is_read_only(self) -> bool:
        return self.narrative.isReadOnly() and not self.place.isEnabled()


def button(text: str, name: str) -> QPushButton:
    """A push button with a mnemonic in `text` and a plain accessible name."""
    made = QPushButton(text)
    made.setAccessibleName(name)
    made.setAutoDefault(False)
    return made


class AttestationDialog(QDialog):
    """Shows the attestation the signature carries; "Sign note" accepts, "Cancel" rejects.

    Signals:
        accepted, rejected: QDialog's own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign note")
        self.setAccessibleName("Sign note")
        self.setMinimumWidth(440)
        self.sign_button = button("&Sign note", "Sign note")
        self.sign_button.setDefault(True)
        self.cancel_button = button("Cancel", "Cancel")
        buttons = QDialogButtonBox()
        buttons.addButton(self.sign_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Sign this note"))
        layout.addWidget(paragraph(visits.ATTESTATION, name="Attestation"))
        layout.addWidget(paragraph("Once signed the note is locked; later changes are added "
                                   "as addenda.", name="After signing"))
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)


class AddendumDialog(QDialog):
    """Ask for an addendum's reason and text (both required) and add it to the note.

    Signals:
        added(object): the updated `VisitNote`, once the addendum is stored.
    """

    added = Signal(object)

    def __init__(self, ctx: UiContext, note_id: NoteId, parent: QWidget | None = None, *,
                 run: RunFn | None = None) -> None:
        """`run` sends the operation (default `Op.run`; the editor counts it)."""
        super().__init__(parent)
        self._run: RunFn = run or Op.run
        self.setWindowTitle("Add addendum")
        self.setAccessibleName("Add addendum")
        self.setMinimumWidth(520)
        self._ctx, self._note_id, self._working = ctx, note_id, False
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for the addendum")
        self.reason.setPlaceholderText("For example: supervisor asked who else was present")
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Addendum text")
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 8)
        self.message = message_label("Addendum message", lines=2)
        self.add_button = button("&Add addendum", "Add addendum")
        self.cancel_button = button("Cancel", "Cancel")
        buttons = QDialogButtonBox()
        buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph("An addendum is added to the signed note with your name, "
                                   "the time and the reason; the note itself does not change.",
                                   name="About addenda"))
        layout.addWidget(labelled("&Reason", self.reason))
        layout.addWidget(labelled("&Text", self.text))
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        buttons.accepted.connect(self._add)
        buttons.rejected.connect(self.reject)
        self.reason.textChanged.connect(self._update)
        self.text.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        ready = bool(self.reason.text().strip() and self.text.toPlainText().strip())
        self.add_button.setEnabled(ready and not self._working)

    def _add(self) -> None:
        reason, text = self.reason.text().strip(), self.text.toPlainText().strip()
        if not reason or not text or self._working:
            return
        self._working = True
        self._update()
        self.message.setText("Adding…")
        note_id = self._note_id
        self._run(change(self._ctx, lambda ws: NoteService(ws).add_addendum(
            note_id, reason=reason, text=text), owner=self).done(self._done)
            .shown_in(self.message, after_failure=self._idle))

    def _done(self, note: VisitNote) -> None:
        self._working = False
        self.reason.clear()
        self.text.clear()
        set_error(self.message, "")
        self.accept()
        self.added.emit(note)

    def _idle(self) -> None:
        self._working = False
        self._update()

