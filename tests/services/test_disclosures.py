"""Every export is a disclosure: it names its recipient and basis (a consent in force or one
documented exception), carries the 42 CFR 2.32 notice and the consents it rests on, and is
kept in the accounting of disclosures and the hash-chained audit log. Real SQLite, real files,
PDFs read back."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from fieldapp.domain.audit import Action
from fieldapp.domain.consent import (
    Consent,
    EndKind,
    Information,
    Recipient,
    RecipientKind,
    summary,
)
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.exports import ExportFormat, ReportKind, ScopeKind
from fieldapp.domain.people import CaseId, ConsentId, UserId, new_id
from fieldapp.services.consents import AccountingService, ConsentService, entry_hash
from fieldapp.services.exports import job
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.resources import part2_notice
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.export_helpers import (
    PAYROLL,
    Team,
    add_screens,
    add_trips,
    add_visits,
    ask,
    make_team,
    pdf_pages,
    pdf_renderer,
    read_csv,
    squash,
)
from tests.services.records_helpers import SUPERVISOR, WORKER, snapshot

PDF, CSV = ExportFormat.PDF, ExportFormat.CSV
COURT = Recipient(name="Cook County Juvenile Court", kind=RecipientKind.COURT)
HEARING = "permanency hearing on 2026-12-03"


@pytest.fixture
def team(vault: Vault, clock: FakeClock) -> Team:
    made = make_team(vault, clock)
    add_visits(made)
    add_trips(made)
    return made


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"  # the profile is in tmp_path too
    folder.mkdir()
    return folder


def consent_for(team: Team, *, patient: str = "Alder parent",
                information: tuple[Information, ...] = (Information.VISIT_NOTES,),
                **fields: Any) -> Consent:
    values: dict[str, Any] = {
        "id": ConsentId(new_id()), "case_id": CaseId(team.alder.id), "patient": patient,
        "disclosing_party": "Riverbend Family Recovery Program", "information": information,
        "description": "Visit notes from October 2026, including attendance and progress",
        "recipients": (COURT,), "purpose": HEARING, "expires_on": date(2027, 3, 1),
        "signed_by": patient, "signed_on": date(2026, 11, 20),
        "recorded_by": UserId("placeholder"), "recorded_at": datetime(2026, 1, 1, tzinfo=UTC)}
    values.update(fields)
    return ConsentService(team.ws(WORKER)).record(Consent(**values))


def for_court(kind: ReportKind = ReportKind.VISIT_LOG, fmt: ExportFormat = CSV, **kw: Any
              ) -> Any:
    return ask(kind, fmt, ScopeKind.CASES, cases=kw.pop("cases", ()),
               terms=Terms(recipient=kw.pop("recipient", COURT),
                           purpose=kw.pop("purpose", HEARING), **kw))


def export(team: Team, request: Any, folder: Path) -> tuple[bytes, job.Exported]:
    pdf = pdf_renderer() if request.fmt is PDF else None
    done = job.export(team.ws(), request, folder / request.file_name(), pdf=pdf)
    return done.path.read_bytes(), done


def text_of(data: bytes, fmt: ExportFormat) -> str:
    return squash(" ".join(pdf_pages(data))) if fmt is PDF else squash(data.decode("utf-8-sig"))


# --- every export is accounted --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [CSV, PDF])
@pytest.mark.parametrize("kind", list(ReportKind))
def test_every_export_names_its_basis_carries_the_notice_and_is_accounted(
        team: Team, out: Path, qapp: QApplication, kind: ReportKind,
        fmt: ExportFormat) -> None:
    if kind is ReportKind.ACCOUNTING:  # something to account for first
        export(team, ask(ReportKind.VISIT_LOG, CSV), out)
    if kind is ReportKind.SCREENS:
        add_screens(team)
    scope = ScopeKind.CASES if kind is ReportKind.ACCOUNTING else ScopeKind.TEAM
    cases = (team.alder,) if scope is ScopeKind.CASES else ()
    before = {c: AccountingService(team.ws()).for_case(c) for c in (team.alder.id,
                                                                      team.brennan.id)}
    data, done = export(team, ask(kind, fmt, scope, cases=cases), out)

    text = text_of(data, fmt)
    for paragraph in part2_notice().paragraphs:
        assert squash(paragraph) in text
    assert "Payroll office (program staff)" in text and "monthly reimbursement" in text
    assert squash("No consent: within the program (42 CFR 2.12(c)(3))") in text
    digest = hashlib.sha256(data).hexdigest()
    entries = AuditStore(*team.vault.open_parts()).entries()
    export_entry = [e for e in entries if e.action == Action.EXPORT][-1]
    accounted = [e for e in entries if e.action == Action.DISCLOSURE
                 and e.details["sha256"] == digest]
    assert export_entry.details["sha256"] == digest
    assert sorted(e.details["case"] for e in accounted) == export_entry.details["cases"]
    assert accounted, "every export discloses at least one family here"
    for entry in accounted:
        (disclosure,) = [d for d in AccountingService(team.ws()).for_case(
            CaseId(str(entry.details["case"]))) if d.id == entry.subject]
        assert disclosure not in before[disclosure.case_id]
        assert disclosure.sha256 == digest and disclosure.recipient == PAYROLL.recipient
        assert disclosure.basis.exception is Exception_.PROGRAM_USE
        assert disclosure.information is kind.information
        assert kind.label in disclosure.what and str(done.records) in disclosure.what
        assert entry.details["entry"] == entry_hash(disclosure)
        assert "Alder parent" not in repr(entry.details)  # no names in the plain audit log
    assert AuditStore(*team.vault.open_parts()).first_break() is None


# --- resting on consent -------------------------------------------------------------------------


def test_without_a_consent_nothing_goes_to_a_court(team: Team, out: Path) -> None:
    db, _ = team.vault.open_parts()
    before = snapshot(db)
    with pytest.raises(NotPermitted) as refused:
        export(team, for_court(cases=(team.alder,)), out)
    assert "Alder parent" in refused.value.message
    assert "Cook County Juvenile Court" in refused.value.message
    assert snapshot(db) == before
    assert list(out.iterdir()) == []


def test_everyone_without_a_consent_is_named_at_once(team: Team, out: Path) -> None:
    consent_for(team)  # Alder's parent consented; Brennan's did not
    with pytest.raises(NotPermitted) as refused:
        export(team, for_court(cases=(team.alder, team.brennan)), out)
    assert "lets Brennan parent be disclosed" in refused.value.message
    assert "Alder parent" not in refused.value.message
    assert team.brennan.parents[0].name == "Brennan parent"
    with pytest.raises(NotPermitted) as neither:
        export(team, for_court(cases=(team.alder, team.brennan), purpose="adoption"), out)
    assert "lets Alder parent, Brennan parent be disclosed" in neither.value.message
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fmt", [CSV, PDF])
def test_a_consent_in_force_lets_it_go_and_travels_with_it(
        team: Team, out: Path, qapp: QApplication, fmt: ExportFormat) -> None:
    consent = consent_for(team)
    data, _ = export(team, for_court(fmt=fmt, cases=(team.alder,)), out)
    text = text_of(data, fmt)
    for label, value in summary(consent):  # 2.32(b): a copy or clear explanation of it
        assert squash(label) in text and squash(value) in text, label
    assert squash("The written consent of each person") in text
    (disclosure,) = AccountingService(team.ws()).for_case(CaseId(team.alder.id))
    assert disclosure.basis.consents == {"Alder parent": consent.id}
    assert disclosure.recipient == COURT and disclosure.purpose == HEARING
    assert disclosure.people == ("Alder parent",)


@pytest.mark.parametrize("change", [
    {"purpose": "adoption proceedings"},
    {"recipient": Recipient(name="DuPage County Court", kind=RecipientKind.COURT)},
    {"recipient": Recipient(name="Cook County Juvenile Court",
                            kind=RecipientKind.TREATMENT_PROVIDER)},
], ids=["another purpose", "another recipient", "another kind of recipient"])
def test_a_consent_covers_only_its_recipient_and_purpose(
        team: Team, out: Path, change: dict[str, Any]) -> None:
    consent_for(team)
    with pytest.raises(NotPermitted):
        export(team, for_court(cases=(team.alder,), **change), out)
    assert list(out.iterdir()) == []


def test_a_consent_covers_only_its_kind_of_information(team: Team, out: Path) -> None:
    consent_for(team)  # visit notes only
    with pytest.raises(NotPermitted):
        export(team, for_court(ReportKind.SCREENS, cases=(team.alder,)), out)
    export(team, for_court(ReportKind.VISIT_LOG, cases=(team.alder,)), out)


def test_a_recipient_is_matched_whatever_its_case_and_spacing(team: Team, out: Path
                                                               ) -> None:
    consent_for(team)
    loose = Recipient(name="  cook county  JUVENILE court ", kind=RecipientKind.COURT)
    export(team, for_court(cases=(team.alder,), recipient=loose,
                           purpose=HEARING.upper()), out)
    assert len(AccountingService(team.ws()).for_case(CaseId(team.alder.id))) == 1


@pytest.mark.parametrize("how", ["revoked", "expired", "event"])
def test_a_consent_that_ended_lets_nothing_go(team: Team, out: Path, how: str) -> None:
    if how == "expired":
        consent_for(team, expires_on=date(2026, 11, 23))  # yesterday
    else:
        consent = consent_for(team, expires_on=None, expiry_event="the case closes")
        ConsentService(team.ws(WORKER)).end(
            consent.id, kind=EndKind.REVOKED if how == "revoked" else EndKind.EVENT,
            on=date(2026, 11, 24), how="signed note handed to the coordinator")
    with pytest.raises(NotPermitted):
        export(team, for_court(cases=(team.alder,)), out)
    assert AccountingService(team.ws()).for_case(CaseId(team.alder.id)) == []


def test_every_person_in_recovery_needs_their_own_consent(team: Team, out: Path) -> None:
    ws = team.ws()
    two = replace(team.alder, parents=(*team.alder.parents,
                                       replace(team.alder.parents[0], name="Alder father")))
    with ws.unit() as stores:
        stores.cases.replace(two)
    consent_for(team)
    with pytest.raises(NotPermitted) as refused:
        export(team, for_court(cases=(team.alder,)), out)
    assert "Alder father" in refused.value.message
    assert "Alder parent" not in refused.value.message.split("lets")[1].split("be")[0]
    consent_for(team, patient="Alder father", signed_by="Alder father")
    export(team, for_court(cases=(team.alder,)), out)
    (disclosure,) = AccountingService(team.ws()).for_case(CaseId(team.alder.id))
    assert set(disclosure.basis.consents) == {"Alder parent", "Alder father"}


# --- the exceptions -------------------------------------------------------------------------------


# Whom each exception lets records go to, as a program would use it.
EXCEPTION_RECIPIENTS = {
    Exception_.PROGRAM_USE: Recipient(name="Program director", kind=RecipientKind.PROGRAM_STAFF),
    Exception_.PATIENT_ACCESS: Recipient(name="Alder parent", kind=RecipientKind.PATIENT),
    Exception_.CHILD_ABUSE_REPORT: Recipient(name="DCFS hotline",
                                             kind=RecipientKind.CHILD_WELFARE),
    Exception_.MEDICAL_EMERGENCY: Recipient(name="Mercy Hospital emergency department",
                                            kind=RecipientKind.TREATMENT_PROVIDER),
    Exception_.COURT_ORDER: COURT,
}


@pytest.mark.parametrize("exception", list(Exception_))
def test_each_exception_needs_its_documentation_and_then_needs_no_consent(
        team: Team, out: Path, exception: Exception_) -> None:
    recipient = EXCEPTION_RECIPIENTS[exception]
    with pytest.raises(RuleViolation) as undocumented:
        for_court(cases=(team.alder,), exception=exception, recipient=recipient)
    assert exception.reference_label in undocumented.value.message
    reference = "Hotline report 2026-114-5521, made 2026-11-24"
    data, _ = export(team, for_court(cases=(team.alder,), exception=exception,
                                     recipient=recipient, reference=reference), out)
    text = text_of(data, CSV)
    assert squash(f"No consent: {exception} ({exception.citation})") in text
    assert squash(exception.explanation) in text and squash(reference) in text
    (disclosure,) = AccountingService(team.ws()).for_case(CaseId(team.alder.id))
    assert disclosure.basis.exception is exception
    assert disclosure.basis.reference == reference and not disclosure.basis.consents
    assert disclosure.recipient == recipient


@pytest.mark.parametrize(("exception", "kind"), [
    (Exception_.PROGRAM_USE, RecipientKind.COURT),
    (Exception_.PATIENT_ACCESS, RecipientKind.TREATMENT_PROVIDER),
    (Exception_.CHILD_ABUSE_REPORT, RecipientKind.COURT),
    (Exception_.MEDICAL_EMERGENCY, RecipientKind.PROGRAM_STAFF),
    (Exception_.COURT_ORDER, RecipientKind.PATIENT),
])
def test_an_exception_goes_only_to_those_it_is_for(exception: Exception_,
                                                   kind: RecipientKind) -> None:
    with pytest.raises(RuleViolation, match=f"A disclosure {exception} goes to"):
        Terms(recipient=Recipient(name="Someone", kind=kind), purpose="a purpose",
              exception=exception, reference="documented")


def test_a_person_gets_only_their_own_records(team: Team, out: Path) -> None:
    db, _ = team.vault.open_parts()
    before = snapshot(db)
    asked = {"exception": Exception_.PATIENT_ACCESS, "reference": "asked in person"}
    brennan = Recipient(name="Brennan parent", kind=RecipientKind.PATIENT)
    with pytest.raises(NotPermitted, match="Brennan parent is not a parent in recovery"):
        export(team, for_court(cases=(team.alder,), recipient=brennan, **asked), out)
    assert snapshot(db) == before
    ws = team.ws()
    with ws.unit() as stores:  # a second parent in recovery in the Alder family
        stores.cases.replace(replace(team.alder, parents=(
            *team.alder.parents, replace(team.alder.parents[0], name="Alder father"))))
    before = snapshot(db)
    alder = EXCEPTION_RECIPIENTS[Exception_.PATIENT_ACCESS]
    with pytest.raises(NotPermitted, match="also Alder father's"):
        export(team, for_court(cases=(team.alder,), recipient=alder, **asked), out)
    assert snapshot(db) == before and list(out.iterdir()) == []


# --- the accounting itself ----------------------------------------------------------------------


def test_the_accounting_lists_every_disclosure_of_a_person(team: Team, out: Path) -> None:
    consent = consent_for(team)
    for name in ("court", "payroll", "again"):
        (out / name).mkdir()
    export(team, for_court(cases=(team.alder,)), out / "court")
    team.at(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    export(team, ask(ReportKind.VISIT_LOG, CSV, terms=PAYROLL), out / "payroll")
    request = ask(ReportKind.ACCOUNTING, CSV, ScopeKind.CASES, cases=(team.alder,),
                  first=date(2026, 11, 1), last=date(2026, 11, 30),
                  terms=Terms(recipient=Recipient(name="Alder parent",
                                                  kind=RecipientKind.PATIENT),
                              purpose="asked for the list of disclosures",
                              exception=Exception_.PATIENT_ACCESS, reference="asked in person"))
    request = replace(request, person="Alder parent")
    data, done = export(team, request, out)
    report = read_csv(data)
    assert report.head["Scope"] == "Case(s): Alder; person: Alder parent"
    assert [r["Recipient"] for r in report.rows] == ["Cook County Juvenile Court",
                                                     "Payroll office"]
    assert report.rows[0]["Basis"] == f"Consent of Alder parent (consent {consent.id})"
    assert report.rows[0]["Purpose"] == HEARING
    assert report.rows[1]["Basis"].startswith("Exception: within the program")
    assert all(r["People"] == "Alder parent" for r in report.rows)
    assert done.records == 2
    # The accounting's own export is accounted too, after it.
    assert len(AccountingService(team.ws()).for_case(CaseId(team.alder.id))) == 3
    nobody = replace(request, person="Someone else")
    assert read_csv(export(team, nobody, out / "again")[0]).rows == []
    (out / "october").mkdir()
    before = replace(request, first_day=date(2026, 10, 1), last_day=date(2026, 10, 31))
    assert read_csv(export(team, before, out / "october")[0]).rows == []  # made in November


def test_the_accounting_is_kept_per_family_only(team: Team) -> None:
    with pytest.raises(RuleViolation):
        ask(ReportKind.ACCOUNTING, CSV, ScopeKind.TEAM)


def test_a_supervisor_sees_the_accounting_a_worker_made(team: Team, out: Path) -> None:
    request = ask(ReportKind.VISIT_LOG, CSV, ScopeKind.WORKER, worker=WORKER)
    job.export(team.ws(WORKER), request, out / "mine.csv", pdf=None)
    made = AccountingService(team.ws(SUPERVISOR)).for_case(CaseId(team.alder.id))
    assert [d.by for d in made] == [WORKER.user_id]
