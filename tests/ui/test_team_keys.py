"""Keys a person can compare, in the window (issue 19): Settings shows the profile's own
fingerprint and each colleague's with where it stands; "Mark as compared…" asks first; a key the
server changed is under Needs attention with both fingerprints, blocks sharing with that person,
and "Accept the new key…" asks first, is audited, and the next sync shares with the new key.

Laptops are prepared through the services against a real server process (as other laptops
would have left them); the server is edited between syncs as a compromised one would be; the
coordinator's laptop is then used in the real window, by accessible names and the keyboard.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel
from pytestqt.qtbot import QtBot

from fieldapp.crypto.signing import fingerprint
from fieldapp.domain.audit import Action
from fieldapp.domain.formats import day_text
from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.ui.conflict_dialog import AttentionDialog
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.settings_page import SettingsPage
from fieldapp.ui.team_keys import KEY_CHANGED, NOT_ENROLLED, TeamKey
from fieldapp.ui.trip_dialog import ConfirmDialog
from sync.client.pins import Pin, Pins
from tests.conftest import FakeClock
from tests.sync.conftest import SyncServer
from tests.sync.tamper import head, publish, server_db
from tests.sync.test_changed_keys import holders, swap_keys, team_with_a_family
from tests.ui.conftest import ContextFactory
from tests.ui.journey import workspace
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_family_dialog import named
from tests.ui.test_sync_ui import (
    WAIT,
    AppFactory,
    _the_one_thing_that_needs_attention,
    idle,
    open_app,
    paths_of,
    sync_now,
    sync_server,
    tab_reaches,
)

__all__ = ["open_app", "sync_server"]  # fixtures
LEFT = Qt.MouseButton.LeftButton


def settings_of(qtbot: QtBot, window: MainWindow) -> SettingsPage:
    """Settings, opened with its shortcut-free tab, read once."""
    ws = workspace(window)
    ws.setCurrentWidget(ws.settings)
    qtbot.waitUntil(lambda: ws.settings.team_keys.model.rowCount() > 0, timeout=WAIT)
    return ws.settings


def row_of(page: SettingsPage, name: str) -> TeamKey:
    return next(k for k in page.team_keys.model.rows if k.name == name)


def pin_in(window: MainWindow, user_id: str) -> Pin:
    session = window.current_session()
    found = window._runner.worker.call(
        lambda: Pins(session.vault().open_parts()[0], now="").get(user_id))
    assert found is not None
    return found


def test_settings_shows_the_profiles_own_fingerprint_and_what_it_is_for(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    _, _, rc = team_with_a_family(sync_server, clock)
    identity = enrolment.identity_of(rc)
    assert identity is not None
    expected = fingerprint("rc1", identity.public_key, identity.signing_key)
    rc.lock()

    window = open_app(paths_of(rc))
    page = settings_of(qtbot, window)
    digits = named(page, QLabel, "Your key fingerprint")
    assert digits.text() == expected
    assert [len(group) for group in digits.text().split(" ")] == [5] * 6
    purpose = named(page, QLabel, "What your fingerprint is for")
    assert purpose.isVisible() and "in person or by phone" in purpose.text()
    box = next(b for b in page.findChildren(QGroupBox) if b.title() == "Your key fingerprint")
    assert box.isAncestorOf(digits)
    # The colleagues, each with the digits this laptop holds for them, not yet compared.
    sam = row_of(page, "Sam Supervisor")
    assert sam.fingerprint == pin_in(window, "sup1").fingerprint != expected
    assert sam.state == f"Not compared yet (first seen {day_text(date(2026, 11, 24))})"
    assert "Rosa Coordinator" not in [k.name for k in page.team_keys.model.rows]  # herself
    assert unnamed_controls(page) == []
    assert tab_reaches(window, page.team_keys.keys)
    assert tab_reaches(window, page.team_keys.compare_button)


def test_a_profile_not_connected_says_it_has_no_fingerprint_yet(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    page = SettingsPage(make_context())
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    note = named(page, QLabel, "Why no fingerprint is shown")
    qtbot.waitUntil(lambda: note.text() == NOT_ENROLLED, timeout=WAIT)
    assert not page.own_key.digits.isVisible()
    assert not page.own_key.purpose.isVisible()
    assert page.team_keys.model.rowCount() == 0
    assert "after the first sync" in page.team_keys.empty.text()


def test_mark_as_compared_asks_first_then_records_it_in_the_programs_day(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    """Compared at 03:00 UTC on 25 Nov: still the 24th where the program works (Chicago)."""
    _, _, rc = team_with_a_family(sync_server, clock)
    rc.lock()
    window = open_app(paths_of(rc))
    page = settings_of(qtbot, window)
    box = page.team_keys
    sam = row_of(page, "Sam Supervisor")
    box.keys.selectRow(box.model.rows.index(sam))
    assert box.compare_button.isEnabled()

    qtbot.mouseClick(box.compare_button, LEFT)
    question = box.confirm_dialog
    assert isinstance(question, ConfirmDialog)
    assert ("Only if you read these 30 digits with Sam Supervisor in person or by phone and "
            "they match") in question.text.text()
    assert sam.fingerprint in question.text.text()
    qtbot.mouseClick(question.cancel_button, LEFT)  # Cancel: nothing recorded
    assert pin_in(window, "sup1").verified_at is None

    clock.now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    qtbot.mouseClick(box.compare_button, LEFT)
    question = box.confirm_dialog
    assert question is not None
    qtbot.mouseClick(question.confirm_button, LEFT)
    compared = f"Compared with you on {day_text(date(2026, 11, 24))}"
    qtbot.waitUntil(lambda: row_of(page, "Sam Supervisor").state == compared, timeout=WAIT)
    assert pin_in(window, "sup1").verified_at == "2026-11-25T03:00:00.000000+00:00"
    assert box.message.text() == "Sam Supervisor's key is marked as compared."
    assert row_of(page, "Ian Worker").state.startswith("Not compared yet")


def test_a_changed_key_needs_a_decision_blocks_sharing_and_accepting_shares_again(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    _, _, rc = team_with_a_family(sync_server, clock)
    old = fingerprint_of(rc, "iw1")
    forged = swap_keys(sync_server, "iw1")
    new = fingerprint("iw1", forged.public_key, forged.signing_key)
    rc.lock()

    window = open_app(paths_of(rc))
    status = window.sync_status
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: status.attention.isVisible() and idle(window), timeout=WAIT)
    assert status.attention.text() == "Needs attention: 1"
    assert holders(sync_server) == {"sup1", "rc1"}  # nothing sealed to the new key

    page = settings_of(qtbot, window)
    page.refresh()
    qtbot.waitUntil(lambda: row_of(page, "Ian Worker").state.startswith(KEY_CHANGED),
                    timeout=WAIT)
    ian = row_of(page, "Ian Worker")
    assert ian.fingerprint == old
    assert ian.state.endswith(f"the new key's fingerprint: {new}")
    page.team_keys.keys.selectRow(page.team_keys.model.rows.index(ian))
    assert not page.team_keys.compare_button.isEnabled()
    assert "decide under Needs attention" in page.team_keys.hint.text()

    assert tab_reaches(window, status.attention)
    qtbot.mouseClick(status.attention, LEFT)
    dialog = status.attention_dialog
    assert isinstance(dialog, AttentionDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)
    dialog.items.selectRow(0)
    [item] = dialog.model.rows
    assert item.kind == "person" and item.title == "Ian Worker's key changed"
    reason = dialog.reason.text()
    assert "a new laptop" in reason and "read the families' records" in reason
    assert "nothing new is shared with Ian Worker" in reason and "set aside" in reason
    sides = dialog.sides.toPlainText()
    assert old in sides and new in sides
    assert dialog.accept_key.isVisible() and dialog.accept_key.accessibleName() == \
        "Accept the new key"
    assert not any(b.isVisible() for b in (dialog.keep_mine, dialog.keep_theirs,
                                          dialog.mark_read, dialog.send_again, dialog.dismiss))
    assert unnamed_controls(dialog) == []
    assert tab_reaches(dialog, dialog.accept_key)

    qtbot.mouseClick(dialog.accept_key, LEFT)
    question = dialog.confirm_dialog
    assert question is not None and new in question.text.text()
    assert "Compare first" in question.text.text()
    with qtbot.waitSignal(window.sync.synced, timeout=WAIT):  # type: ignore[union-attr]
        qtbot.mouseClick(question.confirm_button, LEFT)
    qtbot.waitUntil(lambda: "iw1" in holders(sync_server) and idle(window), timeout=WAIT)
    [(wrapped, version)] = sync_server.sql(
        "SELECT wrapped_key, version FROM case_keys WHERE case_id = 'fam-1' AND "
        "user_id = 'iw1'")
    forged.open_key(wrapped, case_id="fam-1", version=version, user_id="iw1")
    qtbot.waitUntil(lambda: not status.attention.isVisible() and dialog.model.rowCount() == 0,
                    timeout=WAIT)
    session = window.current_session()
    accepted = window._runner.worker.call(lambda: [
        (e.subject, dict(e.details)) for e in session.workspace().stores().audit.entries()
        if e.action == Action.KEY_ACCEPTED])
    assert accepted == [("iw1", {"was": old, "fingerprint": new})]
    assert not dialog.accept_key.isVisible()  # nothing left to accept


def test_a_record_that_fails_its_check_is_said_not_applied_with_why(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    """The server edits the family's record: the window says it was not applied and why, not
    that it was "filed nowhere" (a misplaced record's words), and offers nothing to choose."""
    _, _, rc = team_with_a_family(sync_server, clock)
    with server_db(sync_server.data_dir) as db:
        row = head(db, "cases", "fam-1")
        publish(db, row, rev=row["rev"] + 1, plain={"status": "closed"})
    rc.lock()
    window = open_app(paths_of(rc))
    dialog, item = _the_one_thing_that_needs_attention(qtbot, window)
    assert item.kind == "unverified"
    assert dialog.reason.text() == (
        "Alder family. It was not applied. It is not signed with its author's key: it was "
        "changed after it was written, or it is not theirs.")
    assert "nothing on this laptop changed" in dialog.hint.text()
    assert "filed nowhere" not in dialog.hint.text()
    assert dialog.sides.toPlainText() == ""
    assert not any(b.isVisible() for b in (dialog.keep_mine, dialog.keep_theirs,
                                          dialog.mark_read, dialog.send_again, dialog.dismiss,
                                          dialog.accept_key))


def fingerprint_of(session: Session, user_id: str) -> str:
    """The fingerprint the open profile `session` pinned for `user_id`."""
    pin = Pins(session.vault().open_parts()[0], now="").get(user_id)
    assert pin is not None
    return pin.fingerprint
