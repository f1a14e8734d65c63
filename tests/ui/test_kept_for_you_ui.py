"""Work kept for its author, in Needs attention: a coordinator taken off a case while a change of
theirs was refused keeps the case for the grace period; then the laptop forgets it and keeps the
refused change, sealed, for them. The window says so in one item, exports it to a file they
choose (not encrypted, and said so), and discards it only after a question that says it cannot
be undone.

Real server on 127.0.0.1 (the administrator's `case-assign`), real vault files, the real save
dialog typed into, the laptop's clock moved by hand past the grace period.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit
from pytestqt.qtbot import QtBot

from fieldapp.services.kept import kept_of
from fieldapp.ui.conflict_dialog import AttentionDialog
from fieldapp.ui.export_dialog import start_folder
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.ops import on_profile
from fieldapp.ui.trip_dialog import ConfirmDialog
from sync.client.attention import KEPT_FOR_YOU
from sync.client.forget import GRACE
from tests.conftest import FakeClock
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_kept_for_you import REFUSED, refused_edit
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_sync_ui import WAIT, AppFactory, idle, open_app, paths_of, sync_server

__all__ = ["open_app", "sync_server"]  # fixtures
LEFT = Qt.MouseButton.LeftButton
Offered = list[tuple[Path, list[str]]]  # the save dialog's folder and file types, as opened
# Qt's own save dialog on the offscreen platform, which cannot raise a window or grab the keyboard.
SAVE_DIALOG_WARNINGS = "This plugin does not support (raise|grabbing the keyboard)"
SENTENCE = "1 change to a case no longer yours was kept for you to export"


def kept_dialog(qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock
                ) -> tuple[MainWindow, AttentionDialog]:
    """The change refused after the case was moved, the grace period over, the laptop synced
    (which forgets the case and keeps the change); then the window, Needs attention opened."""
    coordinator, _ = refused_edit(sync_server, clock)
    clock.advance(GRACE.total_seconds())
    assert sync(coordinator).forgotten == ["fam-1"]
    coordinator.lock()
    window = open_app(paths_of(coordinator))
    status = window.sync_status
    qtbot.waitUntil(lambda: status.attention.isVisible() and idle(window), timeout=WAIT)
    assert status.attention.text() == "Needs attention: 1", "kept work counts as one item"
    qtbot.mouseClick(status.attention, LEFT)
    dialog = status.attention_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)
    dialog.items.selectRow(0)
    return window, dialog


def answer_save_dialog(qtbot: QtBot, target: Path | None, seen: Offered) -> None:
    """Answer the system's save dialog once it opens: type `target` and press Enter, or Cancel
    for None. A dialog that does not take the answer is cancelled, so the test fails on the
    missing file instead of waiting for ever in the dialog's own event loop."""
    deadline = time.monotonic() + WAIT / 1000

    def answer() -> None:
        dialogs = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, QFileDialog) and w.isVisible()]
        if not dialogs:
            if time.monotonic() < deadline:
                QTimer.singleShot(20, answer)
            return
        seen.append((Path(dialogs[0].directory().absolutePath()), dialogs[0].nameFilters()))
        if target is not None:
            name = dialogs[0].findChild(QLineEdit, "fileNameEdit")
            assert name is not None
            name.setFocus()
            qtbot.waitUntil(name.hasFocus, timeout=WAIT)
            name.selectAll()
            qtbot.keyClicks(name, str(target))
            qtbot.keyClick(name, Qt.Key.Key_Return)
        if dialogs[0].isVisible():
            dialogs[0].reject()

    QTimer.singleShot(0, answer)


def kept_count(qtbot: QtBot, dialog: AttentionDialog) -> int:
    """How many changes the kept place holds, read on the window's database worker."""
    found: list[int] = []
    ctx = dialog._ctx
    on_profile(ctx.runner, ctx.session, lambda s: kept_of(s).count(), owner=dialog) \
        .done(found.append).run()
    qtbot.waitUntil(lambda: bool(found), timeout=WAIT)
    return found[0]


def confirm_of(dialog: AttentionDialog) -> ConfirmDialog:
    assert dialog.confirm_dialog is not None and dialog.confirm_dialog.isVisible()
    return dialog.confirm_dialog


@pytest.mark.qt_log_ignore(SAVE_DIALOG_WARNINGS)
def test_kept_work_is_shown_exported_to_a_csv_and_then_discarded(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock,
        tmp_path: Path) -> None:
    """The item says the sentence and, in plain words, that it is sealed here, nothing was
    lost and the export is not encrypted; Export… writes the refused change to the CSV the
    person named, from a save dialog that starts in Documents and offers CSV and JSON, and the
    item stays; Discard… then says it cannot be undone, and once confirmed the kept place is
    empty, the item goes and the status bar has nothing to show."""
    window, dialog = kept_dialog(qtbot, sync_server, open_app, clock)
    [item] = dialog.model.rows
    assert (item.kind, item.title) == (KEPT_FOR_YOU, SENTENCE)
    assert dialog.model.data(dialog.model.index(0, 1)) == "Kept for you to export"
    reason = dialog.reason.text()
    for words in ("sealed on this laptop", "Nothing was lost", "NOT encrypted",
                  "somewhere safe", "delete it"):
        assert words in reason, words
    assert "The server refused it" in dialog.sides.toPlainText()
    assert REFUSED not in dialog.sides.toPlainText(), "its content only in the export"
    assert dialog.export_kept.isVisible() and dialog.discard_kept.isVisible()
    assert not dialog.mark_read.isVisible() and not dialog.dismiss.isVisible()
    assert unnamed_controls(dialog) == []
    for button in (dialog.export_kept, dialog.discard_kept):
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert dialog.export_kept.accessibleName() == "Export"
    assert dialog.discard_kept.accessibleName() == "Discard"
    assert dialog.frameGeometry().width() <= 1366 and dialog.frameGeometry().height() <= 768

    target = tmp_path / "mine.csv"
    seen: Offered = []
    answer_save_dialog(qtbot, target, seen)
    qtbot.mouseClick(dialog.export_kept, LEFT)
    qtbot.waitUntil(lambda: str(target) in dialog.message.text(), timeout=WAIT)
    [(folder, filters)] = seen
    assert folder == start_folder(None).resolve(), "it starts in Documents (or home)"
    assert any("*.csv" in f for f in filters) and any("*.json" in f for f in filters)
    assert "not encrypted" in dialog.message.text()
    rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
    [row] = [r for r in rows[3:] if r]
    assert row[1] == "fam-1" and row[2] == "visit note"
    assert REFUSED in row[5], "the refused change, as it was here, is in the file"
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1 and not dialog._working, timeout=WAIT)
    assert dialog.model.rows[0].kind == KEPT_FOR_YOU, "exporting keeps them here"
    assert kept_count(qtbot, dialog) == 1

    qtbot.mouseClick(dialog.discard_kept, LEFT)
    question = confirm_of(dialog)
    assert "cannot be undone" in question.text.text()
    assert str(target) in question.text.text(), "says the export stays where it was saved"
    assert question.confirm_button.accessibleName() == "Discard them"
    qtbot.mouseClick(question.confirm_button, LEFT)
    status = window.sync_status
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0 and not status.attention.isVisible(),
                    timeout=WAIT)
    assert kept_count(qtbot, dialog) == 0
    assert target.exists(), "the exported file is the person's: discarding leaves it"


@pytest.mark.qt_log_ignore(SAVE_DIALOG_WARNINGS)
def test_cancel_changes_nothing_and_discarding_unexported_work_says_so(
        qtbot: QtBot, sync_server: SyncServer, open_app: AppFactory, clock: FakeClock,
        tmp_path: Path) -> None:
    """Cancel in the save dialog writes nothing; Discard… before any export asks to "discard
    without exporting" and says it cannot be undone; Cancel there keeps everything (the item,
    the kept change, the count in the status bar)."""
    window, dialog = kept_dialog(qtbot, sync_server, open_app, clock)
    seen: Offered = []
    answer_save_dialog(qtbot, None, seen)
    qtbot.mouseClick(dialog.export_kept, LEFT)
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
    assert list(tmp_path.glob("*.csv")) == [] and dialog.message.text() == ""

    qtbot.mouseClick(dialog.discard_kept, LEFT)
    question = confirm_of(dialog)
    assert question.confirm_button.accessibleName() == "Discard without exporting"
    assert "You have not exported them" in question.text.text()
    assert "cannot be undone" in question.text.text()
    assert question.cancel_button.isDefault(), "Enter does not discard"
    qtbot.mouseClick(question.cancel_button, LEFT)
    dialog.reload()
    qtbot.waitUntil(lambda: not dialog._working and dialog.model.rowCount() == 1, timeout=WAIT)
    assert dialog.model.rows[0].title == SENTENCE
    assert kept_count(qtbot, dialog) == 1
    assert window.sync_status.attention.text() == "Needs attention: 1"
