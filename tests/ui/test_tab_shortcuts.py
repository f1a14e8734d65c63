"""Ctrl+1 … Ctrl+N switch tabs in order, and the README says so truly for each role."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.domain.people import Role
from fieldapp.services import demo
from fieldapp.ui.workspace_view import WorkspaceView
from tests.ui.conftest import ContextFactory

README = Path(__file__).resolve().parents[2] / "README.md"
WHO = {Role.RECOVERY_COORDINATOR: "for a coordinator or an intact worker",
       Role.INTACT_WORKER: "for a coordinator or an intact worker",
       Role.SUPERVISOR: "for a supervisor"}


@pytest.mark.parametrize("role", list(WHO))
def test_the_readme_names_each_roles_tab_shortcuts(qtbot: QtBot, make_context: ContextFactory,
                                                   role: Role) -> None:
    owner = demo.SUPERVISOR if role is Role.SUPERVISOR else None
    view = WorkspaceView(make_context(role=role, user_id=owner), role=role)
    qtbot.addWidget(view)
    view.show()
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)  # shortcuts reach only the active window
    titles = [view.tabText(i).replace("&", "") for i in range(view.count())]
    last = len(titles)
    qtbot.keyClick(view, getattr(Qt.Key, f"Key_{last}"), Qt.KeyboardModifier.ControlModifier)
    assert view.currentWidget() is view.settings
    said = " ".join(README.read_text(encoding="utf-8").split())
    names = f"{', '.join(titles[:-1])} and {titles[-1]}"
    assert f"{names} (Ctrl+1 … Ctrl+{last}) {WHO[role]}" in said
