"""The recovery code in the window, as a person meets it: a real server on 127.0.0.1 set up with
the admin command line, real profiles, real widgets found by accessible name.

After a first enrolment the code is shown once, large and selectable, with Print… and Copy;
the window closes only once "I have stored this code safely" is ticked. A replacement laptop
asks for the code, says plainly when it is wrong, and lets the person try again without a new
enrolment code; giving up is said to waste that code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.crypto.identity import unwrap_from_server
from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.context import UiContext
from fieldapp.ui.enrol_dialog import EnrolDialog
from fieldapp.ui.recovery_code_dialog import STORED, RecoveryCodeDialog
from sync.client.enrol import enrol
from tests.conftest import PASSPHRASE
from tests.server.conftest import RunningServer
from tests.ui.conftest import ContextFactory
from tests.ui.journey import it_set_up  # noqa: F401 - the fixture
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_family_dialog import click, named
from tests.ui.test_sync_ui import WAIT

SHAPE = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture
def host(qtbot: QtBot) -> QWidget:
    """The Settings page the dialog opens from (the recovery code window opens beside it)."""
    page = QWidget()
    qtbot.addWidget(page)
    return page


def open_dialog(qtbot: QtBot, ctx: UiContext, host: QWidget) -> EnrolDialog:
    dialog = EnrolDialog(ctx, host)
    dialog.show()
    assert unnamed_controls(dialog) == []
    return dialog


def fill(qtbot: QtBot, dialog: EnrolDialog, server: RunningServer, user_id: str, *,
         recovery: str = "") -> None:
    qtbot.keyClicks(named(dialog, QLineEdit, "Server address"), server.base_url)
    qtbot.keyClicks(named(dialog, QLineEdit, "Enrolment code"), server.new_code(user_id))
    qtbot.keyClicks(named(dialog, QLineEdit, "Recovery code"), recovery)


def stored(ctx: UiContext) -> dict[str, Any]:
    """What this laptop keeps of an enrolment (read on the worker)."""
    session = ctx.session
    return ctx.runner.worker.call(lambda: {
        "enrolment": enrolment.enrolment_of(session),
        "records": sorted(o.row["kind"] for o in session.records().all())})


def server_copy(server: RunningServer, user_id: str) -> str:
    import sqlite3  # noqa: PLC0415

    conn = sqlite3.connect(f"file:{server.data_dir / 'server.sqlite3'}?mode=ro", uri=True)
    try:
        return str(conn.execute("SELECT wrapped_private_key FROM users WHERE id = ?",
                                [user_id]).fetchone()[0])
    finally:
        conn.close()


def test_a_first_enrolment_shows_the_code_once_until_it_is_stored(
        qtbot: QtBot, make_context: ContextFactory, it_set_up: RunningServer,  # noqa: F811
        host: QWidget, tmp_path: Path) -> None:
    ctx = make_context()
    dialog = open_dialog(qtbot, ctx, host)
    fill(qtbot, dialog, it_set_up, "rc1")
    with qtbot.waitSignal(dialog.enrolled, timeout=WAIT):
        click(qtbot, dialog, "Connect")
    shown = dialog.recovery_dialog
    assert shown is not None and shown.isVisible() and not dialog.isVisible()
    assert unnamed_controls(shown) == []
    code = named(shown, QLabel, "Recovery code").text()
    assert SHAPE.match(code)
    assert shown.code.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard
    assert shown.code.font().pointSizeF() > QGuiApplication.font().pointSizeF() * 1.5
    words = named(shown, QLabel, "About the recovery code").text()
    assert "replacement laptop" in words and "not even your administrator" in words
    # It is the code that opens the server's copy of this person's keys.
    assert unwrap_from_server(server_copy(it_set_up, "rc1"), code).public_key == \
        ctx.runner.worker.call(lambda: enrolment.identity_of(ctx.session)).public_key

    # Copy; then it cannot be closed, by Escape or the window's close, before the tick.
    click(qtbot, shown, "Copy recovery code")
    assert QGuiApplication.clipboard().text() == code
    done = named(shown, type(shown.done_button), "Done")
    assert not done.isEnabled()
    qtbot.keyClick(shown, Qt.Key.Key_Escape)
    assert shown.isVisible()
    assert not shown.windowFlags() & Qt.WindowType.WindowCloseButtonHint

    # Ticked with the keyboard, then Done: closed, the clipboard copy cleared.
    tick = named(shown, QCheckBox, STORED)
    tick.setFocus()
    qtbot.keyClick(tick, Qt.Key.Key_Space)
    assert tick.isChecked() and done.isEnabled()
    with qtbot.waitSignal(shown.finished, timeout=WAIT):
        click(qtbot, shown, "Done")
    assert QGuiApplication.clipboard().text() == ""
    kept = str(stored(ctx)).upper()
    assert "IDENTITY" in kept and code not in kept and code.replace("-", "") not in kept


# The offscreen plugin says these of the file-name completer inside Qt's own print dialog.
@pytest.mark.qt_log_ignore("This plugin does not support raise", "does not support grabbing")
def test_print_writes_the_code_only_where_the_person_chose(
        qtbot: QtBot, tmp_path: Path) -> None:
    code = "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS"
    shown = RecoveryCodeDialog(code, person="Rosa Coordinator", server_url="https://f.example")
    qtbot.addWidget(shown)
    shown.show()
    before = set(tmp_path.rglob("*"))
    click(qtbot, shown, "Print recovery code")
    printing = shown.print_dialog
    assert printing is not None and printing.isVisible()
    assert set(tmp_path.rglob("*")) == before, "nothing is written before the person chooses"
    target = tmp_path / "chosen" / "recovery.pdf"
    target.parent.mkdir()
    # Qt's print dialog (here with only "Print to File (PDF)"): the file name typed, Print.
    [where] = [w for w in printing.findChildren(QLineEdit) if w.objectName() == "filename"]
    where.clear()
    qtbot.keyClicks(where, str(target))
    printing.accept()
    assert printing.printer().outputFormat() == QPrinter.OutputFormat.PdfFormat
    text = " ".join(" ".join(page.extract_text().split())
                    for page in pypdf.PdfReader(target).pages)
    assert code in text and "Rosa Coordinator" in text and "replacement laptop" in text


def test_a_replacement_laptop_asks_for_the_code_until_it_opens_the_key(
        qtbot: QtBot, make_context: ContextFactory, it_set_up: RunningServer,  # noqa: F811
        host: QWidget, tmp_path: Path) -> None:
    first = Session(ProfilePaths(tmp_path / "first-laptop"))
    first.create(PASSPHRASE)
    code = enrol(first, server_url=it_set_up.base_url, code=it_set_up.new_code("rc1"),
                 device_name="first").recovery_code
    first.lock()
    ctx = make_context()
    dialog = open_dialog(qtbot, ctx, host)
    before = stored(ctx)
    fill(qtbot, dialog, it_set_up, "rc1")  # the recovery code left empty
    message = named(dialog, QLabel, "Connection message")
    recovery = named(dialog, QLineEdit, "Recovery code")
    click(qtbot, dialog, "Connect")
    qtbot.waitUntil(lambda: "already use FieldApp on another laptop" in message.text(),
                    timeout=WAIT)
    assert recovery.hasFocus() and not dialog.server.isEnabled() and not dialog.code.isEnabled()

    qtbot.keyClicks(recovery, "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS")
    click(qtbot, dialog, "Connect")
    qtbot.waitUntil(lambda: "does not open your key" in message.text(), timeout=WAIT)
    assert stored(ctx) == before, "a wrong code keeps nothing"
    assert dialog.connect_button.isEnabled()

    # Cancel once: told the enrolment code is spent, and the dialog stays.
    click(qtbot, dialog, "Cancel")
    assert "enrolment code has been used" in message.text() and dialog.isVisible()
    qtbot.waitUntil(lambda: message.height() >= message.heightForWidth(message.width()),
                    timeout=WAIT)  # all of it shows: nothing clipped at the top or the bottom

    recovery.clear()
    qtbot.keyClicks(recovery, code.lower().replace("-", " "))
    with qtbot.waitSignal(dialog.enrolled, timeout=WAIT):
        click(qtbot, dialog, "Connect")
    assert dialog.recovery_dialog is None, "no new code is shown on a replacement laptop"
    assert stored(ctx)["enrolment"]["user"]["id"] == "rc1"


def test_giving_up_says_the_enrolment_code_is_spent(
        qtbot: QtBot, make_context: ContextFactory, it_set_up: RunningServer,  # noqa: F811
        host: QWidget, tmp_path: Path) -> None:
    first = Session(ProfilePaths(tmp_path / "first-laptop"))
    first.create(PASSPHRASE)
    enrol(first, server_url=it_set_up.base_url, code=it_set_up.new_code("iw1"),
          device_name="first")
    first.lock()
    ctx = make_context()
    dialog = open_dialog(qtbot, ctx, host)
    fill(qtbot, dialog, it_set_up, "iw1")
    message = named(dialog, QLabel, "Connection message")
    click(qtbot, dialog, "Connect")
    qtbot.waitUntil(lambda: "already use FieldApp" in message.text(), timeout=WAIT)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    assert "ask your administrator for a new enrolment code" in message.text()
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert stored(ctx)["enrolment"] is None
