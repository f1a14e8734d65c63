"""Caseload: every family on the person's caseload, searchable, with who is due a visit."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.cases import Case, CaseStatus
from fieldapp.domain.people import CaseId, Role
from fieldapp.services.casework import CaseloadRow, CaseService
from fieldapp.services.session import Session
from fieldapp.ui.context import UiContext
from fieldapp.ui.family_dialog import FamilyDialog
from fieldapp.ui.models import SORT_ROLE, Column, RowsModel
from fieldapp.ui.ops import follow_changes, on_profile
from fieldapp.ui.tables import day_sort, day_text, table
from fieldapp.ui.widgets import heading, labelled, message_label
from sync.client.engine import replica_of

ALL = "All statuses"
BEHIND = "Behind on visits"


class CaseloadFilter(QSortFilterProxyModel):
    """Filters the caseload by search text (family or parent name) and status."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.status = ALL

    def set_filter(self, *, text: str, status: str) -> None:
        self.text, self.status = text.casefold().strip(), status
        self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: object) -> bool:  # noqa: N802
        model = self.sourceModel()
        if not isinstance(model, RowsModel):
            return True
        row: CaseloadRow = model.row_at(source_row)
        names = " ".join([row.case.family_name, *(p.name for p in row.case.parents)]).casefold()
        if self.text and self.text not in names:
            return False
        if self.status == BEHIND:
            return row.due.behind
        return self.status == ALL or str(row.case.status) == self.status


class CaseloadPage(QWidget):
    """Signals:
    open_case(str): the person opened this case id.

    A supervisor (`role`) also opens new families here and changes them (`family_dialog`).
    """

    open_case = Signal(str)
    export_requested = Signal(str)

    def __init__(self, ctx: UiContext, *, role: Role | None = None) -> None:
        super().__init__()
        self._ctx = ctx
        self._supervisor = role is Role.SUPERVISOR
        self._me: str | None = None  # who this profile is, read with the caseload
        self._waiting = 0  # cases that came without their key yet
        self._show_after: str | None = None  # a family just saved, to select once listed
        self.family_dialog: FamilyDialog | None = None
        self.model: RowsModel[CaseloadRow] = RowsModel([
            Column("Family", lambda r: r.case.family_name),
            Column("Parent", lambda r: ", ".join(p.name for p in r.case.parents)),
            Column("Status", lambda r: status_text(r.case)),
            Column("Last face-to-face", lambda r: day_text(r.due.last_face_to_face),
                   sort=lambda r: day_sort(r.due.last_face_to_face)),
            Column("This week", lambda r: f"{r.due.this_week} of {r.due.expected_this_week}"),
            Column("Next due", lambda r: day_text(r.due.next_due),
                   sort=lambda r: day_sort(r.due.next_due)),
            Column("Visits", lambda r: "Behind" if r.due.behind else "On track"),
        ])
        self.proxy = CaseloadFilter()
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit()
        self.search.setAccessibleName("Search families")
        self.search.setPlaceholderText("Family or parent name")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.setAccessibleName("Show cases with status")
        self.status.addItems([ALL, BEHIND, *(str(s) for s in CaseStatus)])
        self.view = table("Caseload", self.proxy)
        self.view.setSortingEnabled(True)
        # Qt's header starts descending: open A to Z by family name.
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.open_button = QPushButton("&Open case")
        self.open_button.setAccessibleName("Open the selected case")
        self.empty = message_label("Caseload status")
        filters = QHBoxLayout()
        filters.addWidget(labelled("&Search", self.search), 3)
        filters.addWidget(labelled("S&how", self.status), 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Caseload"))
        layout.addLayout(filters)
        layout.addWidget(self.empty)
        layout.addWidget(self.view, 1)
        self.export_button = QPushButton("E&xport visit log…")
        self.export_button.setAccessibleName("Export a visit log")
        actions = QHBoxLayout()
        actions.addWidget(self.open_button)
        self.new_button = QPushButton("Ne&w family…")
        self.new_button.setAccessibleName("New family")
        self.edit_button = QPushButton("&Edit family…")
        self.edit_button.setAccessibleName("Edit family")
        # Supervisors open and assign families; a worker starts one met in the field (a
        # referral) and keeps its details up to date until a supervisor confirms it.
        for button in (self.new_button, self.edit_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        layout.addLayout(actions)
        self._connect()
        self._follower = follow_changes(ctx, self, self.refresh)

    def _connect(self) -> None:
        self.export_button.clicked.connect(lambda: self.export_requested.emit("visit-log"))
        self.search.textChanged.connect(self._filter)
        self.status.currentTextChanged.connect(self._filter)
        self.view.activated.connect(lambda _: self._open())
        self.view.selectionModel().currentChanged.connect(lambda *_: self._update_edit())
        self.open_button.clicked.connect(self._open)
        self.new_button.clicked.connect(lambda: self.open_family(None))
        self.edit_button.clicked.connect(self._edit)

    def refresh(self) -> None:
        # The family just saved goes with the answer asked for after the save (a refresh for
        # a change made anywhere may be on its way too, and selects nothing).
        show_after, self._show_after = self._show_after, None

        def read(session: Session) -> tuple[list[CaseloadRow], int, str]:
            ws = session.workspace()
            return (CaseService(ws).caseload(), replica_of(session).cases_waiting_for_keys(),
                    ws.actor.user_id)
        on_profile(self._ctx.runner, self._ctx.session, read, owner=self) \
            .done(lambda found: self._show(found, show_after)).run()

    def _show(self, found: tuple[list[CaseloadRow], int, str], show_after: str | None = None
              ) -> None:
        rows, self._waiting, self._me = found
        self.model.set_rows(rows)
        self._filter()
        if show_after is not None:
            self._select(show_after)

    def _filter(self) -> None:
        self.proxy.set_filter(text=self.search.text(), status=self.status.currentText())
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if total == 0 and self._waiting:
            self.empty.setText(waiting_words(self._waiting, more=False))
        elif total == 0 and self._supervisor:
            self.empty.setText("No families are on your caseload yet. Open one with New "
                               "family (Alt+W).")
        elif total == 0:
            self.empty.setText("No families are on your caseload yet. A supervisor assigns "
                               "cases; they arrive when you sync. A family you meet first in "
                               "the field: New family (Alt+W).")
        elif shown == 0:
            self.empty.setText("No family matches this search.")
        else:
            self.empty.setText(f"Showing {shown} of {total} families.")
        if self._waiting and total:
            self.empty.setText(f"{self.empty.text()} {waiting_words(self._waiting, more=True)}")
        self.open_button.setEnabled(shown > 0)
        if shown and not self.view.currentIndex().isValid():
            self.view.selectRow(0)
        self._update_edit()

    def _update_edit(self) -> None:
        """A supervisor edits any family shown; a worker only their own unconfirmed one."""
        index = self.view.currentIndex()
        case = self.model.row_at(self.proxy.mapToSource(index).row()).case \
            if index.isValid() else None
        self.edit_button.setEnabled(case is not None and (
            self._supervisor or (case.awaiting_confirmation and case.referred_by == self._me)))

    def selected_case(self) -> str | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return self.model.row_at(self.proxy.mapToSource(index).row()).case.id

    def _open(self) -> None:
        case_id = self.selected_case()
        if case_id is not None:
            self.open_case.emit(case_id)

    def open_family(self, case_id: str | None) -> FamilyDialog:
        """The family dialog: a new family (None) or this one; the list follows its save."""
        dialog = FamilyDialog(self._ctx, case_id=CaseId(case_id) if case_id else None,
                              parent=self)
        dialog.saved.connect(self._family_saved)
        dialog.finished.connect(dialog.deleteLater)
        self.family_dialog = dialog
        dialog.open()
        return dialog

    def _edit(self) -> None:
        case_id = self.selected_case()
        if case_id is not None:
            self.open_family(case_id)

    def _family_saved(self, case: object) -> None:
        self._show_after = str(getattr(case, "id", ""))
        self._follower.reload()

    def _select(self, case_id: str) -> None:
        """Select the family `case_id`, clearing a search that hides it."""
        for attempt in range(2):
            for row in range(self.proxy.rowCount()):
                source = self.proxy.mapToSource(self.proxy.index(row, 0)).row()
                if self.model.row_at(source).case.id == case_id:
                    self.view.selectRow(row)
                    return
            if attempt == 0:
                self.search.clear()
                self.status.setCurrentIndex(0)


def status_text(case: Case) -> str:
    """A family's status as people say it; a referral says it waits for a supervisor."""
    return "Awaiting confirmation" if case.awaiting_confirmation else \
        str(case.status).capitalize()


def waiting_words(count: int, *, more: bool) -> str:
    """What a person is told of cases that came without their key yet (`more`: besides the
    families listed)."""
    families = f"{count}{' more' if more else ''} {'family is' if count == 1 else 'families are'}"
    # Said to supervisors too (a family a coordinator started before the supervisor connected):
    # whoever holds the key may be a worker, so it names nobody's role.
    return (f"{families} on your caseload but cannot be opened yet: each family's key comes "
            "with the next sync of a colleague on the case who holds it (whoever opened the "
            "family, or a supervisor).")
