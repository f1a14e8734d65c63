"""UI fixtures: the real main window over a real profile, with a real database worker thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.tasks import TaskRunner
from tests.conftest import FakeClock

WindowFactory = Callable[[], MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, paths: ProfilePaths, clock: FakeClock
                ) -> Iterator[WindowFactory]:
    """Build the window as `run_gui` does; on teardown lock the profile and stop the worker."""
    workers: list[tuple[DbWorker, Session]] = []

    def make() -> MainWindow:
        worker = DbWorker()
        session = Session(paths, clock=clock)
        runner = TaskRunner(worker)
        window = MainWindow(session, runner, profile_exists=session.profile.exists(),
                            check=session.profile.check_passphrase, clock=clock)
        window._test_runner = runner  # type: ignore[attr-defined] - keeps it alive with the window
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)  # shortcuts reach only the active window
        workers.append((worker, session))
        return window

    yield make
    for worker, session in workers:
        worker.call(session.lock)
        worker.shutdown()
