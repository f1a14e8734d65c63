"""Run service calls on the database worker and get their results back on the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from fieldapp.services.worker import DbWorker

T = TypeVar("T")
SuccessFn = Callable[[Any], None]
ErrorFn = Callable[[BaseException], None]


class TaskRunner(QObject):
    """Submits callables to the `DbWorker`; callbacks run on the thread that owns this object.

    Signals:
        busy_changed(bool): True while any task is running, False when all have finished.
        _done: internal; carries a finished future back to the UI thread.
    """

    busy_changed = Signal(bool)
    _done = Signal(object, object, object)

    def __init__(self, worker: DbWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._running = 0
        self._done.connect(self._deliver)

    @property
    def worker(self) -> DbWorker:
        """The database worker (tests and shutdown wait on it with `worker.call`)."""
        return self._worker

    @property
    def busy(self) -> bool:
        return self._running > 0

    def run(self, fn: Callable[[], T], *, on_success: Callable[[T], None],
            on_error: ErrorFn | None = None) -> None:
        """Run `fn` off the UI thread; then `on_success(result)` or `on_error(exc)` on it."""
        self._running += 1
        if self._running == 1:
            self.busy_changed.emit(True)
        future = self._worker.submit(fn)
        future.add_done_callback(lambda f: self._done.emit(f, on_success, on_error))

    @Slot(object, object, object)
    def _deliver(self, future: Future[Any], on_success: SuccessFn, on_error: ErrorFn | None
                 ) -> None:
        self._running -= 1
        if self._running == 0:
            self.busy_changed.emit(False)
        error = future.exception()
        if error is None:
            on_success(future.result())
        elif on_error is not None:
            on_error(error)
        else:
            raise error
