"""What every page and dialog is given: the session, the task runner and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.domain.clock import Clock
from fieldapp.services.session import Session
from fieldapp.ui.tasks import TaskRunner


@dataclass(frozen=True)
class UiContext:
    """Attributes:
    session: the open profile; call it only inside `runner.run(...)` (the database worker).
    runner: runs service calls off the UI thread and returns results by signal.
    clock: the app's clock (a test moves it by hand).
    """

    session: Session
    runner: TaskRunner
    clock: Clock
