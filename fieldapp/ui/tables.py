"""Read-only table views configured the same way everywhere."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QAbstractScrollArea, QHeaderView, QTableView

from fieldapp.domain import formats

# How a date reads in a table (an em dash for none): the one style of `fieldapp.domain.formats`.
day_text = formats.day_text


def day_sort(value: date | None) -> str:
    """A date column's `Column.sort`: ISO text sorts as the dates do (no date first)."""
    return value.isoformat() if value is not None else ""


def name_parts(area: QAbstractScrollArea, name: str) -> None:
    """Name a view or text box and the parts Qt builds inside it (headers, scroll bars)."""
    area.setAccessibleName(name)
    if isinstance(area, QTableView):
        area.horizontalHeader().setAccessibleName(f"{name}: column headings")
        area.verticalHeader().setAccessibleName(f"{name}: rows")
    area.verticalScrollBar().setAccessibleName(f"{name}: scroll up and down")
    area.horizontalScrollBar().setAccessibleName(f"{name}: scroll sideways")


def table(name: str, model: QAbstractItemModel, *, fit_columns: bool = False,
          wrap_rows: bool = False) -> QTableView:
    """A compact, keyboard-friendly, read-only table with whole-row selection.

    Arrows move inside it and Tab leaves it. Columns share the width, or with `fit_columns`
    take what their contents need and the last one the rest. With `wrap_rows` each row is as
    tall as its wrapped text (for short lists of sentences: it measures every row).
    """
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(False)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    if wrap_rows:
        view.setWordWrap(True)
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header = view.horizontalHeader()
    if fit_columns:
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    view.setMinimumHeight(120)
    name_parts(view, name)
    return view
