"""The visit note editor, driven like a person: type, wait for autosave, close, sign, addendum."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.domain import visits
from fieldapp.domain.people import CaseId, NoteId
from fieldapp.domain.visits import NoteStatus, VisitNote
from fieldapp.services.today import today_summary
from fieldapp.ui.context import UiContext
from fieldapp.ui.note_dialogs import STATUS_TEXT
from fieldapp.ui.note_editor import USUAL_SIZE, NoteEditor
from fieldapp.ui.widgets import WINDOW_FRAME, fitted_size
from tests.conftest import FakeClock
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

T = TypeVar("T")
LEFT = Qt.MouseButton.LeftButton
WAIT = 5_000


def on_worker(ctx: UiContext, fn: Callable[[], T]) -> T:
    return ctx.runner.worker.call(fn)


def stored(ctx: UiContext, note_id: str) -> VisitNote:
    return on_worker(ctx, lambda: services_of(ctx.session).notes.get(NoteId(note_id)))


def first_case(ctx: UiContext) -> CaseId:
    return on_worker(ctx, lambda: services_of(ctx.session).cases.caseload()[0].case.id)


def open_editor(qtbot: QtBot, ctx: UiContext, **kwargs: Any) -> NoteEditor:
    editor = NoteEditor(ctx, **kwargs)
    qtbot.addWidget(editor)
    editor.show()
    editor.activateWindow()
    qtbot.waitUntil(lambda: editor.form.isEnabled() and editor.isActiveWindow(), timeout=WAIT)
    return editor


def close(qtbot: QtBot, editor: NoteEditor) -> None:
    """Close as a person does (Esc) and wait until the last save has landed."""
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=WAIT)


def type_into(qtbot: QtBot, field: QWidget, text: str) -> None:
    field.setFocus()
    for number, line in enumerate(text.split("\n")):
        if number:
            qtbot.keyClick(field, Qt.Key.Key_Return)
        qtbot.keyClicks(field, line)


def fill_complete_note(qtbot: QtBot, editor: NoteEditor, *, visit_date: str) -> None:
    form = editor.form
    form.visit_date.setFocus()
    form.visit_date.selectAll()
    qtbot.keyClicks(form.visit_date, visit_date)
    type_into(qtbot, form.time_in, "1600")
    type_into(qtbot, form.time_out, "1715")
    type_into(qtbot, form.people, "Robin Alder\nMika Alder")
    type_into(qtbot, form.narrative, "Met Robin at home; reviewed the recovery plan.")


def test_a_typed_note_is_autosaved_as_a_draft(qtbot: QtBot, make_context: ContextFactory,
                                              qtmodeltester: Any) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=50)
    qtmodeltester.check(editor.form.services)
    assert editor.status.text() == "" and editor.history.status.text() == "New note: not saved yet."
    view = editor.form.services_view
    view.setFocus()
    view.setCurrentIndex(editor.form.services.index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Space)  # ticks "recovery coaching"
    type_into(qtbot, editor.form.narrative, "Met Robin at home.")
    qtbot.waitUntil(lambda: editor.note is not None
                    and editor.note.details.narrative == "Met Robin at home."
                    and editor.status.text().startswith("Draft saved"), timeout=WAIT)
    assert editor.status.text() == "Draft saved 03:30"  # the program's zone (Chicago)
    assert editor.note is not None
    saved = stored(ctx, editor.note.id)
    assert saved.status is NoteStatus.DRAFT
    assert saved.details.narrative == "Met Robin at home."
    assert saved.details.services == ("recovery coaching",)
    qtmodeltester.check(editor.form.services)
    close(qtbot, editor)


def test_closing_saves_the_last_keystrokes_even_with_a_save_in_flight(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=60_000)
    with qtbot.waitSignal(editor.saved, timeout=WAIT):
        type_into(qtbot, editor.form.narrative, "First words")  # the first change: a draft
    type_into(qtbot, editor.form.narrative, ", then more")
    type_into(qtbot, editor.form.next_steps, "Call Thursday")
    close(qtbot, editor)  # no autosave in between: only the close can have saved these
    assert editor.note is not None
    saved = stored(ctx, editor.note.id)
    assert saved.details.narrative == "First words, then more"
    assert saved.details.next_steps == "Call Thursday"

    quick = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=60_000)
    type_into(qtbot, quick.form.narrative, "Typed and closed at once")
    assert quick.status.text() == "Saving…"
    close(qtbot, quick)  # the draft's creation is still in flight as Esc is pressed
    assert quick.note is not None
    assert stored(ctx, quick.note.id).details.narrative == "Typed and closed at once"


def test_sign_with_the_attestation_locks_the_note(qtbot: QtBot, make_context: ContextFactory
                                                  ) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=60_000)
    # Three days ago: a late entry (and a day without the demo's other visits at 16:00).
    fill_complete_note(qtbot, editor, visit_date="2026-11-21")
    qtbot.mouseClick(editor.sign_button, LEFT)
    qtbot.waitUntil(lambda: editor.attestation is not None and editor.attestation.isVisible(),
                    timeout=WAIT)
    assert editor.attestation is not None
    assert unnamed_controls(editor.attestation) == []
    assert visits.ATTESTATION in [label.text() for label in
                                  editor.attestation.findChildren(QLabel)]
    with qtbot.waitSignal(editor.signed, timeout=WAIT):
        qtbot.mouseClick(editor.attestation.sign_button, LEFT)
    assert editor.note is not None
    saved = stored(ctx, editor.note.id)
    assert saved.status is NoteStatus.SIGNED and saved.late_entry
    assert str(saved.details.visit_date) == "2026-11-21"
    assert saved.details.people_present == ("Robin Alder", "Mika Alder")
    assert str(saved.details.time_in) == "16:00:00" and str(saved.details.time_out) == "17:15:00"
    assert editor.form.is_read_only() and editor.form.visit_date.isReadOnly()
    assert not editor.sign_button.isVisible() and editor.addendum_button.isVisible()
    assert editor.history.signature.text().startswith("Signed by you on ")
    assert "Late entry" in editor.history.signature.text()
    type_into(qtbot, editor.form.narrative, "changed after signing")
    assert stored(ctx, editor.note.id).details.narrative == saved.details.narrative
    close(qtbot, editor)


def test_signing_an_incomplete_note_shows_the_rule(qtbot: QtBot, make_context: ContextFactory
                                                   ) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=50)
    with qtbot.waitSignal(editor.saved, timeout=WAIT):
        type_into(qtbot, editor.form.narrative, "Only a narrative so far")
    qtbot.keyClick(editor, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert "Fill in the time in and the time out." in editor.error.text()
    assert "List who was present." in editor.error.text()
    assert editor.attestation is None
    assert editor.note is not None
    assert stored(ctx, editor.note.id).status is NoteStatus.DRAFT
    assert not editor.form.is_read_only()
    assert editor.form.narrative.toPlainText() == "Only a narrative so far"
    close(qtbot, editor)


def test_a_refused_save_keeps_the_text_and_says_why(qtbot: QtBot, make_context: ContextFactory
                                                    ) -> None:
    ctx = make_context(demo=True)
    draft = on_worker(ctx, lambda: today_summary(ctx.session.workspace())).drafts[0]
    editor = open_editor(qtbot, ctx, case_id=draft.case_id, note_id=draft.id, autosave_ms=50)
    assert editor.form.narrative.toPlainText() == draft.details.narrative
    on_worker(ctx, lambda: services_of(ctx.session).notes.save_draft(   # saved elsewhere meanwhile
        draft.id, draft.details, expected_revision=draft.revision))
    editor.form.narrative.setFocus()
    qtbot.keyClick(editor.form.narrative, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor.form.narrative, " Added here.")
    qtbot.waitUntil(lambda: "changed elsewhere" in editor.error.text(), timeout=WAIT)
    assert editor.form.narrative.toPlainText() == draft.details.narrative + " Added here."
    assert editor.status.text() == "Not saved"
    qtbot.keyClick(editor, Qt.Key.Key_Escape)  # refused: the dialog stays with the text
    qtbot.waitUntil(lambda: "close again" in editor.error.text(), timeout=WAIT)
    assert editor.isVisible()
    close(qtbot, editor)  # closing again leaves, as the message said


def test_returned_note_shows_the_comment_and_takes_an_addendum(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    returned = on_worker(ctx, lambda: today_summary(ctx.session.workspace())).returned[0]
    editor = open_editor(qtbot, ctx, case_id=returned.case_id, note_id=returned.id)
    history = editor.history
    assert history.returned.isVisible()
    assert "Please add who else was in the home." in history.returned.text()
    assert editor.form.is_read_only() and not editor.sign_button.isVisible()
    assert unnamed_controls(editor) == []
    qtbot.mouseClick(editor.addendum_button, LEFT)
    qtbot.waitUntil(lambda: editor.addendum_dialog is not None
                    and editor.addendum_dialog.isVisible(), timeout=WAIT)
    dialog = editor.addendum_dialog
    assert dialog is not None
    assert unnamed_controls(dialog) == []
    assert not dialog.add_button.isEnabled()
    type_into(qtbot, dialog.reason, "Supervisor asked who was present")
    assert not dialog.add_button.isEnabled(), "the text is required too"
    type_into(qtbot, dialog.text, "Robin's sister Ann was also in the home.")
    with qtbot.waitSignal(editor.addendum_added, timeout=WAIT):
        qtbot.mouseClick(dialog.add_button, LEFT)
    saved = stored(ctx, returned.id)
    assert saved.status is NoteStatus.SIGNED
    assert saved.addenda[-1].reason == "Supervisor asked who was present"
    assert saved.addenda[-1].text == "Robin's sister Ann was also in the home."
    assert not history.returned.isVisible()
    shown = "\n".join(label.text() for label in history.entries)
    assert "Robin's sister Ann was also in the home." in shown
    assert "Returned by Avery Lindgren (demo-supervisor)" in shown  # named, not an id
    close(qtbot, editor)


def test_every_control_of_a_new_note_is_named(qtbot: QtBot, make_context: ContextFactory
                                              ) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx))
    assert unnamed_controls(editor) == []
    assert not editor.form.safety_description.isEnabled()
    editor.form.safety.setFocus()
    qtbot.keyClick(editor.form.safety, Qt.Key.Key_Space)
    assert editor.form.safety_description.isEnabled()
    assert not editor.form.next_visit.isEnabled()
    editor.form.no_next_visit.setFocus()
    qtbot.keyClick(editor.form.no_next_visit, Qt.Key.Key_Space)
    assert editor.form.next_visit.isEnabled()
    editor.form.narrative.setFocus()
    qtbot.keyClick(editor.form.narrative, Qt.Key.Key_Tab)  # Tab leaves a text box
    assert editor.form.next_steps.hasFocus()
    qtbot.waitUntil(lambda: editor.note is not None, timeout=WAIT)
    close(qtbot, editor)


# --- a new user's test: small screens, half-typed times, the keyboard, signing too early --------


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def shown_in_view(label: QLabel) -> bool:
    """Visible to a person: shown, with text, and not scrolled out of sight."""
    return label.isVisible() and bool(label.text()) and not label.visibleRegion().isEmpty()


@pytest.mark.parametrize("available", [QRect(0, 0, 1366, 728), QRect(0, 0, 1280, 680)],
                         ids=["1366x768", "1920x1080 at 150%"])  # each less a 40 px taskbar
def test_the_editor_fits_a_small_screen_with_its_buttons_in_sight(
        qtbot: QtBot, make_context: ContextFactory, available: QRect) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx))
    editor.resize(fitted_size(USUAL_SIZE, available))  # as the editor sizes itself on such a screen
    editor.move(available.topLeft())
    qtbot.keyClick(editor, Qt.Key.Key_S,  # an empty note: the red message shows too
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: editor.size() == fitted_size(USUAL_SIZE, available), timeout=WAIT)
    framed = editor.frameGeometry()
    if framed == editor.geometry():  # offscreen windows have no frame: count a desktop's
        framed.adjust(0, 0, WINDOW_FRAME.width(), WINDOW_FRAME.height())
    assert available.contains(framed)
    assert "Write the narrative" in editor.error.text()
    for control in (editor.save_button, editor.sign_button, editor.close_button, editor.error):
        where = QRect(control.mapTo(editor, QPoint(0, 0)), control.size())
        assert control.isVisible() and editor.rect().contains(where), control.accessibleName()
        assert not editor.form_area.isAncestorOf(control)  # pinned below the scrolling form
    assert editor.form_area.verticalScrollBar().maximum() > 0  # the long form scrolls instead


def test_the_header_says_the_draft_is_saved_once_it_is(qtbot: QtBot,
                                                       make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=50)
    assert editor.history.status.text() == "New note: not saved yet."
    type_into(qtbot, editor.form.narrative, "Met Robin at home.")
    qtbot.waitUntil(lambda: editor.status.text().startswith("Draft saved"), timeout=WAIT)
    assert editor.history.status.text() == STATUS_TEXT[NoteStatus.DRAFT]
    close(qtbot, editor)


def test_a_draft_with_the_times_the_wrong_way_round_is_saved_and_signing_says_why(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    case = first_case(ctx)
    editor = open_editor(qtbot, ctx, case_id=case, autosave_ms=50)
    type_into(qtbot, editor.form.time_in, "1600")
    type_into(qtbot, editor.form.time_out, "1500")  # before the time in: half-corrected
    type_into(qtbot, editor.form.narrative, "Met Robin at home; long talk.")
    qtbot.waitUntil(lambda: editor.note is not None
                    and editor.note.details.narrative == "Met Robin at home; long talk."
                    and editor.status.text().startswith("Draft saved"), timeout=WAIT)
    assert editor.error.text() == ""
    note_id = editor.note.id
    close(qtbot, editor)
    assert stored(ctx, note_id).details.narrative == "Met Robin at home; long talk."

    again = open_editor(qtbot, ctx, case_id=case, note_id=note_id)
    assert again.form.narrative.toPlainText() == "Met Robin at home; long talk."
    assert (again.form.time_in.text(), again.form.time_out.text()) == ("16:00", "15:00")
    times = again.form.problem_labels["times"]
    assert not times.isVisible()
    qtbot.mouseClick(again.sign_button, LEFT)
    assert shown_in_view(times)
    assert times.text() == "The time out must be after the time in."
    assert "The time out must be after the time in." in again.error.text()
    assert again.attestation is None
    assert stored(ctx, note_id).status is NoteStatus.DRAFT
    type_into(qtbot, again.form.time_out, "1715")  # corrected: the message follows at once
    assert times.text() == "This visit ends at 17:15; it can be signed after that."  # today
    close(qtbot, again)


def test_tab_goes_from_field_to_field_and_typed_times_land_in_them(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx))
    form = editor.form
    assert focused() is form.visit_date  # where a new note starts (Ctrl+N)
    qtbot.keyClicks(focused(), "2026-11-23")
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is form.time_in
    qtbot.keyClicks(focused(), "1500")
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is form.time_out
    qtbot.keyClicks(focused(), "16:01")
    assert str(form.details().visit_date) == "2026-11-23"
    assert (form.time_in.text(), form.time_out.text()) == ("15:00", "16:01")

    qtbot.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert focused() is form.time_in
    qtbot.keyClicks(focused(), "1430")  # the whole time was selected: typing replaces it
    assert form.time_in.text() == "14:30"
    qtbot.keyClick(focused(), Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(focused(), "20261122")
    assert str(form.details().visit_date) == "2026-11-22"
    for expected in (form.time_in, form.time_out, form.place, form.contact_type, form.people):
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
        assert focused() is expected
    qtbot.waitUntil(lambda: editor.note is not None, timeout=WAIT)
    close(qtbot, editor)


def test_a_visit_that_has_not_ended_cannot_be_signed(qtbot: QtBot, make_context: ContextFactory,
                                                      clock: FakeClock) -> None:
    ctx = make_context(demo=True)  # the clock: 03:30 on 24 November in Chicago
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=60_000)
    fill_complete_note(qtbot, editor, visit_date="2026-11-24")
    type_into(qtbot, editor.form.time_in, "1500")
    type_into(qtbot, editor.form.time_out, "1601")
    qtbot.mouseClick(editor.sign_button, LEFT)
    refusal = "This visit ends at 16:01; it can be signed after that."
    assert editor.error.text() == refusal
    assert shown_in_view(editor.form.problem_labels["times"])
    assert editor.form.problem_labels["times"].text() == refusal
    qtbot.wait(100)
    assert editor.attestation is None

    clock.now = datetime(2026, 11, 24, 22, 1, tzinfo=UTC)  # 16:01 in Chicago: it has ended
    qtbot.mouseClick(editor.sign_button, LEFT)
    qtbot.waitUntil(lambda: editor.attestation is not None and editor.attestation.isVisible(),
                    timeout=WAIT)
    assert editor.error.text() == "" and not editor.form.problem_labels["times"].isVisible()
    assert editor.attestation is not None
    with qtbot.waitSignal(editor.signed, timeout=WAIT):
        qtbot.mouseClick(editor.attestation.sign_button, LEFT)
    assert editor.note is not None and stored(ctx, editor.note.id).status is NoteStatus.SIGNED
    close(qtbot, editor)


def sign_through_the_attestation(qtbot: QtBot, editor: NoteEditor) -> None:
    qtbot.waitUntil(lambda: editor.attestation is not None and editor.attestation.isVisible(),
                    timeout=WAIT)
    assert editor.attestation is not None
    with qtbot.waitSignal(editor.signed, timeout=WAIT):
        qtbot.mouseClick(editor.attestation.sign_button, LEFT)


def note_at(qtbot: QtBot, ctx: UiContext, *, time_in: str, time_out: str) -> NoteEditor:
    editor = open_editor(qtbot, ctx, case_id=first_case(ctx), autosave_ms=60_000)
    fill_complete_note(qtbot, editor, visit_date="2026-11-22")  # no demo visits that day
    type_into(qtbot, editor.form.time_in, time_in)
    type_into(qtbot, editor.form.time_out, time_out)
    return editor


def test_signing_a_visit_that_overlaps_another_of_mine_asks_first(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    family = on_worker(ctx, lambda: services_of(ctx.session).cases.caseload()[0].case.family_name)
    first = note_at(qtbot, ctx, time_in="1600", time_out="1715")
    qtbot.mouseClick(first.sign_button, LEFT)
    sign_through_the_attestation(qtbot, first)
    assert first.overlap_question is None
    close(qtbot, first)

    second = note_at(qtbot, ctx, time_in="1630", time_out="1700")
    qtbot.mouseClick(second.sign_button, LEFT)
    qtbot.waitUntil(lambda: second.overlap_question is not None
                    and second.overlap_question.isVisible(), timeout=WAIT)
    box = second.overlap_question
    assert box is not None
    assert box.text() == (f"You have another visit from 16:00 to 17:15 that day ({family} "
                          "family). Sign anyway?")
    assert unnamed_controls(box) == []
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert second.attestation is None
    qtbot.keyClick(box, Qt.Key.Key_Return)  # the default: Cancel
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT)
    qtbot.wait(100)
    assert second.note is not None
    assert stored(ctx, second.note.id).status is NoteStatus.DRAFT
    assert second.attestation is None and not second.form.is_read_only()
    assert second.status.text() == "Not signed: still a draft."

    qtbot.mouseClick(second.sign_button, LEFT)  # a question, not a refusal
    qtbot.waitUntil(box.isVisible, timeout=WAIT)
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Sign anyway"), LEFT)
    sign_through_the_attestation(qtbot, second)
    assert stored(ctx, second.note.id).status is NoteStatus.SIGNED
    close(qtbot, second)

    after = note_at(qtbot, ctx, time_in="1715", time_out="1800")  # begins as the first ends
    qtbot.mouseClick(after.sign_button, LEFT)
    sign_through_the_attestation(qtbot, after)
    assert after.overlap_question is None
    close(qtbot, after)
