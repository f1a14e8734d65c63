"""Python's cyclic garbage is collected on the UI thread, never on a worker thread.

CPython runs a cyclic collection in whichever thread happens to allocate past the threshold:
often the database worker or the sync thread, which allocate the most. A collection there can
free the last reference to a Qt object (a window left in a reference cycle, the `TaskRunner`
and its timer), and Qt then destroys it on the wrong thread: its timers stay registered with
the UI thread's event dispatcher, pointing at freed memory, and the next event loop pass
crashes the app with a segmentation fault (seen once in CI, in the event processing after a
test whose demo was filled on the worker). Anki, GitFourchette and OpenCue's GUI do the same:
automatic collection off, the same generational thresholds checked from a UI-thread timer.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

# How often the UI thread looks at the allocation counts. Collections stay as frequent as
# CPython's own while the UI is busy; between checks only cyclic garbage waits, never memory
# freed by reference counting.
CHECK_MS = 500

# CPython's default thresholds, kept whatever a caller has set meanwhile.
_THRESHOLDS = gc.get_threshold()


def collect_due() -> int | None:
    """Collect the oldest generation whose count has passed its threshold, as CPython would;
    None if none has. Call it on the UI thread (or the main thread of a test run)."""
    counts = gc.get_count()
    if counts[0] < _THRESHOLDS[0]:
        return None
    generation = 0
    if counts[1] >= _THRESHOLDS[1]:
        generation = 1
        if counts[2] >= _THRESHOLDS[2]:
            generation = 2
    gc.collect(generation)
    return generation


class GarbageCollector(QObject):
    """Turns automatic collection off for good; its timer collects on the thread it lives in.

    CPython also skips a full collection until a quarter of the long-lived objects are new;
    that count is not visible from Python, so a full one runs every tenth middle one here.
    While a sync runs, the objects alive before it are frozen out of collections anyway
    (`SyncController`)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(collect_due)
        self._timer.start()
