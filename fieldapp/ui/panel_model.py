"""Parts of the drug screen form: the panel grid, the revision history, the small dialogs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.formats import moment_text
from fieldapp.domain.screens import DrugScreen, LabStatus, SubstanceResult
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.tables import table
from fieldapp.ui.widgets import labelled, message_label, set_error

Index = QModelIndex | QPersistentModelIndex
SUBSTANCE, RESULT = 0, 1
_KEYS = {"n": SubstanceResult.NEGATIVE, "p": SubstanceResult.POSITIVE,
         "i": SubstanceResult.INCONCLUSIVE}
_POSITIVE_BACKGROUND = QColor("#f9dedc")
_POSITIVE_TEXT = QColor("#8c1d18")


def result_label(result: SubstanceResult | None, *, unconfirmed: bool = False) -> str:
    """How a result reads in the grid: a positive is in capitals, never shown by colour alone."""
    if result is None:
        return "not tested"
    if result is SubstanceResult.POSITIVE:
        return "POSITIVE (unconfirmed)" if unconfirmed else "POSITIVE"
    return str(result).capitalize()


def parse_result(value: object) -> SubstanceResult | None:
    """A result from a `SubstanceResult`, its value, or its first letter (n, p, i)."""
    if isinstance(value, SubstanceResult):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    try:
        return SubstanceResult(text)
    except ValueError:
        return _KEYS.get(text)


class PanelModel(QAbstractTableModel):
    """The panel of one screen: a substance column and an editable result column.

    A result of None means nothing was tested (a refused or missed screen).

    Signals:
        results_changed: a result was changed through `setData`.
    """

    results_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._panel: list[str] = []
        self._results: dict[str, SubstanceResult | None] = {}
        self._editable = False
        self._unconfirmed = False

    @property
    def panel(self) -> tuple[str, ...]:
        return tuple(self._panel)

    def set_panel(self, panel: Sequence[str],
                  results: Mapping[str, SubstanceResult] | None = None) -> None:
        """Show `panel` with `results`; without any, every substance starts negative."""
        self.beginResetModel()
        self._panel = list(panel)
        self._results = {s: SubstanceResult.NEGATIVE if results is None else results.get(s)
                         for s in self._panel}
        self.endResetModel()

    def results(self) -> dict[str, SubstanceResult]:
        """The recorded results; empty when nothing was tested."""
        return {s: r for s, r in self._results.items() if r is not None}

    def clear_results(self) -> None:
        self._fill(lambda _: None)

    def default_results(self) -> None:
        """Give every substance without a result the default, negative."""
        self._fill(lambda r: SubstanceResult.NEGATIVE if r is None else r)

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self._changed_all()

    def set_unconfirmed(self, unconfirmed: bool) -> None:
        """Mark positives as not confirmed by a lab."""
        self._unconfirmed = unconfirmed
        self._changed_all()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self._panel)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else 2

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        substance = self._panel[index.row()]
        result = self._results[substance]
        label = result_label(result, unconfirmed=self._unconfirmed)
        texts = {
            Qt.ItemDataRole.DisplayRole: substance if index.column() == SUBSTANCE else label,
            Qt.ItemDataRole.EditRole: substance if index.column() == SUBSTANCE
            else str(result or ""),
            Qt.ItemDataRole.AccessibleTextRole: f"{substance}: {label}",
        }
        if role in texts:
            return texts[Qt.ItemDataRole(role)]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == RESULT and self._editable:
            return "Type N, P or I to set the result, or press F2 to choose from a list."
        return _positive_style(role) if result is SubstanceResult.POSITIVE else None

    def setData(self, index: Index, value: Any,  # noqa: N802 - Qt API
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not self._valid(index) \
                or not self.flags(index) & Qt.ItemFlag.ItemIsEditable:
            return False
        result = parse_result(value)
        if result is None:
            return False
        self._results[self._panel[index.row()]] = result
        self.dataChanged.emit(self.index(index.row(), SUBSTANCE), self.index(index.row(), RESULT))
        self.results_changed.emit()
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not self._valid(index):
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == RESULT and self._editable:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and section in (SUBSTANCE, RESULT):
            return ("Substance", "Result")[section]
        return None

    def _valid(self, index: Index) -> bool:
        return index.isValid() and 0 <= index.row() < len(self._panel) \
            and 0 <= index.column() < 2

    def _fill(self, rule: Any) -> None:
        self._results = {s: rule(r) for s, r in self._results.items()}
        self._changed_all()

    def _changed_all(self) -> None:
        if self._panel:
            self.dataChanged.emit(self.index(0, SUBSTANCE),
                                  self.index(len(self._panel) - 1, RESULT))


def _positive_style(role: int) -> Any:
    if role == Qt.ItemDataRole.BackgroundRole:
        return QBrush(_POSITIVE_BACKGROUND)
    if role == Qt.ItemDataRole.ForegroundRole:
        return QBrush(_POSITIVE_TEXT)
    if role == Qt.ItemDataRole.FontRole:
        font = QFont()
        font.setBold(True)
        return font
    return None


class ResultDelegate(QStyledItemDelegate):
    """Edits a result with a drop-down list of negative, positive and inconclusive."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,  # noqa: N802
                     index: Index) -> QWidget:
        editor = QComboBox(parent)
        substance = str(index.model().index(index.row(), SUBSTANCE).data())
        editor.setAccessibleName(f"Result for {substance}")
        for result in SubstanceResult:
            editor.addItem(str(result).capitalize(), str(result))
        # A choice counts at once; Enter, Tab or Escape closes the list as usual.
        editor.activated.connect(lambda _: self.commitData.emit(editor))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:  # noqa: N802 - Qt API
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(index.data(Qt.ItemDataRole.EditRole))))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel,  # noqa: N802 - Qt API
                     index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class PanelView(QTableView):
    """The panel grid. Typing N, P or I sets the current row's result; F2 opens the list.

    The same three choices are on the context menu (Shift+F10 or the Menu key).
    """

    def __init__(self, model: PanelModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._panel_model = model
        self.setItemDelegateForColumn(RESULT, ResultDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setTabKeyNavigation(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.setMinimumHeight(self.verticalHeader().defaultSectionSize() * 11)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for key, result in _KEYS.items():
            action = QAction(f"Mark &{result} ({key.upper()})", self)
            action.triggered.connect(lambda _=False, r=result: self.mark(r))
            self.addAction(action)
        model.modelReset.connect(self._start_on_result)

    def mark(self, result: SubstanceResult) -> bool:
        """Set the current row's result, as the keys and the context menu do."""
        current = self.currentIndex()
        if not current.isValid():
            return False
        return self._panel_model.setData(current.siblingAtColumn(RESULT), str(result))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        plain = not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                         | Qt.KeyboardModifier.AltModifier)
        result = _KEYS.get(event.text().lower()) if plain else None
        if result is not None and self.mark(result):
            event.accept()
            return
        current = self.currentIndex()
        if event.key() == Qt.Key.Key_F2 and current.isValid() and current.column() != RESULT:
            self.setCurrentIndex(current.siblingAtColumn(RESULT))
        super().keyPressEvent(event)

    def _start_on_result(self) -> None:
        if self._panel_model.rowCount():
            self.setCurrentIndex(self._panel_model.index(0, RESULT))


@dataclass(frozen=True)
class RevisionRow:
    """One revision in the history table, with when it was stored (program-local)."""

    screen: DrugScreen
    when: str

    @classmethod
    def of(cls, screen: DrugScreen, recorded_at: datetime | None, zone: tzinfo) -> RevisionRow:
        return cls(screen, moment_text(recorded_at, zone) if recorded_at else "unknown")


HISTORY_COLUMNS = [
    Column[RevisionRow]("Revision", lambda r: str(r.screen.revision), align_right=True),
    Column[RevisionRow]("Recorded", lambda r: r.when),
    Column[RevisionRow]("By", lambda r: r.screen.recorded_by),
    Column[RevisionRow]("Reason", lambda r: r.screen.correction_reason or "first recorded"),
]


def revision_model(parent: QObject) -> RowsModel[RevisionRow]:
    return RowsModel(HISTORY_COLUMNS, parent)


def history_view(model: RowsModel[RevisionRow]) -> QTableView:
    """A read-only table of revisions; moving through it picks the revision to show."""
    view = table("Revision history", model, fit_columns=True)
    view.setMinimumHeight(0)
    view.setMaximumHeight(120)
    return view


class AskDialog(QDialog):
    """A small question with a message line, an action button and Cancel."""

    def __init__(self, title: str, action: str, action_name: str,
                 parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.message = message_label(f"{title} message", lines=2)
        self.action_button = button(action, action_name, self._submit)
        self.cancel_button = button("Cancel", "Cancel", self.reject)
        self.rows = QVBoxLayout(self)

    def _submit(self) -> None:
        raise NotImplementedError

    def finish_layout(self, *fields: QWidget) -> None:
        for field in fields:
            self.rows.addWidget(field)
        self.rows.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.action_button)
        buttons.addWidget(self.cancel_button)
        self.rows.addLayout(buttons)

    def show_error(self, text: str) -> None:
        set_error(self.message, text)


class LabResultDialog(AskDialog):
    """The lab's answer: a status and the date it came.

    Signals:
        submitted(object, object): the `LabStatus` and the `date`.
    """

    submitted = Signal(object, object)

    def __init__(self, *, today: date, parent: QWidget | None = None) -> None:
        super().__init__("Record lab result", "&Record", "Record lab result", parent)
        self.status = choice("Lab status", LabStatus)  # starts at pending: confirming is a choice
        self.on = QDateEdit(QDate(today.year, today.month, today.day))
        self.on.setCalendarPopup(True)
        self.on.setDisplayFormat("yyyy-MM-dd")
        name_with_inner(self.on, "Date of the lab result")
        self.finish_layout(labelled("&Status", self.status), labelled("&Date", self.on))

    def _submit(self) -> None:
        day = self.on.date()
        self.submitted.emit(LabStatus(self.status.currentData()),
                            date(day.year(), day.month(), day.day()))


class CorrectionReasonDialog(AskDialog):
    """Why the screen is being corrected; the reason is kept with the new revision.

    Signals:
        submitted(str): the reason as typed.
    """

    submitted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Reason for the correction", "&Save correction", "Save correction",
                         parent)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for the correction")
        self.reason.setMinimumWidth(420)
        self.finish_layout(labelled("&Reason for the correction", self.reason))
        self.reason.returnPressed.connect(self.action_button.click)

    def _submit(self) -> None:
        self.submitted.emit(self.reason.text())


def choice(name: str, values: type[StrEnum]) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    for value in values:
        combo.addItem(str(value).capitalize(), str(value))
    return combo


def name_with_inner(widget: QComboBox | QDateTimeEdit, name: str) -> None:
    """Name a control and the text box inside it."""
    widget.setAccessibleName(name)
    for inner in widget.findChildren(QLineEdit):
        inner.setAccessibleName(name)


def button(text: str, name: str, slot: Callable[[], object]) -> QPushButton:
    made = QPushButton(text)
    made.setAccessibleName(name)
    made.setAutoDefault(False)  # Enter in the grid or a field never saves by surprise
    made.clicked.connect(slot)
    return made
