"""Submitting a month on a profile connected to a real server (127.0.0.1): it waits for the
supervisor, and the confirmation says nothing about a missing connection."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from fieldapp.domain.mileage import MonthStatus
from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.ui.context import UiContext
from fieldapp.ui.tasks import TaskRunner
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import make_trip, services_of
from tests.sync.conftest import running_program
from tests.ui.test_mileage_page import LEFT, confirm, month, open_page


def test_a_connected_profile_submits_to_the_supervisor(qtbot: QtBot, tmp_path: Path,
                                                       clock: FakeClock) -> None:
    with running_program(tmp_path) as server:
        laptop = server.device("laptop", "rc1", clock=clock)
        paths = laptop.profile.paths
        laptop.lock()  # reopened below on the worker that owns its connection
        worker = DbWorker()
        session = Session(paths, clock=clock)
        try:
            worker.call(lambda: session.unlock(PASSPHRASE))
            ctx = UiContext(session=session, runner=TaskRunner(worker), clock=clock)
            ctx.runner.worker.call(lambda: services_of(session).mileage.add_trip(make_trip()))
            page = open_page(qtbot, ctx)
            qtbot.mouseClick(page.submit_button, LEFT)
            assert page.confirm_dialog is not None
            question = page.confirm_dialog.text.text()
            assert question.startswith("November is not over.")
            assert "not connected" not in question and "next sync" not in question
            confirm(qtbot, page)
            assert month(ctx).status is MonthStatus.SUBMITTED
            assert page.status.text() == \
                "Status: submitted, waiting for your supervisor's approval."
            assert page.message.text() == "November 2026 submitted."
        finally:
            worker.call(session.lock)
            worker.shutdown()
