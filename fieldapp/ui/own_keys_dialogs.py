"""The person's own keys, replaced (`sync/client/rekey.py`): the new recovery code made on this
laptop, shown until the person says they stored it; and, on another laptop of theirs, taking up
the new keys with that code (`TakeUpKeysDialog`).

Thread rule: widgets on the UI thread; reading the code, forgetting it and taking up the keys
run on the database worker (`ops`); taking up also asks the server, from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.errors import KnownError, WrongRecoveryCode
from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import on_profile
from fieldapp.ui.recovery_code_dialog import RecoveryCodeDialog
from fieldapp.ui.sync_controller import SyncController
from fieldapp.ui.widgets import heading, labelled, message_label, paragraph, set_error
from sync.client.attention import KEYS_ELSEWHERE, NEW_RECOVERY_CODE
from sync.client.rekey import take_up

# Needs attention's words for the two kinds of item (`sync/client/attention.py`).
OWN_KEYS_KINDS = {NEW_RECOVERY_CODE: "Your new recovery code, to store",
                  KEYS_ELSEWHERE: "Waiting for your new recovery code"}
OWN_KEYS_HINTS = {
    NEW_RECOVERY_CODE: "Show the new recovery code… to print it or write it down, then enter it "
                       "on your other laptops. Once you say you stored it, FieldApp forgets it "
                       "and this item goes.",
    KEYS_ELSEWHERE: "Enter the new recovery code… asks for the code your other laptop shows "
                    "under Needs attention; with it, this laptop uses your new keys and syncs "
                    "again. A wrong code changes nothing.",
}
TAKEN_UP = "Your new keys are in use on this laptop."
ABOUT_TAKING_UP = (
    "Your keys were replaced on another of your laptops. Enter the new recovery code shown "
    "there (under Needs attention) to use the new keys here too. Until then this laptop sends "
    "nothing; its changes wait here, untouched.")
NEW_CODE_WORDS = (
    "Your keys were replaced because {reason}. This is your new recovery code.")
# Said for a code that does not open the keys: the domain's sentence sends the person to the code
# of their first enrolment, and here it is the new one that matters.
WRONG_NEW_CODE = (
    "That code does not open your new keys. Check it group by group against the new recovery "
    "code your other laptop showed you (under Needs attention there), and try again.")
NO_NEW_CODE = "There is no new recovery code on this laptop any more."


@dataclass(frozen=True)
class NewCode:
    """The recovery code of keys replaced here, and what its printout names."""

    code: str = field(repr=False)
    person: str
    server_url: str
    reason: str


def read_new_code(session: Session) -> NewCode | None:
    """The new recovery code kept here, if the person has not stored it yet (database worker)."""
    new = enrolment.new_recovery_code_of(session)
    if new is None:
        return None
    enrolled = enrolment.enrolment_of(session) or {}
    return NewCode(code=new["recovery_code"], person=str(enrolled.get("user", {}).get("name", "")),
                   server_url=str(enrolled.get("server_url", "")),
                   reason=new.get("reason") or "they had to be replaced")


def show_new_code(ctx: UiContext, parent: QWidget, *, shown_in: QLabel,
                  stored: Callable[[], None], after_failure: Callable[[], None]) -> None:
    """Read the new recovery code on the worker and show it in the recovery code window;
    `stored()` once the person ticks that they stored it and presses Done (a window FieldApp
    closes itself, at a lock, leaves the code kept, to be shown again)."""

    def opened(new: NewCode | None) -> None:
        after_failure()  # the buttons are the caller's again, whatever follows
        if new is None:
            set_error(shown_in, NO_NEW_CODE)
            return
        shown = RecoveryCodeDialog(new.code, person=new.person, server_url=new.server_url,
                                   words=enrolment.NEW_RECOVERY_CODE_WORDS, can_wait=True,
                                   parent=parent)
        shown.setWindowTitle("Your new recovery code")
        shown.setAccessibleName("Your new recovery code")
        shown.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # it held the code
        layout = shown.layout()
        if isinstance(layout, QBoxLayout):  # why a new code, under the window's heading
            layout.insertWidget(1, paragraph(NEW_CODE_WORDS.format(reason=new.reason),
                                             name="Why you have a new recovery code"))
        shown.accepted.connect(stored)
        shown.open()

    on_profile(ctx.runner, ctx.session, read_new_code, owner=parent) \
        .done(opened).shown_in(shown_in, after_failure=after_failure).run()


class TakeUpKeysDialog(QDialog):
    """The new recovery code, typed in; OK opens the new keys off the UI thread and uses them
    from now on. A wrong code, damaged keys or a server that cannot be reached is said here
    and changes nothing, and the person can try again; on success the window closes and, if
    it was given the sync controller, a sync starts.

    Attributes:
        code: the field for the new recovery code.
        message: what is happening, or what went wrong.

    Signals:
        taken_up(str): the new keys are in use here; carries the sentence to show.
    """

    taken_up = Signal(str)

    def __init__(self, ctx: UiContext, *, controller: SyncController | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._controller, self._working = ctx, controller, False
        self.setWindowTitle("Take up your new keys")
        self.setAccessibleName("Take up your new keys")
        self.setMinimumWidth(520)
        self.code = QLineEdit()
        self.code.setAccessibleName("New recovery code")
        self.code.setPlaceholderText("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Opening your new keys")
        self.progress.setRange(0, 0)  # busy, for as long as it takes
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.message = message_label("Take up message", lines=3)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setAccessibleName("OK")
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Take up your new keys"))
        layout.addWidget(paragraph(ABOUT_TAKING_UP, name="About taking up new keys"))
        layout.addWidget(labelled("New &recovery code", self.code))
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._take_up)
        self.buttons.rejected.connect(self.reject)

    def _take_up(self) -> None:
        if self._working:
            return
        code = self.code.text().strip()
        if not code:
            set_error(self.message, "Enter the new recovery code shown on your other laptop.")
            self.code.setFocus()
            return
        self._busy(True)
        set_error(self.message, "")
        self.message.setText("Opening your new keys…")
        on_profile(self._ctx.runner, self._ctx.session, lambda s: take_up(s, code), owner=self,
                   changes=True) \
            .done(self._done).failed(self._refused, after_failure=self._try_again).run()

    def _done(self, _: object) -> None:
        self._busy(False)
        self.code.clear()
        self.message.setText(TAKEN_UP)
        self.taken_up.emit(TAKEN_UP)
        if self._controller is not None:
            self._controller.refresh()
            self._controller.sync_now()
        self.accept()

    def _refused(self, error: KnownError) -> None:
        """Wrong code, damaged keys, the server unreachable or saying no: nothing changed."""
        wrong = isinstance(error, WrongRecoveryCode) and \
            error.message == WrongRecoveryCode().message
        set_error(self.message, WRONG_NEW_CODE if wrong else error.message)

    def _try_again(self) -> None:
        self._busy(False)
        self.code.setFocus()
        self.code.selectAll()

    def _busy(self, working: bool) -> None:
        self._working = working
        self.progress.setVisible(working)
        for widget in (self.code, self.ok_button, self.cancel_button):
            widget.setEnabled(not working)

    def reject(self) -> None:
        if not self._working:  # the keys may be in use a moment from now: wait for the answer
            super().reject()
