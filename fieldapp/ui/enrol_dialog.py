"""Connect this profile to the program's server with the one-time code from the administrator
(and, on a replacement laptop, the person's recovery code)."""

from __future__ import annotations

import platform

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.services.enrolment import (
    ENROLMENT_CODE_SPENT,
    Admission,
    Enrolment,
    store_enrolment,
)
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import on_profile
from fieldapp.ui.recovery_code_dialog import RecoveryCodeDialog
from fieldapp.ui.widgets import labelled, message_label, paragraph, set_error
from sync.client.enrol import ask_to_join


class EnrolDialog(QDialog):
    """Server address, enrolment code and, on a replacement laptop, the recovery code;
    connects off the UI thread. After a first enrolment the new recovery code is shown once
    (`RecoveryCodeDialog`). On a replacement laptop the server's answer waits in memory while
    the person types the recovery code, as often as they need: the enrolment code is spent.

    Attributes:
        recovery_dialog: the recovery code window opened after a first enrolment, if any.

    Signals:
        enrolled(str): a sentence saying who the server knows this device as.
    """

    enrolled = Signal(str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._working = ctx, False
        self._admission: Admission | None = None
        self._warned = False  # that cancelling now wastes the spent enrolment code
        self.recovery_dialog: RecoveryCodeDialog | None = None
        self.setWindowTitle("Connect to your program's server")
        self.setAccessibleName("Connect to your program's server")
        self.setMinimumWidth(480)
        self.server = QLineEdit()
        self.server.setAccessibleName("Server address")
        self.server.setPlaceholderText("https://fieldapp.example-program.org")
        self.code = QLineEdit()
        self.code.setAccessibleName("Enrolment code")
        self.code.setPlaceholderText("abc123-def456-789abc")
        self.device_name = QLineEdit(platform.node() or "laptop")
        self.device_name.setAccessibleName("Laptop name")
        self.device_name.setAccessibleDescription(
            "How your administrator tells your laptops apart, for example if one is lost")
        self.device_name.setMaxLength(100)
        self.recovery = QLineEdit()
        self.recovery.setAccessibleName("Recovery code")
        self.recovery.setAccessibleDescription(
            "Only if you already use FieldApp on another laptop")
        self.recovery.setPlaceholderText("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
        self.message = message_label("Connection message", lines=3)
        self.connect_button = QPushButton("&Connect")
        self.connect_button.setAccessibleName("Connect")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.connect_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(
            "Your program's administrator gives you the server's address and a one-time code.",
            name="About connecting"))
        for widget in (labelled("Server &address", self.server),
                       labelled("Enrolment c&ode", self.code),
                       labelled("&Laptop name, for your administrator (for example \u201cRosa's "
                                "work laptop\u201d)", self.device_name),
                       labelled("&Recovery code: only if you already use FieldApp on another "
                                "laptop", self.recovery),
                       paragraph("Setting up a replacement laptop? Enter the recovery code you "
                                 "printed or stored when you first connected: it brings your "
                                 "key, and so your cases, to this laptop. Connecting for the "
                                 "first time? Leave it empty: you will be shown your recovery "
                                 "code once, to print or store.", name="About the recovery code"),
                       self.message, buttons):
            layout.addWidget(widget)
        buttons.accepted.connect(self._connect)
        buttons.rejected.connect(self.reject)

    def _connect(self) -> None:
        if self._working:
            return
        if self._admission is not None:  # the server answered; only the recovery code is left
            self._keep(self._admission)
            return
        server, code = self.server.text().strip(), self.code.text().strip()
        name = " ".join(self.device_name.text().split())
        if not (server and code):
            set_error(self.message, "Fill in the address and the code.")
            return
        if not name:
            set_error(self.message, "Give this laptop a name your administrator will "
                                    "recognise, for example \u201cRosa's work laptop\u201d.")
            return
        if not server.startswith(("https://", "http://")):
            # "could not be reached" would hide the one thing missing (a newcomer's case)
            set_error(self.message, "Start the address with https:// as your administrator "
                                    f"gave it (for example https://{server}); http:// is only "
                                    "for a test server on this computer.")
            return
        self._busy("Connecting…")
        on_profile(self._ctx.runner, self._ctx.session,
                   lambda s: ask_to_join(s, server_url=server, code=code,
                                         device_name=name),
                   owner=self) \
            .done(self._admitted).shown_in(self.message, after_failure=self._try_again).run()

    def _admitted(self, admission: Admission) -> None:
        self._admission = admission
        # The code is spent: only the recovery code can be tried again.
        for spent in (self.server, self.code, self.device_name):
            spent.setEnabled(False)
        if admission.recovering and not self.recovery.text().strip():
            self._try_again()
            set_error(self.message, "You already use FieldApp on another laptop: enter the "
                                    "recovery code you printed or stored when you first "
                                    "connected, then Connect.")
            self.recovery.setFocus()
            return
        self._keep(admission)

    def _keep(self, admission: Admission) -> None:
        self._busy("Opening your key…" if admission.recovering else "Connecting…")
        recovery_code = self.recovery.text()
        # Enrolment gives the profile's earlier records to the server's user: a change.
        on_profile(self._ctx.runner, self._ctx.session,
                   lambda s: store_enrolment(s, admission, recovery_code=recovery_code),
                   owner=self, changes=True) \
            .done(self._done).shown_in(self.message, after_failure=self._try_again).run()

    def _busy(self, saying: str) -> None:
        self._working = True
        self.connect_button.setEnabled(False)
        set_error(self.message, "")
        self.message.setText(saying)

    def _done(self, done: Enrolment) -> None:
        self._working, self._admission = False, None
        self.recovery.clear()
        said = f"Connected as {done.name} ({done.role})."
        if done.adopted:
            said += (f" {records_words(done.adopted)} written on this laptop before connecting "
                     "now go up as yours; anything the program does not accept is shown under "
                     "Needs attention and kept here.")
        if done.recovery_code:
            # Beside the window this dialog came from: this one closes now.
            shown = RecoveryCodeDialog(done.recovery_code, person=done.name,
                                       server_url=done.server_url, parent=self.parentWidget())
            shown.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.recovery_dialog = shown
            shown.open()
        self.enrolled.emit(said)
        self.accept()

    def reject(self) -> None:
        if self._admission is not None and not self._warned:
            self._warned = True
            set_error(self.message, f"{ENROLMENT_CODE_SPENT} Press Cancel again to stop, or "
                                    "enter the recovery code and Connect.")
            # The longest thing this dialog says: the window grows to show all of it.
            self.message.setMinimumHeight(self.message.heightForWidth(self.message.width()))
            self.adjustSize()
            return
        super().reject()

    def _try_again(self) -> None:
        self._working = False
        self.connect_button.setEnabled(True)


def records_words(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"
