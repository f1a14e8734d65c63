"""Longest stall of the UI thread while a big profile opens, loads and saves (target < 50 ms),
and the app's peak memory with that profile open.

A 1 ms QTimer ticks on the UI thread; the longest gap between two ticks is the longest time the
window could not repaint or answer a key. Measured, on a profile of 100,000 sealed records:
unlocking (Argon2id on the worker), loading Today and the caseload, and saving notes.
Peak memory: afterwards a fresh process (this script with `--memory-of DIR`) starts the app's own
window on that profile as fieldapp/ui/run.py does (QApplication, Fusion, then `build_window` of
fieldapp/ui/compose.py), types the passphrase into the unlock page and presses Unlock, waits for
Today, then opens the Caseload tab and waits for it; it reports the resident memory high-water
mark (VmHWM, /proc/self/status) at the unlock page and at the end. Measured in its own process
because filling 100,000 records here takes far more memory than the app ever does.
Prints a table; asserts nothing. Run: `.venv/bin/python bench/ui_stall.py [--records N]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import report
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from fieldapp.services.casework import CaseService
from fieldapp.services.notes import NoteService
from fieldapp.services.session import Session
from fieldapp.services.today import today_summary
from fieldapp.services.worker import DbWorker
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile
from fieldapp.ui.caseload_page import CaseloadPage
from fieldapp.ui.context import UiContext
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.today_page import TodayPage


def _records_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_records", ROOT / "bench" / "records.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StallMeter:
    """Records the longest gap between ticks of a 1 ms timer on the UI thread."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.worst = 0

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def measure(self, app: QApplication, start: Callable[[Callable[[object], None]], None]
                ) -> tuple[float, float]:
        """Run `start(done)` and spin the event loop until `done` is called."""
        loop = QEventLoop()
        self.clock.start()
        self.last, self.worst = 0, 0
        self.timer.start()
        began = time.perf_counter()
        start(lambda _: loop.quit())
        loop.exec()
        self.timer.stop()
        return float(self.worst), (time.perf_counter() - began) * 1000


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_of(root: Path) -> None:
    """In a fresh process: the app's window on the profile at `root`, unlocked through its
    unlock page, Today and then the Caseload tab loaded; prints the memory figures as JSON."""
    from fieldapp.ui.compose import build_window  # noqa: PLC0415 - only in this process
    from fieldapp.ui.palette import follow_color_scheme  # noqa: PLC0415

    bench = _records_bench()
    app = QApplication([])
    app.setStyle("Fusion")
    follow_color_scheme(app)
    composed = build_window(ProfilePaths(root), clock=bench.clock)
    window, runner = composed.window, composed.runner
    window.show()

    def settle(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 120
        while not (done() and not runner.busy) and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    settle(lambda: True)
    at_unlock = _status_mb("VmHWM")
    window.unlock_page.passphrase.setText(bench.PASSPHRASE)
    window.unlock_page.unlock_button.click()
    settle(lambda: window.workspace is not None)
    workspace = window.workspace
    assert workspace is not None, "the profile did not open"
    workspace.setCurrentWidget(workspace.caseload)  # loads the caseload, as a click on the tab
    settle(lambda: True)
    print(json.dumps({"at_unlock_page_mb": at_unlock, "peak_mb": _status_mb("VmHWM"),
                      "now_mb": _status_mb("VmRSS"),
                      "caseload_rows": workspace.caseload.model.rowCount()}))
    window.close()
    composed.shut_down()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--memory-of", type=Path, metavar="DIR",
                        help="(the suite's child) report the app's memory on this profile")
    args = parser.parse_args()
    if args.memory_of:
        memory_of(args.memory_of)
        return
    bench = _records_bench()
    app = QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        paths = ProfilePaths(Path(tmp) / "p")
        vault = Profile(paths, clock=bench.clock).create(
            bench.PASSPHRASE, meta={"user_id": bench.ME.user_id, "role": str(bench.ME.role)})
        ws = Workspace(vault, actor=bench.ME, clock=bench.clock)
        with ws.unit() as stores:
            mine = bench.fill(stores, args.records, random.Random(1))
        vault.lock(backup=False)
        worker = DbWorker()
        session = Session(paths, clock=bench.clock)
        ctx = UiContext(session=session, runner=TaskRunner(worker), clock=bench.clock)
        today, caseload = TodayPage(ctx), CaseloadPage(ctx)
        meter, rows = StallMeter(), []

        def run(fn: Callable[[], object]) -> Callable[[Callable[[object], None]], None]:
            return lambda done: ctx.runner.run(fn, on_success=done)

        rows.append(("unlock (Argon2id + open)",
                     meter.measure(app, run(lambda: session.unlock(bench.PASSPHRASE)))))
        today.refresh()
        rows.append(("load Today",
                     meter.measure(app, run(lambda: today_summary(session.workspace())))))
        rows.append(("load the caseload (30 families)",
                     meter.measure(app, run(lambda: CaseService(session.workspace()).caseload()))))
        detail = bench.details(random.Random(2), bench.TODAY)
        rows.append(("save 50 new notes, one by one", meter.measure(app, run(
            lambda: [NoteService(session.workspace()).start_draft(mine[i % len(mine)], detail)
                     for i in range(50)]))))
        rows.append(("lock (backup of the whole profile + WAL truncate)",
                     meter.measure(app, run(session.lock))))
        worker.shutdown()
        del today, caseload
        child = subprocess.run([sys.executable, __file__, "--memory-of", str(paths.root)],
                               capture_output=True, text=True, check=False, cwd=ROOT)
    width = max(len(name) for name, _ in rows)
    print(f"{'while':<{width}}  longest UI stall   work took")
    for name, (stall, took) in rows:
        print(f"{name:<{width}}  {stall:>8.0f} ms       {took:>7.0f} ms")
    worst = max(rows, key=lambda row: row[1][0])
    report(f"longest UI stall, {args.records:,}-record profile: unlock, Today, caseload, saves, "
           f"lock (worst: {worst[0].split(' (')[0]})", worst[1][0], "ms", target=50)
    if child.returncode != 0 or not child.stdout.strip():
        print(f"peak memory: the app's process failed ({child.returncode}):\n"
              f"{child.stderr[-2000:]}")
        return
    memory = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"peak memory of the app (VmHWM, its own process): {memory['at_unlock_page_mb']:.0f} "
          f"MB at the unlock page; {memory['peak_mb']:.0f} MB with the {args.records:,}-record "
          f"profile unlocked, Today and the caseload ({memory['caseload_rows']} families) loaded "
          f"(resident now {memory['now_mb']:.0f} MB)")
    report(f"peak memory (RSS high-water mark), {args.records:,} records: unlocked, Today and "
           "caseload loaded", memory["peak_mb"], "MB")
    report("memory resident after that (the peak less unlocking's Argon2id working memory)",
           memory["now_mb"], "MB")


if __name__ == "__main__":
    main()
