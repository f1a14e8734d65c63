"""A supervisor's dialogs: review a note or a month, say why it is returned, draw screen days."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, tzinfo
from typing import TypeVar

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain import formats
from fieldapp.domain.formats import time_text
from fieldapp.domain.mileage import Allocation, MileageMonth
from fieldapp.domain.people import CaseId
from fieldapp.domain.schedule import RandomSchedule
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import NoteStatus, VisitNote, cosignatures, missing_cosigners
from fieldapp.services.directory import Directory
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import miles_text
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import change
from fieldapp.ui.tables import name_parts, table
from fieldapp.ui.trip_dialog import ConfirmDialog
from fieldapp.ui.widgets import (
    fit_to_screen,
    heading,
    labelled,
    message_label,
    paragraph,
    set_error,
)

T = TypeVar("T")
# The pages that show a supervisor's items write moments and months as every screen does.
moment_text = formats.moment_text
month_text = formats.month_text
NOBODY = Directory(names={}, team=frozenset())  # no names known: ids as they are


def day_text(day: date | None, *, none: str = "none yet") -> str:
    """A day in the one style (`fieldapp.domain.formats`); in a sentence, `none` for no date."""
    return formats.day_text(day, none=none)


def push_button(text: str, name: str = "") -> QPushButton:
    """A button named for screen readers: `name`, or its text without the mnemonic mark."""
    button = QPushButton(text)
    button.setAccessibleName(name or text.replace("&", "").rstrip("…"))
    return button


class CommentDialog(QDialog):
    """Ask for the words that go with a return, then run `action(workspace, words)` on the
    worker (a change).

    Empty words are refused here, before anything is sent.

    Signals:
        submitted(object): the action succeeded; carries its result.
    """

    submitted = Signal(object)

    def __init__(self, ctx: UiContext, *, title: str, prompt: str, label: str, button: str,
                 empty: str, action: Callable[[Workspace, str], object],
                 parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(460)
        self._ctx, self._empty, self._action = ctx, empty, action
        self.text = QPlainTextEdit()
        self.text.setAccessibleName(label.replace("&", ""))
        self.text.setTabChangesFocus(True)
        name_parts(self.text, label.replace("&", ""))
        self.message = message_label(f"{title} message", lines=2)
        self.ok_button = push_button(button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        layout = QVBoxLayout(self)
        for widget in (paragraph(prompt, name=f"{title} help"), labelled(label, self.text),
                       self.message, buttons):
            layout.addWidget(widget)
        buttons.accepted.connect(self._submit)
        buttons.rejected.connect(self.reject)
        self.text.setFocus()

    def _submit(self) -> None:
        words = self.text.toPlainText().strip()
        if not words:
            set_error(self.message, self._empty)
            self.text.setFocus()
            return
        self.ok_button.setEnabled(False)  # also what stops a second click sending it twice
        set_error(self.message, "")
        action = self._action
        change(self._ctx, lambda ws: action(ws, words), owner=self).done(self._succeeded) \
            .shown_in(self.message, after_failure=lambda: self.ok_button.setEnabled(True)).run()

    def _succeeded(self, result: object) -> None:
        self.submitted.emit(result)
        self.accept()



class ReviewDialog(QDialog):
    """What both review dialogs share: approve-like and return buttons, and a message line.

    Signals:
        reviewed(str): the item was decided; carries a sentence saying how.
    """

    reviewed = Signal(str)

    def __init__(self, ctx: UiContext, *, title: str, approve: str, parent: QWidget | None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        fit_to_screen(self, QSize(720, 620))
        self._ctx = ctx
        self.comment_dialog: CommentDialog | None = None
        self.message = message_label(f"{title} message", lines=2)
        self.approve_button = push_button(approve)
        self.return_button = push_button("&Return…", "Return with a comment")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        self.buttons.addButton(self.approve_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.return_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)

    def _run(self, fn: Callable[[Workspace], object], done: str) -> None:
        self._set_enabled(False)  # also what stops a second click deciding twice
        change(self._ctx, fn, owner=self).done(lambda _: self._finish(done)) \
            .shown_in(self.message, after_failure=lambda: self._set_enabled(True)).run()

    def _open_comment(self, dialog: CommentDialog, done: str) -> None:
        dialog.submitted.connect(lambda _: self._finish(done))
        self.comment_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _finish(self, done: str) -> None:
        self.reviewed.emit(done)
        self.accept()

    def _set_enabled(self, enabled: bool) -> None:
        self.approve_button.setEnabled(enabled)
        self.return_button.setEnabled(enabled)


class NoteReviewDialog(ReviewDialog):
    """A signed note, read-only and in full, with "Co-sign" and "Return…".

    Signals:
        reviewed(str): see `ReviewDialog`.
    """

    def __init__(self, ctx: UiContext, note: VisitNote, *, family: str,
                 settings: ProgramSettings, people: Directory,
                 parent: QWidget | None = None) -> None:
        super().__init__(ctx, title="Review visit note", approve="&Co-sign", parent=parent)
        self.note = note
        self.confirmation: ConfirmDialog | None = None  # the question before co-signing
        self._what = f"the {family} note of {day_text(note.details.visit_date)}"
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.setAccessibleName("Visit note")
        name_parts(self.view, "Visit note")
        self.view.setHtml(note_html(note, family=family, zone=settings.zone, people=people))
        self.cosignatures = paragraph(cosign_summary(note, settings=settings, people=people),
                                      name="Co-signatures")
        self.approve_button.clicked.connect(self._cosign)
        self.return_button.clicked.connect(self._ask)
        layout = QVBoxLayout(self)
        layout.addWidget(labelled("&Note", self.view), 1)
        layout.addWidget(self.cosignatures)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.view.setFocus()

    def _cosign(self) -> None:
        """Co-signing is final, so it is asked first (default: Cancel)."""
        self.confirmation = ConfirmDialog.ask(
            "Co-sign this note?", f"Co-sign {self._what}? Your co-signature is recorded with "
            "your name and the time and cannot be taken back; a later correction is the "
            "author's addendum.", "&Co-sign", self, self._do_cosign)

    def _do_cosign(self) -> None:
        note_id = self.note.id
        self._run(lambda ws: NoteService(ws).cosign(note_id), f"Co-signed {self._what}.")

    def _ask(self) -> None:
        note_id = self.note.id
        self._open_comment(CommentDialog(
            self._ctx, title="Return the note", label="&Comment for the author",
            prompt="Say what needs correcting. The author answers with an addendum; the "
                   "note itself stays as it was signed.",
            button="&Return note", empty="Say what needs correcting before returning the note.",
            action=lambda ws, words: NoteService(ws).return_note(note_id, comment=words),
            parent=self),
            f"Returned {self._what} to its author.")


def cosign_summary(note: VisitNote, *, settings: ProgramSettings,
                   people: Directory = NOBODY) -> str:
    """Which co-signatures stand for the note as it is now (by whom, named from `people`), and
    which are still missing."""
    given = [people.name(r.reviewer) + (f" as the {r.capacity} supervisor" if r.capacity else "")
             + f", {moment_text(r.at, settings.zone)}" for r in cosignatures(note)]
    parts = [f"Co-signed by {'; '.join(given)}." if given else "No co-signature yet."]
    missing = missing_cosigners(note, settings=settings)
    if missing and note.status is not NoteStatus.COSIGNED:
        parts.append(f"Missing: the {' and the '.join(missing)} supervisor's co-signature"
                     f"{'s' if len(missing) > 1 else ''} (the program requires both).")
    elif not given and note.status is NoteStatus.SIGNED:
        parts.append("Waiting for a supervisor's co-signature.")
    return " ".join(parts)


def note_html(note: VisitNote, *, family: str, zone: tzinfo, people: Directory = NOBODY) -> str:
    """The whole note as escaped HTML: details, narrative, people, services, safety, history;
    staff named from `people`."""
    d, e = note.details, html.escape
    times = f"{time_text(d.time_in)} to {time_text(d.time_out)}" if d.time_in and d.time_out \
        else "not given"
    signed = moment_text(note.signature.at, zone) if note.signature else "not signed"
    facts = [("Author", people.name(note.author)), ("Time", times), ("Place", d.place),
             ("Contact", d.contact_type), ("Signed", signed),
             ("Late entry", "Yes: signed after the program's limit" if note.late_entry else "No"),
             ("Next visit", day_text(d.next_visit_date, none="not set"))]
    parts = [f"<h2>{e(family)}: visit on {formats.weekday_text(d.visit_date)}</h2><table>"]
    parts += [f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{e(str(v))}</td></tr>" for k, v in facts]
    parts.append("</table>")
    safety = (f"Safety concerns: {d.safety_description}" if d.safety_concerns
              else "No safety concerns noted.")
    addenda = [f"{moment_text(a.at, zone)}, {people.name(a.author)}. Reason: {a.reason}\n{a.text}"
               for a in note.addenda]
    reviews = [f"{moment_text(r.at, zone)}, {people.name(r.reviewer)}"
               + (f" (the {r.capacity} supervisor)" if r.capacity else "") + ": "
               + ("co-signed" if r.cosigned else f"returned. {r.comment}") for r in note.reviews]
    sections = [("People present", list(d.people_present) or ["Nobody listed."]),
                ("Services", list(d.services) or ["None listed."]), ("Safety", [safety]),
                ("Narrative", [d.narrative or "No narrative."]),
                ("Next steps", [d.next_steps or "None written."]),
                ("Addenda", addenda or ["No addenda."]),
                ("Earlier reviews", reviews or ["No earlier reviews."])]
    for title, lines in sections:
        parts.append(f"<h3>{title}</h3>")
        parts += [f"<p>{e(line).replace(chr(10), '<br>')}</p>" for line in lines]
    return "".join(parts)


TRIP_COLUMNS: list[Column[Allocation]] = [
    Column("Date", lambda a: day_text(a.trip.trip_date)),
    Column("From", lambda a: a.trip.origin),
    Column("To", lambda a: a.trip.destination),
    Column("Purpose", lambda a: a.trip.purpose),
    Column("Miles", lambda a: miles_text(a.trip.total_miles), align_right=True),
    Column("Reimbursable", lambda a: miles_text(a.reimbursable), align_right=True),
    Column("Over the cap", lambda a: miles_text(a.over_cap), align_right=True),
]


def month_totals(month: MileageMonth) -> str:
    """Miles written as the Mileage page writes them (`miles_text`)."""
    return (f"{len(month.allocations)} trips, {miles_text(month.total)} miles in all. "
            f"Reimbursable: {miles_text(month.reimbursable)} miles (the cap is "
            f"{miles_text(month.cap)}). Over the cap: {miles_text(month.over_cap)} miles. "
            f"Amount: ${month.amount:,.2f} at ${month.rate} a mile. "
            f"Status: {month.status}.")


class MonthReviewDialog(ReviewDialog):
    """A worker's submitted month of mileage, with "Approve month" and "Return…".

    Signals:
        reviewed(str): see `ReviewDialog`.
    """

    def __init__(self, ctx: UiContext, month: MileageMonth, *, people: Directory,
                 question: str = "", parent: QWidget | None = None) -> None:
        super().__init__(ctx, title="Review mileage", approve="&Approve month", parent=parent)
        self.month = month
        self._question = question  # approving is final: asked first (and said when early)
        self.confirmation: ConfirmDialog | None = None
        self._what = f"{people.name(month.worker_id)}'s mileage for {month_text(month.month)}"
        self.model: RowsModel[Allocation] = RowsModel(TRIP_COLUMNS, self)
        self.model.set_rows(month.allocations)
        self.trips = table("Trips", self.model, fit_columns=True)
        self.totals = paragraph(month_totals(month), name="Month totals")
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(self._what[0].upper() + self._what[1:], name="Month"))
        layout.addWidget(labelled("&Trips", self.trips), 1)
        for widget in (self.totals, self.message, self.buttons):
            layout.addWidget(widget)
        self.trips.setFocus()
        self.approve_button.clicked.connect(self._approve)
        self.return_button.clicked.connect(self._ask)

    def _approve(self) -> None:
        if not self._question:
            self._do_approve()
            return
        self.confirmation = ConfirmDialog.ask("Approve this month?", self._question,
                                              "Approve &now", self, self._do_approve)

    def _do_approve(self) -> None:
        worker, key = self.month.worker_id, self.month.month
        self._run(lambda ws: MileageService(ws).approve(worker, key), f"Approved {self._what}.")

    def _ask(self) -> None:
        worker, key = self.month.worker_id, self.month.month
        self._open_comment(CommentDialog(
            self._ctx, title="Return the month", label="&Reason for the worker",
            prompt="Say what the worker should correct; they can change the month's trips and "
                   "submit it again.",
            button="Return &month", empty="Say why the month is returned.",
            action=lambda ws, words: MileageService(ws).return_month(worker, key, reason=words),
            parent=self),
            f"Returned {self._what} to the worker.")


class DrawScheduleDialog(QDialog):
    """Confirm a random screen draw for one case, then show the fingerprint to note.

    Signals:
        drawn(object): the new `RandomSchedule`.
    """

    drawn = Signal(object)

    def __init__(self, ctx: UiContext, *, case_id: CaseId, family: str, first_day: date,
                 last_day: date, existing: list[RandomSchedule], parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Draw random screen days")
        self.setAccessibleName("Draw random screen days")
        self.setMinimumWidth(480)
        self._ctx, self._case_id, self._period = ctx, case_id, (first_day, last_day)
        overlap = [s.fingerprint for s in existing
                   if s.first_day <= last_day and s.last_day >= first_day]
        text = (f"Draw the random screen days for the {family} family from "
                f"{day_text(first_day)} to {day_text(last_day)}? The days stay sealed until "
                "the period starts. Note the fingerprint shown next in the case file.")
        if overlap:
            text += (f" This case already has a schedule for part of this period (fingerprint "
                     f"{', '.join(overlap)}); drawing again adds a second one.")
        self.fingerprint = heading("")  # large and bold: the one thing to write down
        self.fingerprint.setAccessibleName("New schedule fingerprint")
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.hide()
        self.message = message_label("Draw message", lines=2)
        self.draw_button = push_button("&Draw schedule")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.close_button.setAccessibleName("Cancel")
        self.buttons.addButton(self.draw_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        self.about = paragraph(text, name="About this draw")
        for widget in (self.about, self.fingerprint, self.message, self.buttons):
            layout.addWidget(widget)
        self.buttons.rejected.connect(self.reject)
        self.draw_button.clicked.connect(self._draw)
        self.draw_button.setFocus()

    def _draw(self) -> None:
        self.draw_button.setEnabled(False)
        case_id, (first, last) = self._case_id, self._period
        change(self._ctx, lambda ws: ScreenService(ws).draw_schedule(
            case_id, first_day=first, last_day=last), owner=self).done(self._show) \
            .shown_in(self.message, after_failure=lambda: self.draw_button.setEnabled(True)) \
            .run()

    def _show(self, schedule: RandomSchedule) -> None:
        self.draw_button.hide()
        self.close_button.setText("Close")
        self.close_button.setAccessibleName("Close")
        self.fingerprint.setText(f"Note this fingerprint: {schedule.fingerprint}")
        self.fingerprint.show()
        self.close_button.setFocus()
        self.drawn.emit(schedule)

