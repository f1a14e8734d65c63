"""The drug screen form, driven as a person would: keyboard and mouse, over a real profile."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QDateTimeEdit
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import CaseId, ScreenId, UserId, new_id
from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    LabStatus,
    Method,
    ScreenReason,
    Specimen,
    SubstanceResult,
    Validity,
)
from fieldapp.domain.settings import DEFAULT_PANEL
from fieldapp.ui.context import UiContext
from fieldapp.ui.panel_model import RESULT, PanelModel
from fieldapp.ui.screen_form import ScreenForm
from fieldapp.ui.screen_validity import DUE_AFTER
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def ctx(make_context: ContextFactory) -> UiContext:
    return make_context(demo=True)


def first_case(ctx: UiContext) -> CaseId:
    return ctx.runner.worker.call(lambda: services_of(ctx.session).cases.caseload()[0].case.id)


def screens_of(ctx: UiContext, case_id: CaseId) -> list[DrugScreen]:
    return ctx.runner.worker.call(lambda: services_of(ctx.session).screens.for_case(case_id))


def history_of(ctx: UiContext, screen_id: ScreenId) -> list[DrugScreen]:
    return ctx.runner.worker.call(lambda: services_of(ctx.session).screens.history(screen_id))


def open_form(qtbot: QtBot, ctx: UiContext, case_id: CaseId,
              screen_id: ScreenId | None = None) -> ScreenForm:
    form = ScreenForm(ctx, case_id=case_id, screen_id=screen_id)
    qtbot.addWidget(form)
    form.show()
    qtbot.waitUntil(form.body.isEnabled, timeout=10_000)
    return form


def click_row(qtbot: QtBot, view: QAbstractItemView, row: int, column: int = 0) -> None:
    rect = view.visualRect(view.model().index(row, column))
    qtbot.mouseClick(view.viewport(), LEFT, pos=rect.center())


def row_of(model: PanelModel, substance: str) -> int:
    return model.panel.index(substance)


def enter_results(qtbot: QtBot, form: ScreenForm, key: Qt.Key = Qt.Key.Key_N,
                  *, skip: tuple[str, ...] = ()) -> None:
    """Type one result on every row of the grid, from the top, except the `skip` ones."""
    grid = form.panel
    click_row(qtbot, grid, 0)
    for substance in form.panel_model.panel:
        if substance not in skip:
            qtbot.keyClick(grid, key)
        qtbot.keyClick(grid, Qt.Key.Key_Down)


def instant_positive(ctx: UiContext, case_id: CaseId) -> DrugScreen:
    """An instant screen with opiates positive, recorded through the service."""
    screen = DrugScreen(
        id=ScreenId(new_id()), case_id=case_id, person="Someone", reason=ScreenReason.RANDOM,
        collected_at=ctx.clock(), panel=DEFAULT_PANEL,
        results={s: SubstanceResult.POSITIVE if s == "opiates" else SubstanceResult.NEGATIVE
                 for s in DEFAULT_PANEL}, recorded_by=UserId(""))
    return ctx.runner.worker.call(lambda: services_of(ctx.session).screens.record(screen))


def test_records_a_screen_with_one_positive(qtbot: QtBot, ctx: UiContext) -> None:
    case_id = first_case(ctx)
    case = ctx.runner.worker.call(lambda: services_of(ctx.session).cases.get(case_id))
    before = len(screens_of(ctx, case_id))
    form = open_form(qtbot, ctx, case_id)
    assert form.person.currentText() == case.parents[0].name
    assert form.panel_model.panel == DEFAULT_PANEL
    enter_results(qtbot, form)
    assert set(form.panel_model.results().values()) == {SubstanceResult.NEGATIVE}

    grid, model = form.panel, form.panel_model
    click_row(qtbot, grid, row_of(model, "opiates"))
    qtbot.keyClick(grid, Qt.Key.Key_P)
    opiates = model.index(row_of(model, "opiates"), RESULT)
    assert opiates.data() == "POSITIVE (unconfirmed)"  # instant: said in words, not colour
    assert opiates.data(Qt.ItemDataRole.BackgroundRole) is not None

    # The list editor: F2 on cocaine, choose Inconclusive, then N puts it back to negative.
    click_row(qtbot, grid, row_of(model, "cocaine"))
    qtbot.keyClick(grid, Qt.Key.Key_F2)
    editor = grid.findChild(QComboBox)
    assert editor is not None and editor.accessibleName() == "Result for cocaine"
    qtbot.keyClicks(editor, "i")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: grid.findChild(QComboBox) is None)
    cocaine = model.index(row_of(model, "cocaine"), RESULT)
    assert cocaine.data() == "Inconclusive"
    qtbot.keyClick(grid, Qt.Key.Key_N)
    assert cocaine.data() == "Negative"

    qtbot.keyClicks(form.comments, "Collected at the home visit.")
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    stored = {s.id: s for s in screens_of(ctx, case_id)}
    assert len(stored) == before + 1
    screen = stored[saved.args[0]]
    assert screen.results["opiates"] is SubstanceResult.POSITIVE
    assert [s for s, r in screen.results.items() if r is not SubstanceResult.NEGATIVE] \
        == ["opiates"]
    assert screen.person == case.parents[0].name
    assert screen.comments == "Collected at the home visit."
    assert screen.collected_at == ctx.clock()


def test_lab_confirmation_adds_a_revision_and_keeps_the_first(qtbot: QtBot, ctx: UiContext
                                                              ) -> None:
    case_id = first_case(ctx)
    screen = instant_positive(ctx, case_id)
    form = open_form(qtbot, ctx, case_id, screen.id)
    assert "NOT FOR COURT" in form.mark.text()
    assert not form.correct_button.isHidden() and form.save_button.isHidden()
    assert not form.person.isEnabled()  # read-only

    qtbot.mouseClick(form.lab_button, LEFT)
    dialog = form.lab_dialog
    assert dialog is not None and dialog.isVisible()
    assert unnamed_controls(dialog) == []
    qtbot.keyClicks(dialog.status, "c")
    assert dialog.status.currentData() == LabStatus.CONFIRMED_POSITIVE
    with qtbot.waitSignal(form.saved, timeout=10_000):
        qtbot.mouseClick(dialog.action_button, LEFT)
    qtbot.waitUntil(lambda: form.history_model.rowCount() == 2, timeout=10_000)
    assert not dialog.isVisible()
    history = history_of(ctx, screen.id)
    assert [s.revision for s in history] == [1, 2]
    assert history[1].lab is not None
    assert history[1].lab.status is LabStatus.CONFIRMED_POSITIVE
    assert history[0].lab is None
    assert "NOT FOR COURT" not in form.mark.text()
    assert "confirmed positive" in form.mark.text()

    click_row(qtbot, form.history, 0)
    assert "revision 1 of 2" in form.revision_note.text()
    assert "NOT FOR COURT" in form.mark.text()  # revision 1 still reads as it was
    assert not form.lab_button.isEnabled() and not form.correct_button.isEnabled()
    assert form.history_model.index(1, 3).data() == "lab result recorded: confirmed positive"
    click_row(qtbot, form.history, 1)
    assert form.correct_button.isEnabled()


def test_a_correction_needs_a_reason(qtbot: QtBot, ctx: UiContext) -> None:
    case_id = first_case(ctx)
    screen = instant_positive(ctx, case_id)
    form = open_form(qtbot, ctx, case_id, screen.id)
    qtbot.mouseClick(form.correct_button, LEFT)
    assert form.comments.isReadOnly() is False and form.history.isEnabled() is False
    assert unnamed_controls(form) == []
    qtbot.keyClicks(form.comments, "Cup was labelled late.")
    qtbot.mouseClick(form.save_correction_button, LEFT)
    dialog = form.reason_dialog
    assert dialog is not None and dialog.isVisible()
    assert unnamed_controls(dialog) == []
    qtbot.mouseClick(dialog.action_button, LEFT)
    qtbot.waitUntil(lambda: "reason" in dialog.message.text(), timeout=10_000)
    assert dialog.isVisible()
    assert len(history_of(ctx, screen.id)) == 1

    qtbot.keyClicks(dialog.reason, "comment left out at the visit")
    with qtbot.waitSignal(form.saved, timeout=10_000):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    history = history_of(ctx, screen.id)
    assert [s.revision for s in history] == [1, 2]
    assert history[1].comments == "Cup was labelled late."
    assert history[1].correction_reason == "comment left out at the visit"
    assert history[1].results == screen.results
    assert history[1].collected_at == screen.collected_at
    # Recorded without call-in times: the correction does not invent them.
    assert not form.call_in.known.isChecked()
    assert (history[1].notified_at, history[1].due_by) == (None, None)


def test_a_lab_screen_without_chain_of_custody_is_refused(qtbot: QtBot, ctx: UiContext
                                                          ) -> None:
    case_id = first_case(ctx)
    before = screens_of(ctx, case_id)
    form = open_form(qtbot, ctx, case_id)
    qtbot.keyClicks(form.method, "l")
    assert form.method.currentData() == Method.LAB
    enter_results(qtbot, form)
    qtbot.mouseClick(form.save_button, LEFT)
    qtbot.waitUntil(lambda: "chain-of-custody" in form.message.text(), timeout=10_000)
    assert form.isVisible()
    assert screens_of(ctx, case_id) == before


def test_a_refused_screen_saves_without_results(qtbot: QtBot, ctx: UiContext) -> None:
    case_id = first_case(ctx)
    form = open_form(qtbot, ctx, case_id)
    qtbot.keyClick(form.panel, Qt.Key.Key_P)
    qtbot.keyClicks(form.attendance, "r")
    assert form.attendance.currentData() == Attendance.REFUSED
    assert not form.panel.isEnabled()
    assert form.panel_model.results() == {}
    assert form.panel_model.index(0, RESULT).data() == "not tested"
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    screen = {s.id: s for s in screens_of(ctx, case_id)}[saved.args[0]]
    assert screen.attendance is Attendance.REFUSED
    assert screen.results == {}


def test_every_control_is_named_and_reachable(qtbot: QtBot, ctx: UiContext) -> None:
    case_id = first_case(ctx)
    form = open_form(qtbot, ctx, case_id)
    assert unnamed_controls(form) == [], "new screen"
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    qtbot.keyClick(form, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    assert form.panel.hasFocus()
    qtbot.keyClick(form.panel, Qt.Key.Key_Down)
    qtbot.keyClick(form.panel, Qt.Key.Key_I)
    assert form.panel_model.results()[DEFAULT_PANEL[1]] is SubstanceResult.INCONCLUSIVE
    mark_positive = [a for a in form.panel.actions() if "positive" in a.text()]
    mark_positive[0].trigger()  # the context menu's choice
    assert form.panel_model.results()[DEFAULT_PANEL[1]] is SubstanceResult.POSITIVE
    qtbot.keyClick(form, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    assert form.chain_of_custody.hasFocus()
    screen = instant_positive(ctx, case_id)
    viewing = open_form(qtbot, ctx, case_id, screen.id)
    assert unnamed_controls(viewing) == [], "existing screen"


def test_the_models_pass_the_model_tester(qtbot: QtBot, qtmodeltester: object,
                                          ctx: UiContext) -> None:
    case_id = first_case(ctx)
    screen = instant_positive(ctx, case_id)
    ctx.runner.worker.call(lambda: services_of(ctx.session).screens.correct(
        screen.id, replace(screen, comments="late label"), reason="comment added"))
    form = open_form(qtbot, ctx, case_id, screen.id)
    qtbot.waitUntil(lambda: form.history_model.rowCount() == 2, timeout=10_000)
    qtmodeltester.check(form.history_model)  # type: ignore[attr-defined]

    model = PanelModel()
    model.set_panel(DEFAULT_PANEL)
    model.set_editable(True)
    assert model.setData(model.index(2, RESULT), "p")
    assert model.setData(model.index(3, RESULT), SubstanceResult.INCONCLUSIVE)
    assert not model.setData(model.index(4, RESULT), "maybe")
    assert not model.setData(model.index(4, 0), "negative")  # the substance is not editable
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.results()[DEFAULT_PANEL[2]] is SubstanceResult.POSITIVE
    model.clear_results()
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.results() == {}


def choose(qtbot: QtBot, combo: QComboBox, value: object) -> None:
    combo.setFocus()
    while combo.currentData() != value:
        qtbot.keyClick(combo, Qt.Key.Key_Down)


def test_readings_show_what_they_measure_beside_the_collector(qtbot: QtBot, ctx: UiContext
                                                              ) -> None:
    case_id = first_case(ctx)
    form = open_form(qtbot, ctx, case_id)
    assert "nothing measured" in form.validity_note.text()
    qtbot.keyClicks(form.readings.creatinine, "15.0")
    qtbot.keyClicks(form.readings.specific_gravity, "1.00205")  # the fifth decimal is refused
    assert form.readings.specific_gravity.text() == "1.0020"
    assert "dilute (49 CFR 40.88(a)); pH not measured" in form.validity_note.text()
    qtbot.keyClicks(form.readings.ph, "6.5")
    note = form.validity_note.text()
    assert note.startswith("DISAGREE: the readings say dilute, the collector judged valid.")
    assert "creatinine 15.0 mg/dL and specific gravity 1.0020: dilute (49 CFR 40.88(a))" in note
    assert "Collector: valid." in note
    assert form.validity_note.styleSheet()  # the warning is marked, not only written
    assert unnamed_controls(form) == []

    choose(qtbot, form.validity, Validity.DILUTE)
    assert "DISAGREE" not in form.validity_note.text()
    assert not form.validity_note.styleSheet()

    # An instant positive reads as unconfirmed while it is being entered.
    click_row(qtbot, form.panel, row_of(form.panel_model, "opiates"))
    qtbot.keyClick(form.panel, Qt.Key.Key_P)
    assert "UNCONFIRMED, NOT FOR COURT" in form.mark.text()
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    screen = {s.id: s for s in screens_of(ctx, case_id)}[saved.args[0]]
    assert screen.readings is not None
    assert (screen.readings.creatinine, screen.readings.specific_gravity, screen.readings.ph,
            screen.readings.oxidant) == (Decimal("15.0"), Decimal("1.0020"), Decimal("6.5"),
                                         None)
    assert screen.validity is Validity.DILUTE


def test_readings_are_for_urine_only(qtbot: QtBot, ctx: UiContext) -> None:
    form = open_form(qtbot, ctx, first_case(ctx))
    qtbot.keyClicks(form.readings.ph, "7")
    assert form.readings.isVisible()
    enter_results(qtbot, form)
    choose(qtbot, form.specimen, Specimen.ORAL_FLUID)
    assert not form.readings.isVisible()
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    screen = {s.id: s for s in screens_of(ctx, first_case(ctx))}[saved.args[0]]
    assert screen.specimen is Specimen.ORAL_FLUID and screen.readings is None


def set_moment(edit: QDateTimeEdit, day: QDate, time: QTime) -> None:
    edit.setDateTime(QDateTime(day, time, edit.timeZone()))


def test_a_random_call_in_keeps_its_times_and_says_when_it_was_late(qtbot: QtBot,
                                                                     ctx: UiContext) -> None:
    case_id = first_case(ctx)
    form = open_form(qtbot, ctx, case_id)
    assert not form.call_in.isVisible()  # a scheduled screen
    choose(qtbot, form.reason, ScreenReason.RANDOM)
    assert form.call_in.isVisible() and form.call_in.notified_at.isVisible()
    assert form.call_in.known.isChecked()
    told, due = form.call_in.times(told=True)
    assert told is not None and due == told + DUE_AFTER  # the default: eight hours
    assert unnamed_controls(form) == []

    # Told at 06:00 to come by 08:00 (program time); collected at the form's 03:30 default
    # moved to 09:15: after the due-by time.
    day = form.collected_at.date()
    set_moment(form.call_in.notified_at, day, QTime(6, 0))
    set_moment(form.call_in.due_by, day, QTime(8, 0))
    set_moment(form.collected_at, day, QTime(9, 15))
    enter_results(qtbot, form)
    assert "late for the call-in" in form.mark.text()
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    screen = {s.id: s for s in screens_of(ctx, case_id)}[saved.args[0]]
    assert screen.notified_at is not None and screen.due_by is not None
    assert screen.due_by - screen.notified_at == timedelta(hours=2)
    assert screen.late_for_call_in

    viewing = open_form(qtbot, ctx, case_id, screen.id)
    assert viewing.call_in.times(told=True) == (screen.notified_at, screen.due_by)
    assert "late for the call-in" in viewing.mark.text()


def test_a_no_show_asks_for_the_due_by_time(qtbot: QtBot, ctx: UiContext) -> None:
    case_id = first_case(ctx)
    form = open_form(qtbot, ctx, case_id)
    choose(qtbot, form.attendance, Attendance.NO_SHOW)
    assert form.call_in.isVisible() and not form.call_in.notified_at.isVisible()
    form.call_in.known.setFocus()
    qtbot.keyClick(form.call_in.known, Qt.Key.Key_Space)  # untick: no due-by time
    assert not form.call_in.due_by.isEnabled()
    qtbot.mouseClick(form.save_button, LEFT)
    qtbot.waitUntil(lambda: "due by" in form.message.text(), timeout=10_000)
    assert form.message.text() == "A no-show needs the time the specimen was due by."
    qtbot.keyClick(form.call_in.known, Qt.Key.Key_Space)
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    screen = {s.id: s for s in screens_of(ctx, case_id)}[saved.args[0]]
    assert screen.attendance is Attendance.NO_SHOW
    assert screen.due_by is not None and screen.notified_at is None


def test_a_new_screen_records_no_result_nobody_entered(qtbot: QtBot, ctx: UiContext) -> None:
    case_id = first_case(ctx)
    before = screens_of(ctx, case_id)
    form = open_form(qtbot, ctx, case_id)
    model = form.panel_model
    assert [model.index(row, RESULT).data() for row in range(model.rowCount())] \
        == ["Not entered"] * len(DEFAULT_PANEL)
    assert model.index(0, RESULT).data(Qt.ItemDataRole.AccessibleTextRole) \
        == f"{DEFAULT_PANEL[0]}: Not entered"
    assert model.results() == {}
    assert form.mark.text().startswith("Court status: not entered yet")
    assert "negative" not in form.mark.text()

    qtbot.mouseClick(form.save_button, LEFT)
    assert form.results_note.isVisible()
    assert form.results_note.text() == (
        f"Not saved: no result entered yet for {', '.join(DEFAULT_PANEL)}. Type N, P or I on "
        "each of their rows.")
    assert form.message.text().startswith("Not saved")
    assert form.panel.hasFocus() and form.panel.currentIndex().row() == 0
    assert form.isVisible()

    # All but cocaine: the note names cocaine alone, and the court status still waits.
    enter_results(qtbot, form, skip=("cocaine",))
    assert form.results_note.text().startswith("Not saved: no result entered yet for cocaine.")
    assert "not entered yet (1 of" in form.mark.text()
    qtbot.mouseClick(form.save_button, LEFT)
    assert form.isVisible()
    assert form.panel.currentIndex().row() == row_of(model, "cocaine")
    qtbot.keyClick(form.panel, Qt.Key.Key_N)
    assert not form.results_note.isVisible() and form.message.text() == ""
    assert form.mark.text() == "Court status: negative."
    assert screens_of(ctx, case_id) == before  # the refusals wrote nothing
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        qtbot.mouseClick(form.save_button, LEFT)
    screen = {s.id: s for s in screens_of(ctx, case_id)}[saved.args[0]]
    assert screen.results == dict.fromkeys(DEFAULT_PANEL, SubstanceResult.NEGATIVE)


def test_the_result_list_opens_with_nothing_chosen(qtbot: QtBot, ctx: UiContext) -> None:
    form = open_form(qtbot, ctx, first_case(ctx))
    grid, model = form.panel, form.panel_model
    click_row(qtbot, grid, 0)
    qtbot.keyClick(grid, Qt.Key.Key_F2)
    editor = grid.findChild(QComboBox)
    assert editor is not None and editor.currentIndex() == -1
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # leaving the list is not a choice
    qtbot.waitUntil(lambda: grid.findChild(QComboBox) is None)
    assert model.index(0, RESULT).data() == "Not entered" and model.results() == {}


def test_back_to_collected_after_a_refusal_starts_unset(qtbot: QtBot, ctx: UiContext) -> None:
    form = open_form(qtbot, ctx, first_case(ctx))
    enter_results(qtbot, form)
    choose(qtbot, form.attendance, Attendance.REFUSED)
    assert form.mark.text() == "Court status: refused."
    qtbot.keyClicks(form.attendance, "c")
    assert form.attendance.currentData() == Attendance.COLLECTED
    assert form.panel_model.results() == {}
    assert form.panel_model.index(0, RESULT).data() == "Not entered"


def test_a_correction_with_results_unset_is_refused_beside_the_grid(qtbot: QtBot,
                                                                    ctx: UiContext) -> None:
    case_id = first_case(ctx)
    refused = DrugScreen(id=ScreenId(new_id()), case_id=case_id, person="Someone",
                         reason=ScreenReason.SCHEDULED, collected_at=ctx.clock(),
                         attendance=Attendance.REFUSED, recorded_by=UserId(""))
    ctx.runner.worker.call(lambda: services_of(ctx.session).screens.record(refused))
    form = open_form(qtbot, ctx, case_id, refused.id)
    assert form.panel_model.index(0, RESULT).data() == "not tested"
    qtbot.mouseClick(form.correct_button, LEFT)
    qtbot.keyClicks(form.attendance, "c")
    assert form.attendance.currentData() == Attendance.COLLECTED
    assert form.panel_model.index(0, RESULT).data() == "Not entered"
    qtbot.mouseClick(form.save_correction_button, LEFT)
    assert form.reason_dialog is None  # not asked for a reason: nothing can be saved yet
    assert form.results_note.text().startswith(
        f"Not saved: no result entered yet for {DEFAULT_PANEL[0]}, ")
    qtbot.mouseClick(form.discard_button, LEFT)
    assert not form.results_note.isVisible()
    assert len(history_of(ctx, refused.id)) == 1
