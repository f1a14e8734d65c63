"""Run service calls on the database worker and get their results back on the UI thread."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from fieldapp.domain.errors import KnownError
from fieldapp.services.worker import DbWorker

log = logging.getLogger(__name__)

T = TypeVar("T")
SuccessFn = Callable[[Any], None]
ErrorFn = Callable[[BaseException], None]

# How often the UI thread looks for finished work while some is pending.
POLL_MS = 4


class _Job:
    """What the worker runs: the caller's callable, let go of before its result is set.

    The pending task keeps the callable too, so the last reference to it (and to whatever it
    holds: a dialog, a page) is dropped on the UI thread. Dropped on the worker, a top-level
    widget's Python owner would destroy it there, which Qt does not survive.
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn: Callable[[], Any] | None = fn

    def __call__(self) -> Any:
        fn, self.fn = self.fn, None
        assert fn is not None, "a job runs once"
        return fn()


@dataclass
class _Pending:
    future: Future[Any]
    fn: Callable[[], Any]
    on_success: SuccessFn
    on_error: ErrorFn | None
    owner: QObject | None
    changes: bool


class TaskRunner(QObject):
    """Submits callables to the `DbWorker`; callbacks run on the UI thread, in submission order.

    Results are collected by a short timer on the UI thread rather than by a signal emitted from
    the database worker: nothing Qt is ever touched from it, so the services stay free of
    Qt and delivery is strictly in order. The timer runs only while work is pending.

    Signals:
        busy_changed(bool): True while any task is pending, False when all have been delivered.
        records_changed: a task run with `changes=True` succeeded: what pages show may be out
            of date. Emitted on the UI thread just before its `on_success`, and also when
            the answer is dropped for a closed window (the change itself was committed).
    """

    busy_changed = Signal(bool)
    records_changed = Signal()

    def __init__(self, worker: DbWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._pending: deque[_Pending] = deque()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._deliver)

    @property
    def worker(self) -> DbWorker:
        """The database worker (tests and shutdown wait on it with `worker.call`)."""
        return self._worker

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def run(self, fn: Callable[[], T], *, on_success: Callable[[T], None],
            on_error: ErrorFn | None = None, owner: QObject | None = None,
            changes: bool = False) -> None:
        """Run `fn` off the UI thread; then `on_success(result)` or `on_error(exc)` on it.

        The answer is dropped if `owner` (by default the object a bound `on_success` belongs
        to) was deleted meanwhile: the window closed or the profile locked. The work itself was
        done and committed; a bug in it is still raised. `changes`: `fn` writes records, so
        `records_changed` follows its success.
        """
        if owner is None and isinstance(getattr(on_success, "__self__", None), QObject):
            owner = on_success.__self__  # type: ignore[attr-defined]
        self._pending.append(
            _Pending(self._worker.submit(_Job(fn)), fn, on_success, on_error, owner, changes))
        if len(self._pending) == 1:
            self.busy_changed.emit(True)
            self._timer.start()
        if self._pending[0].future.done():
            QTimer.singleShot(0, self._deliver)

    def _deliver(self) -> None:
        # In order: a later result never overtakes an earlier one.
        while self._pending and self._pending[0].future.done():
            task = self._pending.popleft()
            if not self._pending:
                self._timer.stop()
                self.busy_changed.emit(False)
            self._finish(task)

    def _finish(self, task: _Pending) -> None:
        error = task.future.exception()
        if task.changes and error is None:
            # Before the caller's own follow-up, so that what it shows (a saved family
            # selected, a sentence) is the last word, not a page's general refresh.
            self.records_changed.emit()
        if task.owner is not None and not shiboken6.isValid(task.owner):
            log.debug("result for a closed window dropped")
            if error is not None and not isinstance(error, KnownError):
                raise error
            return
        try:
            if error is None:
                task.on_success(task.future.result())
            elif task.on_error is not None:
                task.on_error(error)
            else:
                raise error
        except RuntimeError as exc:
            # A callback without a known owner (a lambda) reached a widget that is gone: the
            # same case as above, found one step later.
            if "already deleted" not in str(exc):
                raise
            log.debug("result for a closed window dropped")
