"""The attention dialog: conflicts side by side with Keep mine / Keep theirs, copies kept for
review, changes the server refused, with Send again / Dismiss, what was set aside, and colleagues
whose key changed, with both fingerprints and Accept the new key; the person's own work kept
for them after a case left this laptop, with Export… (to a file they choose) and Discard…; and
their own keys replaced, with the new recovery code to store, or to enter here
(`ui/own_keys_dialogs.py`).

Nothing here is lost or trusted without a question first: choosing a version, dismissing a
refused change, accepting a new key and discarding kept work each ask, and say what follows.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelection, QSize
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from fieldapp.services.enrolment import recovery_code_seen
from fieldapp.services.exports.job import Exported
from fieldapp.services.kept import KeptFormat, discard_kept, export_kept
from fieldapp.services.session import Session
from fieldapp.ui.export_dialog import start_folder
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import on_profile
from fieldapp.ui.own_keys_dialogs import (
    OWN_KEYS_HINTS,
    OWN_KEYS_KINDS,
    TakeUpKeysDialog,
    show_new_code,
)
from fieldapp.ui.sync_controller import SyncController
from fieldapp.ui.tables import name_parts, table
from fieldapp.ui.trip_dialog import ConfirmDialog, plain_name
from fieldapp.ui.widgets import fit_to_screen, heading, message_label, paragraph, set_error
from sync.client.attention import (
    KEPT_FOR_YOU,
    KEYS_ELSEWHERE,
    NEW_RECOVERY_CODE,
    AttentionItem,
    Fields,
    accept_key,
    read_attention,
)
from sync.client.engine import replica_of

KINDS = {"conflict": "Changed in two places", "kept": "Kept for you to review",
         "refused": "Refused by the server", "set aside": "Set aside, not filed",
         "key": "A key that does not open", "unverified": "Not applied: failed its check",
         "person": "A colleague's key changed", KEPT_FOR_YOU: "Kept for you to export",
         **OWN_KEYS_KINDS}
HINTS = {
    **OWN_KEYS_HINTS,
    KEPT_FOR_YOU: "Export… writes them to a file you choose (CSV opens in a spreadsheet; JSON "
                  "holds everything as kept); they stay here after it. Discard… removes them "
                  "from this laptop for good; it asks first.",
    "person": "Call or meet them and ask them to read the 30 digits under Settings → Your key "
              "fingerprint. Accept the new key only if they match the new fingerprint here, "
              "digit for digit; if they do not, leave it and tell your administrator.",
    "unverified": "This laptop checks that everything it receives was signed by its author "
                  "with the key it holds for them, and is not older than what it already has. "
                  "This failed, so nothing on this laptop changed; everything else keeps "
                  "syncing, and it is checked again at each sync. Tell your administrator if "
                  "it stays.",
    "key": "A colleague's laptop shared this version of the key with you, but it does not open "
           "with your key: it is damaged, or it was not made for you. Nothing sealed under it "
           "can be read here; everything else keeps syncing. Tell your administrator: the "
           "server's audit says who shared it.",
    "set aside": "The server sent this under a case it does not belong to, so it was filed "
                 "nowhere and nothing on this laptop changed. Tell your administrator: the "
                 "server's audit says who sent it.",
    "conflict": "Keep mine sends your version to the server for everyone; Keep theirs puts the "
                "other version on this laptop. Both ask before anything changes.",
    "kept": "The other version stands; yours was kept beside it so nothing you wrote is lost. "
            "Copy anything still needed into an addendum, then mark it as read.",
    "refused": "Send again once the reason is sorted out (for example after your supervisor "
               "returns the month). Dismiss gives the change up: this laptop goes back to the "
               "server's version (a record the server never had stays here only).",
}


def _button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(plain_name(text))
    button.setAutoDefault(False)
    return button


class AttentionDialog(QDialog):
    """The list on top, the selected item's two versions below, its choices at the bottom.

    Every database call goes through the task runner; the list reloads after each choice and
    after each sync.

    Attributes:
        model: the items (`AttentionItem`), oldest first.
        confirm_dialog: the question open now, if any.
        take_up_dialog: the window taking up keys replaced elsewhere, if opened.
    """

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller, self._ctx = controller, controller.ctx
        self._working = False
        self.confirm_dialog: ConfirmDialog | None = None
        self.take_up_dialog: TakeUpKeysDialog | None = None
        self.setWindowTitle("Needs attention")
        self.setAccessibleName("Needs attention")
        fit_to_screen(self, QSize(940, 680))
        self.model: RowsModel[AttentionItem] = RowsModel([
            Column("What", lambda i: i.title), Column("Why", lambda i: KINDS[i.kind])])
        self.items = table("Items that need attention", self.model, fit_columns=True)
        self.items.setMaximumHeight(170)
        self.reason = message_label("Why it needs attention", lines=2)
        self.sides = QTextBrowser()
        name_parts(self.sides, "The versions side by side")
        self.hint = paragraph("", name="What the choices do")
        self.message = message_label("Result", lines=1)
        self.keep_mine = _button("Keep &mine")
        self.keep_theirs = _button("Keep &theirs")
        self.mark_read = _button("Mark as &read")
        self.send_again = _button("Send &again")
        self.dismiss = _button("&Dismiss")
        self.accept_key = _button("&Accept the new key…")
        self.export_kept = _button("&Export…")
        self.discard_kept = _button("D&iscard…")
        self.show_code = _button("Show the &new recovery code…")
        self.take_up = _button("Enter the ne&w recovery code…")
        self._choices = (self.keep_mine, self.keep_theirs, self.mark_read, self.send_again,
                         self.dismiss, self.accept_key, self.export_kept, self.discard_kept,
                         self.show_code, self.take_up)
        self.exported: Path | None = None  # where the kept work was exported, in this dialog
        self.close_button = _button("&Close")
        self._build()
        self.reload()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Needs your attention"))
        layout.addWidget(paragraph(
            "Nothing here was lost. When a record changed on this laptop and elsewhere, both "
            "versions are kept until you choose; a change the server refused stays on this "
            "laptop until you send it again or dismiss it.", name="About this list"))
        layout.addWidget(self.items)
        layout.addWidget(self.reason)
        layout.addWidget(self.sides, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        for button in self._choices:
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.items.selectionModel().selectionChanged.connect(self._selected)
        self.keep_mine.clicked.connect(self._keep_mine)
        self.keep_theirs.clicked.connect(self._keep_theirs)
        self.mark_read.clicked.connect(self._mark_read)
        self.send_again.clicked.connect(self._send_again)
        self.dismiss.clicked.connect(self._dismiss)
        self.accept_key.clicked.connect(self._accept_key)
        self.export_kept.clicked.connect(self._export_kept)
        self.discard_kept.clicked.connect(self._discard_kept)
        self.show_code.clicked.connect(self._show_new_code)
        self.take_up.clicked.connect(self._take_up_keys)
        self.close_button.clicked.connect(self.close)
        self._controller.synced.connect(self._after_sync)
        self._show_item(None)

    # -- showing -----------------------------------------------------------------------------

    def reload(self) -> None:
        on_profile(self._ctx.runner, self._ctx.session, read_attention, owner=self) \
            .done(self._loaded).shown_in(self.message, after_failure=self._idle).run()

    def _after_sync(self, _: object) -> None:
        self.reload()

    def _loaded(self, items: list[AttentionItem]) -> None:
        chosen = self.current()
        self.model.set_rows(items)
        keys = [i.key for i in items]
        row = keys.index(chosen.key) if chosen is not None and chosen.key in keys else 0
        if items:
            self.items.selectRow(row)
        else:
            self._show_item(None)
            self.reason.setText("Nothing needs your attention now.")

    def current(self) -> AttentionItem | None:
        rows = self.items.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selected(self, *_: QItemSelection) -> None:
        self._show_item(self.current())

    def _show_item(self, item: AttentionItem | None) -> None:
        kind = item.kind if item is not None else ""
        self.keep_mine.setVisible(kind == "conflict")
        self.keep_theirs.setVisible(kind == "conflict")
        self.mark_read.setVisible(kind == "kept")
        self.send_again.setVisible(kind == "refused")
        self.dismiss.setVisible(kind == "refused")
        self.accept_key.setVisible(kind == "person")
        self.export_kept.setVisible(kind == KEPT_FOR_YOU)
        self.discard_kept.setVisible(kind == KEPT_FOR_YOU)
        self.show_code.setVisible(kind == NEW_RECOVERY_CODE)
        self.take_up.setVisible(kind == KEYS_ELSEWHERE)
        for button in self._choices:
            button.setEnabled(not self._working)
        self.hint.setText(HINTS.get(kind, ""))
        if item is None:
            self.sides.clear()
            self.reason.clear()
            return
        self.reason.setText(f"{item.title}. {item.reason}")
        if item.kind == "refused":
            self.sides.setHtml(side_by_side(item.mine, None, "On this laptop", ""))
        elif item.kind in ("set aside", "unverified", "key", NEW_RECOVERY_CODE, KEYS_ELSEWHERE):
            self.sides.clear()  # nothing of it is shown: it may not even be what it says
        elif item.kind == KEPT_FOR_YOU:
            self.sides.setHtml(kept_list(item.mine or []))
        elif item.kind == "person":
            self.sides.setHtml(side_by_side(item.mine, item.theirs, "The key you have for them",
                                            "The new key the server gives"))
        else:
            self.sides.setHtml(side_by_side(item.mine, item.theirs, "Yours, on this laptop",
                                            "From another device"))

    # -- choosing ----------------------------------------------------------------------------

    def _keep_mine(self) -> None:
        item = self.current()
        if item is None:
            return
        self._confirm(
            "Keep your version?",
            f"Your version of this {item.thing} is sent to the server and replaces the other "
            "version there. The other version stays in the server's history.", "Keep &mine",
            lambda: self._settle(item.key, "mine", "Your version goes up now.", sync=True))

    def _keep_theirs(self) -> None:
        item = self.current()
        if item is None:
            return
        self._confirm(
            "Replace what is on this laptop?",
            f"The other version replaces what is on this laptop. What you wrote here for this "
            f"{item.thing} will be gone from this laptop, and it is not sent anywhere.",
            "Replace with &theirs",
            lambda: self._settle(item.key, "theirs", "The other version is on this laptop now."))

    def _mark_read(self) -> None:
        item = self.current()
        if item is not None:
            self._settle(item.key, "seen", "Marked as read.")

    def _send_again(self) -> None:
        item = self.current()
        if item is None:
            return
        op_id = item.key
        self._write(lambda replica: replica.retry_problem(op_id), "Sending it again now.",
                    sync=True)

    def _dismiss(self) -> None:
        item = self.current()
        if item is None:
            return
        op_id = item.key
        self._confirm(
            "Stop sending this change?",
            f"The change to this {item.thing} is not sent and not tried again. At the next sync "
            "this laptop goes back to the server's version of it; if the server never had it, "
            "it stays on this laptop only.", "&Dismiss",
            lambda: self._write(lambda replica: replica.dismiss_problem(op_id), "Dismissed.",
                                sync=True))

    def _accept_key(self) -> None:
        item = self.current()
        if item is None or item.kind != "person" or not item.theirs:
            return
        user_id, new = item.key, dict(item.theirs)["Fingerprint"]
        name = item.title.removesuffix("'s key changed")
        self._confirm(
            f"Accept {name}'s new key?",
            f"Compare first: only if {name} read you these 30 digits, in person or by phone, "
            f"from their Settings → Your key fingerprint, and they match:\n\n{new}\n\n"
            f"From now on what {name} signs with this key is accepted and the families' keys "
            "are shared with it at the next sync. The decision is written in the audit log.",
            "&Accept the new key",
            lambda: self._decide(lambda s: accept_key(s, user_id=user_id, fingerprint=new),
                                 f"{name}'s new key is accepted.", sync=True))

    def _export_kept(self) -> None:
        item = self.current()
        if item is None or item.kind != KEPT_FOR_YOU:
            return
        chosen = choose_kept_file(self, start_folder(None) / "kept-for-you.csv")
        if chosen is None:
            return
        path, fmt, confirmed = chosen
        self._working = True
        self._show_item(item)
        set_error(self.message, "")
        on_profile(self._ctx.runner, self._ctx.session,
                   lambda s: export_kept(s, path, fmt=fmt, overwrite=confirmed), owner=self) \
            .done(self._kept_exported).shown_in(self.message, after_failure=self._idle).run()

    def _kept_exported(self, done: Exported) -> None:
        self._working = False
        self.exported = done.path
        self.message.setText(
            f"Exported {done.records} kept change{'' if done.records == 1 else 's'} to "
            f"{done.path}. The file is not encrypted: keep it somewhere safe and delete it when "
            "you no longer need it. The changes are still kept here until you discard them.")
        self.reload()

    def _discard_kept(self) -> None:
        item = self.current()
        if item is None or item.kind != KEPT_FOR_YOU:
            return
        gone = (f"{item.title.replace(' to export', '')}. Discarding removes them from this "
                "laptop for good: nobody can read them again, here or anywhere. This cannot "
                "be undone.")
        if self.exported is not None:
            title, action = "Discard the kept changes?", "D&iscard them"
            text = f"{gone}\n\nThe file you exported stays at {self.exported}."
        else:
            title, action = "Discard without exporting?", "D&iscard without exporting"
            text = f"You have not exported them. {gone}"
        self._confirm(title, text, action, lambda: self._decide(
            discard_kept, "The kept changes were discarded from this laptop.", sync=False))

    def _show_new_code(self) -> None:
        self._working = True
        self._show_item(self.current())
        set_error(self.message, "")
        show_new_code(self._ctx, self, shown_in=self.message, after_failure=self._idle,
                      stored=lambda: self._decide(recovery_code_seen, "Your new recovery code "
                                                  "is no longer kept on this laptop.", sync=False))

    def _take_up_keys(self) -> None:
        self.take_up_dialog = TakeUpKeysDialog(self._ctx, controller=self._controller,
                                               parent=self)
        self.take_up_dialog.taken_up.connect(lambda said: self._written(said, False))
        self.take_up_dialog.open()

    def _settle(self, conflict_id: str, choice: str, done: str, *, sync: bool = False) -> None:
        self._write(lambda replica: replica.resolve(conflict_id, choice), done, sync=sync)

    def _confirm(self, title: str, text: str, action: str, then: Callable[[], None]) -> None:
        self.confirm_dialog = ConfirmDialog.ask(title, text, action, self, then)

    def _write(self, change: Callable[..., None], done: str, *, sync: bool = False) -> None:
        self._decide(lambda s: change(replica_of(s)), done, sync=sync)

    def _decide(self, change: Callable[[Session], object], done: str, *, sync: bool) -> None:
        self._working = True
        self._show_item(self.current())
        set_error(self.message, "")
        on_profile(self._ctx.runner, self._ctx.session, change, owner=self, changes=True) \
            .done(lambda _: self._written(done, sync)) \
            .shown_in(self.message, after_failure=self._idle).run()

    def _written(self, done: str, sync: bool) -> None:
        self._working = False
        self.message.setText(done)
        self._controller.refresh()
        if sync:
            self._controller.sync_now()
        self.reload()

    def _idle(self) -> None:
        self._working = False
        self._show_item(self.current())


CSV_FILES, JSON_FILES = "CSV spreadsheet (*.csv)", "JSON file (*.json)"


def choose_kept_file(parent: QWidget, suggested: Path) -> tuple[Path, KeptFormat, bool] | None:
    """The system's save dialog (which asks before replacing a file), CSV or JSON: the path,
    its format, and whether the person confirmed that very name; None if they cancel."""
    chosen, pattern = QFileDialog.getSaveFileName(
        parent, "Export the kept changes as", str(suggested), f"{CSV_FILES};;{JSON_FILES}")
    if not chosen:
        return None
    path, suffix = Path(chosen), Path(chosen).suffix.lower().lstrip(".")
    if suffix in tuple(KeptFormat):
        return path, KeptFormat(suffix), True
    fmt = KeptFormat.JSON if pattern == JSON_FILES else KeptFormat.CSV
    return path.with_name(f"{path.name}.{fmt}"), fmt, False


def kept_list(kept: Fields) -> str:
    """An HTML table of what was kept and why, one row each."""
    rows = "".join(f"<tr><td valign='top' width='30%'>{html.escape(what)}</td>"
                   f"<td valign='top'>{html.escape(why)}</td></tr>" for what, why in kept)
    return ("<table width='100%' cellspacing='0' cellpadding='6' border='1'><tr>"
            f"<th align='left'>Kept</th><th align='left'>Why it was kept</th></tr>{rows}</table>")


def side_by_side(mine: Fields | None, theirs: Fields | None, left: str, right: str) -> str:
    """An HTML table: one row per field, the two versions in columns, differences in bold."""
    one_side = not right
    labels = [label for label, _ in (mine or theirs or [])]
    left_values = dict(mine or [])
    right_values = dict(theirs or [])
    head = f"<th align='left'>{html.escape(left)}</th>"
    if not one_side:
        head += f"<th align='left'>{html.escape(right)}</th>"
    if not labels:
        return "<p>Neither version can be shown on this laptop.</p>"
    rows = []
    for label in labels:
        a = left_values.get(label, "Nothing (deleted)" if mine is None else "")
        b = right_values.get(label, "Nothing (deleted)" if theirs is None else "")
        differs = not one_side and a != b
        width = 84 if one_side else 42
        cells = [_cell(a, differs, width)] + ([] if one_side else [_cell(b, differs, width)])
        name = f"<b>{html.escape(label)}</b>" if differs else html.escape(label)
        rows.append(f"<tr><td valign='top' width='16%'>{name}</td>{''.join(cells)}</tr>")
    note = "" if one_side else "<p>Fields that differ are in bold.</p>"
    return (f"{note}<table width='100%' cellspacing='0' cellpadding='6' border='1'>"
            f"<tr><th align='left'>Field</th>{head}</tr>{''.join(rows)}</table>")


def _cell(value: str, bold: bool, width: int) -> str:
    text = html.escape(value).replace("\n", "<br>")
    return f"<td valign='top' width='{width}%'>{'<b>' + text + '</b>' if bold else text}</td>"
