"""Disclosures at the edges of 42 CFR Part 2: the consent in force on the day of its expiry and
not the day after, the newest of two consents, a person's own records and no one else's, and
the exact words of every refusal (the person making the export acts on each of them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fieldapp.domain.consent import Consent, ConsentEnd, Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import (
    Basis,
    Exception_,
    Purpose,
    Terms,
    basis_for,
    own_records_only,
)
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import CaseId, ConsentId
from tests.domain.consent_helpers import COURT, EXPIRES, PURPOSE, SIGNED, make_consent, make_end

ASKED = Purpose(recipient=COURT, purpose=PURPOSE)
PARENT = Recipient(name="Alder parent", kind=RecipientKind.PATIENT)
STAFF = Recipient(name="Program director", kind=RecipientKind.PROGRAM_STAFF)


def terms_refusal(**fields: object) -> str:
    with pytest.raises(RuleViolation) as caught:
        Terms(**fields)  # type: ignore[arg-type]
    return caught.value.message


def basis_refusal(**fields: object) -> str:
    with pytest.raises(RuleViolation) as caught:
        Basis(**fields)  # type: ignore[arg-type]
    return caught.value.message


# --- terms ---------------------------------------------------------------------------------------


def test_terms_without_recipient_or_purpose_name_both_in_these_words() -> None:
    assert terms_refusal(recipient=Recipient(name=" ", kind=RecipientKind.COURT),
                         purpose="  ") == \
        "Say who the export is for. Say what it is for (the purpose)."


def test_an_undocumented_exception_asks_for_what_documents_it() -> None:
    assert terms_refusal(recipient=PARENT, purpose="asked", exception=Exception_.PATIENT_ACCESS,
                         reference=" ") == \
        "Document the exception: How the person asked (date, in writing or in person)."


def test_an_exception_to_the_wrong_recipient_names_whom_it_goes_to() -> None:
    assert terms_refusal(recipient=STAFF, purpose="hearing", exception=Exception_.COURT_ORDER,
                         reference="Sangamon 2026-JA-14, 3 November 2026") == \
        ("A disclosure court order goes to court or treatment provider or child-welfare "
         "agency or other, not to program staff.")


def test_each_exception_goes_to_its_own_recipients() -> None:
    Terms(recipient=PARENT, purpose="asked", exception=Exception_.PATIENT_ACCESS,
          reference="in person, 3 November")
    assert terms_refusal(recipient=COURT, purpose="asked", exception=Exception_.PATIENT_ACCESS,
                         reference="in person") == \
        "A disclosure to the person themself goes to the person themself, not to court."


def test_terms_resting_on_consent_need_no_reference_and_ask_what_was_asked() -> None:
    terms = Terms(recipient=COURT, purpose=PURPOSE)
    assert terms.asked == ASKED


# --- basis ---------------------------------------------------------------------------------------


def test_a_basis_rests_on_consent_or_on_one_exception_never_both_or_neither() -> None:
    message = "A disclosure rests on consent or on one exception."
    assert basis_refusal() == message
    assert basis_refusal(consents={"Alder parent": ConsentId("c-1")},
                         exception=Exception_.COURT_ORDER, reference="order") == message


def test_a_basis_on_an_undocumented_exception_is_refused_in_these_words() -> None:
    assert basis_refusal(exception=Exception_.MEDICAL_EMERGENCY, reference=" ") == \
        ("Document the exception: The emergency, the facility and the person who asked.")


def test_a_basis_is_described_in_full() -> None:
    court_order = Basis(exception=Exception_.COURT_ORDER, reference="Order of 3 November")
    assert court_order.describe() == \
        "Exception: court order (42 CFR 2.64). Order of 3 November"
    both = Basis(consents={"Alder parent": ConsentId("c-1"), "Birch parent": ConsentId("c-2")})
    assert both.describe() == \
        "Consent of Alder parent (consent c-1); Birch parent (consent c-2)"


# --- a person's own records ----------------------------------------------------------------------


def own(name: str) -> Terms:
    return Terms(recipient=Recipient(name=name, kind=RecipientKind.PATIENT), purpose="asked",
                 exception=Exception_.PATIENT_ACCESS, reference="in person")


def test_a_person_gets_their_own_records_whatever_the_case_and_spacing_of_their_name() -> None:
    own_records_only(own("alder  PARENT"), ["Alder parent"])


def test_someone_who_is_not_a_parent_of_the_family_is_refused_in_these_words() -> None:
    with pytest.raises(NotPermitted) as caught:
        own_records_only(own("Cedar parent"), ["Alder parent"])
    assert caught.value.message == ("Cedar parent is not a parent in recovery of this family: "
                                    "under 42 CFR 2.23 a person gets only their own records.")


def test_a_family_with_other_parents_is_refused_naming_each_of_them() -> None:
    with pytest.raises(NotPermitted) as caught:
        own_records_only(own("Alder parent"), ["Alder parent", "Birch parent", "Cedar parent"])
    assert caught.value.message == (
        "This family's records are also Birch parent, Cedar parent's: under 42 CFR 2.23 "
        "Alder parent gets only their own; the others' need their consent.")


def test_other_exceptions_are_not_limited_to_the_persons_own_records() -> None:
    order = Terms(recipient=COURT, purpose=PURPOSE, exception=Exception_.COURT_ORDER,
                  reference="Order of 3 November")
    own_records_only(order, ["Alder parent", "Birch parent"])


# --- the consent each disclosure rests on --------------------------------------------------------


def chosen(consents: list[Consent], ends: list[ConsentEnd] | None = None, *, today: date,
           families: dict[CaseId, list[str]] | None = None) -> dict[CaseId, dict[str, ConsentId]]:
    return basis_for(families=families or {CaseId("case-1"): ["Alder parent"]}, purpose=ASKED,
                     information=Information.VISIT_NOTES, consents=consents, ends=ends or [],
                     today=today)


def test_a_consent_holds_on_the_day_it_expires_and_not_the_day_after() -> None:
    consent = make_consent()
    assert chosen([consent], today=EXPIRES) == {CaseId("case-1"): {"Alder parent": consent.id}}
    with pytest.raises(NotPermitted):
        chosen([consent], today=EXPIRES + timedelta(days=1))


def test_a_revoked_consent_lets_nothing_go_from_the_day_of_revocation() -> None:
    consent = make_consent()
    revoked = make_end(consent, on=date(2026, 11, 20))
    assert chosen([consent], [revoked], today=date(2026, 11, 19))
    with pytest.raises(NotPermitted):
        chosen([consent], [revoked], today=date(2026, 11, 20))


def test_the_newest_signed_consent_is_the_basis_whatever_the_order() -> None:
    older = make_consent(signed_on=SIGNED - timedelta(days=30))
    newer = make_consent(signed_on=SIGNED)
    for order in ([older, newer], [newer, older]):
        assert chosen(order, today=SIGNED) == {CaseId("case-1"): {"Alder parent": newer.id}}


def test_of_two_signed_the_same_day_the_later_recorded_is_the_basis() -> None:
    first = make_consent(recorded_at=datetime(2026, 11, 2, 9, tzinfo=UTC))
    second = make_consent(recorded_at=datetime(2026, 11, 2, 10, tzinfo=UTC))
    for order in ([first, second], [second, first]):
        assert chosen(order, today=SIGNED) == {CaseId("case-1"): {"Alder parent": second.id}}


def test_a_consent_is_matched_to_its_person_whatever_the_case_and_spacing() -> None:
    consent = make_consent(patient="alder   PARENT")
    assert chosen([consent], today=SIGNED) == {CaseId("case-1"): {"Alder parent": consent.id}}


def test_a_consent_recorded_in_another_family_is_not_this_familys_basis() -> None:
    elsewhere = make_consent(case_id="case-2")
    with pytest.raises(NotPermitted):
        chosen([elsewhere], today=SIGNED)


def test_every_person_without_a_consent_in_every_family_is_named_in_these_words() -> None:
    families = {CaseId("case-1"): ["Alder parent", "Birch parent"],
                CaseId("case-2"): ["Cedar parent"]}
    with pytest.raises(NotPermitted) as caught:
        chosen([make_consent()], today=SIGNED, families=families)
    assert caught.value.message == (
        "No consent in force lets Birch parent, Cedar parent be disclosed to "
        "Sangamon County Circuit Court (court) for “Status report for the permanency hearing” "
        "(visit notes). Record a consent that names this recipient and purpose, or choose a "
        "documented exception.")


def test_each_family_gets_its_own_basis() -> None:
    alder = make_consent()
    cedar = make_consent(case_id="case-2", patient="Cedar parent")
    families = {CaseId("case-1"): ["Alder parent"], CaseId("case-2"): ["Cedar parent"]}
    assert chosen([alder, cedar], today=SIGNED, families=families) == {
        CaseId("case-1"): {"Alder parent": alder.id},
        CaseId("case-2"): {"Cedar parent": cedar.id}}
