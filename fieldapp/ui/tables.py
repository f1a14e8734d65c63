"""Read-only table views configured the same way everywhere, and how dates read in them."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


def day_text(value: date | datetime | None) -> str:
    """'Tue 24 Nov' (an em dash for no date)."""
    return value.strftime("%a %d %b") if value is not None else "—"


def table(name: str, model: QAbstractItemModel) -> QTableView:
    """A compact, keyboard-friendly, read-only table with whole-row selection."""
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(False)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.horizontalHeader().setAccessibleName(f"{name}: column headings")
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    view.setMinimumHeight(120)
    return view
