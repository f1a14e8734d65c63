"""Sync in the desktop app against a real server process on 127.0.0.1: the status area, Sync now
(F5), Cancel, the automatic sync when the server comes back, conflicts and refused changes in the
attention dialog, the wipe order, and the first sync after connecting from Settings.

Each profile is prepared through the services (as another laptop would have left it), locked, and
then opened in the real window with its real database worker; the window's own sync runs on its
own thread against the server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.compose import Composed, build_window
from fieldapp.ui.conflict_dialog import AttentionDialog
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.sync_controller import SyncController, SyncOptions
from fieldapp.ui.sync_status import NOT_CONNECTED
from sync.client.attention import AttentionItem
from sync.server.store import ServerStore
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import make_trip, services_of, visit_details
from tests.sync.conftest import SyncServer, running_program, serve, sync
from tests.sync.insider import Insider, plant_misplaced_note
from tests.sync.test_end_to_end import family
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_profile_flow import create_profile, try_unlock

LEFT = Qt.MouseButton.LeftButton
WAIT = 30_000  # an upper bound for slow machines, never a measurement
MONTH = "2026-11"
# Nothing starts by itself unless a test asks for it: each test says when it syncs.
# Requests may take their time (15 s) when the machine is busy: one slow answer would otherwise
# count as a failure and, with these timers, put the next try ten minutes away.
QUIET = SyncOptions(period_ms=600_000, debounce_ms=600_000, start_delay_ms=600_000,
                    retry_first_ms=600_000, probe_seconds=2.0, request_seconds=15.0)
AppFactory = Callable[..., MainWindow]


@pytest.fixture
def sync_server(tmp_path: Path) -> Iterator[SyncServer]:
    """A fresh server process for the test (tests/sync's program: rc1, iw1, sup1 in t1 ...)."""
    with running_program(tmp_path) as found:
        yield found


@pytest.fixture
def open_app(qtbot: QtBot, clock: FakeClock) -> Iterator[AppFactory]:
    """The window as `run_gui` builds it, on an existing profile folder, unlocked by typing the
    passphrase. Teardown closes it (which stops and joins the sync thread), then locks."""
    made: list[Composed] = []

    def make(paths: ProfilePaths, options: SyncOptions = QUIET) -> MainWindow:
        composed = build_window(paths, clock=clock, check_ms=50, sync_options=options)
        window = composed.window
        qtbot.addWidget(window)
        made.append(composed)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
        if composed.session.profile.exists():
            try_unlock(qtbot, window, PASSPHRASE)
            qtbot.waitUntil(lambda: window.sync is not None
                            and window.sync.state.enrolled is not None, timeout=WAIT)
        return window

    yield make
    for composed in made:
        composed.window.close()
        composed.shut_down()


def paths_of(session: Session) -> ProfilePaths:
    return session.profile.paths


def coordinator(sync_server: SyncServer, clock: FakeClock, *names: str) -> list[Session]:
    """The supervisor's case fam-1, and laptops of coordinator rc1 that hold it."""
    supervisor = sync_server.device("sup", "sup1", clock=clock)
    laptops = [sync_server.device(name, "rc1", clock=clock) for name in names]
    services_of(supervisor).cases.open_case(family("fam-1"))
    sync(supervisor)
    for laptop in laptops:
        sync(laptop)
    return laptops


def sync_now(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_F5)


def idle(window: MainWindow) -> bool:
    return window.sync is not None and not window.sync.running


def server_count(sync_server: SyncServer, table: str) -> int:
    return int(sync_server.sql("SELECT count(*) FROM records WHERE tbl = ?", table)[0][0])


def tab_reaches(window: MainWindow, target: QWidget) -> bool:
    """Tab (or Shift+Tab) moves the keyboard focus to `target` from somewhere in the window."""
    widget = window.nextInFocusChain()
    for _ in range(1000):
        if widget is target:
            return bool(target.focusPolicy() & Qt.FocusPolicy.TabFocus)
        widget = widget.nextInFocusChain()
    return False


def hold_after_first_batch(window: MainWindow) -> threading.Event:
    """Once the first batch is answered, hold the database worker until the returned event is
    set: the sync thread waits at its next step while the test acts in the window. The hook
    runs on the sync thread (a direct connection), before the engine goes on."""
    gate, held = threading.Event(), threading.Event()
    worker = window._runner.worker

    def hold(phase: str, done: int, total: int) -> None:
        if phase == "sending" and not held.is_set():
            held.set()
            worker.submit(gate.wait)
    assert window.sync is not None
    window.sync.progressed.connect(hold, Qt.ConnectionType.DirectConnection)
    return gate


def add_trips(session: Session, count: int) -> None:
    for day in range(1, count + 1):
        services_of(session).mileage.add_trip(make_trip(trip_date=date(2026, 11, day),
                                                        miles=Decimal(1), round_trip=False))


def test_sync_now_empties_what_waits_and_says_when(qtbot: QtBot, sync_server: SyncServer,
                                                  open_app: AppFactory, clock: FakeClock
                                                  ) -> None:
    [laptop] = coordinator(sync_server, clock, "rc")
    services_of(laptop).notes.start_draft("fam-1", visit_details(narrative="Written offline."))
    services_of(laptop).mileage.add_trip(make_trip(case_id="fam-1", miles=Decimal(12),
                                                   round_trip=False))
    laptop.lock()
    clock.advance(3 * 60)
    window = open_app(paths_of(laptop))
    status = window.sync_status
    qtbot.waitUntil(lambda: status.waiting.text() == "2 waiting to go up", timeout=WAIT)
    assert status.last_sync.text() == "Synced 3 minutes ago"
    assert status.sync_button.isVisible() and not status.cancel_button.isVisible()
    assert not status.attention.isVisible()
    assert unnamed_controls(window) == []
    assert tab_reaches(window, status.sync_button)

    # The sync reports from its own thread; the UI thread takes each step as an event (the
    # database steps themselves can only run on the vault's thread: SQLite refuses others).
    senders: set[str] = set()
    shown: list[tuple[str, bool]] = []
    assert window.sync is not None
    window.sync.progressed.connect(lambda *_: senders.add(threading.current_thread().name),
                                   Qt.ConnectionType.DirectConnection)
    window.sync.state_changed.connect(lambda state: shown.append(
        (state.phase, threading.current_thread() is threading.main_thread())))
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: status.waiting.text() == "Nothing waiting to go up"
                    and idle(window), timeout=WAIT)
    assert status.last_sync.text() == "Synced just now"
    assert senders == {"fieldapp-sync"}
    assert ("sending", True) in shown and ("checking", True) in shown
    assert all(on_ui for _, on_ui in shown)
    assert server_count(sync_server, "visit_notes") == 1
    assert server_count(sync_server, "trips") == 1


def test_cancel_stops_between_steps_and_nothing_is_lost_or_doubled(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    [laptop] = coordinator(sync_server, clock, "rc")
    add_trips(laptop, 12)
    laptop.lock()
    window = open_app(paths_of(laptop), replace(QUIET, batch_ops=3))
    status = window.sync_status
    qtbot.waitUntil(lambda: status.waiting.text() == "12 waiting to go up", timeout=WAIT)
    gate = hold_after_first_batch(window)  # so the Cancel lands in the middle of the push
    try:
        sync_now(qtbot, window)
        qtbot.waitUntil(lambda: status.last_sync.text() == "Syncing: sent 3 of 12",
                        timeout=WAIT)
        assert status.cancel_button.isVisible() and status.progress.isVisible()
        qtbot.mouseClick(status.cancel_button, LEFT)
        assert status.last_sync.text() == "Stopping the sync…"
    finally:
        gate.set()
    qtbot.waitUntil(lambda: idle(window) and status.waiting.text() != "12 waiting to go up",
                    timeout=WAIT)
    assert "stopped" in status.note.text()
    waiting = int(status.waiting.text().split()[0])
    assert 0 < waiting < 12
    assert server_count(sync_server, "trips") == 12 - waiting

    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: status.waiting.text() == "Nothing waiting to go up"
                    and idle(window), timeout=WAIT)
    assert server_count(sync_server, "trips") == 12, "every trip once"


def test_locking_during_a_sync_stops_it_before_the_lock_and_loses_nothing(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    [laptop] = coordinator(sync_server, clock, "rc")
    add_trips(laptop, 4)
    laptop.lock()
    window = open_app(paths_of(laptop), replace(QUIET, batch_ops=1))
    status = window.sync_status
    qtbot.waitUntil(lambda: status.waiting.text() == "4 waiting to go up", timeout=WAIT)
    gate = hold_after_first_batch(window)
    try:
        sync_now(qtbot, window)
        qtbot.waitUntil(lambda: status.last_sync.text() == "Syncing: sent 1 of 4",
                        timeout=WAIT)
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    finally:
        gate.set()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=WAIT)
    qtbot.waitUntil(lambda: not any(t.name == "fieldapp-sync" for t in threading.enumerate()),
                    timeout=WAIT)
    assert not status.isVisible()
    assert server_count(sync_server, "trips") == 1

    try_unlock(qtbot, window, PASSPHRASE)
    qtbot.waitUntil(lambda: status.waiting.text() == "3 waiting to go up", timeout=WAIT)
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: status.waiting.text() == "Nothing waiting to go up"
                    and idle(window), timeout=WAIT)
    assert server_count(sync_server, "trips") == 4


def test_f5_before_the_profile_is_known_to_be_enrolled_is_kept(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    """Right after unlocking, the controller reads the profile's sync facts on the database
    worker; an F5 in that moment used to be dropped. It now syncs once the facts are in."""
    [laptop] = coordinator(sync_server, clock, "rc")
    add_trips(laptop, 2)
    laptop.lock()
    window = open_app(paths_of(laptop))
    assert window.sync is not None
    gate = threading.Event()
    window._runner.worker.submit(gate.wait)  # the sync facts cannot be read yet
    controller = SyncController(window.sync.ctx, options=QUIET)
    try:
        controller.start()
        assert controller.state.enrolled is None
        controller.sync_now()
        assert not controller.running
    finally:
        gate.set()
    qtbot.waitUntil(lambda: controller.running, timeout=WAIT)
    qtbot.waitUntil(lambda: not controller.running, timeout=WAIT)
    assert controller.state.waiting == 0 and controller.state.note == ""
    assert server_count(sync_server, "trips") == 2
    controller.stop()


def test_a_change_goes_up_by_itself_when_the_server_comes_back(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    [laptop] = coordinator(sync_server, clock, "rc")
    laptop.lock()
    eager = SyncOptions(period_ms=600_000, debounce_ms=50, start_delay_ms=600_000,
                        retry_first_ms=100, retry_max_ms=400, probe_seconds=1.0)
    window = open_app(paths_of(laptop), eager)
    status = window.sync_status
    sync_server.process.terminate()
    sync_server.process.wait(timeout=10)

    session = window.current_session()
    # A change, announced as the trip dialog's change op announces it.
    window._runner.run(lambda: services_of(session).mileage.add_trip(
        make_trip(miles=Decimal(9), round_trip=False)), on_success=lambda _: None, changes=True)
    qtbot.waitUntil(lambda: "Server not reachable" in status.note.text(), timeout=WAIT)
    assert status.waiting.text() == "1 waiting to go up"
    assert "Next try" in status.note.text()

    port = int(sync_server.url.rsplit(":", 1)[1])
    with serve(sync_server.data_dir, sync_server.tmp / "logs-again", port=port):
        qtbot.waitUntil(lambda: status.waiting.text() == "Nothing waiting to go up"
                        and idle(window), timeout=WAIT)
        assert status.last_sync.text() == "Synced just now"
        assert not status.note.isVisible()
        assert server_count(sync_server, "trips") == 1


def test_conflicts_kept_copies_and_refused_changes_are_settled_in_the_dialog(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    first, second = coordinator(sync_server, clock, "rc-a", "rc-b")
    note = services_of(first).notes.start_draft(
        "fam-1", visit_details(narrative="Started at the office."))
    other = services_of(first).notes.start_draft("fam-1", visit_details(narrative="Base."))
    services_of(first).mileage.add_trip(make_trip(miles=Decimal(10), round_trip=False))
    sync(first)
    sync(second)
    # Laptop A and laptop B of the same worker, both offline: the same draft edited on both; a
    # draft signed on A and edited on B; a month submitted on A while B logs a trip in it.
    services_of(first).notes.save_draft(note.id, visit_details(narrative="Version from laptop A."),
                                        expected_revision=services_of(first).notes.get(note.id).revision)
    services_of(second).notes.save_draft(note.id, visit_details(narrative="Version from laptop B."),
                                         expected_revision=services_of(second).notes.get(note.id).revision)
    services_of(first).notes.sign(other.id)
    services_of(second).notes.save_draft(
        other.id, visit_details(narrative="Typed on B after lunch."),
        expected_revision=services_of(second).notes.get(other.id).revision)
    services_of(first).mileage.submit(MONTH)
    services_of(second).mileage.add_trip(make_trip(miles=Decimal(7), round_trip=False))
    sync(first)
    second.lock()

    window = open_app(paths_of(second))
    status = window.sync_status
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: status.attention.isVisible() and idle(window), timeout=WAIT)
    assert status.attention.text() == "Needs attention: 3"
    assert tab_reaches(window, status.attention)
    qtbot.mouseClick(status.attention, LEFT)
    dialog = status.attention_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=WAIT)
    assert unnamed_controls(dialog) == []
    kinds = [item.kind for item in dialog.model.rows]
    assert sorted(kinds) == ["conflict", "kept", "refused"]

    # Both versions side by side, in plain words.
    dialog.items.selectRow(kinds.index("conflict"))
    text = dialog.sides.toPlainText()
    assert "Version from laptop A." in text and "Version from laptop B." in text
    assert "Narrative" in text and "Next steps" in text and "Draft" in text
    assert dialog.keep_mine.isVisible() and dialog.keep_theirs.isVisible()
    assert not dialog.dismiss.isVisible()
    # Keep theirs says what it destroys; Cancel leaves everything as it was.
    qtbot.mouseClick(dialog.keep_theirs, LEFT)
    assert dialog.confirm_dialog is not None
    assert "replaces what is on this laptop" in dialog.confirm_dialog.text.text()
    qtbot.mouseClick(dialog.confirm_dialog.cancel_button, LEFT)
    assert dialog.model.rowCount() == 3
    qtbot.mouseClick(dialog.keep_mine, LEFT)
    qtbot.mouseClick(dialog.confirm_dialog.confirm_button, LEFT)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2 and idle(window)
                    and status.waiting.text() == "Nothing waiting to go up", timeout=WAIT)

    kinds = [item.kind for item in dialog.model.rows]
    dialog.items.selectRow(kinds.index("kept"))
    assert "Typed on B after lunch." in dialog.sides.toPlainText()
    qtbot.mouseClick(dialog.mark_read, LEFT)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)

    [refused] = dialog.model.rows
    dialog.items.selectRow(0)
    assert refused.kind == "refused" and "submitted" in dialog.reason.text()
    assert "7" in dialog.sides.toPlainText()
    qtbot.mouseClick(dialog.dismiss, LEFT)
    qtbot.mouseClick(dialog.confirm_dialog.confirm_button, LEFT)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0 and not status.attention.isVisible(),
                    timeout=WAIT)

    # Laptop A gets the version kept on B; the trip B logged stays on B only.
    sync(first)
    assert services_of(first).notes.get(note.id).details.narrative == "Version from laptop B."
    assert server_count(sync_server, "trips") == 1


def _the_one_thing_that_needs_attention(qtbot: QtBot, window: MainWindow
                                        ) -> tuple[AttentionDialog, AttentionItem]:
    """Sync now, see "Needs attention: 1" in the status bar, open it, select its one item."""
    status = window.sync_status
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: status.attention.isVisible() and idle(window), timeout=WAIT)
    assert status.attention.text() == "Needs attention: 1"
    qtbot.mouseClick(status.attention, LEFT)
    dialog = status.attention_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)
    [item] = dialog.model.rows
    dialog.items.selectRow(0)
    return dialog, item


def test_a_record_that_names_another_case_is_set_aside_and_shown(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    """A server that lies sends a note of family A that names family B: the supervisor's
    window files it nowhere and says so under Needs attention, with nothing to choose."""
    supervisor = sync_server.device("sup", "sup1", clock=clock)
    worker = sync_server.device("rc", "rc1", clock=clock)
    services_of(supervisor).cases.open_case(family("fam-a"))
    services_of(supervisor).cases.open_case(replace(family("fam-b"), coordinator_id=None))
    sync(supervisor)
    sync(worker)
    plant_misplaced_note(sync_server, Insider(worker), "fam-a", "fam-b")
    supervisor.lock()

    window = open_app(paths_of(supervisor))
    dialog, item = _the_one_thing_that_needs_attention(qtbot, window)
    assert item.kind == "set aside"
    assert "another case" in dialog.reason.text() and "not filed" in dialog.reason.text()
    assert "filed nowhere" in dialog.hint.text()
    assert not any(b.isVisible() for b in (dialog.keep_mine, dialog.keep_theirs,
                                          dialog.mark_read, dialog.send_again, dialog.dismiss))
    assert unnamed_controls(dialog) == []
    in_b = window._runner.worker.call(
        lambda: services_of(window.current_session()).notes.for_case("fam-b"))
    assert in_b == []


def test_a_key_that_does_not_open_is_shown_with_what_to_do(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    """A colleague shares the next version of a family's key with garbage for this worker: the
    window's status says it needs attention and the dialog says what it is and what to do,
    with nothing to choose (issue 19)."""
    supervisor = sync_server.device("sup", "sup1", clock=clock)
    worker = sync_server.device("rc", "rc1", clock=clock)
    services_of(supervisor).cases.open_case(family("fam-a"))
    sync(supervisor)
    sync(worker)
    mallory = Insider(supervisor)
    version, secret = mallory.key("fam-a")[0] + 1, os.urandom(32)
    assert mallory.request("PUT", "/v1/cases/fam-a/keys", json={"keys": mallory.signed(
        "fam-a", [{"version": version, "user_id": "rc1", "wrapped_key": "Z2FyYmFnZQ"}])}
    ).status_code == 204
    conn = sqlite3.connect(f"file:{sync_server.data_dir / 'server.sqlite3'}?mode=ro", uri=True)
    plain, rev = conn.execute("SELECT plain, rev FROM records WHERE tbl = 'cases' AND "
                              "record_id = 'fam-a'").fetchone()
    conn.close()
    [answer] = mallory.push(mallory.op("cases", "fam-a", "fam-a", json.loads(plain),
                                       key=(version, secret), base_rev=rev))
    assert answer.outcome == "applied", answer
    worker.lock()

    window = open_app(paths_of(worker))
    dialog, item = _the_one_thing_that_needs_attention(qtbot, window)
    assert item.kind == "key"
    assert dialog.reason.text().startswith(f"Version {version} of the key to the case")
    assert "does not open with your key" in dialog.hint.text()
    assert "Tell your administrator" in dialog.hint.text()
    assert not any(b.isVisible() for b in (dialog.keep_mine, dialog.keep_theirs,
                                          dialog.mark_read, dialog.send_again, dialog.dismiss))
    assert unnamed_controls(dialog) == []


def test_a_revoked_laptop_is_wiped_and_returns_to_first_run(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock) -> None:
    laptop = sync_server.device("rc", "rc1", clock=clock)
    found = enrolment.enrolment_of(laptop)
    assert found is not None
    laptop.lock()
    window = open_app(paths_of(laptop))
    store = ServerStore(sync_server.data_dir)
    try:
        store.revoke_device(str(found["device_id"]), now=datetime.now(UTC))
    finally:
        store.close()
    sync_now(qtbot, window)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.create_page, timeout=WAIT)
    assert "revoked" in window.create_page.error.text()
    assert not paths_of(laptop).root.exists()
    assert window.workspace is None and window.sync is None
    assert not window.sync_status.isVisible()


def test_connecting_in_settings_brings_the_caseload_back_at_once(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock,
        tmp_path: Path) -> None:
    [old] = coordinator(sync_server, clock, "old-laptop")  # rc1's key pair is on the server
    services_of(old).notes.start_draft("fam-1", visit_details(narrative="From the old laptop."))
    sync(old)
    window = open_app(ProfilePaths(tmp_path / "new-laptop"))
    create_profile(qtbot, window)
    status = window.sync_status
    qtbot.waitUntil(lambda: status.last_sync.text() == NOT_CONNECTED, timeout=WAIT)
    assert not status.sync_button.isVisible() and not status.waiting.isVisible()
    ws = window.workspace
    assert ws is not None
    ws.setCurrentWidget(ws.settings)
    ws.settings.open_enrolment()
    dialog = ws.settings.enrol_dialog
    qtbot.keyClicks(dialog.server, sync_server.url)
    qtbot.keyClicks(dialog.code, sync_server.code("rc1"))
    qtbot.keyClicks(dialog.recovery, sync_server.recovery_codes["rc1"])  # shown on the old one
    qtbot.mouseClick(dialog.connect_button, LEFT)
    qtbot.waitUntil(lambda: status.last_sync.text() == "Synced just now" and idle(window),
                    timeout=WAIT)
    ws.setCurrentWidget(ws.caseload)
    qtbot.waitUntil(lambda: ws.caseload.model.rowCount() == 1, timeout=WAIT)
    drafts = window._runner.worker.call(
        lambda: [n.details.narrative for n in services_of(window.current_session()).notes.for_case(
            "fam-1")])
    assert drafts == ["From the old laptop."]


def test_f5_on_a_laptop_not_connected_says_so_and_how_to_connect(
        qtbot: QtBot, open_app: AppFactory, tmp_path: Path) -> None:
    window = open_app(ProfilePaths(tmp_path / "alone"))
    create_profile(qtbot, window)
    status = window.sync_status
    qtbot.waitUntil(lambda: status.last_sync.text() == NOT_CONNECTED, timeout=WAIT)
    assert not status.note.isVisible()
    sync_now(qtbot, window)
    assert status.note.isVisible()
    assert "not connected" in status.note.text()
    assert "Settings → Connect to your program's server" in status.note.text()
    assert window.sync is not None and not window.sync.running
