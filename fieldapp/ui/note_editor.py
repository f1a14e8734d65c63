"""The visit note editor: the full form, autosaved as a draft, signed, then read-only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain import visits
from fieldapp.domain.due import overlapping_visits
from fieldapp.domain.errors import KnownError
from fieldapp.domain.people import Actor, CaseId, NoteId, UserId
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import NoteStatus, VisitDetails, VisitNote
from fieldapp.services.casework import CaseService
from fieldapp.services.directory import Directory, directory
from fieldapp.services.notes import NoteService
from fieldapp.services.workspace import Workspace
from fieldapp.ui import shortcuts
from fieldapp.ui.context import UiContext
from fieldapp.ui.note_dialogs import (
    RETURNED_STYLE,
    STATUS_TEXT,
    AddendumDialog,
    AttestationDialog,
    VisitForm,
    button,
    name_scrollbars,
    when,
    who,
)
from fieldapp.ui.ops import Op, change, query
from fieldapp.ui.widgets import fit_to_screen, heading, message_label, paragraph, set_error

USUAL_SIZE = QSize(780, 860)  # on a smaller screen less: the form scrolls, the buttons stay


class NoteHistory(QWidget):
    """What happened to a note after it was written: signature, reviews, addenda.

    `banner` (status, signature line and a returned note's comment) goes above the form;
    the widget itself (reviews and addenda, in order) goes below it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = QWidget()
        top = QVBoxLayout(self.banner)
        top.setContentsMargins(0, 0, 0, 0)
        self.status = paragraph("", name="Note status")
        self.signature = paragraph("", name="Signature")
        self.returned = paragraph("", name="Supervisor's comment")
        self.returned.setStyleSheet(RETURNED_STYLE)
        for label in (self.status, self.signature, self.returned):
            top.addWidget(label)
        self._list = QVBoxLayout(self)
        self._list.setContentsMargins(0, 0, 0, 0)
        self.entries: list[QLabel] = []

    def show_note(self, note: VisitNote | None, *, me: UserId, zone: ZoneInfo,
                  people: Directory) -> None:
        self.status.setText(STATUS_TEXT[note.status] if note else "New note: not saved yet.")
        sig = note.signature if note else None
        self.signature.setVisible(sig is not None)
        if note is not None and sig is not None:
            late = " Late entry: signed more than the program's limit after the visit." \
                if note.late_entry else ""
            self.signature.setText(f"Signed by {who(sig.by, me, people)} on {when(sig.at, zone)}."
                                   f"{late}")
        last = note.reviews[-1] if note and note.reviews else None
        returned = note is not None and note.status is NoteStatus.RETURNED and last is not None
        self.returned.setVisible(returned)
        if returned and last is not None:
            self.returned.setText(f"Returned by {who(last.reviewer, me, people)} on "
                                  f"{when(last.at, zone)}:\n“{last.comment}”\n"
                                  "Answer with an addendum (Add addendum…).")
        self._list_entries(note, me=me, zone=zone, people=people)

    def _list_entries(self, note: VisitNote | None, *, me: UserId, zone: ZoneInfo,
                      people: Directory) -> None:
        for old in self.entries:
            self._list.removeWidget(old)
            old.deleteLater()
        self.entries = []
        if note is None:
            return
        events: list[tuple[datetime, str, str]] = []
        for review in note.reviews:
            verb = "Co-signed" if review.cosigned else "Returned"
            comment = f": “{review.comment}”" if review.comment else "."
            events.append((review.at, "Review",
                           f"{verb} by {who(review.reviewer, me, people)} on "
                           f"{when(review.at, zone)}{comment}"))
        for addendum in note.addenda:
            events.append((addendum.at, "Addendum",
                           f"Addendum by {who(addendum.author, me, people)} on "
                           f"{when(addendum.at, zone)}\nReason: {addendum.reason}\n\n"
                           f"{addendum.text}"))
        for _, kind, text in sorted(events, key=lambda e: e[0]):
            label = paragraph(text, name=kind)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setFrameShape(QLabel.Shape.StyledPanel)
            label.setMargin(6)
            self._list.addWidget(label)
            self.entries.append(label)
        self.setVisible(bool(self.entries))


@dataclass(frozen=True, kw_only=True)
class _Opened:
    settings: ProgramSettings
    actor: Actor
    family: str
    note: VisitNote | None
    people: Directory


class _DraftRef:
    """The draft the saves write to and the revision they expect.

    Read and written only on the database worker: saves run there one after another, so a save
    queued while another is in flight picks up the revision that one wrote.
    """

    def __init__(self) -> None:
        self.note_id: NoteId | None = None
        self.revision = 0


class NoteEditor(QDialog):
    """Write a visit note, autosaved as a draft; sign it; then view it and add addenda.

    Nothing typed is lost: the first change creates the draft, later changes are saved every
    `autosave_ms` while unsaved, on Ctrl+S and on closing (the dialog stays open until the last
    save has landed; a save that fails keeps the dialog and the text).

    Signals:
        saved(str): a draft was saved (note id).
        signed(str): the note was signed (note id).
        addendum_added(str): an addendum was added (note id).
    """

    saved = Signal(str)
    signed = Signal(str)
    addendum_added = Signal(str)

    def __init__(self, ctx: UiContext, *, case_id: CaseId, note_id: NoteId | None = None,
                 autosave_ms: int = 3000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._case_id, self._ref = ctx, case_id, _DraftRef()
        self._opened: _Opened | None = None
        self._note: VisitNote | None = None
        self._editable = self._started = self._dirty = self._blocked = False
        self._closing = self._close_refused = self._problems_shown = False
        self._tasks = 0
        self._waiters: list[Callable[[], None]] = []
        self.attestation: AttestationDialog | None = None
        self.overlap_question: QMessageBox | None = None
        self.addendum_dialog: AddendumDialog | None = None
        self.setWindowTitle("Visit note")
        self.setAccessibleName("Visit note")
        self._build()
        fit_to_screen(self, USUAL_SIZE)
        self.timer = QTimer(self)
        self.timer.setInterval(autosave_ms)
        self.timer.timeout.connect(self._tick)
        shortcuts.bind(shortcuts.SAVE_NOTE, self, self.save_now)
        shortcuts.bind(shortcuts.SIGN_NOTE, self, self.sign)
        self.status.setText("Opening…")
        self._run(query(ctx, lambda ws: self._open(ws, note_id), owner=self)
                  .done(self._show_opened).shown_in(self.error, after_failure=self._quiet))

    def _build(self) -> None:
        self.title = heading("Visit note")
        self.history = NoteHistory()
        self.form = VisitForm()
        self.form.setEnabled(False)
        self.form.changed.connect(self._changed)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addWidget(self.form)
        column.addWidget(self.history)
        column.addStretch(1)
        self.form_area = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        name_scrollbars(scroll, "the note")
        self.error = message_label("Note message", lines=2)
        self.status = message_label("Save status")
        self.save_button = button("Save no&w", "Save now")
        self.sign_button = button("&Sign…", "Sign")
        self.addendum_button = button("&Add addendum…", "Add addendum")
        self.close_button = button("C&lose", "Close")
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        for widget in (self.save_button, self.sign_button, self.addendum_button,
                       self.close_button):
            row.addWidget(widget)
        self.save_button.clicked.connect(self.save_now)
        self.sign_button.clicked.connect(self.sign)
        self.addendum_button.clicked.connect(self.add_addendum)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.history.banner)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        layout.addLayout(row)
        self.addendum_button.hide()

    @property
    def note(self) -> VisitNote | None:
        """The note as last saved, signed or loaded (None until the first save)."""
        return self._note

    def _open(self, workspace: Workspace, note_id: NoteId | None
              ) -> _Opened:  # the database worker
        note = NoteService(workspace).get(note_id) if note_id else None
        case = CaseService(workspace).get(note.case_id if note else self._case_id)
        return _Opened(settings=workspace.settings, actor=workspace.actor,
                       family=case.family_name, note=note, people=directory(workspace))

    def _show_opened(self, opened: _Opened) -> None:
        self._opened, note = opened, opened.note
        if note is not None:  # no save is queued yet: the worker does not hold the ref now
            self._ref.note_id, self._ref.revision = note.id, note.revision
        self._note, self._started = note, note is not None
        title = f"Visit note: {opened.family} family"
        self.title.setText(title)
        self.setWindowTitle(title)
        details = note.details if note else VisitDetails(visit_date=self._today())
        self.form.show_details(details, opened.settings.services)
        self.form.setEnabled(True)
        self._editable = note is None or (note.status is NoteStatus.DRAFT
                                          and note.author == opened.actor.user_id)
        self.status.setText("" if note is None or note.locked else "Draft opened.")
        if note is not None and not self._editable and not note.locked:
            self.status.setText("Only the author can change or sign this draft.")
        self._show_state()
        if self._editable:
            self.timer.start()
            self.form.visit_date.setFocus()

    def _show_state(self) -> None:
        assert self._opened is not None
        self.history.show_note(self._note, me=self._opened.actor.user_id,
                               zone=self._opened.settings.zone, people=self._opened.people)
        if not self._editable:
            self.timer.stop()
            self.form.set_read_only()
        self.save_button.setVisible(self._editable)
        self.sign_button.setVisible(self._editable)
        self.addendum_button.setVisible(self._note is not None and self._note.locked)

    def _changed(self) -> None:
        if not self._editable:
            return
        self._dirty, self._blocked, self._close_refused = True, False, False
        if self._problems_shown:  # say at once when a correction answers a problem
            self._check_signable()
        if not self._started:
            self._save()  # the first change creates the draft at once

    def _tick(self) -> None:
        if self._dirty and not self._blocked:
            self._save()

    def save_now(self) -> None:
        """Ctrl+S: save now, retrying a save that failed."""
        if self._editable:
            self._blocked = False
            self._save()

    def _save(self) -> None:
        if not self._dirty or not self._editable:
            return
        details = self.form.details()
        self._dirty, self._started = False, True
        self.status.setText("Saving…")
        self._run(change(self._ctx, lambda ws: self._write(ws, details), owner=self)
                  .done(self._saved).failed(self._save_failed))

    def _write(self, workspace: Workspace, details: VisitDetails
               ) -> VisitNote:  # the database worker
        notes, ref = NoteService(workspace), self._ref
        if ref.note_id is None:
            note = notes.start_draft(self._case_id, details)
        else:
            note = notes.save_draft(ref.note_id, details, expected_revision=ref.revision)
        ref.note_id, ref.revision = note.id, note.revision
        return note

    def _saved(self, note: VisitNote) -> None:
        self._note = note
        self._show_state()
        if self._tasks == 0:
            if self._problems_shown:  # what stops signing stays said until it is corrected
                self._check_signable()
            else:
                set_error(self.error, "")
            self.status.setText(f"Draft saved {self._now():%H:%M}")
        self.saved.emit(note.id)

    def _save_failed(self, error: KnownError) -> None:
        self._dirty, self._blocked = True, True
        self._waiters.clear()
        text = f"Not saved: {error.message} What you typed is still here."
        if self._closing:
            self._closing, self._close_refused = False, True
            text += " Correct it and close again, or close again to leave without it."
        set_error(self.error, text)
        self.status.setText("Not saved")

    def _run(self, op: Op[Any]) -> None:
        """Send `op`, counting the editor's jobs; waiters run when none is left."""
        self._tasks += 1
        op.arrived(self._one_less).settled(self._settle).run()

    def _one_less(self) -> None:
        self._tasks -= 1

    def _when_saved(self, then: Callable[[], None]) -> None:
        """Save what is unsaved; call `then` once every job of this editor has finished."""
        if self._dirty and self._editable:
            self._save()
        if self._tasks == 0:
            then()
        else:
            self._waiters.append(then)

    def _settle(self) -> None:
        if self._tasks == 0 and self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                self._when_saved(waiter)

    def _quiet(self) -> None:
        self.status.setText("")

    def reject(self) -> None:
        """Close (Esc, the window's close button, Close): save first, then close."""
        if self._close_refused:  # told that the save failed, the person closes again
            self._finish_close()
            return
        if self._closing:
            return
        self._closing = True
        self._when_saved(self._finish_close)

    def _finish_close(self) -> None:
        self._closing = False
        self.timer.stop()
        super().reject()

    def sign(self) -> None:
        """Check the note is complete, save it, ask about the author's other visits it
        overlaps (if any), then ask for the attestation."""
        if not self._editable or self._opened is None:
            return
        if not self._check_signable(scroll=True):
            return
        self._dirty = self._dirty or self._note is None
        self._when_saved(self._check_overlaps)

    def _check_overlaps(self) -> None:
        if self._note is None or not self._editable:
            return
        note = self._note
        self.status.setText("Checking the day's other visits…")
        self._run(query(self._ctx, lambda ws: self._overlapping(ws, note), owner=self)
                  .done(self._ask_about_overlaps)
                  .shown_in(self.error, after_failure=self._quiet))

    def _overlapping(self, workspace: Workspace, note: VisitNote
                     ) -> list[tuple[VisitNote, str]]:  # the database worker
        day = NoteService(workspace).my_signed_notes_on(note.details.visit_date)
        cases = CaseService(workspace)
        return [(other, cases.get(other.case_id).family_name)
                for other in overlapping_visits(note, day)]

    def _ask_about_overlaps(self, overlaps: list[tuple[VisitNote, str]]) -> None:
        """A question, not a refusal: one visit may be recorded for each family member seen."""
        self.status.setText("")
        if not overlaps:
            self._ask_attestation()
            return
        spans = [(f"from {o.details.time_in:%H:%M} to {o.details.time_out:%H:%M}", family)
                 for o, family in overlaps]
        text = (f"You have another visit {spans[0][0]} that day ({spans[0][1]} family)."
                if len(spans) == 1 else "You have other visits that day: "
                + "; ".join(f"{span} ({family} family)" for span, family in spans) + ".")
        if self.overlap_question is None:  # made once and kept, as the attestation is
            box = QMessageBox(QMessageBox.Icon.Question, "Overlapping visits", "",
                              QMessageBox.StandardButton.NoButton, self)
            box.setAccessibleName("Overlapping visits")
            anyway = box.addButton("Sign anyway", QMessageBox.ButtonRole.AcceptRole)
            cancel = box.addButton(QMessageBox.StandardButton.Cancel)
            anyway.setAccessibleName("Sign anyway")
            cancel.setAccessibleName("Cancel")
            box.setDefaultButton(cancel)
            box.setEscapeButton(cancel)
            box.buttonClicked.connect(lambda clicked: self._overlap_answered(clicked is anyway))
            self.overlap_question = box
        self.overlap_question.setText(f"{text} Sign anyway?")
        self.overlap_question.open()

    def _overlap_answered(self, sign_anyway: bool) -> None:
        if sign_anyway:
            self._when_saved(self._ask_attestation)
        else:
            self.status.setText("Not signed: still a draft.")

    def _check_signable(self, *, scroll: bool = False) -> bool:
        """Say what stops signing now, under each field and below the form (`scroll`: bring
        the first into view); True if nothing does."""
        assert self._opened is not None
        problems = visits.sign_problems(self.form.details(), self._opened.settings,
                                        at=self._ctx.clock())
        first = self.form.show_problems(problems)
        self._problems_shown = bool(problems)
        set_error(self.error, " ".join(problem.text for problem in problems))
        if scroll and first is not None:
            self.form_area.ensureWidgetVisible(first)
        return not problems

    def _ask_attestation(self) -> None:
        # Made once and kept: deleting a dialog that Python still references has crashed
        # PySide here; it goes with the editor.
        if self._note is None or not self._editable:
            return
        if self.attestation is None:
            self.attestation = AttestationDialog(self)
            self.attestation.accepted.connect(lambda: self._when_saved(self._confirm_sign))
        self.attestation.open()

    def _confirm_sign(self) -> None:
        if self._note is None:
            return
        note_id = self._note.id
        self.status.setText("Signing…")
        self._run(change(self._ctx, lambda ws: NoteService(ws).sign(note_id), owner=self)
                  .done(self._signed).shown_in(self.error, after_failure=self._quiet))

    def _signed(self, note: VisitNote) -> None:
        self._note, self._editable, self._dirty = note, False, False
        set_error(self.error, "")
        self.status.setText("Signed.")
        self._show_state()
        self.addendum_button.setFocus()
        self.signed.emit(note.id)

    def add_addendum(self) -> None:
        """Open the addendum dialog (kept between uses: cancelled text is still there)."""
        if self._note is None or not self._note.locked:
            return
        if self.addendum_dialog is None:
            self.addendum_dialog = AddendumDialog(self._ctx, self._note.id, self, run=self._run)
            self.addendum_dialog.added.connect(self._addendum_added)
        self.addendum_dialog.open()

    def _addendum_added(self, note: VisitNote) -> None:
        self._note = note
        self.status.setText("Addendum added.")
        self._show_state()
        self.addendum_added.emit(note.id)

    def _now(self) -> datetime:
        zone = self._opened.settings.zone if self._opened else None
        return self._ctx.clock().astimezone(zone)

    def _today(self) -> date:
        return self._now().date()
