"""`build_window` puts the main window together the one way the app, the self-test, the tour, the
benches and these tests use: the page it starts on follows the profile folder, its database work
runs where its worker says, it owns its task runner, and `shut_down` locks whichever profile it
shows. On a fresh profile it shows and keeps the declared auto-lock default."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.storage.paths import ProfilePaths, list_profiles, new_profile
from fieldapp.storage.profile_settings import AUTO_LOCK_MINUTES
from fieldapp.ui.compose import Composed, build_window
from fieldapp.ui.main_window import MainWindow
from tests.conftest import OTHER_PASSPHRASE, PASSPHRASE, FakeClock
from tests.ui.test_profile_flow import create_profile, is_open, try_unlock


@pytest.fixture
def built(qtbot: QtBot) -> Iterator[list[Composed]]:
    """Windows the test builds; each one is closed, its profile locked and its worker stopped
    at the end."""
    made: list[Composed] = []
    yield made
    for composed in made:
        composed.window.close()
        composed.shut_down()


def shown(qtbot: QtBot, made: list[Composed], composed: Composed) -> MainWindow:
    made.append(composed)
    qtbot.addWidget(composed.window)
    composed.window.show()
    return composed.window


def make_profile(paths: ProfilePaths, clock: FakeClock, passphrase: str = PASSPHRASE) -> None:
    """A profile left on disk, locked, as an earlier run of the app leaves it."""
    session = Session(paths, clock=clock)
    session.create(passphrase)
    session.lock()


def test_the_first_page_follows_the_profile_folder(qtbot: QtBot, built: list[Composed],
                                                   paths: ProfilePaths, clock: FakeClock) -> None:
    """No profile yet: the first-run form. A profile on disk: its unlock page, never the form
    that would make a second one over it."""
    fresh = shown(qtbot, built, build_window(paths, clock=clock, check_ms=50))
    assert fresh.pages.currentWidget() is fresh.create_page
    other = ProfilePaths(paths.root.with_name("kept"))
    make_profile(other, clock)
    kept = shown(qtbot, built, build_window(other, clock=clock, check_ms=50))
    assert kept.pages.currentWidget() is kept.unlock_page
    try_unlock(qtbot, kept, PASSPHRASE)
    assert is_open(kept)


@pytest.mark.parametrize("synchronous", [True, False], ids=["self-test's worker", "a thread"])
def test_the_windows_work_runs_where_its_worker_says(qtbot: QtBot, built: list[Composed],
                                                    paths: ProfilePaths, clock: FakeClock,
                                                    synchronous: bool) -> None:
    """The self-test's synchronous worker runs the window's database work on the UI thread; the
    app's own worker on its one thread, never the UI's."""
    worker = DbWorker(synchronous=synchronous)
    window = shown(qtbot, built, build_window(paths, clock=clock, check_ms=50, worker=worker))
    create_profile(qtbot, window)  # through the window's own pages and runner
    ran_on: list[threading.Thread] = []
    window._runner.run(threading.current_thread, on_success=ran_on.append)
    qtbot.waitUntil(lambda: bool(ran_on))
    assert (ran_on[0] is threading.main_thread()) is synchronous


def test_the_window_owns_its_task_runner(qtbot: QtBot, paths: ProfilePaths,
                                         clock: FakeClock) -> None:
    """The runner answers for as long as the window exists and goes with it: no runner is left
    polling for a window that is gone, and none is gone while its window still waits."""
    composed = build_window(paths, clock=clock, check_ms=50)
    window, runner, worker = composed.window, composed.runner, composed.worker
    del composed
    try:
        answers: list[str] = []
        runner.run(lambda: "answered", on_success=answers.append)
        qtbot.waitUntil(lambda: answers == ["answered"])
        assert shiboken6.isValid(runner)
        window.close()
        window.deleteLater()
        qtbot.waitUntil(lambda: not shiboken6.isValid(window))
        assert not shiboken6.isValid(runner)
    finally:
        worker.shutdown()


def test_shut_down_locks_the_profile_shown_now(qtbot: QtBot, paths: ProfilePaths,
                                               clock: FakeClock) -> None:
    """After the person switched to another profile, `shut_down` locks that one (its key
    dropped, its folder free for the next start) and the worker takes no more work."""
    make_profile(paths, clock)
    evening = new_profile(paths.root, "Evening job")
    make_profile(evening, clock, OTHER_PASSPHRASE)
    composed = build_window(paths, clock=clock, check_ms=50, home=paths)
    window = composed.window
    qtbot.addWidget(window)
    window.show()
    entry = next(e for e in list_profiles(paths.root) if e.paths == evening)
    window.choose_profile(entry)
    try_unlock(qtbot, window, OTHER_PASSPHRASE)
    assert is_open(window)
    shown_now = window.current_session()
    assert shown_now is not composed.session
    assert [s.is_open for s in (shown_now, composed.session)] == [True, False]
    window.close()
    composed.shut_down()
    assert [s.is_open for s in (shown_now, composed.session)] == [False, False]
    with pytest.raises(RuntimeError):
        composed.worker.submit(lambda: None)
    again = Session(evening, clock=clock)
    again.unlock(OTHER_PASSPHRASE)  # the instance lock was let go
    again.lock()


def test_a_fresh_profile_shows_and_keeps_the_declared_auto_lock(
        qtbot: QtBot, built: list[Composed], paths: ProfilePaths, clock: FakeClock) -> None:
    """Settings shows the declared default and limits on a new profile, and the window locks
    after exactly the declared default without use, not a minute before."""
    window = shown(qtbot, built, build_window(paths, clock=clock, check_ms=50))
    create_profile(qtbot, window)
    workspace = window.workspace
    assert workspace is not None
    workspace.setCurrentWidget(workspace.settings)
    spin = workspace.settings.auto_lock
    qtbot.waitUntil(lambda: spin.value() == AUTO_LOCK_MINUTES.default)
    assert (spin.minimum(), spin.maximum()) == (AUTO_LOCK_MINUTES.lowest,
                                                 AUTO_LOCK_MINUTES.highest)
    qtbot.keyClick(workspace, Qt.Key.Key_Shift)  # the count starts now
    clock.advance(AUTO_LOCK_MINUTES.default * 60 - 1)
    qtbot.wait(200)
    assert window.workspace is not None, "a second before the declared default"
    clock.advance(1)
    qtbot.waitUntil(lambda: window.workspace is None, timeout=5_000)
