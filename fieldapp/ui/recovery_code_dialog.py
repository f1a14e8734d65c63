"""The recovery code, shown once after a person's first enrolment (or after a laptop made new
keys for them), to print or store."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QFontDatabase, QGuiApplication, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.services.enrolment import RECOVERY_CODE_WORDS
from fieldapp.ui.widgets import heading, paragraph

STORED = "I have stored this code safely"


class RecoveryCodeDialog(QDialog):
    """Shows the recovery code large and selectable, with Print… and Copy; it closes only
    once the person ticks that they stored the code (Escape and the window's close button do
    nothing before that; FieldApp itself closing it, at a lock or on quitting, is not held
    up). The code is never written anywhere by this window: printing goes
    to the printer or file the person picks, and a copy left on the clipboard is cleared when
    the window closes.

    Attributes:
        code: the label holding the code.
        stored: the "I have stored this code safely" tick.
        print_dialog: the print dialog last opened by Print…, if any.
    """

    def __init__(self, code: str, *, person: str, server_url: str,
                 words: str = RECOVERY_CODE_WORDS, can_wait: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._code, self._person, self._server = code, person, server_url
        self._words = words  # what the code is for, under it and on the printout
        # A code kept (sealed) until the person has stored it may be put off: "Later" closes
        # the window and keeps it, to be shown again. A first enrolment's code is kept nowhere.
        self._can_wait = can_wait
        self.print_dialog: QPrintDialog | None = None
        self.setWindowTitle("Your recovery code")
        self.setAccessibleName("Your recovery code")
        self.setMinimumWidth(560)
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        self.code = QLabel(code)
        self.code.setAccessibleName("Recovery code")
        self.code.setAccessibleDescription(" ".join(code.replace("-", "")))  # read one by one
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10) * 1.9)
        font.setBold(True)
        self.code.setFont(font)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.code.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.code.setStyleSheet("padding: 12px; border: 1px solid palette(mid);")
        self.print_button = _button("&Print…", "Print recovery code")
        self.copy_button = _button("C&opy", "Copy recovery code")
        self.copy_button.setToolTip("For a password manager; the copy is cleared from the "
                                    "clipboard when this window closes")
        self.stored = QCheckBox(f"&{STORED}")
        self.stored.setAccessibleName(STORED)
        self.done_button = _button("&Done", "Done")
        self.done_button.setEnabled(False)
        actions = QHBoxLayout()
        for widget in (self.print_button, self.copy_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        buttons = QDialogButtonBox()
        buttons.addButton(self.done_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.later_button: QPushButton | None = None
        if can_wait:
            self.later_button = _button("&Later", "Later")
            self.later_button.setToolTip("Close this window; the code stays kept, sealed, on "
                                         "this laptop until you say you stored it")
            buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
            buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Store your recovery code now"))
        layout.addWidget(self.code)
        layout.addWidget(paragraph(words, name="About the recovery code"))
        layout.addLayout(actions)
        layout.addWidget(self.stored)
        layout.addWidget(buttons)
        self.print_button.clicked.connect(self._print)
        self.copy_button.clicked.connect(self._copy)
        self.stored.toggled.connect(self.done_button.setEnabled)
        buttons.accepted.connect(self.accept)

    def accept(self) -> None:
        if self.stored.isChecked():
            self._forget()
            super().accept()

    def reject(self) -> None:  # Escape: the code must be stored first, unless it is kept
        if self._can_wait:
            self._forget()
            super().reject()
            return
        self.accept()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        # The person's own close (the title bar's button, Alt+F4) waits for the tick; FieldApp
        # closing the window (quitting, the profile locking) is never held up.
        if event.spontaneous() and not self.stored.isChecked() and not self._can_wait:
            event.ignore()
            return
        self._forget()
        event.accept()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._code)

    def _print(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName("FieldApp recovery code")
        dialog = QPrintDialog(printer, self)
        dialog.setAccessibleName("Print recovery code")
        dialog.accepted.connect(lambda: self._document().print_(printer))
        self.print_dialog = dialog
        QDialog.open(dialog)  # PySide6's QPrintDialog.open wants a slot; Qt's own needs none

    def _document(self) -> QTextDocument:
        document = QTextDocument()
        document.setHtml(
            "<h2>FieldApp recovery code</h2>"
            f"<p>For {escape(self._person)}, on the server {escape(self._server)}</p>"
            f"<p style='font-size: 20pt; font-family: monospace'><b>{escape(self._code)}</b></p>"
            f"<p>{escape(self._words)}</p>")
        return document

    def _forget(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard.text() == self._code:
            clipboard.clear()
        self.code.clear()


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.setAutoDefault(False)
    return button
