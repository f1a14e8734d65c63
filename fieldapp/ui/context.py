"""What every page and dialog is given: the session, the task runner and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.domain.clock import Clock
from fieldapp.services.session import Session
from fieldapp.ui.tasks import TaskRunner


@dataclass(frozen=True)
class UiContext:
    """Attributes:
    session: the open profile; reach it only through `fieldapp.ui.ops` (a query or a change,
        run on the database worker).
    runner: runs that work off the UI thread, returns results in order, and announces every
        change (`records_changed`).
    clock: the app's clock (a test moves it by hand).
    """

    session: Session
    runner: TaskRunner
    clock: Clock
