"""A family's consents to disclose, where each stands, and the accounting of disclosures."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.consent import ConsentState, EndKind, summary
from fieldapp.domain.people import CaseId
from fieldapp.services.consents import ConsentService, ConsentView
from fieldapp.services.directory import Directory, directory
from fieldapp.services.workspace import Workspace
from fieldapp.ui.accounting_view import AccountingView, wrap_columns
from fieldapp.ui.consent_dialogs import EndConsentDialog, RecordConsentDialog
from fieldapp.ui.context import UiContext
from fieldapp.ui.models import Column, Index, RowsModel
from fieldapp.ui.ops import follow_changes, query
from fieldapp.ui.review_dialogs import day_text, moment_text, push_button
from fieldapp.ui.tables import name_parts, table
from fieldapp.ui.widgets import fit_to_screen, heading, message_label, set_error

EMPTY = ("No consent recorded for this family. Nothing about them can be disclosed outside the "
         "program without one.")
STATE_COLUMN = 6
# (text, background): dark text on a light tint, readable in the light and the dark palette.
STATE_COLOURS = {
    ConsentState.IN_FORCE: ("#0f5223", "#d7f0dc"),
    ConsentState.EXPIRED: ("#6b4500", "#fbe7c2"),
    ConsentState.REVOKED: ("#8c1d18", "#f9dedc"),
    ConsentState.ENDED: ("#3d3d3d", "#e4e4e4"),
}


@dataclass(frozen=True, kw_only=True)
class _Loaded:
    family: str
    views: list[ConsentView]
    zone: tzinfo
    today: date
    names: Directory


def state_text(view: ConsentView) -> str:
    """'In force', 'Expired', or how and from when it ended: 'Revoked from 12 Nov 2026'."""
    kind = {ConsentState.REVOKED: EndKind.REVOKED, ConsentState.ENDED: EndKind.EVENT}.get(
        view.state)
    days = [e.on for e in view.ends if e.kind is kind]
    if not days:
        return str(view.state).capitalize()
    said = "Revoked" if kind is EndKind.REVOKED else "Ended by its expiry event"
    return f"{said} from {day_text(min(days))}"


def expires_text(view: ConsentView) -> str:
    consent = view.consent
    parts = [day_text(consent.expires_on)] if consent.expires_on else []
    if consent.expiry_event.strip():
        parts.append(f"when {consent.expiry_event}")
    return ", or ".join(parts)


CONSENT_COLUMNS: list[Column[ConsentView]] = [
    Column("Person", lambda v: v.consent.patient),
    Column("Recipients", lambda v: "; ".join(str(r) for r in v.consent.recipients),
           tooltip=lambda v: "; ".join(str(r) for r in v.consent.recipients)),
    Column("Purpose", lambda v: v.consent.purpose, tooltip=lambda v: v.consent.purpose),
    Column("Information", lambda v: ", ".join(v.consent.information),
           tooltip=lambda v: f"{', '.join(v.consent.information)}: {v.consent.description}"),
    Column("Signed", lambda v: day_text(v.consent.signed_on)),
    Column("Expires", expires_text, tooltip=expires_text),
    Column("State", state_text),
]


class ConsentsModel(RowsModel[ConsentView]):
    """The consents table; the state is said in words and also tinted."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(CONSENT_COLUMNS, parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == STATE_COLUMN \
                and 0 <= index.row() < self.rowCount() \
                and role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole):
            text, background = STATE_COLOURS[self.row_at(index.row()).state]
            return QBrush(QColor(text if role == Qt.ItemDataRole.ForegroundRole
                                 else background))
        return super().data(index, role)


class ConsentsWindow(QDialog):
    """One family's consents (record, revoke, expiry event, details) and their accounting.

    Attributes:
        dialog: the record, end or details dialog opened last (None before), for tests.

    Signals:
        export_requested(str, str): export the accounting (case id, person; '' for all).
        changed: a consent was recorded or ended here.
    """

    export_requested = Signal(str, str)
    changed = Signal()

    def __init__(self, ctx: UiContext, *, case_id: CaseId, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Consents and disclosures")
        self.setAccessibleName("Consents and disclosures")
        fit_to_screen(self, QSize(1100, 620))
        self._ctx, self.case_id = ctx, case_id
        self._loaded: _Loaded | None = None
        self._said = ""
        self.dialog: QDialog | None = None
        self.title = heading("Consents and disclosures")
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Consents and disclosures")
        self.tabs.tabBar().setAccessibleName("Consents and disclosures tabs")
        self.accounting = AccountingView(ctx, case_id=case_id)
        self.tabs.addTab(self._consents_tab(), "&Consents")
        self.tabs.addTab(self.accounting, "&Accounting of disclosures")
        self.close_button = push_button("Close")
        self.close_button.setAutoDefault(False)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self.close_button.clicked.connect(self.close)
        self.accounting.export_requested.connect(self.export_requested)
        self.record_button.clicked.connect(self.open_record)
        self.revoke_button.clicked.connect(lambda: self.open_end(EndKind.REVOKED))
        self.event_button.clicked.connect(lambda: self.open_end(EndKind.EVENT))
        self.details_button.clicked.connect(self.open_details)
        self.view.activated.connect(lambda _: self.open_details())
        self.view.selectionModel().currentRowChanged.connect(
            lambda *_: self._update_buttons())
        self._update_buttons()
        self._follower = follow_changes(ctx, self, self.refresh)
        self.refresh()

    def _consents_tab(self) -> QWidget:
        page = QWidget()
        page.setAccessibleName("Consents")
        self.status = message_label("Consents status", lines=2)
        self.status.setText("Loading…")
        self.model = ConsentsModel(self)
        self.view = table("Consents", self.model)
        wrap_columns(self.view, fit={0, 4, STATE_COLUMN})
        self.record_button = push_button("&Record consent…")
        self.revoke_button = push_button("Re&voke…", "Revoke the selected consent")
        self.event_button = push_button("Expiry &event happened…",
                                        "The selected consent's expiry event happened")
        self.details_button = push_button("De&tails", "Details of the selected consent")
        buttons = QHBoxLayout()
        for each in (self.record_button, self.revoke_button, self.event_button,
                     self.details_button):
            each.setAutoDefault(False)
            buttons.addWidget(each)
        buttons.addStretch(1)
        column = QVBoxLayout(page)
        column.addWidget(self.status)
        column.addWidget(self.view, 1)
        column.addLayout(buttons)
        return page

    def refresh(self) -> None:
        # What the last change here said goes with the answer asked for after it (a refresh
        # for a change made anywhere may be on its way too, and says nothing).
        case_id, said, self._said = self.case_id, self._said, ""

        def load(ws: Workspace) -> _Loaded:
            return _Loaded(family=ws.stores().cases.get(case_id).family_name,
                           views=ConsentService(ws).for_case(case_id), zone=ws.settings.zone,
                           today=ws.today(), names=directory(ws))

        query(self._ctx, load, owner=self).done(lambda loaded: self._show(loaded, said)) \
            .shown_in(self.status).run()
        self.accounting.refresh()

    def _show(self, loaded: _Loaded, said: str = "") -> None:
        self._loaded = loaded
        title = f"{loaded.family} family: consents and disclosures"
        self.setWindowTitle(title)
        self.title.setText(title)
        self.title.setAccessibleName(title)
        selected = self.selected()
        self.model.set_rows(loaded.views)
        self.view.setVisible(bool(loaded.views))
        set_error(self.status, "")
        if not loaded.views:
            self.status.setText(EMPTY)
        else:
            in_force = sum(v.state is ConsentState.IN_FORCE for v in loaded.views)
            counts = (f"{len(loaded.views)} consent(s), {in_force} in force today, newest "
                      "signed first.")
            self.status.setText(f"{said} {counts}" if said else counts)
            ids = [v.consent.id for v in loaded.views]
            self.view.selectRow(ids.index(selected.consent.id)
                                if selected and selected.consent.id in ids else 0)
        self._update_buttons()

    def selected(self) -> ConsentView | None:
        index = self.view.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        chosen = self.selected()
        in_force = chosen is not None and chosen.state is ConsentState.IN_FORCE
        self.record_button.setEnabled(self._loaded is not None)
        self.revoke_button.setEnabled(in_force)
        self.event_button.setEnabled(in_force and chosen is not None
                                     and bool(chosen.consent.expiry_event.strip()))
        self.details_button.setEnabled(chosen is not None)
        why = "" if in_force else "Only a consent in force can be revoked or ended."
        self.revoke_button.setToolTip(why)
        self.event_button.setToolTip(why or ("" if self.event_button.isEnabled() else
                                             "This consent names no expiry event."))

    def open_record(self) -> RecordConsentDialog:
        dialog = RecordConsentDialog(self._ctx, case_id=self.case_id, parent=self)
        dialog.recorded.connect(lambda _: self._done("Consent recorded."))
        self._open(dialog)
        return dialog

    def open_end(self, kind: EndKind) -> EndConsentDialog | None:
        chosen = self.selected()
        if chosen is None or self._loaded is None:
            return None
        dialog = EndConsentDialog(self._ctx, view=chosen, kind=kind, today=self._loaded.today,
                                  parent=self)
        dialog.ended.connect(lambda _: self._done(
            "Consent revoked." if kind is EndKind.REVOKED else "Expiry event recorded."))
        self._open(dialog)
        return dialog

    def open_details(self) -> ConsentDetailsDialog | None:
        chosen = self.selected()
        if chosen is None or self._loaded is None:
            return None
        dialog = ConsentDetailsDialog(chosen, zone=self._loaded.zone,
                                      name=self._loaded.names.name, parent=self)
        self._open(dialog)
        return dialog

    def _open(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _done(self, said: str) -> None:
        self._said = said
        self.changed.emit()
        self._follower.reload()


class ConsentDetailsDialog(QDialog):
    """A consent in full, element by element, with where it stands and how it ended."""

    def __init__(self, view: ConsentView, *, zone: tzinfo, name: Callable[[str], str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Consent details")
        self.setAccessibleName("Consent details")
        fit_to_screen(self, QSize(640, 520))
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        name_parts(self.text, "Consent")
        self.text.setHtml(details_html(view, zone=zone, name=name))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.text.setFocus()


def details_html(view: ConsentView, *, zone: tzinfo, name: Callable[[str], str]) -> str:
    """The consent's elements (as a disclosure carries them), its state and its ends."""
    e = html.escape
    consent = view.consent
    parts = [f"<h2>Consent of {e(consent.patient)}: {e(str(view.state))}</h2><table>"]
    parts += [f"<tr><td valign='top'><b>{e(label)}</b>&nbsp;&nbsp;</td><td>{e(text)}</td></tr>"
              for label, text in summary(consent)]
    parts.append(f"<tr><td><b>Recorded</b></td><td>{e(moment_text(consent.recorded_at, zone))}"
                 f" by {e(name(consent.recorded_by))}</td></tr></table><h3>Ends</h3>")
    if not view.ends:
        parts.append("<p>Not revoked, and no expiry event recorded.</p>")
    for end in sorted(view.ends, key=lambda end: end.on):
        parts.append(f"<p><b>{e(str(end.kind).capitalize())}</b> from {day_text(end.on)}: "
                     f"{e(end.how)} (recorded {e(moment_text(end.recorded_at, zone))} by "
                     f"{e(name(end.recorded_by))})</p>")
    return "".join(parts)
