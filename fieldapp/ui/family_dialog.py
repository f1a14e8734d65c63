"""Open a family's case, or change one: who is in the family, where they live and how to reach
them, who referred them, who works with them, and whether the case is still open. For
supervisors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import shiboken6
from PySide6.QtCore import QDate, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.cases import Case, CaseStatus, Person
from fieldapp.domain.people import CaseId, Role, UserId, new_id
from fieldapp.services.casework import CaseService
from fieldapp.services.directory import StaffMember, team_members
from fieldapp.services.workspace import Workspace
from fieldapp.ui.consent_dialogs import buddy_label, date_edit, day_of, line, strip
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import change, query
from fieldapp.ui.review_dialogs import push_button
from fieldapp.ui.trip_dialog import ConfirmDialog, ask_to_discard, name_inner_editors
from fieldapp.ui.widgets import fit_to_screen, message_label, paragraph, set_error

NOT_ASSIGNED = "Not assigned yet"
NO_TEAM = "The team list arrives with the first sync; you can assign later."


@dataclass(frozen=True, kw_only=True)
class FamilySetup:
    """What the dialog needs from the profile, read on the worker."""

    me: UserId
    role: Role
    today: date
    visits_per_week: int
    team: list[StaffMember]
    case: Case | None


def load_setup(ws: Workspace, case_id: CaseId | None) -> FamilySetup:
    """The worker's half of opening the dialog."""
    case = CaseService(ws).get(case_id) if case_id is not None else None
    return FamilySetup(me=ws.actor.user_id, role=ws.actor.role, today=ws.today(),
                       visits_per_week=ws.settings.visits_per_week,
                       team=team_members(ws), case=case)


class PersonRow(QWidget):
    """One person: name, relationship, details, and a button that takes the row away."""

    def __init__(self, person: Person | None, *, relationship_hint: str) -> None:
        super().__init__()
        self.name = line("Name", "Name")
        self.relationship = line("Relationship", relationship_hint)
        self.details = line("Details", "Age, needs, anything the team should know")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAutoDefault(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.name, 3)
        row.addWidget(self.relationship, 2)
        row.addWidget(self.details, 4)
        row.addWidget(self.remove_button)
        if person is not None:
            self.name.setText(person.name)
            self.relationship.setText(person.relationship)
            self.details.setText(person.details)

    def number(self, noun: str, at: int) -> None:
        """Name the row's controls for a screen reader: 'Parent 2 name'."""
        for field, what in ((self.name, "name"), (self.relationship, "relationship"),
                            (self.details, "details")):
            field.setAccessibleName(f"{noun} {at} {what}")
        self.remove_button.setAccessibleName(f"Remove {noun.lower()} {at}")

    def fields(self) -> list[QWidget]:
        """The row's controls in the order a person goes through them."""
        return [self.name, self.relationship, self.details, self.remove_button]

    def texts(self) -> tuple[str, str, str]:
        return (self.name.text().strip(), self.relationship.text().strip(),
                self.details.text().strip())


class PeopleEditor(QWidget):
    """A list of people, one row each; a row left wholly empty is not a person.

    The rows sit in a scroll area of fixed height (`rows_shown` rows), so adding or removing
    one never moves what is below it: a newcomer's click meant for the coordinator box once
    landed on the visits per week, which an added child had pushed under the pointer. The
    scroll bar is always there, so a row past the shown ones does not narrow the others either.

    Attributes:
        rows_area: the scroll area holding the rows.

    Signals:
        changed: a row was added or removed.
    """

    changed = Signal()
    SPACING = 4

    def __init__(self, *, noun: str, add_text: str, relationship_hint: str,
                 list_name: str, rows_shown: int) -> None:
        super().__init__()
        self._noun, self._hint = noun, relationship_hint
        self.rows: list[PersonRow] = []
        self._rows_box = rows_box = QWidget()
        self._column = QVBoxLayout(rows_box)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(self.SPACING)
        self._column.addStretch(1)  # rows gather at the top; the rest of the box stays empty
        self.rows_area = _rows_area(rows_box, list_name, rows_shown, spacing=self.SPACING)
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.header = _header(right=bar)  # placeholders vanish as one types; the labels stay
        self.add_button = push_button(add_text)
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._add_empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.rows_area)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def add_row(self, person: Person | None = None) -> PersonRow:
        row = PersonRow(person, relationship_hint=self._hint)
        row.remove_button.clicked.connect(lambda: self._remove(row))
        self.rows.append(row)
        self._column.insertWidget(len(self.rows) - 1, row)  # above the stretch
        row.show()  # now, not at the next turn of the event loop
        self.header.show()
        self._renumber()
        self.changed.emit()
        return row

    def focus_chain(self) -> list[QWidget]:
        """The rows' fields in order, then the add button."""
        return [widget for row in self.rows for widget in row.fields()] + [self.add_button]

    def _add_empty(self) -> None:
        row = self.add_row()
        row.name.setFocus()
        # Only the rows scroll: the form around them stays where the pointer left it.
        box = self._rows_box
        box.resize(box.width(), box.sizeHint().height())  # now, not when the layout next runs
        self.rows_area.ensureWidgetVisible(row, 0, 0)

    def set_people(self, people: Sequence[Person]) -> None:
        for row in list(self.rows):
            self._remove(row)
        for person in people:
            self.add_row(person)

    def _remove(self, row: PersonRow) -> None:
        self.rows.remove(row)
        self._column.removeWidget(row)
        row.hide()
        row.deleteLater()
        self.header.setVisible(bool(self.rows))  # its room is kept: nothing below moves
        self._renumber()
        self.changed.emit()

    def _renumber(self) -> None:
        for at, row in enumerate(self.rows, start=1):
            row.number(self._noun, at)

    def people(self) -> tuple[Person, ...]:
        return tuple(Person(name=n, relationship=r, details=d)
                     for n, r, d in self.state() if n or r or d)

    def state(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(row.texts() for row in self.rows)


def _header(*, right: int) -> QWidget:
    """Column labels above the rows; `right` leaves room for the rows' scroll bar."""
    header = QWidget()
    row = QHBoxLayout(header)
    row.setContentsMargins(0, 0, right, 0)
    for text, stretch in (("Name", 3), ("Relationship", 2), ("Details", 4)):
        row.addWidget(QLabel(text), stretch)
    room = QLabel("")
    room.setFixedWidth(QPushButton("Remove").sizeHint().width())  # above the Remove buttons
    row.addWidget(room)
    policy = header.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    header.setSizePolicy(policy)
    header.hide()
    return header


def _rows_area(rows_box: QWidget, name: str, rows_shown: int, *, spacing: int) -> QScrollArea:
    """A scroll area exactly `rows_shown` person rows high."""
    area = QScrollArea()
    area.setAccessibleName(name)
    area.setWidgetResizable(True)
    area.setWidget(rows_box)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.verticalScrollBar().setAccessibleName(f"Scroll {name.lower()}")
    # Tab and Enter go to the rows' fields, never to the frame around them (where a newcomer's
    # typing once went nowhere and was lost).
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    sample = PersonRow(None, relationship_hint="")
    height = sample.sizeHint().height()
    sample.deleteLater()
    area.setFixedHeight(rows_shown * height + (rows_shown - 1) * spacing)
    return area


def reveal(widget: QWidget) -> None:
    """Scroll every scroll area holding `widget` so that it is in view, innermost first.

    Tab does this by itself; Enter, which moves the focus from code, does not."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(widget)
        parent = parent.parentWidget()


def _assignee_combo(name: str) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    return combo


class FamilyDialog(QDialog):
    """A new family's case (`case_id` None), or a change to one: details, assignment, status.

    The service decides: a refusal (no parent named, not the case's supervisor) is shown
    beside the form and nothing is written. In a field, Enter moves to the next field (a
    half-typed family is not sent off by a key meant for the next line); Ctrl+Enter or Save
    saves, and Enter on the Save button. Nothing throws the form away unasked: closing a
    changed form asks first, and so does closing the case.

    Attributes:
        confirmation: the last question asked (discard, close the case), for tests.

    Signals:
        saved(Case): the case as written; the dialog then closes.
        loaded: the form is filled and ready (tests wait on it).
    """

    saved = Signal(object)
    loaded = Signal()

    def __init__(self, ctx: UiContext, *, case_id: CaseId | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._case_id = ctx, case_id
        self._setup: FamilySetup | None = None
        self._working, self._finished = False, False
        self._as_opened: tuple[object, ...] = ()
        self.confirmation: ConfirmDialog | None = None
        title = "Edit family" if case_id else "New family"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self._build()
        self._lay_out()
        self._tab_order()
        for editor in (self.parents_editor, self.children_editor):
            editor.changed.connect(self._tab_order)
        fit_to_screen(self, QSize(820, 700))
        self.setEnabled(False)
        self.message.setText("Loading…")
        query(ctx, lambda ws: load_setup(ws, case_id), owner=self).done(self._loaded) \
            .shown_in(self.message, after_failure=self._load_failed).run()

    def _build(self) -> None:
        self.family_name = line("Family name", "For example: Alder")
        self.parents_editor = PeopleEditor(noun="Parent", add_text="Add &parent",
                                           relationship_hint="Mother, father, guardian…",
                                           list_name="Parents in recovery", rows_shown=2)
        self.children_editor = PeopleEditor(noun="Child", add_text="Add c&hild",
                                            relationship_hint="Son, daughter…",
                                            list_name="Children", rows_shown=3)
        self.address = QPlainTextEdit()
        self.address.setAccessibleName("Address and directions")
        self.address.setPlaceholderText("Street, town; how to find the home, where to park")
        self.address.setTabChangesFocus(True)
        self.address.setFixedHeight(self.address.fontMetrics().lineSpacing() * 4 + 14)
        self.phone = line("Phone", "For example: (815) 555-0142")
        self.referral_source = line("Referral source",
                                    "Who referred the family, e.g. DCFS caseworker Maria Ortiz")
        self.referral_known = QCheckBox("Known:")
        self.referral_known.setAccessibleName("Referral date known")
        self.referral_date = date_edit("Referral date", date.today())
        self.referral_date.setEnabled(False)
        self.referral_known.toggled.connect(self.referral_date.setEnabled)
        self.start_date = date_edit("Start date", date.today())
        self.visits = QSpinBox()
        self.visits.setRange(0, 14)
        name_inner_editors(self.visits, "Visits per week")
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        for status in CaseStatus:
            self.status.addItem(str(status).capitalize(), str(status))
        self.coordinator = _assignee_combo("Recovery coordinator")
        self.intact_worker = _assignee_combo("Intact worker")
        self.team_note = paragraph("", name="Team list")
        self.team_note.hide()
        # A family a worker starts in the field, and a supervisor's decision on it.
        self.referral_note = paragraph("", name="Referral")
        self.referral_note.hide()
        self.confirm = QCheckBox("Confirm this family: it joins the team's caseload")
        self.confirm.setAccessibleName("Confirm family")
        self.confirm.hide()
        self.message = message_label("Family message", lines=2)
        self.save_button = push_button("&Save family")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Save the family (Ctrl+Enter)")
        self.cancel_button = push_button("Cancel")
        self.cancel_button.setAutoDefault(False)  # focus on Cancel must not make Enter discard

    def _next_field(self) -> None:
        """Enter's move: the next field, past buttons (Remove, Add child), which only Tab
        reaches: two Enters must never remove a parent."""
        for _ in range(64):  # the form's length, with room; a loop that cannot spin forever
            self.focusNextChild()
            focused = self.focusWidget()
            if focused is None or not isinstance(focused, QPushButton):
                break
        if focused is not None:
            reveal(focused)

    def _tab_order(self) -> None:
        """Tab and Enter go through the form as a person reads it. Person rows are made after
        the rest (when a family opens, when a row is added), so without this they would come
        last, and Enter after the family's name once sent the typing nowhere."""
        chain = [self.confirm, self.family_name, *self.parents_editor.focus_chain(),
                 *self.children_editor.focus_chain(), self.address, self.phone,
                 self.referral_source, self.referral_known, self.referral_date,
                 self.start_date, self.visits, self.status, self.coordinator,
                 self.intact_worker, self.save_button, self.cancel_button]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        """Enter in a field goes to the next field; Ctrl+Enter saves (see the class)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                if self.save_button.isEnabled():
                    self.save_button.click()
                return
            focused = self.focusWidget()
            if isinstance(focused, QPushButton) and focused is not self.save_button:
                focused.click()  # Enter on Add child adds one; it never saves the family
                return
            if not isinstance(focused, QPushButton):
                self._next_field()
                return
        super().keyPressEvent(event)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows: list[tuple[str, QWidget, QWidget]] = [
            ("Famil&y name", self.family_name, self.family_name),
            ("Parents in recovery", self.parents_editor.add_button, self.parents_editor),
            ("Children", self.children_editor.add_button, self.children_editor),
            ("&Address and directions", self.address, self.address),
            ("Ph&one", self.phone, self.phone),
            ("&Referral source", self.referral_source, self.referral_source),
            ("Referral dat&e", self.referral_known, strip(
                self.referral_known, self.referral_date, (QWidget(), 1))),
            ("Start &date", self.start_date, self.start_date),
            ("&Visits per week", self.visits, self.visits),
            ("S&tatus", self.status, self.status),
            ("Recovery &coordinator", self.coordinator, self.coordinator),
            ("&Intact worker", self.intact_worker, self.intact_worker),
        ]
        for text, buddy, field in rows:
            form.addRow(buddy_label(text, buddy), field)
        form.addRow(QLabel(""), self.team_note)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addLayout(form)
        column.addStretch(1)  # extra height goes below the form, not between its rows
        scroll = QScrollArea()
        scroll.setAccessibleName("Family details")
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        buttons = QDialogButtonBox()
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.referral_note)  # above the fields: what this family is waiting for
        layout.addWidget(self.confirm)
        layout.addWidget(scroll, 1)  # long families scroll; the buttons stay below
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def _loaded(self, setup: FamilySetup) -> None:
        self._setup = setup
        case = setup.case
        self._fill_assignees(setup.team, case)
        if case is None:
            self.parents_editor.add_row()
            start, visits = setup.today, setup.visits_per_week
        else:
            self.family_name.setText(case.family_name)
            self.parents_editor.set_people(case.parents)
            self.children_editor.set_people(case.children)
            self.address.setPlainText(case.address)
            self._fill_contact(case)
            start, visits = case.start_date, case.visits_per_week
            self.status.setCurrentIndex(self.status.findData(str(case.status)))
        self.start_date.setDate(QDate(start.year, start.month, start.day))
        if case is None or case.referral_date is None:
            self.referral_date.setDate(QDate(setup.today.year, setup.today.month,
                                             setup.today.day))
        self.visits.setValue(visits)
        self._show_referral(setup)
        self.setEnabled(True)
        self.message.setText("")
        self._as_opened = self._form_state()
        self.family_name.setFocus()
        self.loaded.emit()

    def referral_mode(self) -> bool:
        """A worker's own family in the field: theirs alone, open, until confirmed."""
        setup = self._setup
        return setup is not None and setup.role is not Role.SUPERVISOR and (
            setup.case is None or setup.case.referred_by == setup.me)

    def _show_referral(self, setup: FamilySetup) -> None:
        case = setup.case
        if self.referral_mode():
            other = "intact worker" if setup.role is Role.RECOVERY_COORDINATOR else \
                "recovery coordinator"
            self.referral_note.setText(
                "A family you meet in the field: it is yours alone and open until a supervisor "
                f"of your team confirms it and assigns the {other}. It reaches them when you "
                "sync; until then you can visit and write notes as usual.")
            self.referral_note.show()
            mine = self.coordinator if setup.role is Role.RECOVERY_COORDINATOR else \
                self.intact_worker
            if mine.findData(setup.me) < 0:  # not on the team list yet: before connecting
                mine.addItem("You", setup.me)
            mine.setCurrentIndex(mine.findData(setup.me))
            for combo in (self.status, self.coordinator, self.intact_worker):
                combo.setEnabled(False)
            self.team_note.hide()
        elif case is not None and case.awaiting_confirmation:
            who = next((m.name for m in setup.team if m.user_id == case.referred_by),
                       str(case.referred_by))
            self.referral_note.setText(
                f"{who} started this family in the field. Check the details, assign the "
                "team, and confirm it; saving without confirming leaves it waiting.")
            self.referral_note.show()
            self.confirm.setChecked(True)
            self.confirm.show()

    def _fill_contact(self, case: Case) -> None:
        self.phone.setText(case.phone)
        self.referral_source.setText(case.referral_source)
        self.referral_known.setChecked(case.referral_date is not None)
        if case.referral_date is not None:
            day = case.referral_date
            self.referral_date.setDate(QDate(day.year, day.month, day.day))

    def _fill_assignees(self, team: list[StaffMember], case: Case | None) -> None:
        for combo, role, current in (
                (self.coordinator, Role.RECOVERY_COORDINATOR,
                 case.coordinator_id if case else None),
                (self.intact_worker, Role.INTACT_WORKER,
                 case.intact_worker_id if case else None)):
            combo.addItem(NOT_ASSIGNED, None)
            for member in team:
                if member.role is role:
                    combo.addItem(f"{member.name} ({member.user_id})", member.user_id)
            if current is not None and combo.findData(current) < 0:
                combo.addItem(f"{current} (not on the team list)", current)  # kept, by id
            combo.setCurrentIndex(max(combo.findData(current), 0) if current else 0)
        if not team:
            self.team_note.setText(NO_TEAM)
            self.team_note.show()

    def _load_failed(self) -> None:
        self.setEnabled(True)
        self.save_button.setEnabled(False)

    def _form_state(self) -> tuple[object, ...]:
        """What the fields say, to tell whether closing would throw something away."""
        return (self.family_name.text(), self.parents_editor.state(), self.children_editor.state(),
                self.address.toPlainText(), self.phone.text(), self.referral_source.text(),
                self.referral_known.isChecked(), self.referral_date.date(),
                self.start_date.date(), self.visits.value(),
                self.status.currentIndex(), self.coordinator.currentIndex(),
                self.intact_worker.currentIndex(), self.confirm.isChecked())

    def case_builder(self) -> Callable[[], Case]:
        """The case as the fields say now, built later on the worker, where the domain's
        refusal comes back the same way as the service's."""
        setup = self._setup
        assert setup is not None
        original = setup.case
        family, parents, children = (self.family_name.text().strip(), self.parents_editor.people(),
                                     self.children_editor.people())
        address, start, visits = self.address.toPlainText().strip(), day_of(
            self.start_date), self.visits.value()
        phone, source = self.phone.text().strip(), self.referral_source.text().strip()
        referred = day_of(self.referral_date) if self.referral_known.isChecked() else None
        status = CaseStatus(self.status.currentData())
        coordinator, intact = self.coordinator.currentData(), self.intact_worker.currentData()

        def build() -> Case:
            return Case(
                id=original.id if original else CaseId(new_id()), family_name=family,
                parents=parents, children=children, address=address, phone=phone,
                referral_source=source, referral_date=referred,
                coordinator_id=UserId(coordinator) if coordinator else None,
                intact_worker_id=UserId(intact) if intact else None,
                supervisor_ids=original.supervisor_ids if original else
                () if setup.role is not Role.SUPERVISOR else (setup.me,),
                referred_by=original.referred_by if original else None,
                status=status, start_date=start, visits_per_week=visits,
                revision=original.revision if original else 0)

        return build

    def _save(self) -> None:
        if self._working or self._setup is None:
            return
        original = self._setup.case
        closing = CaseStatus(self.status.currentData()) is CaseStatus.CLOSED and (
            original is None or original.status is not CaseStatus.CLOSED)
        if not closing:
            self._write()
            return
        self.confirmation = ConfirmDialog.ask(
            "Close the case?", "Close this family's case? No more visits will be expected; the "
            "notes stay as they are.", "C&lose case", self, self._write)

    def _write(self) -> None:
        if self._working or self._closed():
            return
        build, new = self.case_builder(), self._case_id is None
        confirm = not self.confirm.isHidden() and self.confirm.isChecked()
        self._working = True
        self.save_button.setEnabled(False)
        self.cancel_button.setEnabled(False)  # the save goes ahead; closing now would hide it
        set_error(self.message, "")

        def write(ws: Workspace) -> Case:
            cases = CaseService(ws)
            return cases.open_case(build()) if new else cases.update_case(build(),
                                                                          confirm=confirm)

        change(self._ctx, write, owner=self).done(self._saved) \
            .shown_in(self.message, after_failure=self._save_failed).run()

    def _saved(self, case: Case) -> None:
        self._working = False
        self.saved.emit(case)
        self.accept()

    def _save_failed(self) -> None:
        self._working = False
        self.save_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.save_button.setDefault(True)  # disabling it handed the default on

    def _closed(self) -> bool:
        """True once the dialog is done or deleted: late answers are dropped."""
        return self._finished or not shiboken6.isValid(self)

    def done(self, result: int) -> None:
        self._finished = True
        super().done(result)

    def reject(self) -> None:
        """Escape, Cancel or the close box: a changed form asks before it is thrown away."""
        if self._working:
            return
        if self._setup is None or self._form_state() == self._as_opened:
            super().reject()
            return
        self.confirmation = ask_to_discard(
            self, thing="family",
            what="your changes to this family" if self._case_id else "this family",
            asking=self.confirmation, discard=self._discard)

    def _discard(self) -> None:
        if not self._working and not self._closed():
            super().reject()
