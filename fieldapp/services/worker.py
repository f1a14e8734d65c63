"""The one thread that owns the database connection.

Everything that touches SQLite, the data key or a key derivation is submitted here and runs in
order, one job at a time, so the connection never changes threads and writes never interleave.
Tests can make it synchronous (jobs run inside `submit`), which keeps threaded code deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class DbWorker:
    """A serial executor with a single long-lived thread."""

    def __init__(self, *, synchronous: bool = False) -> None:
        self._synchronous = synchronous
        self._executor = None if synchronous else ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="fieldapp-db")

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue `fn`; its result or exception arrives in the returned future."""
        if self._executor is not None:
            return self._executor.submit(fn)
        future: Future[T] = Future()
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the worker and wait for it (command line and shutdown only)."""
        return self.submit(fn).result()

    def shutdown(self) -> None:
        """Finish queued jobs and stop the thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
