"""Every window fits the screens people have: 1366x768 and 1920x1080 at 150 % (1280x720 logical),
each less a 40-pixel taskbar. A window opens at its design size or, on a smaller screen, as large
as the screen allows with its frame (`widgets.fit_to_screen`); at that size no button is cut off
(long forms scroll inside, their buttons stay below).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QLabel, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import CaseId, Role, UserId
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.consent_dialogs import RecordConsentDialog
from fieldapp.ui.consents_window import ConsentsWindow
from fieldapp.ui.context import UiContext
from fieldapp.ui.enrol_dialog import EnrolDialog
from fieldapp.ui.export_dialog import ExportDialog
from fieldapp.ui.family_dialog import FamilyDialog
from fieldapp.ui.note_editor import NoteEditor
from fieldapp.ui.recovery_code_dialog import RecoveryCodeDialog
from fieldapp.ui.screen_form import ScreenForm
from fieldapp.ui.trip_dialog import CaseChoice, TripDialog
from fieldapp.ui.widgets import DESIGN_SIZE, WINDOW_FRAME, fit_to_screen
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory, WindowFactory
from tests.ui.test_profile_flow import try_unlock

ROOT = Path(__file__).resolve().parents[2]
SCREENS = {"1366x768": QRect(0, 0, 1366, 728), "1280x720": QRect(0, 0, 1280, 680)}
Builder = Callable[[UiContext, CaseId], QWidget]
WINDOWS: dict[str, Builder] = {
    "visit note": lambda ctx, case: NoteEditor(ctx, case_id=case),
    "drug screen": lambda ctx, case: ScreenForm(ctx, case_id=case),
    "trip": lambda ctx, case: TripDialog(ctx, cases=[CaseChoice(case, "Alder")],
                                         cap=Decimal(150), today=date(2026, 11, 24),
                                         day=date(2026, 11, 24)),
    "family page": lambda ctx, case: CasePage(ctx, case_id=case),
    "consents": lambda ctx, case: ConsentsWindow(ctx, case_id=case),
    "record a consent": lambda ctx, case: RecordConsentDialog(ctx, case_id=case),
    "export": lambda ctx, case: ExportDialog(ctx),
    "connect to a server": lambda ctx, case: EnrolDialog(ctx),
    "recovery code": lambda ctx, case: RecoveryCodeDialog(
        "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS", person="Rosa Coordinator",
        server_url="https://fieldapp.example-program.org"),
    "family": lambda ctx, case: FamilyDialog(ctx, case_id=case),
}


def cut_off(window: QWidget) -> list[str]:
    """Visible buttons not wholly inside the window (a form that scrolls may hide its own)."""
    inside = window.rect()
    found = []
    for button in window.findChildren(QAbstractButton):
        if not button.isVisible() or _scrolled(button, window):
            continue
        place = QRect(button.mapTo(window, QPoint(0, 0)), button.size())
        if not inside.contains(place):
            found.append(f"{button.accessibleName() or button.text()} at {place}")
    return found


def squeezed(window: QWidget) -> list[str]:
    """Visible wrapped text given less height than its lines need: its last lines cut off (a
    newcomer read "…records not yet synced cannot be" and no more)."""
    found = []
    for label in window.findChildren(QLabel):
        if not label.isVisible() or not label.wordWrap() or not label.text():
            continue
        needed = label.heightForWidth(label.width())
        if needed > label.height() + 1:
            found.append(f"{label.accessibleName() or label.text()[:40]!r}: "
                         f"{label.height()} of {needed} px")
    return found


def _scrolled(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def check_fits(qtbot: QtBot, window: QWidget, available: QRect) -> None:
    design = window.property(DESIGN_SIZE) or window.sizeHint()
    fit_to_screen(window, QSize(design), available)
    window.show()
    qtbot.waitExposed(window)
    framed = window.size() + WINDOW_FRAME
    assert framed.width() <= available.width() and framed.height() <= available.height(), \
        f"{window.size()} does not fit {available.size()}"
    smallest = window.minimumSizeHint().expandedTo(window.minimumSize()) + WINDOW_FRAME
    assert smallest.height() <= available.height() and smallest.width() <= available.width()
    qtbot.waitUntil(lambda: cut_off(window) == [], timeout=2_000)
    qtbot.waitUntil(lambda: squeezed(window) == [], timeout=2_000)


@pytest.mark.parametrize("screen", sorted(SCREENS))
@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_every_window_shows_its_buttons_on_a_laptop_screen(
        qtbot: QtBot, make_context: ContextFactory, name: str, screen: str) -> None:
    ctx = make_context(demo=True)
    case = ctx.runner.worker.call(lambda: services_of(ctx.session).cases.caseload()[0].case.id)
    window = WINDOWS[name](ctx, case)
    qtbot.addWidget(window)
    check_fits(qtbot, window, SCREENS[screen])


@pytest.mark.parametrize(("screen", "role"), [
    (screen, role) for screen in sorted(SCREENS)
    for role in (Role.RECOVERY_COORDINATOR, Role.SUPERVISOR)])
def test_the_main_window_shows_its_status_bar_on_a_laptop_screen(
        qtbot: QtBot, make_window: WindowFactory, paths: ProfilePaths, clock: FakeClock,
        *, screen: str, role: Role) -> None:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE, role=role, user_id=UserId("someone"))
    session.lock()
    window = make_window()
    try_unlock(qtbot, window, PASSPHRASE)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=10_000)
    check_fits(qtbot, window, SCREENS[screen])
    assert window.statusBar().isVisible()
    bar = QRect(window.statusBar().mapTo(window, QPoint(0, 0)), window.statusBar().size())
    assert window.rect().contains(bar)


def test_no_window_is_sized_by_hand() -> None:
    """Top-level windows take their size from `fit_to_screen`, never a fixed one that a small
    screen cannot hold."""
    by_hand = re.compile(r"\bself\.(resize|setFixedSize|setFixedHeight|setGeometry)\(")
    found = [f"{path.name}:{number}" for path in sorted((ROOT / "fieldapp" / "ui").glob("*.py"))
             if path.name != "widgets.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if by_hand.search(line)]
    assert found == []
