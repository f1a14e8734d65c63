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
from fieldapp.ui.compose import Composed, build_window
from fieldapp.ui.context import UiContext
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.tasks import TaskRunner
from tests.conftest import PASSPHRASE, FakeClock

WindowFactory = Callable[[], MainWindow]


@pytest.fixture
def make_window(qtbot: QtBot, paths: ProfilePaths, clock: FakeClock
                ) -> Iterator[WindowFactory]:
    """Build the window as `run_gui` does (`build_window`); the inactivity watch looks at the
    clock every 50 ms. On teardown lock the profile and stop the worker."""
    made: list[Composed] = []

    def make() -> MainWindow:
        composed = build_window(paths, clock=clock, check_ms=50,
                                demo_paths=ProfilePaths(paths.root.with_name("demo")))
        window = composed.window
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)  # shortcuts reach only the active window
        made.append(composed)
        return window

    yield make
    for composed in made:
        # The profile the window was built on, as before `build_window`: a demo a test opened
        # is not locked (its backup would only slow the suite), so not `composed.shut_down()`.
        composed.worker.call(composed.session.lock)
        composed.worker.shutdown()


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
