"""The drug screen window on a small screen: the fields scroll, the buttons stay in view."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import ScreenId
from fieldapp.ui.context import UiContext
from fieldapp.ui.screen_form import DESIGN_SIZE, ScreenForm
from fieldapp.ui.widgets import WINDOW_FRAME, fit_to_screen, fitted_size
from tests.ui.conftest import ContextFactory
from tests.ui.test_screen_form import LEFT, first_case, instant_positive, open_form

TASKBAR = 40
# 1366x768, and 1920x1080 at 150 % (1280x720 logical), each less a taskbar at the bottom.
SMALL_SCREENS = {"1366x768": QRect(0, 0, 1366, 768 - TASKBAR),
                 "1280x720": QRect(0, 0, 1280, 720 - TASKBAR)}


@pytest.fixture
def ctx(make_context: ContextFactory) -> UiContext:
    return make_context(demo=True)


@pytest.mark.parametrize("available", SMALL_SCREENS.values(), ids=SMALL_SCREENS.keys())
def test_the_size_fits_the_available_area_with_its_frame(available: QRect) -> None:
    size = fitted_size(DESIGN_SIZE, available)
    assert size == QSize(DESIGN_SIZE.width(), available.height() - WINDOW_FRAME.height())
    assert (size + WINDOW_FRAME).height() <= available.height() < DESIGN_SIZE.height()


def test_a_large_screen_gets_the_design_size() -> None:
    assert fitted_size(DESIGN_SIZE, QRect(0, 0, 1920, 1040)) == DESIGN_SIZE


def test_the_window_opens_no_taller_than_its_screen(qtbot: QtBot, ctx: UiContext) -> None:
    form = open_form(qtbot, ctx, first_case(ctx))
    available = form.screen().availableGeometry()
    assert form.frameGeometry().height() <= available.height()
    assert form.frameGeometry().width() <= available.width()


def visible_buttons(form: ScreenForm) -> list[QPushButton]:
    return [b for b in form.findChildren(QPushButton) if b.isVisible()]


def inside(form: ScreenForm, widget: QWidget) -> bool:
    return form.rect().contains(QRect(widget.mapTo(form, QPoint(0, 0)), widget.size()))


def assert_buttons_in_view(qtbot: QtBot, form: ScreenForm, names: set[str]) -> None:
    qtbot.waitUntil(lambda: {b.accessibleName() for b in visible_buttons(form)} == names)
    form.layout().activate()
    for each in [*visible_buttons(form), form.message]:
        assert inside(form, each), each.accessibleName()
        assert not form.details.isAncestorOf(each), f"{each.accessibleName()} scrolls away"


@pytest.mark.parametrize("available", SMALL_SCREENS.values(), ids=SMALL_SCREENS.keys())
def test_every_button_is_inside_the_window_on_a_small_screen(qtbot: QtBot, ctx: UiContext,
                                                             available: QRect) -> None:
    case_id = first_case(ctx)
    form = open_form(qtbot, ctx, case_id)
    fit_to_screen(form, DESIGN_SIZE, available)
    assert form.size() == fitted_size(DESIGN_SIZE, available)
    assert_buttons_in_view(qtbot, form, {"Save screen", "Close"})
    # The form is longer than the window: it scrolls inside, under the pinned buttons.
    assert form.details.verticalScrollBar().maximum() > 0

    screen = instant_positive(ctx, case_id)
    viewing = open_form(qtbot, ctx, case_id, ScreenId(screen.id))
    fit_to_screen(viewing, DESIGN_SIZE, available)
    assert_buttons_in_view(qtbot, viewing, {"Record lab result", "Correct", "Close"})
    qtbot.mouseClick(viewing.correct_button, LEFT)
    assert_buttons_in_view(qtbot, viewing, {"Save correction", "Discard changes", "Close"})
