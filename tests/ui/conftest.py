"""UI fixtures: the real main window over a real profile, with a real database worker thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import Role, UserId
from fieldapp.services import demo as demo_data
from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.context import UiContext
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.tasks import TaskRunner
from tests.conftest import PASSPHRASE, FakeClock

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
                            check=session.profile.check_passphrase, clock=clock,
                            demo_paths=ProfilePaths(paths.root.with_name("demo")), check_ms=50)
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


ContextFactory = Callable[..., UiContext]


@pytest.fixture
def make_context(qtbot: QtBot, tmp_path: Path, clock: FakeClock) -> Iterator[ContextFactory]:
    """An open profile for page tests: `make_context(role=..., demo=True)`.

    The worker thread is real; with `demo=True` the profile holds the demo caseload (owned by
    `fieldapp.services.demo.WORKER`; pass `role=Role.SUPERVISOR, user_id=demo.SUPERVISOR` to
    see it as the supervisor). Teardown locks the profile and stops the worker.
    """
    made: list[tuple[DbWorker, Session]] = []

    def make(*, role: Role = Role.RECOVERY_COORDINATOR, user_id: UserId | None = None,
             demo: bool = False) -> UiContext:
        worker = DbWorker()
        session = Session(ProfilePaths(tmp_path / f"profile-{len(made)}"), clock=clock)
        owner = user_id or (demo_data.WORKER if demo else UserId("rc-1"))

        def setup() -> None:
            session.create(PASSPHRASE, role=role, user_id=owner)
            if demo:
                demo_data.fill_demo(session, clock=clock)

        worker.call(setup)
        made.append((worker, session))
        return UiContext(session=session, runner=TaskRunner(worker), clock=clock)

    yield make
    for worker, session in made:
        worker.call(session.lock)
        worker.shutdown()
