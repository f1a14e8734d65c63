"""The task runner: results come back on the UI thread, in order, and never to a dead window."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from fieldapp.services.worker import DbWorker
from fieldapp.ui.tasks import TaskRunner


@pytest.fixture
def runner() -> TaskRunner:
    worker = DbWorker()
    yield TaskRunner(worker)
    worker.shutdown()


def test_results_arrive_on_the_ui_thread_in_order(qtbot: QtBot, runner: TaskRunner) -> None:
    seen: list[tuple[int, bool]] = []
    ui_thread = threading.current_thread()
    for n in range(200):
        runner.run(lambda n=n: n, on_success=lambda value: seen.append(
            (value, threading.current_thread() is ui_thread)))
    assert runner.busy
    qtbot.waitUntil(lambda: len(seen) == 200, timeout=5_000)
    assert seen == [(n, True) for n in range(200)]
    assert not runner.busy


def test_work_runs_off_the_ui_thread(qtbot: QtBot, runner: TaskRunner) -> None:
    where: list[str] = []
    runner.run(lambda: threading.current_thread().name, on_success=where.append)
    qtbot.waitUntil(lambda: bool(where))
    assert where[0].startswith("fieldapp-db")


def test_an_answer_for_a_closed_window_is_dropped(qtbot: QtBot, runner: TaskRunner) -> None:
    label = QLabel()
    gate = threading.Event()
    runner.run(lambda: gate.wait(5) and "late", on_success=label.setText)
    label.deleteLater()
    qtbot.waitUntil(lambda: not _alive(label), timeout=2_000)
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=2_000)  # no exception reaches Qt


def test_errors_go_to_on_error(qtbot: QtBot, runner: TaskRunner) -> None:
    caught: list[BaseException] = []

    def fail() -> None:
        raise ValueError("boom")

    runner.run(fail, on_success=lambda _: None, on_error=caught.append)
    qtbot.waitUntil(lambda: bool(caught))
    assert isinstance(caught[0], ValueError)


def _alive(widget: QLabel) -> bool:
    try:
        widget.objectName()
    except RuntimeError:
        return False
    return True


def test_an_owner_named_for_a_lambda_is_respected(qtbot: QtBot, runner: TaskRunner) -> None:
    owner, seen = QLabel(), []
    gate = threading.Event()
    runner.run(lambda: gate.wait(5), on_success=lambda _: seen.append("shown"), owner=owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner), timeout=2_000)
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=2_000)
    assert seen == [], "the answer went to a window that no longer exists"


def test_a_bug_is_raised_even_when_its_window_is_gone(qtbot: QtBot, runner: TaskRunner) -> None:
    owner = QLabel()
    gate = threading.Event()

    def broken() -> None:
        gate.wait(5)
        raise ZeroDivisionError("a bug, not a known error")

    runner.run(broken, on_success=lambda _: None, on_error=lambda _: None, owner=owner)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner), timeout=2_000)
    gate.set()
    with qtbot.captureExceptions() as raised:
        qtbot.waitUntil(lambda: not runner.busy, timeout=2_000)
    assert any(isinstance(exc, ZeroDivisionError) for _, exc, _ in raised)
