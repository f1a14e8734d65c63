"""The Mileage page as a person drives it: trips past the cap, submitting, the chart."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from fieldapp.domain.mileage import MileageMonth, MonthStatus
from fieldapp.domain.people import Actor, Role, UserId
from fieldapp.services.mileage import MileageService
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import last_months
from fieldapp.ui.mileage_page import MileagePage
from fieldapp.ui.today_page import TodayPage
from fieldapp.ui.trip_dialog import TripDialog
from tests.conftest import FakeClock
from tests.services.records_helpers import make_trip, services_of
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

LEFT = Qt.MouseButton.LeftButton
NOVEMBER = "2026-11"


def open_page(qtbot: QtBot, ctx: UiContext) -> MileagePage:
    page = MileagePage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 860)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.refresh()
    qtbot.waitUntil(lambda: page.chart.data is not None, timeout=10_000)
    return page


def month(ctx: UiContext, key: str = NOVEMBER) -> MileageMonth:
    return ctx.runner.worker.call(lambda: services_of(ctx.session).mileage.month(key))


def open_add_dialog(qtbot: QtBot, page: MileagePage) -> TripDialog:
    qtbot.mouseClick(page.add_button, LEFT)
    qtbot.waitUntil(lambda: page.trip_dialog is not None and page.trip_dialog.isVisible())
    assert page.trip_dialog is not None
    return page.trip_dialog


def fill_trip(qtbot: QtBot, dialog: TripDialog, *, to: str, purpose: str, miles: str,
              round_trip: bool = False) -> None:
    qtbot.keyClicks(dialog.destination.lineEdit(), to)
    qtbot.keyClicks(dialog.purpose, purpose)
    qtbot.keyClick(dialog.miles, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.miles, miles)
    if round_trip:
        qtbot.keyClick(dialog.round_trip, Qt.Key.Key_Space)


def save(qtbot: QtBot, page: MileagePage, dialog: TripDialog) -> None:
    with qtbot.waitSignal(page.loaded, timeout=10_000), qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.save_button, LEFT)


def select_row(qtbot: QtBot, page: MileagePage, row: int) -> None:
    rect = page.table.visualRect(page.model.index(row, 0))
    qtbot.mouseClick(page.table.viewport(), LEFT, pos=rect.center())
    assert page.selected() is page.model.row_at(row)


def confirm(qtbot: QtBot, page: MileagePage) -> None:
    qtbot.waitUntil(lambda: page.confirm_dialog is not None and page.confirm_dialog.isVisible())
    assert page.confirm_dialog is not None
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(page.confirm_dialog.confirm_button, LEFT)


def first_trip_by_shortcut(qtbot: QtBot, page: MileagePage) -> None:
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)  # shortcuts reach only the active window
    qtbot.keyClick(page.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # Ctrl+T
    qtbot.waitUntil(lambda: page.trip_dialog is not None and page.trip_dialog.isVisible())
    dialog = page.trip_dialog
    assert dialog is not None
    assert unnamed_controls(dialog) == [], "trip dialog"
    fill_trip(qtbot, dialog, to="Eastfield clinic", purpose="Transport to treatment",
              miles="60", round_trip=True)
    qtbot.waitUntil(lambda: dialog.allowance.text() == (
        "150 of 150 miles left this month. This trip: 120 miles, all reimbursable."))
    assert not dialog.warning.isVisible()
    save(qtbot, page, dialog)
    assert page.model.rowCount() == 1
    assert page.meter.format() == "120 of 150 miles used · 30 left · $87.00"


def trip_across_the_cap(qtbot: QtBot, page: MileagePage, ctx: UiContext) -> None:
    dialog = open_add_dialog(qtbot, page)
    fill_trip(qtbot, dialog, to="County court", purpose="Family court hearing", miles="42.4")
    qtbot.waitUntil(lambda: dialog.allowance.text() == (
        "30 of 150 miles left this month. This trip: 42.4 miles, 30 of them reimbursable."))
    assert dialog.warning.isVisible()
    assert dialog.warning.text() == ("⚠ This trip crosses the monthly cap: 12.4 miles will be "
                                     "logged but not reimbursed.")
    assert "background" in dialog.warning.styleSheet()
    assert month(ctx).allocations == (page.model.row_at(0),), "the preview writes nothing"
    save(qtbot, page, dialog)
    assert page.meter.format() == "150 of 150 miles used · 0 left · $108.75"
    assert page.meter.value() == page.meter.maximum()
    assert "12.4 miles are over the cap" in page.summary.text()
    texts = [page.model.index(1, c).data() for c in range(page.model.columnCount())]
    assert texts == ["24 Nov 2026", "Office", "County court", "Family court hearing", "No case",
                     "42.4", "30", "12.4"]


def check_chart(qtbot: QtBot, page: MileagePage) -> None:
    chart = page.chart
    qtbot.waitUntil(lambda: chart.reimbursable_set.at(11) == 150.0, timeout=5_000)
    assert len(chart.categories()) == 12
    assert chart.categories()[0] == "Dec" and chart.categories()[-1] == "Nov"
    assert chart.over_cap_set.at(11) == pytest.approx(12.4)
    assert sum(chart.reimbursable_set.at(i) + chart.over_cap_set.at(i) for i in range(11)) == 0
    assert chart.view.accessibleName() == "Mileage chart, last 12 months"
    assert "Nov 2026: 150 reimbursable, 12.4 over the cap" in chart.view.accessibleDescription()


def submit_and_check_locked(qtbot: QtBot, page: MileagePage, ctx: UiContext) -> None:
    qtbot.mouseClick(page.submit_button, LEFT)
    assert page.confirm_dialog is not None
    question = page.confirm_dialog.text.text()
    assert question.startswith(
        "November is not over. Submitting now locks it: you cannot add or change trips in it "
        "until your supervisor returns it."), "submitting on the 24th says what it locks"
    assert page.confirm_dialog.windowTitle() == "Submit November 2026 before it ends"
    assert page.confirm_dialog.cancel_button.isDefault(), "Enter must not submit"
    assert "162.4 miles logged, 150 reimbursable ($108.75)" in question
    assert "not connected to the program's server yet: the month goes to your supervisor at " \
           "the next sync" in question
    assert unnamed_controls(page.confirm_dialog) == [], "confirmation"
    confirm(qtbot, page)
    assert month(ctx).status is MonthStatus.SUBMITTED
    assert page.status.text().startswith("Status: submitted")
    assert "goes to your supervisor at the next sync" in page.status.text()
    assert "waiting for your supervisor's approval" not in page.status.text(), "not connected"
    assert page.message.text() == \
        "November 2026 submitted; it goes to your supervisor at the next sync."
    select_row(qtbot, page, 0)
    for button in (page.add_button, page.edit_button, page.remove_button, page.submit_button):
        assert not button.isEnabled()
        assert "is submitted" in button.toolTip()
    assert page.lock_note.isVisible() and "is submitted" in page.lock_note.text()
    page.activateWindow()  # after a dialog closes, focus returns to the window
    qtbot.waitUntil(page.isActiveWindow)
    qtbot.keyClick(page.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert "is submitted" in page.message.text(), "the shortcut says why it does nothing"


def test_trips_past_the_cap_then_submit(qtbot: QtBot, make_context: ContextFactory,
                                        clock: FakeClock, qtmodeltester: object) -> None:
    ctx = make_context()
    page = open_page(qtbot, ctx)
    assert page.month_label.text() == "November 2026"
    assert page.meter.format() == "0 of 150 miles used · 150 left · $0.00"
    assert page.status.text().startswith("Status: open")
    first_trip_by_shortcut(qtbot, page)
    clock.advance(3600)  # an hour later, a second trip the same day: it is paid after the first
    trip_across_the_cap(qtbot, page, ctx)
    saved = month(ctx)
    assert saved.reimbursable == 150
    assert saved.over_cap == Decimal("12.4")
    assert saved.total == Decimal("162.4")
    qtmodeltester.check(page.model)  # type: ignore[attr-defined]
    check_chart(qtbot, page)
    assert unnamed_controls(page) == [], "page with trips"
    submit_and_check_locked(qtbot, page, ctx)


def refused_then_saved(qtbot: QtBot, page: MileagePage, ctx: UiContext) -> None:
    dialog = open_add_dialog(qtbot, page)
    qtbot.waitUntil(dialog.isActiveWindow)
    assert dialog.date.hasFocus()
    dialog.date.setCurrentSectionIndex(dialog.date.sectionCount() - 1)  # Tab walks d, MMM, yyyy
    for following in (dialog.origin, dialog.destination, dialog.purpose, dialog.case,
                      dialog.use_odometer, dialog.miles):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert following.hasFocus(), following.accessibleName()
    fill_trip(qtbot, dialog, to="Alder home", purpose="", miles="12.5")
    qtbot.mouseClick(dialog.save_button, LEFT)
    qtbot.waitUntil(lambda: dialog.error.text() != "")
    assert dialog.error.text() == "Give the business purpose of the trip."
    assert dialog.isVisible()
    assert month(ctx).allocations == (), "nothing written"
    qtbot.keyClicks(dialog.purpose, "Home visit")
    save(qtbot, page, dialog)
    assert page.model.index(0, 5).data() == "12.5"


def edited_to_odometer(qtbot: QtBot, page: MileagePage, ctx: UiContext) -> None:
    select_row(qtbot, page, 0)
    assert page.edit_button.isEnabled()
    before = page.trip_dialog
    qtbot.mouseClick(page.edit_button, LEFT)
    qtbot.waitUntil(lambda: page.trip_dialog is not before and page.trip_dialog is not None
                    and page.trip_dialog.isVisible())
    edit = page.trip_dialog
    assert edit is not None
    assert edit.purpose.text() == "Home visit" and edit.destination.currentText() == "Alder home"
    qtbot.keyClick(edit.use_odometer, Qt.Key.Key_Space)
    assert edit.odometer_start.isVisible() and not edit.miles.isVisible()
    assert unnamed_controls(edit) == [], "odometer fields"
    for box, reading in ((edit.odometer_start, "1000"), (edit.odometer_end, "1180.2")):
        qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(box, reading)
    qtbot.waitUntil(lambda: "This trip: 180.2 miles, 150 of them reimbursable"
                    in edit.allowance.text())
    assert "30.2 miles will be logged but not reimbursed" in edit.warning.text()
    save(qtbot, page, edit)
    trip = month(ctx).allocations[0].trip
    assert (trip.odometer_start, trip.odometer_end) == (Decimal(1000), Decimal("1180.2"))
    assert page.model.index(0, 7).data() == "30.2"


def test_refusals_edit_odometer_and_remove(qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context()
    page = open_page(qtbot, ctx)
    refused_then_saved(qtbot, page, ctx)
    edited_to_odometer(qtbot, page, ctx)
    select_row(qtbot, page, 0)
    qtbot.mouseClick(page.remove_button, LEFT)
    assert page.confirm_dialog is not None
    assert page.confirm_dialog.cancel_button.isDefault(), "Enter must not remove"
    qtbot.mouseClick(page.confirm_dialog.cancel_button, LEFT)
    assert len(month(ctx).allocations) == 1
    qtbot.mouseClick(page.remove_button, LEFT)
    confirm(qtbot, page)
    assert page.model.rowCount() == 0
    assert month(ctx).allocations == ()
    assert not page.edit_button.isEnabled()
    assert page.edit_button.toolTip() == "Select a trip in the table first."


def test_a_returned_month_shows_why_and_can_be_fixed(
        qtbot: QtBot, make_context: ContextFactory, clock: FakeClock) -> None:
    ctx = make_context()

    def submit_and_return() -> None:
        services_of(ctx.session).mileage.submit(NOVEMBER)
        supervisor = Workspace(ctx.session.vault(), clock=clock,
                               actor=Actor(user_id=UserId("sup-1"), role=Role.SUPERVISOR))
        MileageService(supervisor).return_month(UserId("rc-1"), NOVEMBER,
                                                reason="Add the trip to the Nov 3 visit.")

    ctx.runner.worker.call(submit_and_return)
    page = open_page(qtbot, ctx)
    assert "returned by your supervisor: Add the trip to the Nov 3 visit." in page.status.text()
    assert not page.lock_note.isVisible()
    assert page.add_button.isEnabled() and page.submit_button.isEnabled()


def test_demo_year_months_and_chart(qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(demo=True)
    page = open_page(qtbot, ctx)
    assert page.model.rowCount() > 0
    assert page.model.rowCount() == len(month(ctx).allocations)
    assert not page.next_button.isEnabled() and "current month" in page.next_button.toolTip()
    expected = [month(ctx, key) for key in last_months(NOVEMBER)]
    chart = page.chart
    assert [chart.reimbursable_set.at(i) for i in range(12)] == \
        [float(m.reimbursable) for m in expected]
    assert [chart.over_cap_set.at(i) for i in range(12)] == \
        [float(m.over_cap) for m in expected]
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(page.previous_button, LEFT)
    assert page.month_label.text() == "October 2026"
    assert page.status.text().startswith("Status: submitted")
    assert not page.add_button.isEnabled() and page.lock_note.isVisible()
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(page.this_month_button, LEFT)
    assert page.month_label.text() == "November 2026"
    assert page.add_button.isEnabled()
    assert unnamed_controls(page) == []


def test_a_month_that_is_over_is_submitted_without_the_early_warning(
        qtbot: QtBot, make_context: ContextFactory, clock: FakeClock) -> None:
    ctx = make_context()
    ctx.runner.worker.call(lambda: services_of(ctx.session).mileage.add_trip(make_trip()))
    clock.advance(8 * 24 * 3600)  # 2 December: November is over
    page = open_page(qtbot, ctx)
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        qtbot.mouseClick(page.previous_button, LEFT)
    assert page.month_label.text() == "November 2026"
    qtbot.mouseClick(page.submit_button, LEFT)
    assert page.confirm_dialog is not None
    assert page.confirm_dialog.windowTitle() == "Submit November 2026"
    question = page.confirm_dialog.text.text()
    assert question.startswith("Submit November 2026 to your supervisor? 90 miles logged")
    assert "not over" not in question
    assert page.confirm_dialog.cancel_button.isDefault()


def test_today_writes_miles_as_the_mileage_page_does(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context()
    for miles in ("60", "12.4"):
        trip = make_trip(miles=Decimal(miles), round_trip=False)
        ctx.runner.worker.call(lambda t=trip: services_of(ctx.session).mileage.add_trip(t))
    page = open_page(qtbot, ctx)
    today = TodayPage(ctx)
    qtbot.addWidget(today)
    today.show()
    today.refresh()
    qtbot.waitUntil(lambda: today.summary_label.text() != "", timeout=5_000)
    assert today.meter.format() == "72.4 of 150 miles used · 77.6 left · $52.49"
    assert today.meter.format() == page.meter.format()
    ctx.runner.worker.call(lambda: services_of(ctx.session).mileage.add_trip(
        make_trip(miles=Decimal("77.6"), round_trip=False)))
    today.refresh()
    qtbot.waitUntil(lambda: today.meter.format() == "150 of 150 miles used · 0 left · $108.75",
                    timeout=5_000)
