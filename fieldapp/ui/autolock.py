"""Lock after a period without keyboard or mouse use."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from fieldapp.domain.clock import Clock

_ACTIVITY = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin,
})


class InactivityWatch(QObject):
    """Watches the whole application's input and says when it has been idle too long.

    Time comes from the app's clock, so a test can move it; the check runs every
    `check_ms` of real time.

    Signals:
        idle: nothing was typed or clicked for the configured minutes.
    """

    idle = Signal()

    def __init__(self, clock: Clock, *, minutes: int, check_ms: int = 5000,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._limit = timedelta(minutes=minutes)
        self._last: datetime = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self._check)

    def set_minutes(self, minutes: int) -> None:
        self._limit = timedelta(minutes=minutes)

    def start(self) -> None:
        """Start watching (after unlocking); activity is counted from now."""
        self._last = self._clock()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._timer.start()

    def stop(self) -> None:
        """Stop watching (while locked)."""
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() in _ACTIVITY:
            self._last = self._clock()
        return False

    def _check(self) -> None:
        if self._clock() - self._last >= self._limit:
            self.stop()
            self.idle.emit()
