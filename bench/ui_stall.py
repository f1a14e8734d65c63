"""Longest stall of the UI thread while a big profile opens, loads and saves (target < 50 ms).

A 1 ms QTimer ticks on the UI thread; the longest gap between two ticks is the longest time the
window could not repaint or answer a key. Measured, on a profile of 100,000 sealed records:
unlocking (Argon2id on the worker), loading Today and the caseload, and saving notes. Prints a
table; asserts nothing. Run: `.venv/bin/python bench/ui_stall.py [--records N]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile
from fieldapp.ui.caseload_page import CaseloadPage
from fieldapp.ui.context import UiContext
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.today_page import TodayPage


def _records_bench():  # type: ignore[no-untyped-def]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
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
        rows.append(("load Today", meter.measure(app, run(session.today))))
        rows.append(("load the caseload (30 families)",
                     meter.measure(app, run(lambda: session.cases().caseload()))))
        detail = bench.details(random.Random(2), bench.TODAY)
        rows.append(("save 50 new notes, one by one", meter.measure(app, run(
            lambda: [session.notes().start_draft(mine[i % len(mine)], detail)
                     for i in range(50)]))))
        rows.append(("lock (backup of the whole profile + WAL truncate)",
                     meter.measure(app, run(session.lock))))
        worker.shutdown()
        del today, caseload
    width = max(len(name) for name, _ in rows)
    print(f"{'while':<{width}}  longest UI stall   work took")
    for name, (stall, took) in rows:
        print(f"{name:<{width}}  {stall:>8.0f} ms       {took:>7.0f} ms")


if __name__ == "__main__":
    main()
