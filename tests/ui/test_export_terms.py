"""Who an export is for, in the export dialog: the usual basis for each kind of recipient, the
recipients that consents name offered to pick, and a disclosure without a consent refused in
plain words with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from pytestqt.qt_compat import qt_api
from pytestqt.qtbot import QtBot

from fieldapp.domain.consent import Consent, Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.exports import ReportKind, ScopeKind
from fieldapp.domain.people import ConsentId, Role, UserId, new_id
from fieldapp.services import demo
from fieldapp.services.consents import AccountingService, ConsentService
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.consents_window import ConsentsWindow
from fieldapp.ui.context import UiContext
from fieldapp.ui.disclosure_terms import CONSENT, DisclosureTerms
from fieldapp.ui.export_dialog import ExportDialog
from fieldapp.ui.workspace_view import WorkspaceView
from tests.services.export_helpers import squash
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_export_dialog import aim_at, exports_in_audit

Qt = qt_api.QtCore.Qt
COURT = Recipient(name="Cook County Juvenile Court", kind=RecipientKind.COURT)


@pytest.fixture
def supervisor(make_context: ContextFactory) -> UiContext:
    return make_context(role=Role.SUPERVISOR, user_id=demo.SUPERVISOR, demo=True)


def first_case(ctx: UiContext) -> tuple[str, str, str]:
    """(case id, family, first parent) of the first family in the export dialog's list."""
    def read() -> tuple[str, str, str]:
        ws = ctx.session.workspace()
        cases = sorted((ws.stores().cases.get(row["id"]) for row in
                        ws.db.query("SELECT id FROM cases")), key=lambda c: c.family_name)
        return cases[0].id, cases[0].family_name, cases[0].parents[0].name

    return ctx.runner.worker.call(read)


def record_consent(ctx: UiContext, case_id: str, parent: str) -> Consent:
    def record() -> Consent:
        ws = ctx.session.workspace()
        return ConsentService(ws).record(Consent(
            id=ConsentId(new_id()), case_id=case_id, patient=parent,  # type: ignore[arg-type]
            disclosing_party="Millbrook Family Recovery Program",
            information=(Information.VISIT_NOTES,),
            description="Visit notes of the last three months", recipients=(COURT,),
            purpose="permanency hearing", expires_on=ws.today() + timedelta(days=90),
            signed_by=parent, signed_on=ws.today(), recorded_by=UserId("x"),
            recorded_at=datetime(2026, 1, 1, tzinfo=UTC)))

    return ctx.runner.worker.call(record)


def open_for(qtbot: QtBot, ctx: UiContext, case_id: str) -> ExportDialog:
    dialog = ExportDialog(ctx, kind=ReportKind.VISIT_LOG, case_id=case_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.worker.count() > 0, timeout=10_000)
    return dialog


def test_each_kind_of_recipient_gets_its_usual_basis(qtbot: QtBot) -> None:
    box = DisclosureTerms()
    qtbot.addWidget(box)
    usual = {RecipientKind.PROGRAM_STAFF: Exception_.PROGRAM_USE,
             RecipientKind.PATIENT: Exception_.PATIENT_ACCESS,
             RecipientKind.COURT: CONSENT, RecipientKind.TREATMENT_PROVIDER: CONSENT,
             RecipientKind.CHILD_WELFARE: CONSENT, RecipientKind.OTHER: CONSENT}
    for kind, basis in usual.items():
        box.recipient_kind.setCurrentIndex(box.recipient_kind.findData(kind))
        assert box.basis.currentData() == basis, kind
        assert box.reference.isEnabled() == (basis != CONSENT)
    box.basis.setCurrentIndex(box.basis.findData(Exception_.CHILD_ABUSE_REPORT))
    assert box.reference_label.text() == Exception_.CHILD_ABUSE_REPORT.reference_label
    box.recipient.setEditText("DCFS hotline")
    box.purpose.setText("report of suspected neglect")
    with pytest.raises(RuleViolation, match="Hotline or report number"):
        box.terms()
    box.reference.setText("report 2026-114-5521")
    terms = box.terms()
    assert (terms.exception, terms.reference) == (Exception_.CHILD_ABUSE_REPORT,
                                                  "report 2026-114-5521")
    assert unnamed_controls(box) == []


def test_a_court_export_without_a_consent_is_refused_and_writes_nothing(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, _family, parent = first_case(supervisor)
    before = exports_in_audit(supervisor)  # the demo's own disclosure to its court
    dialog = open_for(qtbot, supervisor, case_id)
    assert dialog.scope.currentData() == ScopeKind.CASES
    assert dialog.cases_model.checked() == [case_id]
    box = dialog.terms_box
    box.recipient_kind.setCurrentIndex(box.recipient_kind.findData(RecipientKind.COURT))
    box.recipient.setEditText(COURT.name)
    box.purpose.setText("permanency hearing")
    target = tmp_path / "out" / "court.pdf"
    target.parent.mkdir()
    aim_at(monkeypatch, target)
    with qtbot.waitSignal(dialog.runner.failed, timeout=20_000):
        dialog.export_button.click()
    dialog.runner.join()
    assert f"No consent in force lets {parent}" in dialog.message.text()
    assert list(target.parent.iterdir()) == []
    assert exports_in_audit(supervisor) == before


def test_a_recipient_a_consent_names_is_offered_and_the_export_carries_the_consent(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case_id, family, parent = first_case(supervisor)
    consent = record_consent(supervisor, case_id, parent)
    dialog = open_for(qtbot, supervisor, case_id)
    box = dialog.terms_box
    offered = [box.recipient.itemText(i) for i in range(box.recipient.count())]
    assert COURT.name in offered  # beside those of the demo's own consents for this family
    assert "Haven House Recovery Center" not in offered  # another family's consent names it
    index = offered.index(COURT.name)
    box.recipient.setCurrentIndex(index)
    box.recipient.activated.emit(index)  # what picking it from the list does
    assert box.recipient_kind.currentData() == RecipientKind.COURT
    assert box.purpose.text() == "permanency hearing" and box.basis.currentData() == CONSENT
    dialog.period.setCurrentIndex(2)
    target = tmp_path / "court.pdf"
    aim_at(monkeypatch, target)
    with qtbot.waitSignal(dialog.runner.finished, timeout=30_000):
        dialog.export_button.click()
    dialog.runner.join()
    text = squash(" ".join(p.extract_text() for p in pypdf.PdfReader(target).pages))
    assert "Consents this disclosure rests on" in text and consent.id in text
    assert "accounting of disclosures" in dialog.message.text()
    made = supervisor.runner.worker.call(
        lambda: AccountingService(supervisor.session.workspace()).for_case(case_id))
    assert (made[0].recipient, made[0].basis.consents) == (COURT, {parent: consent.id})
    assert family in text


def test_a_familys_accounting_is_exported_from_its_consents_window(
        qtbot: QtBot, supervisor: UiContext) -> None:
    case_id, _family, parent = first_case(supervisor)
    view = WorkspaceView(supervisor, role=Role.SUPERVISOR)
    qtbot.addWidget(view)
    view.open_case(case_id)
    (page,) = [w for w in view.open_windows() if isinstance(w, CasePage)]
    qtbot.mouseClick(page.consents_button, Qt.MouseButton.LeftButton)
    (window,) = [w for w in view.open_windows() if isinstance(w, ConsentsWindow)]
    window.export_requested.emit(case_id, parent)  # the accounting tab's Export button
    (dialog,) = [w for w in view.open_windows() if isinstance(w, ExportDialog)]
    qtbot.waitUntil(lambda: dialog.worker.count() > 0, timeout=10_000)
    assert dialog.report.currentData() == ReportKind.ACCOUNTING
    assert dialog.scope.currentData() == ScopeKind.CASES
    assert dialog.cases_model.checked() == [case_id] and dialog.person.text() == parent
    request = dialog.request()  # the past three years (42 CFR 2.24), to today
    assert request.last_day == supervisor.runner.worker.call(
        lambda: supervisor.session.workspace().today())
    assert (request.last_day - request.first_day).days in (1094, 1095)
    terms = dialog.terms_box.terms()
    assert (terms.recipient, terms.exception) == (
        Recipient(name=parent, kind=RecipientKind.PATIENT), Exception_.PATIENT_ACCESS)
    view.close_windows()


def test_the_optional_box_is_optional_and_the_record_still_says_to_whom(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the program, "who needs it" is labelled optional and is: the recipient and the
    purpose (both required) document the exception, so the file and the accounting still say
    to whom and why. A refusal asks only for what is missing."""
    case_id, _family, _parent = first_case(supervisor)
    dialog = open_for(qtbot, supervisor, case_id)
    box = dialog.terms_box
    box.recipient_kind.setCurrentIndex(box.recipient_kind.findData(RecipientKind.PROGRAM_STAFF))
    assert box.basis.currentData() == Exception_.PROGRAM_USE
    assert box.reference_label.text().endswith("(optional)")
    assert "Left empty, the recipient and purpose above document it." in box.help.text()
    # The box is narrower than its choice: the choice is said in full below it.
    assert box.help.text().startswith(f"{box.basis.currentText()}. ")
    assert box.basis.currentText().startswith("No consent needed: ")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Say who the export is for. Say what it is for (the purpose)."
    box.recipient.setEditText("Payroll office")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Say what it is for (the purpose)."
    box.purpose.setText("monthly mileage reimbursement")
    target = tmp_path / "payroll.pdf"
    aim_at(monkeypatch, target)
    with qtbot.waitSignal(dialog.runner.finished, timeout=30_000):
        dialog.export_button.click()
    dialog.runner.join()
    text = squash(" ".join(p.extract_text() for p in pypdf.PdfReader(target).pages))
    assert "Documented: Payroll office: monthly mileage reimbursement" in text
    made = supervisor.runner.worker.call(
        lambda: AccountingService(supervisor.session.workspace()).for_case(case_id))
    (payroll,) = [d for d in made if d.recipient.name == "Payroll office"]
    assert payroll.basis.reference == "Payroll office: monthly mileage reimbursement"
