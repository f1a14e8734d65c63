"""The sync status area: last sync, items waiting to go up, progress, and what needs attention."""

from __future__ import annotations

import time
from datetime import datetime

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from fieldapp.domain.clock import Clock
from fieldapp.ui.conflict_dialog import AttentionDialog
from fieldapp.ui.sync_controller import SyncController, SyncState

NOT_CONNECTED = ("Not connected: records stay on this computer. To share them with your "
                 "program, connect in Settings.")
PHASES = {"connecting": "Syncing: connecting…", "checking": "Syncing: checking with the server…",
          "stopping": "Stopping the sync…"}


class SyncStatus(QWidget):
    """A row in the status bar, bound to the open profile's `SyncController` (hidden while the
    profile is locked). Every control has an accessible name and takes the keyboard focus;
    F5 (the window's Sync now) starts a sync from anywhere in the window.

    Attributes:
        attention_dialog: the dialog opened from "Needs attention", if any.
    """

    def __init__(self) -> None:
        super().__init__()
        self._controller: SyncController | None = None
        self._clock: Clock | None = None
        self.attention_dialog: AttentionDialog | None = None
        self.last_sync = QLabel()
        self.note = QLabel()
        self.waiting = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setToolTip("Send what waits and get what is new (F5)")
        self.cancel_button = QPushButton("Cancel sync")
        self.cancel_button.setToolTip("Stop the sync; everything done so far is kept")
        self.attention = QPushButton()
        self.attention.setToolTip("Conflicts, refused changes, what was set aside and "
                                  "colleagues' changed keys, to look at")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(16)
        for widget, name in ((self.last_sync, "Last sync"), (self.note, "Sync message"),
                             (self.waiting, "Items waiting to go up"),
                             (self.progress, "Sync progress"), (self.sync_button, "Sync now"),
                             (self.cancel_button, "Cancel sync"),
                             (self.attention, "Needs attention")):
            widget.setAccessibleName(name)
            row.addWidget(widget)
        self.sync_button.clicked.connect(self._sync_now)
        self.cancel_button.clicked.connect(self._cancel)
        self.attention.clicked.connect(self.open_attention)
        self._tick = QTimer(self)
        self._tick.setInterval(15_000)  # "3 minutes ago" and "next try in" stay true
        self._tick.timeout.connect(self._redraw)
        self.hide()

    def bind(self, controller: SyncController) -> None:
        """Show the sync of the profile just opened."""
        self._controller, self._clock = controller, controller.ctx.clock
        controller.state_changed.connect(self.show_state)
        self.show_state(controller.state)
        self._tick.start()

    def unbind(self) -> None:
        """The profile locked: nothing of it is shown any more."""
        self._controller = None
        self._tick.stop()
        if self.attention_dialog is not None and shiboken6.isValid(self.attention_dialog):
            self.attention_dialog.close()
        self.attention_dialog = None
        self.hide()

    def open_attention(self) -> None:
        """Open the list of conflicts and refused changes."""
        if self._controller is None:
            return
        if self.attention_dialog is not None and shiboken6.isValid(self.attention_dialog) \
                and self.attention_dialog.isVisible():
            self.attention_dialog.raise_()
            self.attention_dialog.activateWindow()
            return
        self.attention_dialog = AttentionDialog(self._controller, self.window())
        # Deleted on close: what it shows is decrypted, and the profile may lock meanwhile.
        self.attention_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.attention_dialog.show()

    def _sync_now(self) -> None:
        if self._controller is not None:
            self._controller.sync_now()

    def _cancel(self) -> None:
        if self._controller is not None:
            self._controller.cancel()

    def _redraw(self) -> None:
        if self._controller is not None:
            self.show_state(self._controller.state)

    def show_state(self, state: SyncState) -> None:
        if self._controller is None or state.enrolled is None:
            self.hide()
            return
        self.show()
        connected = bool(state.enrolled)
        for widget in (self.waiting, self.sync_button):
            widget.setVisible(connected)
        self.progress.setVisible(connected and state.running)
        self.cancel_button.setVisible(connected and state.running)
        self.sync_button.setVisible(connected and not state.running)
        self.attention.setVisible(connected and state.attention > 0)
        self.attention.setText(f"Needs attention: {state.attention}")
        if not connected:
            self.last_sync.setText(NOT_CONNECTED)
            self.note.setText(state.note)  # F5 says plainly why nothing happens
            self.note.setVisible(bool(state.note))
            return
        self.last_sync.setText(self._progress_text(state) if state.running
                               else self._last_sync_text(state))
        self.last_sync.setToolTip(state.detail)
        note = "" if state.running else self._note_text(state)
        self.note.setText(note)
        self.note.setToolTip(state.detail)
        self.note.setVisible(bool(note))
        self.waiting.setText(waiting_text(state.waiting))

    def _progress_text(self, state: SyncState) -> str:
        if state.phase == "sending":
            self.progress.setRange(0, max(state.total, state.done, 1))
            self.progress.setValue(state.done)
            return f"Syncing: sent {state.done} of {state.total}"
        self.progress.setRange(0, 0)  # busy: how much is coming is not known
        if state.phase == "receiving":
            return f"Syncing: received {state.done}"
        return PHASES.get(state.phase, "Syncing…")

    def _last_sync_text(self, state: SyncState) -> str:
        if not state.last_success or self._clock is None:
            return "Not synced yet"
        return synced_ago(datetime.fromisoformat(state.last_success), self._clock())

    def _note_text(self, state: SyncState) -> str:
        if state.retry_at is None:
            return state.note
        left = max(0.0, state.retry_at - time.monotonic())
        return f"{state.note} Next try {in_words(left)}."


def waiting_text(count: int) -> str:
    if count == 0:
        return "Nothing waiting to go up"
    return f"{count} waiting to go up"


def synced_ago(then: datetime, now: datetime) -> str:
    """'Synced just now', 'Synced 3 minutes ago', 'Synced 2 days ago'."""
    seconds = max(0.0, (now - then).total_seconds())
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"Synced {count} {unit}{'' if count == 1 else 's'} ago"
    return "Synced just now"


def in_words(seconds: float) -> str:
    if seconds < 60:
        return "in a few seconds" if seconds < 20 else "in under a minute"
    minutes = round(seconds / 60)
    return f"in about {minutes} minute{'' if minutes == 1 else 's'}"
