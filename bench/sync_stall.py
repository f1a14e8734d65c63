"""Longest stall of the UI thread while the app syncs 10,000 records (DESIGN target < 50 ms).

The desktop app's own sync path, against a real `fieldapp-server serve` on 127.0.0.1 (prepared
and filled by bench/sync.py's functions): offscreen Qt, the profile opened on a `DbWorker` thread
as the app opens it, a `SyncController` with its automatic timers quieted and a `SyncStatus` row
in a window's status bar bound to it (it redraws on every state change, as in the app), then
`sync_now()` and the event loop until the controller says the sync ended. Meanwhile
bench/ui_stall.py's StallMeter (a 1 ms timer on the UI thread) takes the longest gap between its
ticks. Measured: the worker's first sync of 10,000 records written offline (setup, not timed),
and a new supervisor device's first pull of them. Prints a table; asserts only that each sync
succeeded.
`--explain` keeps every tick more than `--explain-ms` (15) late, with the controller's state, the
UI thread's stack while late (a watchdog thread samples it), every other thread's stack when the
tick came, and each garbage collection (they hold the GIL). Full collections were the longest
stalls (~30 ms), so the controller now freezes what is alive while it syncs (`gc.freeze()`, see
sync_controller.py); `--gc-freeze` also freezes before the controller does (kept for
comparison; it changes nothing now).
Run: `.venv/bin/python bench/sync_stall.py [--records N] [--explain] [--gc-freeze]`.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import random
import sqlite3
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import report
from PySide6.QtCore import QCoreApplication, QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMainWindow

from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.context import UiContext
from fieldapp.ui.sync_controller import SyncController, SyncOptions, SyncState
from fieldapp.ui.sync_status import SyncStatus
from fieldapp.ui.tasks import TaskRunner
from sync.client.engine import SyncEngine, SyncReport

TARGET_MS = 50
FRAME_MS = 15  # --explain keeps every tick later than about a frame at 60 Hz
HOUR_MS = 3_600_000
# No timer of the controller fires during a run: only `sync_now()` starts a sync.
QUIET = SyncOptions(period_ms=HOUR_MS, debounce_ms=HOUR_MS, start_delay_ms=HOUR_MS,
                    retry_first_ms=HOUR_MS, retry_max_ms=HOUR_MS)


def _bench(name: str) -> ModuleType:
    """Another bench script, as a module (bench/ is not a package, and `sync` is taken)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


SYNC = _bench("sync")
StallMeter = _bench("ui_stall").StallMeter


def _qt_message(_: QtMsgType, __: QMessageLogContext, message: str) -> None:
    # The offscreen platform says so each time the shown window's size hints change.
    if message != "This plugin does not support propagateSizeHints()":
        print(message, file=sys.stderr)


# -- where a stall comes from (--explain) ----------------------------------------------------

@dataclass(frozen=True)
class Stall:
    at_ms: int     # since the sync was asked for
    gap_ms: int
    state: str     # the controller's phase and progress when the late tick came
    ui: str        # the UI thread's stack while it was late ("" if never seen running Python)
    others: str    # every other thread's stack right after


@dataclass(frozen=True)
class Collection:
    """One run of Python's cyclic garbage collector: it holds the GIL throughout, so while it
    runs no other Python thread (the UI thread's timer slot included) runs."""

    at_ms: int
    generation: int
    ms: float
    thread: str


def stacks(*, only: int | None = None, skip: tuple[int, ...] = (), depth: int = 8) -> str:
    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        if ident in skip or (only is not None and ident != only):
            continue
        lines = "".join(traceback.format_stack(frame)[-depth:])
        out.append(f"  [{names.get(ident, ident)}]\n" + "".join(
            f"    {line}\n" for line in lines.rstrip().splitlines()))
    return "".join(out)


class ExplainingMeter(StallMeter):  # type: ignore[misc,valid-type]
    """The StallMeter, plus: every tick more than `late_ms` late is kept as a `Stall`, with the
    other threads' stacks when it came, and the UI thread's stack while it was late (taken by a
    watchdog thread every 2 ms; it needs the GIL for that, so a stall during which some other
    thread holds the GIL is seen by no one until it ends, and has no UI stack)."""

    last: int  # the StallMeter's (loaded at run time, so mypy cannot see them)
    clock: Any

    def __init__(self, late_ms: int, state: Callable[[], str]) -> None:
        super().__init__()
        self.late_ms, self.state = late_ms, state
        self.stalls: list[Stall] = []
        self.collections: list[Collection] = []
        self.objects = 0  # objects the collector tracks when the sync starts
        self._gc_started = 0.0
        self._ui = threading.get_ident()
        self._seen: tuple[int, str] = (-1, "")
        self._stop = threading.Event()

    def _tick(self) -> None:
        last = self.last
        super()._tick()
        if self.last - last > self.late_ms:
            seen_at, ui = self._seen
            self.stalls.append(Stall(
                last, self.last - last, self.state(), ui if seen_at == last else "",
                stacks(skip=(self._ui, self._watcher.ident or 0))))
            self.last = self.clock.elapsed()  # taking the stacks is not the app's stall

    def _watch(self) -> None:
        while not self._stop.wait(0.002):
            last = self.last
            if self.clock.elapsed() - last > self.late_ms and self._seen[0] != last:
                self._seen = (last, stacks(only=self._ui, depth=12))

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._gc_started) * 1000
        if ms >= 1 or info["generation"] == 2:
            self.collections.append(Collection(self.clock.elapsed() - int(ms), info["generation"],
                                               ms, threading.current_thread().name))

    def measure(self, app: QApplication, start: Callable[[Callable[[object], None]], None]
                ) -> tuple[float, float]:
        self.objects = len(gc.get_objects()) + gc.get_freeze_count()
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="bench-watchdog", daemon=True)
        self._watcher.start()
        gc.callbacks.append(self._collected)
        try:
            return super().measure(app, start)  # type: ignore[no-any-return]
        finally:
            gc.callbacks.remove(self._collected)
            self._stop.set()
            self._watcher.join()


# -- the app's side --------------------------------------------------------------------------

@dataclass
class Watch:
    """Follows one sync of a controller: ends the wait when it stops running; counts the state
    changes (each is a redraw of the status row on the UI thread)."""

    done: Callable[[object], None] | None = None
    report: SyncReport | None = None
    final: SyncState | None = None
    changes: int = 0
    running: bool = False

    def state(self, state: SyncState) -> None:
        self.changes += 1
        if state.running:
            self.running = True
        elif self.running and self.done is not None:
            self.final, done, self.done = state, self.done, None
            done(state)

    def synced(self, report: SyncReport) -> None:
        self.report = report


@dataclass
class Phase:
    name: str
    seconds: float
    stall_ms: float
    report: SyncReport
    changes: int
    explained: ExplainingMeter | None


def open_on_worker(paths: ProfilePaths, worker: DbWorker) -> Session:
    """The profile unlocked on the database worker, as the app's unlock page does."""
    session = Session(paths, clock=SYNC.clock)
    worker.call(lambda: session.unlock(SYNC.PASSPHRASE))
    return session


def wait_for(app: QApplication, ready: Callable[[], bool], what: str, seconds: float = 30
             ) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {seconds:.0f} s")
        app.processEvents()
        time.sleep(0.001)


@dataclass
class OpenProfile:
    """What the main window holds for an open, enrolled profile: the database worker, the
    session opened on it, the sync controller and the status row showing it."""

    worker: DbWorker
    session: Session
    controller: SyncController
    window: QMainWindow
    status: SyncStatus

    @classmethod
    def open(cls, app: QApplication, paths: ProfilePaths) -> OpenProfile:
        worker = DbWorker()
        session = open_on_worker(paths, worker)
        ctx = UiContext(session=session, runner=TaskRunner(worker), clock=SYNC.clock)
        controller = SyncController(ctx, options=QUIET)
        window, status = QMainWindow(), SyncStatus()  # the status row where the app has it
        window.statusBar().addPermanentWidget(status)
        window.resize(1100, 760)
        window.show()
        status.bind(controller)  # as MainWindow._start_sync does
        controller.start()
        wait_for(app, lambda: controller.state.enrolled is not None, "the controller's start")
        if not controller.state.enrolled:
            raise SystemExit(f"{paths}: the profile is not enrolled")
        return cls(worker, session, controller, window, status)

    def where(self) -> str:
        state = self.controller.state
        return f"{state.phase or 'ended'} {state.done}/{state.total}"

    def close(self) -> None:
        self.controller.stop()
        self.status.unbind()
        self.window.close()
        self.window.deleteLater()
        self.worker.call(lambda: self.session.vault().lock(backup=False))
        self.worker.shutdown()
        QCoreApplication.sendPostedEvents()  # the stopped controller's deleteLater


def measure(app: QApplication, name: str, paths: ProfilePaths, *, explain_ms: int | None,
            gc_freeze: bool) -> Phase:
    """One sync of the profile at `paths` through the app's controller, the meter running."""
    opened = OpenProfile.open(app, paths)
    watch = Watch()
    opened.controller.state_changed.connect(watch.state)
    opened.controller.synced.connect(watch.synced)
    meter = StallMeter() if explain_ms is None else ExplainingMeter(explain_ms, opened.where)

    def start(done: Callable[[object], None]) -> None:
        watch.done = done
        opened.controller.sync_now()

    if gc_freeze:
        gc.freeze()
    try:
        stall, took = meter.measure(app, start)
    finally:
        if gc_freeze:
            gc.unfreeze()
    if watch.report is None:
        final = watch.final or opened.controller.state
        raise SystemExit(f"{name}: the sync did not succeed: {final.note} {final.detail}")
    opened.close()
    return Phase(name, took / 1000, stall, watch.report, watch.changes,
                 meter if isinstance(meter, ExplainingMeter) else None)


# -- the run ---------------------------------------------------------------------------------

def prepare_profiles(program: Any, records: int) -> tuple[ProfilePaths, ProfilePaths, int]:
    """bench/sync.py's setup: 30 cases, the worker's records written offline, and a new
    supervisor device enrolled; every profile locked afterwards (the app reopens them)."""
    supervisor = program.device("sup-laptop", "sup1")
    worker = program.device("rc-laptop", "rc1")
    cases = SYNC.open_cases(supervisor)
    SyncEngine(supervisor).sync()
    SyncEngine(worker).sync()  # the cases and their keys come down before the day's work
    outbox = SYNC.fill(worker, cases, records, random.Random(20261124))
    restoring = program.device("sup-new-laptop", "sup1")
    for session in (supervisor, worker, restoring):
        session.vault().lock(backup=False)
    return worker.profile.paths, restoring.profile.paths, outbox


def run(args: argparse.Namespace, tmp: Path) -> tuple[list[Phase], int, float]:
    data_dir = tmp / "server"
    SYNC.prepare(data_dir)
    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with SYNC.server_process(data_dir, tmp / "server.log") as (url, _):
        program = SYNC.Program(url=url, data_dir=data_dir, tmp=tmp)
        started = time.perf_counter()
        worker, restoring, outbox = prepare_profiles(program, args.records)
        fill_s = time.perf_counter() - started
        explain = args.explain_ms if args.explain else None
        phases = [measure(app, f"worker's first sync of {outbox:,} records (push+pull+verify)",
                          worker, explain_ms=explain, gc_freeze=args.gc_freeze)]
        phases.append(measure(app, "new supervisor device's first pull",
                              restoring, explain_ms=explain, gc_freeze=args.gc_freeze))
    return phases, outbox, fill_s


def print_table(phases: list[Phase], load: float, outbox: int, fill_s: float) -> None:
    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{platform.platform(terse=True)}; load average before the run {load:.1f}")
    print(f"records written by the worker: {outbox:,} (outbox entries) in {fill_s:.1f} s "
          "(setup, not measured); UI: offscreen, SyncController + SyncStatus, DbWorker")
    header = ("phase", "seconds", "longest UI stall", "target", "", "pushed / pulled",
              "state changes")
    rows = [(p.name, f"{p.seconds:.2f} s", f"{p.stall_ms:.0f} ms", f"< {TARGET_MS} ms",
             "met" if p.stall_ms < TARGET_MS else "NOT MET",
             f"{p.report.pushed:,} / {p.report.pulled:,}", str(p.changes)) for p in phases]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(f"{cell:>{widths[i]}}" if i in (1, 2, 5, 6) else f"{cell:<{widths[i]}}"
                        for i, cell in enumerate(row)).rstrip())
    first, pull = phases
    report(f"longest UI stall while syncing: first sync of {outbox:,} records", first.stall_ms,
           "ms", target=TARGET_MS)
    report("longest UI stall while syncing: a new device's first pull", pull.stall_ms, "ms",
           target=TARGET_MS)


def print_stalls(phases: list[Phase], late_ms: int) -> None:
    for phase in phases:
        meter = phase.explained
        assert meter is not None
        print(f"\n==== {phase.name} ====")
        print(f"ticks more than {late_ms} ms late (ms since sync_now: gap, controller state): "
              + (", ".join(f"{s.at_ms}: {s.gap_ms} ms ({s.state})" for s in meter.stalls)
                 or "none"))
        print(f"garbage collections of 1 ms or more, and every full one (generation 2); "
              f"{meter.objects:,} objects tracked at the start (frozen included): " + (", ".join(
                  f"{c.at_ms}: gen {c.generation} {c.ms:.1f} ms on {c.thread}"
                  for c in meter.collections) or "none"))
        for stall in sorted(meter.stalls, key=lambda s: -s.gap_ms)[:3]:
            overlap = [c for c in meter.collections
                       if c.at_ms < stall.at_ms + stall.gap_ms and c.at_ms + c.ms > stall.at_ms]
            print(f"-- {stall.gap_ms} ms at {stall.at_ms} ms ({stall.state}); collections inside "
                  "it: " + (", ".join(f"gen {c.generation} {c.ms:.1f} ms on {c.thread}"
                                      for c in overlap) or "none") + "; the UI thread while late:\n"
                  + (stall.ui or "  (never seen running Python)\n")
                  + "   the other threads when it ticked again:\n" + stall.others)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--explain", action="store_true",
                        help="sample every thread's stack when the UI thread is late")
    parser.add_argument("--explain-ms", type=int, default=FRAME_MS)
    parser.add_argument("--gc-freeze", action="store_true",
                        help="experiment: gc.freeze() before each sync (objects alive then are "
                        "no longer scanned by full collections)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]  # other work on the machine stretches stalls too
    with tempfile.TemporaryDirectory() as tmp:
        phases, outbox, fill_s = run(args, Path(tmp))
    print_table(phases, load, outbox, fill_s)
    if args.gc_freeze:
        print("experiment: gc.freeze() before each sync (full collections skip what was alive)")
    if args.explain:
        print_stalls(phases, args.explain_ms)


if __name__ == "__main__":
    main()
