"""The sync status area: last sync, items waiting to go up, and what needs attention."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget


class SyncStatus(QWidget):
    """Three short facts in the status bar. Sync itself is not built yet, so it says so plainly:
    everything is kept on this computer until it is."""

    def __init__(self) -> None:
        super().__init__()
        self.last_sync = QLabel("Last sync: never (this version works offline only)")
        self.waiting = QLabel("Waiting to go up: kept on this computer")
        self.attention = QLabel("Needs attention: nothing")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for label, name in ((self.last_sync, "Last sync"), (self.waiting, "Items waiting"),
                            (self.attention, "Needs attention")):
            label.setAccessibleName(name)
            row.addWidget(label)
