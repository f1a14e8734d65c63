"""Connect this profile to the program's server with the one-time code from the administrator."""

from __future__ import annotations

import platform

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.services.enrolment import Enrolment
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import on_profile
from fieldapp.ui.widgets import labelled, message_label, paragraph, passphrase_field, set_error
from sync.client.enrol import enrol


class EnrolDialog(QDialog):
    """Server address, enrolment code and passphrase; connects off the UI thread.

    Signals:
        enrolled(str): a sentence saying who the server knows this device as.
    """

    enrolled = Signal(str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._working = ctx, False
        self.setWindowTitle("Connect to your program's server")
        self.setAccessibleName("Connect to your program's server")
        self.setMinimumWidth(480)
        self.server = QLineEdit()
        self.server.setAccessibleName("Server address")
        self.server.setPlaceholderText("https://fieldapp.example-program.org")
        self.code = QLineEdit()
        self.code.setAccessibleName("Enrolment code")
        self.code.setPlaceholderText("abc123-def456-789abc")
        self.passphrase = passphrase_field("Your passphrase", "The passphrase of this profile")
        self.message = message_label("Connection message", lines=3)
        self.connect_button = QPushButton("&Connect")
        self.connect_button.setAccessibleName("Connect")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.connect_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(
            "Your program's administrator gives you the server's address and a one-time code. "
            "Your passphrase protects your personal key on the server, so a replacement laptop "
            "can get your caseload back; the server never sees it.", name="About connecting"))
        for widget in (labelled("Server &address", self.server),
                       labelled("Enrolment c&ode", self.code),
                       labelled("Your &passphrase", self.passphrase), self.message, buttons):
            layout.addWidget(widget)
        buttons.accepted.connect(self._connect)
        buttons.rejected.connect(self.reject)

    def _connect(self) -> None:
        server, code = self.server.text().strip(), self.code.text().strip()
        passphrase = self.passphrase.text()
        if self._working or not (server and code and passphrase):
            set_error(self.message, "Fill in the address, the code and your passphrase.")
            return
        if not server.startswith(("https://", "http://")):
            # "could not be reached" would hide the one thing missing (a newcomer's case)
            set_error(self.message, "Start the address with https:// as your administrator "
                                    f"gave it (for example https://{server}); http:// is only "
                                    "for a test server on this computer.")
            return
        self._working = True
        self.connect_button.setEnabled(False)
        set_error(self.message, "")
        self.message.setText("Connecting…")
        session = self._ctx.session
        # Enrolment gives the profile's earlier records to the server's user: a change.
        on_profile(self._ctx.runner, session,
                   lambda s: enrol(s, server_url=server, code=code, passphrase=passphrase,
                                   device_name=platform.node() or "laptop"),
                   owner=self, changes=True) \
            .done(self._done).shown_in(self.message, after_failure=self._try_again).run()

    def _done(self, done: Enrolment) -> None:
        self._working = False
        self.passphrase.clear()
        said = f"Connected as {done.name} ({done.role})."
        if done.adopted:
            said += (f" {records_words(done.adopted)} written on this laptop before connecting "
                     "now go up as yours; anything the program does not accept is shown under "
                     "Needs attention and kept here.")
        self.enrolled.emit(said)
        self.accept()

    def _try_again(self) -> None:
        self._working = False
        self.connect_button.setEnabled(True)


def records_words(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"
