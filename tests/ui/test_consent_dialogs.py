"""The consents window: record a consent through the real dialog, refusals, revocation with its
confirmation, and the accounting of disclosures, over a real profile and database worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import shiboken6
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.consent import (
    Consent,
    ConsentState,
    EndKind,
    Information,
    Recipient,
    RecipientKind,
)
from fieldapp.domain.disclosure import Basis, Disclosure, Exception_
from fieldapp.domain.people import Actor, CaseId, ConsentId, DisclosureId, Role, UserId, new_id
from fieldapp.services.casework import CaseService
from fieldapp.services.consents import ConsentService, ConsentView, record_disclosures
from fieldapp.services.workspace import Workspace
from fieldapp.ui import accounting_view, consents_window
from fieldapp.ui.accounting_view import AccountingView
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.consent_dialogs import EndConsentDialog, RecordConsentDialog
from fieldapp.ui.consents_window import ConsentsWindow
from fieldapp.ui.context import UiContext
from tests.conftest import FakeClock
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

ME = UserId("rc-1")
MARIA, LUIS = "Maria Lopez", "Luis Lopez"
COURT = Recipient(name="Cook County Circuit Court", kind=RecipientKind.COURT)
TODAY = date(2026, 11, 24)  # FakeClock's day in Chicago


@dataclass
class Family:
    ctx: UiContext
    case_id: CaseId


@pytest.fixture
def family(make_context: ContextFactory, clock: FakeClock) -> Family:
    """A case with two parents in recovery on the coordinator's caseload, set up by a
    supervisor."""
    ctx = make_context(user_id=ME)
    case_id = CaseId(new_id())

    def setup() -> None:
        ws = Workspace(ctx.session.vault(), actor=Actor(user_id=UserId("sup-1"),
                                                        role=Role.SUPERVISOR), clock=clock)
        CaseService(ws).open_case(Case(
            id=case_id, family_name="Lopez", start_date=TODAY - timedelta(days=60),
            parents=(Person(name=MARIA, relationship="mother"),
                     Person(name=LUIS, relationship="father")),
            coordinator_id=ME, supervisor_ids=(UserId("sup-1"),)))

    ctx.runner.worker.call(setup)
    return Family(ctx, case_id)


def consent(family: Family, person: str, *, signed: date = TODAY - timedelta(days=30),
            expires: date | None = TODAY + timedelta(days=180), event: str = "") -> Consent:
    return Consent(
        id=ConsentId(new_id()), case_id=family.case_id, patient=person,
        disclosing_party="Family recovery program", information=(Information.DRUG_SCREENS,),
        description="Drug screen results from September to December 2026", recipients=(COURT,),
        purpose="Progress report to the court", expires_on=expires, expiry_event=event,
        signed_by=person, signed_on=signed, recorded_by=ME, recorded_at=datetime.now(UTC))


def stored(family: Family) -> list[ConsentView]:
    session, case_id = family.ctx.session, family.case_id
    return family.ctx.runner.worker.call(
        lambda: ConsentService(session.workspace()).for_case(case_id))


def record(family: Family, *consents: Consent) -> None:
    session = family.ctx.session
    family.ctx.runner.worker.call(
        lambda: [ConsentService(session.workspace()).record(c) for c in consents])


def open_window(qtbot: QtBot, family: Family) -> ConsentsWindow:
    window = ConsentsWindow(family.ctx, case_id=family.case_id)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.windowTitle().startswith("Lopez"), timeout=10_000)
    qtbot.waitUntil(lambda: window.accounting.status.text() != "Loading…", timeout=10_000)
    return window


def open_record(qtbot: QtBot, window: ConsentsWindow) -> RecordConsentDialog:
    qtbot.mouseClick(window.record_button, Qt.MouseButton.LeftButton)
    dialog = window.dialog
    assert isinstance(dialog, RecordConsentDialog)
    qtbot.waitUntil(dialog.isEnabled, timeout=10_000)
    return dialog


def fill(qtbot: QtBot, dialog: RecordConsentDialog, *, purpose: str = "Progress report to "
         "the court") -> None:
    """Every element, typed as a person would; Luis signs through his guardian."""
    qtbot.keyClick(dialog.person, Qt.Key.Key_Down)
    assert dialog.person.currentText() == LUIS
    assert dialog.signed_by.text() == LUIS, "the signer follows the person"
    for kind in (Information.DRUG_SCREENS, Information.ATTENDANCE):
        qtbot.keyClick(dialog.information[kind], Qt.Key.Key_Space)
    qtbot.keyClicks(dialog.description, "Screens and attendance since 1 September 2026")
    qtbot.keyClicks(dialog.recipient_name, COURT.name)
    dialog.recipient_kind.setCurrentIndex(dialog.recipient_kind.findData(str(COURT.kind)))
    qtbot.keyClick(dialog.recipient_name, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.recipient_name, "Haven House")
    dialog.recipient_kind.setCurrentIndex(
        dialog.recipient_kind.findData(str(RecipientKind.TREATMENT_PROVIDER)))
    qtbot.mouseClick(dialog.add_recipient_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.purpose, purpose)
    qtbot.keyClick(dialog.statement_on_form, Qt.Key.Key_Space)
    qtbot.keyClick(dialog.has_expiry, Qt.Key.Key_Space)
    dialog.expires_on.setDate(QDate(2027, 6, 30))
    qtbot.keyClicks(dialog.expiry_event, "the court case closes")
    dialog.signed_by.clear()
    qtbot.keyClicks(dialog.signed_by, "Rosa Lopez")
    qtbot.keyClicks(dialog.signer_authority, "legal guardian")
    dialog.signed_on.setDate(QDate(2026, 11, 20))


def test_a_consent_recorded_through_the_dialog_is_in_force(
        qtbot: QtBot, family: Family, qtmodeltester: ModelTester) -> None:
    window = open_window(qtbot, family)
    assert window.status.text() == consents_window.EMPTY and not window.view.isVisible()
    assert not window.revoke_button.isEnabled() and not window.details_button.isEnabled()
    dialog = open_record(qtbot, window)
    assert [dialog.person.itemText(i) for i in range(dialog.person.count())] == [MARIA, LUIS]
    assert dialog.disclosing_party.text() == "Family recovery program"
    assert dialog.signed_on.date() == QDate(2026, 11, 24)
    fill(qtbot, dialog)
    assert dialog.isVisible(), "Enter in the recipient's name adds it, nothing else"
    assert dialog.recipients_model.rowCount() == 2
    qtmodeltester.check(dialog.recipients_model)
    assert unnamed_controls(dialog) == []
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    assert not shiboken6.isValid(dialog), "closed once saved"
    assert window.model.index(0, consents_window.STATE_COLUMN).data() == "In force"
    assert window.status.text().startswith("Consent recorded.")
    [view] = stored(family)
    saved = view.consent
    assert (saved.patient, saved.signed_by, saved.signer_authority) == \
        (LUIS, "Rosa Lopez", "legal guardian")
    assert saved.information == (Information.DRUG_SCREENS, Information.ATTENDANCE)
    assert saved.recipients == (COURT, Recipient(name="Haven House",
                                                 kind=RecipientKind.TREATMENT_PROVIDER))
    assert (saved.expires_on, saved.expiry_event) == (date(2027, 6, 30), "the court case closes")
    assert saved.signed_on == date(2026, 11, 20) and saved.recorded_by == ME
    assert saved.purpose == "Progress report to the court"
    qtmodeltester.check(window.model)
    assert unnamed_controls(window) == []
    details = window.open_details()
    assert details is not None
    assert unnamed_controls(details) == []
    text = details.text.toPlainText()
    assert "Rosa Lopez (legal guardian) on 2026-11-20" in text and "You may revoke" in text


def test_a_missing_element_is_refused_and_nothing_is_saved(
        qtbot: QtBot, family: Family) -> None:
    window = open_window(qtbot, family)
    dialog = open_record(qtbot, window)
    kinds = dialog.recipient_kind
    # A consent names outside recipients: never the program's own staff or the person.
    assert [kinds.itemText(i) for i in range(kinds.count())] == [
        "Court", "Treatment provider", "Child-welfare agency", "Other"]
    fill(qtbot, dialog, purpose="")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "purpose" in dialog.message.text(), timeout=10_000)
    assert dialog.message.text() == "Give the purpose of the disclosure."
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert stored(family) == []
    qtbot.keyClick(dialog.statement_on_form, Qt.Key.Key_Space)  # untick: checked before saving
    qtbot.keyClicks(dialog.purpose, "Progress report")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "right to revoke" in dialog.message.text()
    assert stored(family) == []
    assert window.model.rowCount() == 0


def test_revoking_asks_first_and_cancel_leaves_it_in_force(
        qtbot: QtBot, family: Family) -> None:
    record(family, consent(family, MARIA))
    window = open_window(qtbot, family)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    assert window.revoke_button.isEnabled()
    assert not window.event_button.isEnabled(), "no expiry event is named"
    qtbot.mouseClick(window.revoke_button, Qt.MouseButton.LeftButton)
    dialog = window.dialog
    assert isinstance(dialog, EndConsentDialog)
    assert unnamed_controls(dialog) == []
    qtbot.mouseClick(dialog.end_button, Qt.MouseButton.LeftButton)
    assert "how the revocation was received" in dialog.message.text()
    assert dialog.confirmation is None, "nothing asked before the form is complete"
    qtbot.keyClicks(dialog.how, "Signed note handed to the coordinator")
    qtbot.mouseClick(dialog.end_button, Qt.MouseButton.LeftButton)
    box = dialog.confirmation
    assert box is not None and box.isVisible()
    assert box.text() == ("Revoke this consent? Nothing can be disclosed under it from "
                          "24 Nov 2026. This cannot be undone.")
    cancel = box.button(QMessageBox.StandardButton.Cancel)
    assert box.defaultButton() is cancel
    assert unnamed_controls(box) == []
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert [v.state for v in stored(family)] == [ConsentState.IN_FORCE]
    qtbot.mouseClick(dialog.end_button, Qt.MouseButton.LeftButton)
    box = dialog.confirmation
    revoke = next(b for b in box.buttons() if b.text() == "Revoke")
    qtbot.mouseClick(revoke, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.index(0, consents_window.STATE_COLUMN).data()
                    == "Revoked from 24 Nov 2026", timeout=10_000)
    [view] = stored(family)
    assert view.state is ConsentState.REVOKED
    assert [(e.kind, e.on, e.how) for e in view.ends] == \
        [(EndKind.REVOKED, TODAY, "Signed note handed to the coordinator")]
    assert not window.revoke_button.isEnabled()


def test_the_expiry_event_ends_a_consent_that_names_one(qtbot: QtBot, family: Family) -> None:
    record(family, consent(family, LUIS, expires=None, event="the court case closes"))
    window = open_window(qtbot, family)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    assert window.model.index(0, 5).data() == "when the court case closes"
    qtbot.mouseClick(window.event_button, Qt.MouseButton.LeftButton)
    dialog = window.dialog
    assert isinstance(dialog, EndConsentDialog)
    qtbot.keyClicks(dialog.how, "The court closed the case")
    qtbot.keyClick(dialog.how, Qt.Key.Key_Return)  # Enter asks; it decides nothing
    box = dialog.confirmation
    assert box is not None and box.text().startswith("Record that the expiry event happened?")
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Record event"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.index(0, consents_window.STATE_COLUMN).data()
                    == "Ended by its expiry event from 24 Nov 2026", timeout=10_000)
    assert [v.state for v in stored(family)] == [ConsentState.ENDED]


def disclose(family: Family, clock: FakeClock) -> ConsentId:
    """Two disclosures: Maria's screens to the court on consent, both parents' attendance to
    child welfare under the child-abuse report exception."""
    session, case_id = family.ctx.session, family.case_id
    base, maria = clock(), consent(family, MARIA)
    record(family, maria)

    def write() -> None:
        ws = session.workspace()
        with ws.unit() as stores:
            record_disclosures(ws, stores, [
                Disclosure(id=DisclosureId(new_id()), case_id=case_id, people=(MARIA,),
                           recipient=COURT, purpose="Progress report to the court",
                           information=Information.DRUG_SCREENS, what="Drug screen log",
                           basis=Basis(consents={MARIA: maria.id}),
                           at=base - timedelta(days=3), by=ME, sha256="ab" * 32),
                Disclosure(id=DisclosureId(new_id()), case_id=case_id, people=(MARIA, LUIS),
                           recipient=Recipient(name="DCFS", kind=RecipientKind.CHILD_WELFARE),
                           purpose="Report of suspected neglect",
                           information=Information.ATTENDANCE, what="Visit log",
                           basis=Basis(exception=Exception_.CHILD_ABUSE_REPORT,
                                       reference="Hotline report 4471, 20 Nov 2026"),
                           at=base - timedelta(days=1), by=ME, sha256="cd" * 32)])

    family.ctx.runner.worker.call(write)
    return maria.id


def test_the_accounting_lists_disclosures_and_filters_by_person(
        qtbot: QtBot, family: Family, clock: FakeClock, qtmodeltester: ModelTester) -> None:
    consent_id = disclose(family, clock)
    view = AccountingView(family.ctx, case_id=family.case_id)
    qtbot.addWidget(view)
    view.show()
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=10_000)
    assert [view.person.itemText(i) for i in range(view.person.count())] == \
        [accounting_view.ALL_PEOPLE, MARIA, LUIS]
    newest = [view.model.index(0, c).data() for c in range(view.model.columnCount())]
    assert newest[1:6] == [
        f"{MARIA}, {LUIS}", "DCFS (child-welfare agency)", "Report of suspected neglect",
        "attendance and participation: Visit log",
        "Exception: child abuse or neglect report (42 CFR 2.12(c)(6)). Hotline report 4471, "
        "20 Nov 2026"]
    assert newest[0] == "23 Nov 2026, 03:30" and newest[6] == ME and newest[7] == "cdcdcdcdcdcd…"
    assert view.model.index(0, 7).data(Qt.ItemDataRole.ToolTipRole).endswith("cd" * 32)
    assert view.model.index(1, 5).data() == \
        f"Consent of Maria Lopez, signed 25 Oct 2026 (consent {consent_id[:8]})"
    assert view.model.index(1, 5).data(Qt.ItemDataRole.ToolTipRole) == \
        f"Consent of Maria Lopez (consent {consent_id})"
    qtmodeltester.check(view.model)
    assert unnamed_controls(view) == []
    view.person.setCurrentIndex(view.person.findData(LUIS))
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    assert view.model.index(0, 2).data() == "DCFS (child-welfare agency)"
    assert view.status.text().startswith("1 disclosure of Luis Lopez")
    with qtbot.waitSignal(view.export_requested) as asked:
        qtbot.mouseClick(view.export_button, Qt.MouseButton.LeftButton)
    assert asked.args == [family.case_id, LUIS]


def test_empty_accounting_and_the_case_page_button(qtbot: QtBot, family: Family) -> None:
    window = open_window(qtbot, family)
    assert window.accounting.status.text() == accounting_view.EMPTY
    assert not window.accounting.view.isVisible()
    window.tabs.setCurrentWidget(window.accounting)
    assert unnamed_controls(window) == []
    page = CasePage(family.ctx, case_id=family.case_id)
    qtbot.addWidget(page)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    with qtbot.waitSignal(page.open_consents) as opened:
        qtbot.keyClick(page, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert opened.args == [family.case_id]
