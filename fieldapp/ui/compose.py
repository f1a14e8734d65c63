"""Build the main window and what it runs on: the one place a `MainWindow` is put together.

The app (`run.run_gui`), the self-test, the screenshot tour, the benches and the UI tests all
call `build_window`; what differs between them is said in its arguments.

Thread rule: the UI thread only.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.domain.clock import Clock
from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.sync_controller import SyncOptions
from fieldapp.ui.tasks import TaskRunner


@dataclass(frozen=True)
class Composed:
    """A main window and the parts it runs on.

    Attributes:
        window: the main window, not shown yet.
        session: the profile the window started with (`window.current_session()` is the one
            it shows now: another profile or a demo, once the person chose one).
        runner: the task runner of every page; the window owns it (its Qt parent), so it lives
            exactly as long as the window.
        worker: the database worker; `shut_down` stops it.
    """

    window: MainWindow
    session: Session
    runner: TaskRunner
    worker: DbWorker

    def shut_down(self) -> None:
        """Lock the profile the window shows now, then stop the worker.

        The lock runs after whatever the worker still has queued (the last saves of editors
        the closing window asked for), so nothing is written after it.
        """
        self.worker.call(self.window.current_session().lock)
        self.worker.shutdown()


def build_window(paths: ProfilePaths, *, clock: Clock, worker: DbWorker | None = None,
                 demo_paths: ProfilePaths | None = None, home: ProfilePaths | None = None,
                 check_ms: int = 5000, sync_options: SyncOptions | None = None) -> Composed:
    """The main window on the profile at `paths` (made on first run if it does not exist yet).

    `worker`: the database worker, a new thread if None (the self-test passes a synchronous
    one). `demo_paths`: where the demo profiles live; None hides the demo. `home`: the default
    profile, beside which the others live (`paths` if None). `check_ms`: how often, in real
    time, the inactivity watch looks at the clock (tests look more often, with a clock they
    move by hand). `sync_options`: the sync's timers (the app's own if None).
    """
    worker = worker if worker is not None else DbWorker()
    session = Session(paths, clock=clock)
    runner = TaskRunner(worker)
    window = MainWindow(session, runner, profile_exists=session.profile.exists(),
                        check=session.profile.check_passphrase, clock=clock, check_ms=check_ms,
                        demo_paths=demo_paths, sync_options=sync_options, home=home)
    # The window's child: deleted with it, never before it, and never by Python while queued
    # results still wait for it.
    runner.setParent(window)
    return Composed(window=window, session=session, runner=runner, worker=worker)
