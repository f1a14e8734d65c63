"""Objects are freed on the UI thread, never on a worker: Qt objects destroyed on another thread
leave their timers behind, and the next event loop pass crashed (a segfault seen in CI)."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from fieldapp.services.worker import DbWorker
from fieldapp.ui.collector import GarbageCollector
from fieldapp.ui.tasks import TaskRunner


class _Node:
    """Something a reference cycle can hold."""

    me: object = None


def _watched(freed_on: list[str]) -> _Node:
    node = _Node()
    weakref.finalize(node, lambda: freed_on.append(threading.current_thread().name))
    return node


@pytest.fixture
def as_a_process_starts() -> Iterator[None]:
    """Automatic collection on, as in a process that has not started the app yet."""
    gc.collect()
    gc.enable()
    yield
    gc.disable()  # as tests/conftest.py keeps it


def test_cyclic_garbage_is_freed_on_the_ui_thread_while_the_worker_allocates(
        qtbot: QtBot, as_a_process_starts: None) -> None:
    parent = QObject()
    GarbageCollector(parent)
    assert not gc.isenabled()
    freed_on: list[str] = []
    garbage = _watched(freed_on)
    garbage.me = garbage  # only a cyclic collection frees it
    del garbage

    def allocate() -> None:  # the worker makes cyclic garbage of its own, as services do
        for _ in range(5_000):
            node = _Node()
            node.me = node

    worker = DbWorker()
    try:
        worker.call(allocate)
    finally:
        worker.shutdown()
    assert freed_on == [], "collected on the worker thread"
    qtbot.waitUntil(lambda: freed_on != [], timeout=5_000)
    assert freed_on == [threading.main_thread().name], freed_on


def test_a_tasks_callable_is_let_go_of_on_the_ui_thread(qtbot: QtBot) -> None:
    """The callable a page hands the runner holds the page; its last reference must not be
    dropped on the worker."""
    freed_on: list[str] = []
    handed_over = threading.Event()

    def job() -> Callable[[], bool]:
        held = _watched(freed_on)

        def run() -> bool:  # ends after `runner.run` has returned: the runner alone holds it
            handed_over.wait(timeout=5)
            return held is not None
        return run

    worker = DbWorker()
    runner = TaskRunner(worker)
    delivered: list[bool] = []
    try:
        runner.run(job(), on_success=delivered.append)
        handed_over.set()
        qtbot.waitUntil(lambda: delivered == [True], timeout=5_000)
    finally:
        worker.shutdown()
    assert freed_on == [threading.main_thread().name], freed_on
