"""The trip dialog's keys: Enter never throws a trip away, Escape asks before it does."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_page import MileagePage
from fieldapp.ui.trip_dialog import TripDialog
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_mileage_page import LEFT, fill_trip, month, open_add_dialog, open_page

ENTER = Qt.Key.Key_Return
ESCAPE = Qt.Key.Key_Escape


def refused(qtbot: QtBot, dialog: TripDialog) -> None:
    """Save a trip without a purpose: the service refuses it and the dialog says why."""
    qtbot.waitUntil(dialog.isActiveWindow)  # focus and default buttons follow the active window
    fill_trip(qtbot, dialog, to="Alder home", purpose="", miles="12.5")
    qtbot.mouseClick(dialog.save_button, LEFT)
    qtbot.waitUntil(lambda: dialog.error.text() != "" and dialog.save_button.isEnabled())
    assert dialog.error.text() == "Give the business purpose of the trip."


def test_enter_after_a_refused_save_saves_the_fixed_trip(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context()
    page = open_page(qtbot, ctx)
    dialog = open_add_dialog(qtbot, page)
    refused(qtbot, dialog)
    assert dialog.save_button.isDefault(), "Save stays the default button"
    assert not dialog.cancel_button.isDefault() and not dialog.cancel_button.autoDefault()
    dialog.purpose.setFocus()
    qtbot.keyClicks(dialog.purpose, "Home visit")
    assert dialog.error.text() == "", "the error clears once the fields are fixed"
    assert not dialog.error.styleSheet()
    with qtbot.waitSignal(page.loaded, timeout=10_000), \
            qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.keyClick(dialog.purpose, ENTER)
    trips = month(ctx).allocations
    assert [a.trip.purpose for a in trips] == ["Home visit"], "Enter saved the trip"
    assert page.model.rowCount() == 1


def test_re_validation_shows_the_problem_left(qtbot: QtBot, make_context: ContextFactory
                                              ) -> None:
    page = open_page(qtbot, make_context())
    dialog = open_add_dialog(qtbot, page)
    refused(qtbot, dialog)
    qtbot.keyClicks(dialog.purpose, "Home visit")
    assert dialog.error.text() == ""
    qtbot.keyClick(dialog.miles, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.miles, "0")
    assert dialog.error.text() == "Miles must be more than zero."


def open_changed_dialog(qtbot: QtBot, ctx: UiContext) -> tuple[MileagePage, TripDialog]:
    page = open_page(qtbot, ctx)
    dialog = open_add_dialog(qtbot, page)
    qtbot.waitUntil(dialog.isActiveWindow)
    fill_trip(qtbot, dialog, to="Eastfield clinic", purpose="Transport", miles="20")
    return page, dialog


def test_escape_on_a_changed_form_asks_and_keeps_editing_by_default(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context()
    _page, dialog = open_changed_dialog(qtbot, ctx)
    qtbot.keyClick(dialog.purpose, ESCAPE)
    qtbot.waitUntil(lambda: dialog.discard_dialog is not None
                    and dialog.discard_dialog.isVisible())
    ask = dialog.discard_dialog
    assert ask is not None
    assert ask.cancel_button.text() == "Keep editing" and ask.cancel_button.isDefault()
    assert not ask.confirm_button.autoDefault()
    assert unnamed_controls(ask) == []
    qtbot.keyClick(ask.cancel_button, ENTER)
    qtbot.waitUntil(lambda: not ask.isVisible())
    assert dialog.isVisible(), "Enter on the question keeps the trip"
    assert dialog.purpose.text() == "Transport"
    qtbot.mouseClick(dialog.cancel_button, LEFT)  # Cancel asks the same question
    qtbot.waitUntil(lambda: dialog.discard_dialog is not None
                    and dialog.discard_dialog is not ask and dialog.discard_dialog.isVisible())
    with qtbot.waitSignal(dialog.rejected):
        qtbot.mouseClick(dialog.discard_dialog.confirm_button, LEFT)
    assert not dialog.isVisible()
    assert month(ctx).allocations == ()


def test_escape_on_an_unchanged_form_closes_it(qtbot: QtBot, make_context: ContextFactory
                                               ) -> None:
    page = open_page(qtbot, make_context())
    dialog = open_add_dialog(qtbot, page)
    qtbot.waitUntil(dialog.isActiveWindow)
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.date, ESCAPE)
    assert dialog.discard_dialog is None
