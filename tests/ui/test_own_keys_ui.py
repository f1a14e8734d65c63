"""A person's own keys replaced, in the window (issue 19): after a laptop of rc1's is revoked,
her desk laptop makes new keys and, under Needs attention, shows the new recovery code until she
says she stored it; her other laptop then waits under Needs attention (and in Settings, Take up
new keys…) for that code: a wrong one is said plainly and changes nothing, the right one puts the
new keys in use and the next sync is verified.

Laptops are prepared through the services against a real server process and the administrator's
command line (`tests/sync/test_revoked_keys.py`); then the laptop is used in the real window, by
accessible names.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.ui.conflict_dialog import AttentionDialog
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.own_keys_dialogs import TAKEN_UP, WRONG_NEW_CODE, TakeUpKeysDialog
from fieldapp.ui.recovery_code_dialog import RecoveryCodeDialog
from fieldapp.ui.settings_page import SettingsPage
from fieldapp.ui.team_keys import NOT_ENROLLED, OUT_OF_DATE, read_keys
from sync.client.attention import KEYS_ELSEWHERE, NEW_RECOVERY_CODE
from sync.client.rekey import KeysReplacedElsewhere
from tests.real_server import run_cli
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_revoked_keys import CASE, a_family_and_two_laptops_of_rc1, device_id
from tests.ui.conftest import ContextFactory
from tests.ui.journey import workspace
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_sync_ui import WAIT, AppFactory, idle, open_app, paths_of, sync_server
from tests.ui.test_windows_fit import SCREENS, check_fits

__all__ = ["open_app", "sync_server"]  # fixtures
LEFT = Qt.MouseButton.LeftButton


def rekeyed_on_her_desk(sync_server: SyncServer) -> tuple[Session, Session, str]:
    """rc1's lost laptop revoked; her desk laptop synced (and so made her new keys); her home
    laptop, enrolled before, holds a draft that waits. Returns (desk, home, the draft's id)."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    home = sync_server.device("rc-home", "rc1")
    assert sync(home).verified
    draft = services_of(home).notes.start_draft(CASE, visit_details(narrative="At home."))
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync(desk).verified
    return desk, home, str(draft.id)


def on_worker(qtbot: QtBot, window: MainWindow, read: Any) -> Any:
    """`read(session)` on the window's database worker."""
    session = window.current_session()
    return window._runner.worker.call(lambda: read(session))


def attention_on(qtbot: QtBot, window: MainWindow, kind: str) -> AttentionDialog:
    """Needs attention opened, its item of `kind` selected."""
    window.sync_status.open_attention()
    dialog = window.sync_status.attention_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: kind in [i.kind for i in dialog.model.rows], timeout=WAIT)
    dialog.items.selectRow([i.kind for i in dialog.model.rows].index(kind))
    return dialog


def shown_code(qtbot: QtBot, dialog: AttentionDialog) -> RecoveryCodeDialog:
    qtbot.mouseClick(dialog.show_code, LEFT)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in dialog.findChildren(RecoveryCodeDialog)),
                    timeout=WAIT)
    [shown] = [d for d in dialog.findChildren(RecoveryCodeDialog) if d.isVisible()]
    return shown


def code_field(dialog: TakeUpKeysDialog) -> QLineEdit:
    [found] = [f for f in dialog.findChildren(QLineEdit)
               if f.accessibleName() == "New recovery code"]
    return found


def try_code(qtbot: QtBot, dialog: TakeUpKeysDialog, code: str) -> None:
    field = code_field(dialog)
    field.selectAll()
    qtbot.keyClicks(field, code)
    qtbot.mouseClick(dialog.ok_button, LEFT)


def test_the_new_recovery_code_is_shown_until_she_says_she_stored_it(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory) -> None:
    """On the laptop that made her new keys, Needs attention lists the new recovery code with
    a plain label and what to do; "Show the new recovery code…" shows that very code in the
    recovery code window; FieldApp closing that window itself, or Later, keeps the code;
    ticking "stored" and Done forgets it on this laptop and the item goes."""
    desk, _, _ = rekeyed_on_her_desk(sync_server)
    new = enrolment.new_recovery_code_of(desk)
    assert new is not None
    desk.lock()
    window = open_app(paths_of(desk))
    dialog = attention_on(qtbot, window, NEW_RECOVERY_CODE)
    assert dialog.model.data(dialog.model.index(dialog.items.currentIndex().row(), 1)) == \
        "Your new recovery code, to store"
    assert "enter it on your other laptops" in dialog.hint.text()
    assert dialog.show_code.isVisible() and not dialog.take_up.isVisible()
    assert dialog.show_code.accessibleName() == "Show the new recovery code"
    assert unnamed_controls(dialog) == []

    shown = shown_code(qtbot, dialog)
    assert shown.code.text() == new["recovery_code"]
    shown.close()  # FieldApp's own close (a lock): not a "stored"
    qtbot.waitUntil(lambda: not dialog._working, timeout=WAIT)
    assert on_worker(qtbot, window, enrolment.new_recovery_code_of) is not None

    shown = shown_code(qtbot, dialog)
    assert shown.later_button is not None and shown.later_button.accessibleName() == "Later"
    qtbot.mouseClick(shown.later_button, LEFT)  # put off: the code stays, sealed
    qtbot.waitUntil(lambda: not shown.isVisible() and not dialog._working, timeout=WAIT)
    assert on_worker(qtbot, window, enrolment.new_recovery_code_of) is not None
    assert NEW_RECOVERY_CODE in [i.kind for i in dialog.model.rows]

    shown = shown_code(qtbot, dialog)
    assert shown.code.text() == new["recovery_code"]
    qtbot.mouseClick(shown.done_button, LEFT)  # not before the tick
    assert shown.isVisible()
    qtbot.mouseClick(shown.stored, LEFT, pos=QPoint(8, shown.stored.height() // 2))
    qtbot.mouseClick(shown.done_button, LEFT)
    qtbot.waitUntil(lambda: NEW_RECOVERY_CODE not in [i.kind for i in dialog.model.rows],
                    timeout=WAIT)
    assert on_worker(qtbot, window, enrolment.new_recovery_code_of) is None
    assert "no longer kept" in dialog.message.text()


def test_her_other_laptop_takes_up_the_new_keys_from_needs_attention(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory) -> None:
    """Her home laptop's sync stops (its draft waits) and Needs attention says why; "Enter the
    new recovery code…" asks for it: no code, half a code and her old code are each refused in
    plain words (the old one pointing to the new code) and the laptop's keys stay as they
    were; the new one closes the window, says the new keys are in use, and the sync it starts
    is verified and sends the draft."""
    desk, home, draft = rekeyed_on_her_desk(sync_server)
    new, old = enrolment.new_recovery_code_of(desk), sync_server.recovery_codes["rc1"]
    assert new is not None
    mine = enrolment.identity_of(desk)
    assert mine is not None
    home.lock()
    window = open_app(paths_of(home))
    assert window.sync is not None
    with qtbot.waitSignal(window.sync.state_changed, timeout=WAIT,
                          check_params_cb=lambda s: "new recovery code" in s.detail):
        window.sync.sync_now()
    dialog = attention_on(qtbot, window, KEYS_ELSEWHERE)
    assert "Enter the new recovery code" in dialog.reason.text()
    assert dialog.take_up.isVisible() and not dialog.show_code.isVisible()
    assert dialog.take_up.accessibleName() == "Enter the new recovery code"
    before = on_worker(qtbot, window, enrolment.identity_of)
    assert sync_server.sql("SELECT count(*) FROM records WHERE record_id = ?", draft) == [(0,)]

    qtbot.mouseClick(dialog.take_up, LEFT)
    taking = dialog.take_up_dialog
    assert taking is not None
    qtbot.waitExposed(taking)
    assert unnamed_controls(taking) == []
    qtbot.mouseClick(taking.ok_button, LEFT)
    assert taking.message.text().startswith("Enter the new recovery code")
    try_code(qtbot, taking, "KBC0-691Y")  # half a code: what is wrong with it
    qtbot.waitUntil(lambda: taking.message.text().startswith("A recovery code has"),
                    timeout=WAIT)
    try_code(qtbot, taking, old)
    qtbot.waitUntil(lambda: taking.message.text() == WRONG_NEW_CODE, timeout=WAIT)
    assert taking.isVisible() and taking.ok_button.isEnabled() and code_field(taking).isEnabled()
    assert on_worker(qtbot, window, enrolment.identity_of).public_key == before.public_key
    assert KEYS_ELSEWHERE in [i.kind for i in dialog.model.rows]

    with qtbot.waitSignal(window.sync.synced, timeout=WAIT) as synced:
        try_code(qtbot, taking, new["recovery_code"])
    assert synced.args is not None and synced.args[0].verified
    assert not taking.isVisible()
    assert dialog.message.text() == TAKEN_UP
    assert on_worker(qtbot, window, enrolment.identity_of).public_key == mine.public_key
    qtbot.waitUntil(lambda: idle(window) and KEYS_ELSEWHERE not in
                    [i.kind for i in dialog.model.rows], timeout=WAIT)
    assert sync_server.sql("SELECT count(*) FROM records WHERE record_id = ?", draft) == [
        (1,)], "the draft that waited went up"


def settings_of(qtbot: QtBot, window: MainWindow) -> SettingsPage:
    ws = workspace(window)
    ws.setCurrentWidget(ws.settings)
    page = ws.settings
    qtbot.waitUntil(lambda: bool(page.own_key.digits.text() or page.own_key.note.text()),
                    timeout=WAIT)
    return page


def test_settings_takes_up_new_keys_on_an_enrolled_laptop(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory) -> None:
    """"Take up new keys…" beside her fingerprint opens the same window; with the new code the
    fingerprint shown becomes the desk laptop's, the box says the new keys are in use, and a
    sync starts and is verified."""
    desk, home, _ = rekeyed_on_her_desk(sync_server)
    new = enrolment.new_recovery_code_of(desk)
    assert new is not None
    desk_print = read_print(desk)
    with pytest.raises(KeysReplacedElsewhere):  # its sync says its keys are out of date
        sync(home)
    home.lock()
    window = open_app(paths_of(home))
    page = settings_of(qtbot, window)
    assert page.own_key.note.text() == OUT_OF_DATE, "no out-of-date fingerprint to read out"
    assert not page.own_key.digits.isVisible()
    assert page.own_key.take_up_button.isEnabled()
    assert page.own_key.take_up_button.accessibleName() == "Take up new keys"
    qtbot.mouseClick(page.own_key.take_up_button, LEFT)
    taking = page.take_up_dialog
    qtbot.waitExposed(taking)
    assert window.sync is not None
    with qtbot.waitSignal(window.sync.synced, timeout=WAIT) as synced:
        try_code(qtbot, taking, new["recovery_code"])
    assert synced.args is not None and synced.args[0].verified
    assert page.own_key.message.text() == TAKEN_UP
    qtbot.waitUntil(lambda: page.own_key.digits.text() == desk_print, timeout=WAIT)


def test_a_current_key_has_nothing_to_take_up(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory) -> None:
    """On the laptop that made her new keys, Settings shows their fingerprint to read out, and
    "Take up new keys…" cannot be pressed: there is nothing to take up."""
    desk, _, _ = rekeyed_on_her_desk(sync_server)
    desk_print = read_print(desk)
    desk.lock()
    window = open_app(paths_of(desk))
    page = settings_of(qtbot, window)
    assert page.own_key.digits.text() == desk_print
    assert not page.own_key.take_up_button.isEnabled()


def read_print(session: Session) -> str:
    return read_keys(session).own


def test_take_up_new_keys_waits_for_keys_to_take_up(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A profile not connected to a server has no keys to take up: the button is there but
    cannot be pressed, and the box says why. (An enrolled laptop whose keys are current: the
    same, `test_a_current_key_has_nothing_to_take_up`.)"""
    page = SettingsPage(make_context())
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.own_key.note.text() == NOT_ENROLLED, timeout=WAIT)
    assert not page.own_key.take_up_button.isEnabled()


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_the_take_up_window_fits_a_laptop_screen_and_names_its_controls(
        qtbot: QtBot, make_context: ContextFactory, screen: str) -> None:
    """At 1366x768 (and 1280x720) no button is cut off and no sentence clipped, even with the
    longest error it shows; every control has an accessible name."""
    dialog = TakeUpKeysDialog(make_context())
    qtbot.addWidget(dialog)
    dialog.message.setText(WRONG_NEW_CODE)
    check_fits(qtbot, dialog, SCREENS[screen])
    assert unnamed_controls(dialog) == []
    assert QRect(0, 0, 1366, 768).contains(dialog.frameGeometry())


def test_the_status_bar_counts_the_new_recovery_code(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory) -> None:
    """The laptop that made her new keys says "Needs attention: 1" in its status bar, the only
    way to the new code from the window."""
    desk, _, _ = rekeyed_on_her_desk(sync_server)
    desk.lock()
    window = open_app(paths_of(desk))
    qtbot.waitUntil(window.sync_status.attention.isVisible, timeout=3_000)
    assert window.sync_status.attention.text() == "Needs attention: 1"
