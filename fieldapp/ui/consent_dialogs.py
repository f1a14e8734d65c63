"""Record a signed consent (42 CFR 2.31), or end one: revoked, or its expiry event happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.consent import (
    CONSENT_RECIPIENT_KINDS,
    REVOCATION_STATEMENT,
    Consent,
    ConsentEnd,
    EndKind,
    Information,
    Recipient,
    RecipientKind,
)
from fieldapp.domain.people import CaseId, ConsentId, UserId, new_id
from fieldapp.services.consents import ConsentService, ConsentView
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.ops import change, query
from fieldapp.ui.panel_model import name_with_inner
from fieldapp.ui.review_dialogs import day_text, push_button
from fieldapp.ui.tables import table
from fieldapp.ui.widgets import message_label, paragraph, set_error


@dataclass(frozen=True, kw_only=True)
class _Setup:
    program: str
    today: date
    people: list[str]


def date_edit(name: str, day: date) -> QDateEdit:
    edit = QDateEdit(QDate(day.year, day.month, day.day))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("d MMM yyyy")
    name_with_inner(edit, name)
    return edit


def buddy_label(text: str, field: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(field)
    return label


def strip(*items: QWidget | tuple[QWidget, int], vertical: bool = False) -> QWidget:
    """Widgets side by side (or one above the other), each `(widget, stretch)` or a widget."""
    box = QWidget()
    layout = QVBoxLayout(box) if vertical else QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for item in items:
        widget, stretch = item if isinstance(item, tuple) else (item, 0)
        layout.addWidget(widget, stretch)
    return box


def day_of(edit: QDateEdit) -> date:
    shown = edit.date()
    return date(shown.year(), shown.month(), shown.day())


def line(name: str, placeholder: str = "") -> QLineEdit:
    field = QLineEdit()
    field.setAccessibleName(name)
    field.setPlaceholderText(placeholder)
    return field


class RecordConsentDialog(QDialog):
    """One field per element of 42 CFR 2.31(a), filled from the signed form.

    Nothing is saved unless every element is there: the service's refusal is shown here.

    Signals:
        recorded(object): the `Consent` as saved.
    """

    recorded = Signal(object)

    def __init__(self, ctx: UiContext, *, case_id: CaseId, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record consent")
        self.setAccessibleName("Record consent")
        self._ctx, self._case_id = ctx, case_id
        self._consent_id = ConsentId(new_id())
        self._signer_default = ""
        self._build()
        self._lay_out()
        self.person.currentTextChanged.connect(self._person_changed)
        self.has_expiry.toggled.connect(self.expires_on.setEnabled)
        self.add_recipient_button.clicked.connect(self._add_recipient)
        self.recipient_name.returnPressed.connect(self._add_recipient)
        self.remove_recipient_button.clicked.connect(self._remove_recipient)
        self.buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self._save)
        self.setEnabled(False)
        self.message.setText("Loading…")
        self._load()

    def _build(self) -> None:
        self.person = QComboBox()
        self.person.setAccessibleName("Person in recovery")
        self.disclosing_party = line("Who may disclose", "The program, by name")
        self.information = {kind: QCheckBox(str(kind).capitalize()) for kind in Information}
        for kind, box in self.information.items():
            box.setAccessibleName(f"Information: {kind}")
        self.description = line("Specific description of the information",
                                "For example: notes of home visits from March to June 2026")
        self.recipient_name = line("Recipient's name", "For example: Cook County Circuit Court")
        self.recipient_kind = QComboBox()
        self.recipient_kind.setAccessibleName("Kind of recipient")
        for recipient_kind in CONSENT_RECIPIENT_KINDS:  # never program staff or the person
            self.recipient_kind.addItem(str(recipient_kind).capitalize(), str(recipient_kind))
        self.add_recipient_button = push_button("&Add recipient")
        self.add_recipient_button.setAutoDefault(False)
        self.recipients_model: RowsModel[Recipient] = RowsModel(
            [Column("Recipient", lambda r: r.name), Column("Kind", lambda r: str(r.kind))], self)
        self.recipients = table("Recipients", self.recipients_model)
        self.recipients.setMinimumHeight(0)
        self.recipients.setMaximumHeight(96)
        self.remove_recipient_button = push_button("Remo&ve recipient")
        self.remove_recipient_button.setAutoDefault(False)
        self.purpose = line("Purpose of the disclosure",
                            "For example: to report progress to the court in case 26-JA-114")
        self.statement = paragraph(REVOCATION_STATEMENT, name="Statement of the right to revoke")
        self.statement.setFrameShape(QLabel.Shape.StyledPanel)
        self.statement.setMargin(6)
        self.statement_on_form = QCheckBox(
            "The statement of the right to revoke is on the signed &form")
        self.statement_on_form.setAccessibleName(
            "The statement of the right to revoke is on the signed form")
        self.has_expiry = QCheckBox("Expires on a &date:")
        self.has_expiry.setAccessibleName("Expires on a date")
        self.expires_on = date_edit("Expiry date", date.today())
        self.expires_on.setEnabled(False)
        self.expiry_event = line("Expiry event or condition",
                                 "For example: the court closes the case")
        self.signed_by = line("Signed by")
        self.signer_authority = line("Signer's authority, if not the person",
                                     "For example: legal guardian")
        self.signed_on = date_edit("Date signed", date.today())
        self.message = message_label("Record consent message", lines=2)
        self.save_button = push_button("&Save consent")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        # Enter in a field (adding a recipient) must neither save nor cancel by surprise.
        for each in self.buttons.findChildren(QPushButton):
            each.setAutoDefault(False)

    def _lay_out(self) -> None:
        info = QWidget()
        grid = QGridLayout(info)
        grid.setContentsMargins(0, 0, 0, 0)
        for at, box in enumerate(self.information.values()):
            grid.addWidget(box, 0, at)
        grid.addWidget(self.description, 1, 0, 1, len(self.information))
        rows: list[tuple[str, QWidget, QWidget]] = [
            ("1. &Person in recovery", self.person, self.person),
            ("2. &Who may disclose", self.disclosing_party, self.disclosing_party),
            ("3. &Information", self.information[Information.VISIT_NOTES], info),
            ("4. &Recipients", self.recipient_name, strip(
                (self.recipient_name, 3), (self.recipient_kind, 2), self.add_recipient_button)),
            ("", self.recipients, strip((self.recipients, 1), self.remove_recipient_button)),
            ("5. P&urpose", self.purpose, self.purpose),
            ("6. Right to revoke", self.statement_on_form,
             strip(self.statement, self.statement_on_form, vertical=True)),
            ("7. Expires", self.has_expiry, strip(
                self.has_expiry, self.expires_on,
                buddy_label("or &on the event:", self.expiry_event), (self.expiry_event, 1))),
            ("8. Si&gned by", self.signed_by, strip(
                (self.signed_by, 1),
                buddy_label("aut&hority, if not the person:", self.signer_authority),
                (self.signer_authority, 1))),
            ("9. Da&te signed", self.signed_on, strip(self.signed_on, (QWidget(), 1))),
        ]
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for text, buddy, field in rows:
            form.addRow(buddy_label(text, buddy), field)
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(
            "Copy the consent from the signed form. Each line is one element 42 CFR 2.31(a) "
            "requires; a consent missing any of them cannot be recorded. A recorded consent is "
            "never edited: if the form changes, record the new one.", name="About consents"))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(760)

    def _load(self) -> None:
        case_id = self._case_id

        def load(ws: Workspace) -> _Setup:
            return _Setup(program=ws.settings.program_name, today=ws.today(),
                          people=ConsentService(ws).people(case_id))

        query(self._ctx, load, owner=self).done(self._loaded) \
            .shown_in(self.message, after_failure=self._enable).run()

    def _loaded(self, setup: _Setup) -> None:
        self.setEnabled(True)
        self.message.setText("")
        self.disclosing_party.setText(setup.program)
        self.person.addItems(setup.people)
        for edit in (self.signed_on, self.expires_on):
            edit.setMaximumDate(QDate(9999, 12, 31))
        self.signed_on.setDate(QDate(setup.today.year, setup.today.month, setup.today.day))
        a_year = setup.today + timedelta(days=365)
        self.expires_on.setDate(QDate(a_year.year, a_year.month, a_year.day))
        self.person.setFocus()

    def _person_changed(self, name: str) -> None:
        # The signer is the person unless someone else signed: follow the person until edited.
        if self.signed_by.text() in ("", self._signer_default):
            self.signed_by.setText(name)
        self._signer_default = name

    def _add_recipient(self) -> None:
        name = " ".join(self.recipient_name.text().split())
        if not name:
            set_error(self.message, "Type the recipient's name, then add it.")
            self.recipient_name.setFocus()
            return
        recipient = Recipient(name=name, kind=RecipientKind(self.recipient_kind.currentData()))
        rows = self.recipients_model.rows
        if not any(r.same_as(recipient) for r in rows):
            self.recipients_model.set_rows([*rows, recipient])
        set_error(self.message, "")
        self.recipient_name.clear()
        self.recipient_name.setFocus()

    def _remove_recipient(self) -> None:
        index = self.recipients.currentIndex()
        rows = self.recipients_model.rows
        if index.isValid():
            del rows[index.row()]
            self.recipients_model.set_rows(rows)

    def consent(self) -> Consent:
        """The consent as the fields now say (recorded by and at are the service's)."""
        return Consent(
            id=self._consent_id, case_id=self._case_id, patient=self.person.currentText(),
            disclosing_party=self.disclosing_party.text().strip(),
            information=tuple(k for k, box in self.information.items() if box.isChecked()),
            description=self.description.text().strip(),
            recipients=tuple(self.recipients_model.rows), purpose=self.purpose.text().strip(),
            expires_on=day_of(self.expires_on) if self.has_expiry.isChecked() else None,
            expiry_event=self.expiry_event.text().strip(),
            signed_by=self.signed_by.text().strip(),
            signer_authority=self.signer_authority.text().strip(),
            signed_on=day_of(self.signed_on), recorded_by=UserId(""),
            recorded_at=self._ctx.clock())

    def _save(self) -> None:
        if self.recipient_name.text().strip():
            set_error(self.message, "Add the recipient you typed (Add recipient), or clear "
                                    "the name.")
            return
        if not self.statement_on_form.isChecked():
            set_error(self.message, "Check that the signed form states the right to revoke, "
                                    "then tick the box under it.")
            self.statement_on_form.setFocus()
            return
        consent = self.consent()
        self.save_button.setEnabled(False)  # also what stops a second click saving twice
        set_error(self.message, "")
        change(self._ctx, lambda ws: ConsentService(ws).record(consent), owner=self) \
            .done(self._saved).shown_in(self.message, after_failure=self._enable).run()

    def _saved(self, consent: Consent) -> None:
        self.recorded.emit(consent)
        self.accept()

    def _enable(self) -> None:
        self.setEnabled(True)
        self.save_button.setEnabled(True)


class EndConsentDialog(QDialog):
    """Revoke a consent, or record that its expiry event happened; asks once more before.

    Attributes:
        confirmation: the last question asked (None until asked), for tests and screenshots.

    Signals:
        ended(object): the `ConsentEnd` as saved.
    """

    ended = Signal(object)

    def __init__(self, ctx: UiContext, *, view: ConsentView, kind: EndKind, today: date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        revoke = kind is EndKind.REVOKED
        title = "Revoke consent" if revoke else "Expiry event happened"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(520)
        self._ctx, self._view, self._kind = ctx, view, kind
        self.confirmation: QMessageBox | None = None
        consent = view.consent
        about = (f"Consent of {consent.patient}, signed {day_text(consent.signed_on)}, to "
                 f"{'; '.join(str(r) for r in consent.recipients)}, for: {consent.purpose}.")
        if not revoke:
            about += f" It ends when: {consent.expiry_event or 'no event is named'}."
        self.on = date_edit("Revoked on" if revoke else "Date of the event", today)
        self.on.setMaximumDate(QDate(today.year, today.month, today.day))
        self.how = line("How the revocation was received" if revoke else "What happened",
                        "For example: signed note handed to the coordinator" if revoke
                        else "For example: the court closed the case on this date")
        self.message = message_label(f"{title} message", lines=2)
        self.end_button = push_button("&Revoke…" if revoke else "&Record event…")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self.buttons.addButton(self.end_button, QDialogButtonBox.ButtonRole.ActionRole)
        form = QFormLayout()
        on_label, how_label = QLabel("Revoked &on" if revoke else "&Date of the event"), QLabel(
            "&How it was received" if revoke else "&What happened")
        on_label.setBuddy(self.on)
        how_label.setBuddy(self.how)
        form.addRow(on_label, self.on)
        form.addRow(how_label, self.how)
        layout = QVBoxLayout(self)
        layout.addWidget(paragraph(about, name="The consent"))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.buttons.rejected.connect(self.reject)
        self.end_button.clicked.connect(self._ask)
        # Once in the dialog (else Cancel, the first button, becomes the default): Enter asks
        # the question, which decides nothing yet.
        self.end_button.setDefault(True)
        self.how.setFocus()

    def _ask(self) -> None:
        if not self.how.text().strip():
            set_error(self.message, "Say how the revocation was received (for example, a "
                      "signed note)." if self._kind is EndKind.REVOKED else "Say what happened.")
            self.how.setFocus()
            return
        on = day_text(day_of(self.on))
        revoke = self._kind is EndKind.REVOKED
        box = QMessageBox(QMessageBox.Icon.Warning, self.windowTitle(),
                          f"Revoke this consent? Nothing can be disclosed under it from {on}. "
                          "This cannot be undone." if revoke else
                          f"Record that the expiry event happened? Nothing can be disclosed "
                          f"under this consent from {on}. This cannot be undone.",
                          QMessageBox.StandardButton.NoButton, self)
        box.setAccessibleName(self.windowTitle())
        yes = box.addButton("Revoke" if revoke else "Record event",
                            QMessageBox.ButtonRole.DestructiveRole)
        no = box.addButton(QMessageBox.StandardButton.Cancel)
        yes.setAccessibleName(yes.text())
        no.setAccessibleName("Cancel")
        box.setDefaultButton(no)
        box.setEscapeButton(no)
        box.buttonClicked.connect(lambda clicked: self._end() if clicked is yes else None)
        self.confirmation = box
        box.open()

    def _end(self) -> None:
        consent_id, kind, on = self._view.consent.id, self._kind, day_of(self.on)
        how = self.how.text().strip()
        self.end_button.setEnabled(False)
        set_error(self.message, "")
        change(self._ctx, lambda ws: ConsentService(ws).end(consent_id, kind=kind, on=on,
                                                            how=how), owner=self) \
            .done(self._saved).shown_in(self.message, after_failure=self._try_again).run()

    def _saved(self, end: ConsentEnd) -> None:
        self.ended.emit(end)
        self.accept()

    def _try_again(self) -> None:
        self.end_button.setEnabled(True)
        self.how.setFocus()
