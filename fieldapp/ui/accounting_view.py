"""The accounting of disclosures for one family: what went to whom, when, and on what basis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.disclosure import Disclosure
from fieldapp.domain.people import CaseId, ConsentId
from fieldapp.services.consents import AccountingService, ConsentService
from fieldapp.services.directory import directory
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import query
from fieldapp.ui.review_dialogs import day_text, moment_text, push_button
from fieldapp.ui.tables import table
from fieldapp.ui.widgets import message_label, set_error

EMPTY = "Nothing about this family has been disclosed."
ALL_PEOPLE = "All people"


@dataclass(frozen=True, kw_only=True)
class AccountingRow:
    """One disclosure as the table shows it: with its time in the program's zone and who made it,
    by name."""

    disclosure: Disclosure
    at: str
    by: str
    basis: str


@dataclass(frozen=True, kw_only=True)
class _Loaded:
    rows: list[AccountingRow]
    people: list[str]
    person: str


def wrap_columns(view: QTableView, *, fit: set[int]) -> None:
    """Columns in `fit` as wide as their contents; the others share the rest and wrap, and each
    row is as tall as its text: an accounting is read in full, not guessed from "…"."""
    header = view.horizontalHeader()
    for column in range(view.model().columnCount()):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents
                                    if column in fit else QHeaderView.ResizeMode.Stretch)
    view.setWordWrap(True)
    view.setTextElideMode(Qt.TextElideMode.ElideNone)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)


def short_hash(sha256: str) -> str:
    return f"{sha256[:12]}…" if len(sha256) > 12 else sha256


ACCOUNTING_COLUMNS: list[Column[AccountingRow]] = [
    Column("Date and time", lambda r: r.at),
    Column("People", lambda r: ", ".join(r.disclosure.people),
           tooltip=lambda r: ", ".join(r.disclosure.people)),
    Column("Recipient", lambda r: str(r.disclosure.recipient),
           tooltip=lambda r: str(r.disclosure.recipient)),
    Column("Purpose", lambda r: r.disclosure.purpose, tooltip=lambda r: r.disclosure.purpose),
    Column("What was disclosed", lambda r: f"{r.disclosure.information}: {r.disclosure.what}",
           tooltip=lambda r: f"{r.disclosure.information}: {r.disclosure.what}"),
    Column("Basis", lambda r: r.basis, tooltip=lambda r: r.disclosure.basis.describe()),
    Column("By", lambda r: r.by, tooltip=lambda r: r.by),
    Column("File SHA-256", lambda r: short_hash(r.disclosure.sha256),
           tooltip=lambda r: f"SHA-256 of the file disclosed: {r.disclosure.sha256}"),
]


class AccountingView(QWidget):
    """Every disclosure of one family's records, newest first, filtered by person.

    Signals:
        export_requested(str, str): export the accounting (case id, person; '' for everyone).
    """

    export_requested = Signal(str, str)

    def __init__(self, ctx: UiContext, *, case_id: CaseId, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Accounting of disclosures")
        self._ctx, self.case_id = ctx, case_id
        self._loading = False
        self.person = QComboBox()
        self.person.setAccessibleName("Show disclosures of")
        self.person.addItem(ALL_PEOPLE, "")
        person_label = QLabel("Show disclosures &of")
        person_label.setBuddy(self.person)
        self.status = message_label("Accounting status", lines=2)
        self.status.setText("Loading…")
        self.model: RowsModel[AccountingRow] = RowsModel(ACCOUNTING_COLUMNS, self)
        self.view = table("Disclosures", self.model)
        wrap_columns(self.view, fit={0, 1, 7})
        self.export_button = push_button("E&xport accounting…")
        self.export_button.setToolTip("Export this accounting of disclosures to a file.")
        top = QHBoxLayout()
        top.addWidget(person_label)
        top.addWidget(self.person, 1)
        top.addStretch(2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.person.currentIndexChanged.connect(lambda _: self.refresh())
        self.export_button.clicked.connect(
            lambda: self.export_requested.emit(self.case_id, self.chosen_person()))

    def chosen_person(self) -> str:
        """The person the list is filtered to; '' for everyone."""
        return str(self.person.currentData() or "")

    def refresh(self) -> None:
        if self._loading:
            return
        case_id, person = self.case_id, self.chosen_person()

        def load(ws: Workspace) -> _Loaded:
            found = AccountingService(ws).for_case(case_id, person=person or None)
            names, zone, consents = directory(ws), ws.settings.zone, ConsentService(ws)
            signed = {v.consent.id: v.consent.signed_on for v in consents.for_case(case_id)}
            return _Loaded(rows=[AccountingRow(disclosure=d, at=moment_text(d.at, zone),
                                               by=names.name(d.by), basis=basis_text(d, signed))
                                 for d in found],
                           people=consents.people(case_id), person=person)

        query(self._ctx, load, owner=self).done(self._show).shown_in(self.status).run()

    def _show(self, loaded: _Loaded) -> None:
        named = sorted({p for r in loaded.rows for p in r.disclosure.people})
        self._set_people([*loaded.people, *named])
        if loaded.person != self.chosen_person():
            return  # the filter changed meanwhile; its own answer is on the way
        rows = sorted(loaded.rows, key=lambda r: r.disclosure.at, reverse=True)
        self.model.set_rows(rows)
        self.view.setVisible(bool(rows))
        set_error(self.status, "")
        if not rows:
            self.status.setText(EMPTY if not loaded.person
                                else f"Nothing about {loaded.person} has been disclosed.")
        else:
            whose = f" of {loaded.person}" if loaded.person else ""
            self.status.setText(f"{len(rows)} disclosure{'s' if len(rows) != 1 else ''}"
                                f"{whose}, newest first. Hover a cell to read all of it.")
            self.view.selectRow(0)

    def _set_people(self, people: list[str]) -> None:
        """Offer every parent in recovery, and anyone named in a disclosure shown so far."""
        shown = [str(self.person.itemData(i)) for i in range(1, self.person.count())]
        wanted = list(dict.fromkeys([*people, *shown]))
        if wanted == shown:
            return
        current = self.chosen_person()
        self._loading = True  # rebuilding the list changes the index: not a new choice
        try:
            self.person.clear()
            self.person.addItem(ALL_PEOPLE, "")
            for name in wanted:
                self.person.addItem(name, name)
            self.person.setCurrentIndex(max(0, self.person.findData(current)))
        finally:
            self._loading = False


def basis_text(disclosure: Disclosure, signed: Mapping[ConsentId, date]) -> str:
    """The basis as a person reads it: each consent by its date signed and a short id (the
    full text, `Basis.describe()`, is the tooltip)."""
    basis = disclosure.basis
    if basis.exception is not None or any(c not in signed for c in basis.consents.values()):
        return basis.describe()
    return "Consent of " + "; ".join(
        f"{person}, signed {day_text(signed[consent_id])} (consent {consent_id[:8]})"
        for person, consent_id in basis.consents.items())
