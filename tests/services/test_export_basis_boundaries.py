"""The basis of an export at the edges of 42 CFR Part 2: a consent on the day it ends, signed
that day or revoked that day, a recipient of a kind the consent does not name, a renewed
consent, and the words the export prints about its basis (a court reads them) and the words a
refusal says (the person exporting acts on them); then the rules of a basis themselves
(`domain/disclosure.py`), word for word. Real SQLite, real CSV files read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from fieldapp.domain.consent import Consent, EndKind, Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import Basis, Exception_, Terms, own_records_only
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.people import CaseId, ConsentId, UserId, new_id
from fieldapp.services.consents import AccountingService, ConsentService
from fieldapp.services.exports import job
from fieldapp.services.exports.basis import CaseBasis, disclosure_sheet
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.export_helpers import CsvReport, Team, ask, make_team, read_csv
from tests.services.records_helpers import SUPERVISOR, TODAY, snapshot

COURT = Recipient(name="Cook County Juvenile Court", kind=RecipientKind.COURT)
HEARING = "permanency hearing on 2026-12-03"
CONSENT_BASIS = ("The written consent of each person whose records are disclosed "
                 "(42 CFR 2.31), summarised below.")


@pytest.fixture
def team(vault: Vault, clock: FakeClock) -> Team:
    return make_team(vault, clock)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"  # the profile is in tmp_path too
    folder.mkdir()
    return folder


def consent_for(team: Team, *, patient: str = "Alder parent", case: str = "", **fields: Any
                ) -> Consent:
    """A consent to the court for the hearing, recorded by the supervisor (on both cases)."""
    values: dict[str, Any] = {
        "id": ConsentId(new_id()), "case_id": CaseId(case or team.alder.id), "patient": patient,
        "disclosing_party": "Riverbend Family Recovery Program",
        "information": (Information.VISIT_NOTES,),
        "description": "Visit notes from October 2026", "recipients": (COURT,),
        "purpose": HEARING, "expires_on": date(2027, 3, 1), "signed_by": patient,
        "signed_on": date(2026, 11, 20), "recorded_by": UserId("placeholder"),
        "recorded_at": datetime(2026, 1, 1, tzinfo=UTC)}
    values.update(fields)
    return ConsentService(team.ws(SUPERVISOR)).record(Consent(**values))


def to_court(team: Team, *, recipient: Recipient = COURT, **terms: Any) -> ExportRequest:
    return ask(ReportKind.VISIT_LOG, ExportFormat.CSV, ScopeKind.CASES, cases=(team.alder,),
               terms=Terms(recipient=recipient, purpose=HEARING, **terms))


def export(team: Team, request: ExportRequest, out: Path) -> CsvReport:
    done = job.export(team.ws(), request, out / request.file_name(), pdf=None)
    return read_csv(done.path.read_bytes())


def refused(team: Team, request: ExportRequest, out: Path) -> str:
    """The refusal's words; and that nothing was written, in the profile or the folder."""
    db, _ = team.vault.open_parts()
    before = snapshot(db)
    with pytest.raises(NotPermitted) as refusal:
        export(team, request, out)
    assert snapshot(db) == before and list(out.iterdir()) == []
    return refusal.value.message


def consent_lines(report: CsvReport) -> dict[str, str]:
    return {label: value for label, value in report.head.items() if label.startswith("Consent")}


def no_consent(recipient: str) -> str:
    return (f"No consent in force lets Alder parent be disclosed to {recipient} for "
            f"“{HEARING}” (visit notes). Record a consent that names this recipient and "
            "purpose, or choose a documented exception.")


# --- the day the consent ends, the day it is signed, the day it is revoked --------------------


def test_a_consent_ending_the_day_of_the_export_lets_it_go_and_the_export_says_so(
        team: Team, out: Path) -> None:
    consent = consent_for(team, expires_on=TODAY)
    report = export(team, to_court(team), out)
    assert {k: report.head[k] for k in ("Disclosed to", "Purpose", "Information", "Basis")} == {
        "Disclosed to": "Cook County Juvenile Court (court)", "Purpose": HEARING,
        "Information": "visit notes", "Basis": CONSENT_BASIS}
    assert report.head["Consent 1: Expires"] == "2026-11-24"
    assert report.head["Consent 1: Consent id"] == consent.id
    (made,) = AccountingService(team.ws()).for_case(CaseId(team.alder.id))
    assert made.basis == Basis(consents={"Alder parent": consent.id})


def test_the_day_it_ends_is_the_programs_day_not_utcs(team: Team, out: Path) -> None:
    consent_for(team, expires_on=TODAY)
    (out / "late").mkdir()
    team.at(datetime(2026, 11, 25, 5, 59, tzinfo=UTC))  # 23:59 on the 24th in Chicago
    export(team, to_court(team), out / "late")
    (out / "next").mkdir()
    team.at(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))  # midnight: the 25th in Chicago
    assert refused(team, to_court(team), out / "next") == no_consent(
        "Cook County Juvenile Court (court)")


def test_a_consent_signed_the_day_of_the_export_lets_it_go(team: Team, out: Path
                                                           ) -> None:
    consent = consent_for(team, signed_on=TODAY)
    report = export(team, to_court(team), out)
    assert report.head["Consent 1: Signed by"] == "Alder parent on 2026-11-24"
    assert report.head["Consent 1: Consent id"] == consent.id


@pytest.mark.parametrize("kind", [EndKind.REVOKED, EndKind.EVENT])
def test_a_consent_ended_the_day_of_the_export_stops_it_word_for_word(
        team: Team, out: Path, kind: EndKind) -> None:
    consent = consent_for(team, expiry_event="the case closes")
    ConsentService(team.ws(SUPERVISOR)).end(consent.id, kind=kind, on=TODAY,
                                            how="signed note handed to the coordinator")
    assert refused(team, to_court(team), out) == no_consent(
        "Cook County Juvenile Court (court)")
    assert AccountingService(team.ws()).for_case(CaseId(team.alder.id)) == []


# --- whom and what the consent names ------------------------------------------------------------


@pytest.mark.parametrize("kind", [RecipientKind.TREATMENT_PROVIDER, RecipientKind.CHILD_WELFARE,
                                  RecipientKind.OTHER])
def test_a_recipient_of_a_kind_the_consent_does_not_name_gets_nothing(
        team: Team, out: Path, kind: RecipientKind) -> None:
    consent_for(team)  # names the court, as a court
    same_name = Recipient(name=COURT.name, kind=kind)
    assert refused(team, to_court(team, recipient=same_name), out) == no_consent(
        f"Cook County Juvenile Court ({kind})")


def test_an_exception_to_a_recipient_it_is_not_for_is_refused_word_for_word() -> None:
    with pytest.raises(RuleViolation) as refusal:
        Terms(recipient=Recipient(name="Alder parent", kind=RecipientKind.PATIENT),
              purpose=HEARING, exception=Exception_.COURT_ORDER, reference="Order 26-JA-114")
    assert refusal.value.message == (
        "A disclosure court order goes to court or treatment provider or child-welfare agency "
        "or other, not to the person themself.")


# --- which consents travel with the export ------------------------------------------------------


@pytest.mark.parametrize("older_expires", [date(2026, 11, 23), date(2027, 1, 31)],
                         ids=["expired yesterday", "still in force"])
def test_a_renewed_consent_the_newest_in_force_is_the_one_relied_on_and_carried(
        team: Team, out: Path, older_expires: date) -> None:
    consent_for(team, signed_on=date(2026, 10, 1), expires_on=older_expires,
                description="Visit notes, first form")
    newer = consent_for(team, signed_on=date(2026, 11, 20), description="Visit notes, renewed")
    report = export(team, to_court(team), out)
    lines = consent_lines(report)
    assert lines["Consent 1: Consent id"] == newer.id
    assert lines["Consent 1: Information"] == "visit notes: Visit notes, renewed"
    assert not any(label.startswith("Consent 2") for label in lines)
    (made,) = AccountingService(team.ws()).for_case(CaseId(team.alder.id))
    assert made.basis.consents == {"Alder parent": newer.id}


def test_the_sheet_names_each_family_its_people_and_each_persons_consent(team: Team) -> None:
    ws = team.ws()
    two = replace(team.alder, parents=(*team.alder.parents,
                                       replace(team.alder.parents[0], name="Alder father")))
    with ws.unit() as stores:  # a second parent in recovery in the Alder family
        stores.cases.replace(two)
    mother = consent_for(team)
    father = consent_for(team, patient="Alder father", signed_by="Alder father")
    brennan = consent_for(team, patient="Brennan parent", case=team.brennan.id)
    request = ask(ReportKind.VISIT_LOG, ExportFormat.CSV, ScopeKind.CASES,
                  cases=(two, team.brennan), terms=Terms(recipient=COURT, purpose=HEARING))
    sheet = disclosure_sheet(ws, request, [two, team.brennan])
    assert sheet.cases == (
        CaseBasis(case_id=two.id, family="Alder", people=("Alder parent", "Alder father"),
                  basis=Basis(consents={"Alder parent": mother.id,
                                        "Alder father": father.id})),
        CaseBasis(case_id=team.brennan.id, family="Brennan", people=("Brennan parent",),
                  basis=Basis(consents={"Brennan parent": brennan.id})))
    # Their summaries, by person: Alder father, Alder parent, Brennan parent.
    assert sheet.consents == (father, mother, brennan)
    assert sheet.lines()[-1] == ("Basis", CONSENT_BASIS)


def test_an_exception_is_printed_word_for_word_and_carries_no_consent(
        team: Team, out: Path) -> None:
    consent_for(team)  # there, but an exception does not rest on it
    hotline = Recipient(name="DCFS hotline", kind=RecipientKind.CHILD_WELFARE)
    report = export(team, to_court(team, recipient=hotline,
                                   exception=Exception_.CHILD_ABUSE_REPORT,
                                   reference="Hotline report 2026-114-5521, made 2026-11-24"),
                    out)
    assert report.head["Disclosed to"] == "DCFS hotline (child-welfare agency)"
    assert report.head["Basis"] == (
        "No consent: child abuse or neglect report (42 CFR 2.12(c)(6)). The initial report of "
        "suspected child abuse or neglect made under state law; Part 2 does not restrict it. "
        "Documented: Hotline report 2026-114-5521, made 2026-11-24")
    assert consent_lines(report) == {}


# --- the rules of a basis, word for word (fieldapp/domain/disclosure.py) -------------------------


PATIENT_ACCESS: dict[str, Any] = {"exception": Exception_.PATIENT_ACCESS,
                                  "reference": "asked in person"}


def test_a_person_who_is_not_in_the_family_is_refused_word_for_word() -> None:
    terms = Terms(recipient=Recipient(name="Brennan parent", kind=RecipientKind.PATIENT),
                  purpose="asked for their records", **PATIENT_ACCESS)
    with pytest.raises(NotPermitted) as refusal:
        own_records_only(terms, ["Alder parent"])
    assert refusal.value.message == (
        "Brennan parent is not a parent in recovery of this family: under 42 CFR 2.23 a "
        "person gets only their own records.")


def test_a_family_with_others_in_recovery_is_refused_naming_each_of_them() -> None:
    def asking(name: str) -> Terms:
        return Terms(recipient=Recipient(name=name, kind=RecipientKind.PATIENT),
                     purpose="asked for their records", **PATIENT_ACCESS)

    own_records_only(asking(" alder  PARENT"), ["Alder parent"])  # the only one: allowed
    with pytest.raises(NotPermitted) as refusal:
        own_records_only(asking("Alder parent"),
                         ["Alder parent", "Alder father", "Alder grandmother"])
    assert refusal.value.message == (
        "This family's records are also Alder father, Alder grandmother's: under 42 CFR 2.23 "
        "Alder parent gets only their own; the others' need their consent.")


def test_terms_without_recipient_or_purpose_say_both_at_once() -> None:
    with pytest.raises(RuleViolation) as refusal:
        Terms(recipient=Recipient(name="  ", kind=RecipientKind.COURT), purpose=" ")
    assert refusal.value.message == ("Say who the export is for. "
                                     "Say what it is for (the purpose).")
    with pytest.raises(RuleViolation) as no_purpose:
        Terms(recipient=COURT, purpose="")
    assert no_purpose.value.message == "Say what it is for (the purpose)."


@pytest.mark.parametrize("fields", [{}, {"consents": {"Alder parent": ConsentId("c-1")},
                                         "exception": Exception_.COURT_ORDER,
                                         "reference": "Order 26-JA-114"}],
                         ids=["neither", "both"])
def test_a_basis_is_consent_or_one_exception_never_neither_nor_both(fields: Any) -> None:
    with pytest.raises(RuleViolation) as refusal:
        Basis(**fields)
    assert refusal.value.message == "A disclosure rests on consent or on one exception."


def test_a_basis_on_an_exception_needs_its_documentation_word_for_word() -> None:
    with pytest.raises(RuleViolation) as refusal:
        Basis(exception=Exception_.COURT_ORDER, reference=" ")
    assert refusal.value.message == ("Document the exception: The court, the case number and "
                                     "the date of the order.")


def test_the_accounting_names_each_persons_consent() -> None:
    basis = Basis(consents={"Alder parent": ConsentId("c-1"), "Alder father": ConsentId("c-2")})
    assert basis.describe() == ("Consent of Alder parent (consent c-1); "
                                "Alder father (consent c-2)")
