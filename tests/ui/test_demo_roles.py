"""The first-run page offers the demo of the role chosen in its combo, the intact worker's
included, and opens it as that person: their caseload, their own drafts, their folder."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import Actor, Role
from fieldapp.services import demo
from fieldapp.ui.main_window import MainWindow
from tests.ui.conftest import WindowFactory


def test_the_demo_button_names_the_role_chosen(qtbot: QtBot, make_window: WindowFactory
                                               ) -> None:
    window = make_window()
    page = window.create_page
    named = {}
    for index in range(page.role.count()):
        page.role.setCurrentIndex(index)
        named[page.demo_role()] = page.demo_button.accessibleName()
        assert page.demo_button.text().replace("&", "") == page.demo_button.accessibleName()
    assert named == {
        Role.RECOVERY_COORDINATOR: "Explore a demo caseload first, as a recovery coordinator",
        Role.INTACT_WORKER: "Explore a demo caseload first, as an intact worker",
        Role.SUPERVISOR: "Explore a demo caseload first, as a supervisor"}


def test_an_intact_worker_explores_their_own_demo(qtbot: QtBot, make_window: WindowFactory
                                                  ) -> None:
    """An intact worker was shown the coordinator's demo: another person's notes and mileage."""
    window: MainWindow = make_window()
    page = window.create_page
    page.role.setCurrentIndex(page.role.findText("Intact worker"))
    qtbot.mouseClick(page.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=15_000)
    workspace = window.workspace
    assert workspace is not None and workspace.supervisor is None
    session = window.current_session()
    worker = window._runner.worker
    assert worker.call(session.actor) == Actor(user_id=demo.INTACT_WORKER,
                                               role=Role.INTACT_WORKER)
    assert session.profile.paths.root.name == "demo-intact-worker"
    qtbot.waitUntil(lambda: workspace.today.drafts_model.rowCount() > 0, timeout=5_000)
    workspace.setCurrentWidget(workspace.caseload)
    qtbot.waitUntil(lambda: workspace.caseload.model.rowCount() == 11, timeout=5_000)
    window.lock_action.trigger()  # Ctrl+L: the unlock page, no longer "Opening the demo…"
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.unlock_page, timeout=5_000)
    assert window.unlock_page.error.text() == ""
