"""Who an export is for, why, and what it rests on: a consent or one documented exception.

A box of the export dialog. The app checks the consents when the export is made (on the
database worker, `services/exports/basis.py`); this box only gathers the terms.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.services.exports.collect import KnownRecipient
from fieldapp.ui.widgets import paragraph

RECIPIENT_KINDS = (RecipientKind.PROGRAM_STAFF, RecipientKind.COURT,
                   RecipientKind.TREATMENT_PROVIDER, RecipientKind.CHILD_WELFARE,
                   RecipientKind.PATIENT, RecipientKind.OTHER)
# The basis a kind of recipient usually rests on: the person can choose another.
USUAL_BASIS = {RecipientKind.PROGRAM_STAFF: Exception_.PROGRAM_USE,
               RecipientKind.PATIENT: Exception_.PATIENT_ACCESS}
CONSENT = "consent"
# An internal use or a person's own records: the purpose is what documents it.
PURPOSE_DOCUMENTS = (Exception_.PROGRAM_USE, Exception_.PATIENT_ACCESS)


class DisclosureTerms(QGroupBox):
    """The recipient, purpose and basis fields, with the usual basis for each kind of
    recipient and the recipients consents on the caseload name offered to pick."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Who it is for", parent)
        self.setAccessibleName("Who the export is for")
        self.recipient_kind = QComboBox()
        for kind in RECIPIENT_KINDS:
            self.recipient_kind.addItem(str(kind).capitalize(), kind)
        self.recipient = QComboBox()
        self.recipient.setEditable(True)
        self.recipient.setPlaceholderText("For example: Payroll office")
        self.purpose = QLineEdit()
        self.purpose.setPlaceholderText("For example: monthly mileage reimbursement")
        self.basis = QComboBox()
        self.basis.addItem("The consent of each person in it (checked when you export)",
                           CONSENT)
        for exception in Exception_:
            self.basis.addItem(f"No consent needed: {exception} ({exception.citation})",
                               exception)
        self.reference = QLineEdit()
        self.reference_label = QLabel()
        self.reference_label.setBuddy(self.reference)
        self.help = paragraph("", name="About this basis")
        self.help.setStyleSheet("color: #444444;")
        for widget, name in ((self.recipient_kind, "Kind of recipient"),
                             (self.recipient, "Recipient"), (self.purpose, "Purpose"),
                             (self.basis, "Disclosed under"),
                             (self.reference, "Exception documented by")):
            widget.setAccessibleName(name)
        form = QFormLayout(self)
        form.addRow("Recipient &kind", self.recipient_kind)
        form.addRow("For &whom", self.recipient)
        form.addRow("Pur&pose", self.purpose)
        form.addRow("Disclosed &under", self.basis)
        form.addRow(self.reference_label, self.reference)
        form.addRow("", self.help)
        self.recipient_kind.currentIndexChanged.connect(lambda _: self._usual_basis())
        self.recipient.activated.connect(self._known_recipient)
        self.basis.currentIndexChanged.connect(lambda _: self._show_basis())
        self._usual_basis()

    def offer(self, recipients: Sequence[KnownRecipient]) -> None:
        """The recipients named in consents in force, to choose from (typing stays open);
        what is already typed stays."""
        typed = self.recipient.currentText()
        self.recipient.clear()
        for known in recipients:
            self.recipient.addItem(known.recipient.name, known)
        self.recipient.setCurrentIndex(-1)
        self.recipient.setEditText(typed)

    def preset(self, recipient: Recipient, *, purpose: str) -> None:
        self.recipient_kind.setCurrentIndex(max(self.recipient_kind.findData(recipient.kind), 0))
        self.recipient.setEditText(recipient.name)
        self.purpose.setText(purpose)

    def exception(self) -> Exception_ | None:
        data = self.basis.currentData()
        return None if data in (None, CONSENT) else Exception_(data)

    def terms(self) -> Terms:
        """What the fields say; `RuleViolation` names what is missing."""
        exception = self.exception()
        reference = self.reference.text().strip()
        purpose = self.purpose.text().strip()
        recipient = self.recipient.currentText().strip()
        if exception in PURPOSE_DOCUMENTS and not reference:
            # The box says "(optional)": the recipient and purpose, both required, document it,
            # so the record still says to whom and why. Without them the refusal asks for
            # them alone (Terms refuses both empty, so the stand-in never reaches a record).
            reference = f"{recipient}: {purpose}" if recipient and purpose else "(the purpose)"
        return Terms(recipient=Recipient(name=recipient,
                                         kind=RecipientKind(self.recipient_kind.currentData())),
                     purpose=purpose, exception=exception, reference=reference)

    def _usual_basis(self) -> None:
        usual = USUAL_BASIS.get(RecipientKind(self.recipient_kind.currentData()))
        self.basis.setCurrentIndex(max(self.basis.findData(usual or CONSENT), 0))
        self._show_basis()

    def _known_recipient(self, index: int) -> None:
        """A recipient a consent names: its kind and purpose follow."""
        known = self.recipient.itemData(index)
        if not isinstance(known, KnownRecipient):
            return
        self.recipient_kind.setCurrentIndex(
            max(self.recipient_kind.findData(known.recipient.kind), 0))
        self.purpose.setText(known.purpose)

    def _show_basis(self) -> None:
        exception = self.exception()
        self.reference.setEnabled(exception is not None)
        optional = " (optional)" if exception in PURPOSE_DOCUMENTS else ""
        self.reference_label.setText(f"{exception.reference_label}{optional}" if exception
                                     else "Documented by")
        documented = (" Left empty, the recipient and purpose above document it."
                      if exception in PURPOSE_DOCUMENTS else "")
        # The choice in full first: the box is narrower than its longest choices (a newcomer
        # read "No consent needed: within the program (42 CFR 2.1" and no more).
        chosen = self.basis.currentText()
        self.basis.setToolTip(chosen)
        self.help.setText(f"{chosen}. " + (
            exception.explanation + documented if exception else
            "Every person in recovery in the export needs a consent in force that names this "
            "recipient, this purpose and this kind of information. The export carries a "
            "summary of each consent and the notice of 42 CFR 2.32."))
