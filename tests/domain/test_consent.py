"""Consents (42 CFR 2.31): every element, expiry, revocation, coverage, and the basis of a
disclosure."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fieldapp.domain.consent import (
    ConsentEnd,
    ConsentState,
    EndKind,
    Information,
    Recipient,
    RecipientKind,
    check_consent,
    check_end,
    covers,
    state,
    summary,
)
from fieldapp.domain.disclosure import Basis, Exception_, Purpose, basis_for
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import CaseId, ConsentId
from tests.domain.consent_helpers import COURT, EXPIRES, PURPOSE, SIGNED, make_consent, make_end

TODAY = date(2026, 11, 24)

# One row per element of 42 CFR 2.31(a): the consent without it, and the sentence the person
# recording the form reads (exactly: it tells them what to fix).
ELEMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "(1) patient": ({"patient": "  "}, "Name the person whose records the consent covers."),
    "(2) who may disclose": ({"disclosing_party": ""},
                             "Say who may disclose (the program, by name)."),
    "(3) kind of information": ({"information": ()},
                                "Choose what kind of information may be disclosed."),
    "(3) description": ({"description": " "},
                        "Describe the information specifically (how much and what kind)."),
    "(4) recipients": ({"recipients": ()}, "Name at least one recipient."),
    "(4) recipient's name": ({"recipients": (Recipient(name=" ", kind=RecipientKind.COURT),)},
                             "Every recipient needs a name."),
    "(5) purpose": ({"purpose": ""}, "Give the purpose of the disclosure."),
    "(6) right to revoke": ({"revocation_statement": " "},
                            "The consent must state the right to revoke it."),
    "(7) expiry": ({"expires_on": None, "expiry_event": " "},
                   "Give the date or the event on which the consent expires."),
    "(8) signature": ({"signed_by": ""}, "Give the name of the person who signed."),
    "(9) date signed": ({"signed_on": TODAY + timedelta(days=1)},
                        "The date signed cannot be in the future."),
}


@pytest.mark.parametrize("element", sorted(ELEMENTS))
def test_a_consent_without_an_element_is_refused_naming_it(element: str) -> None:
    missing, sentence = ELEMENTS[element]
    with pytest.raises(RuleViolation) as refused:
        check_consent(make_consent(**missing), today=TODAY)
    assert str(refused.value) == sentence  # that element, in these words, and no other


def test_a_complete_consent_passes_and_either_expiry_form_will_do() -> None:
    check_consent(make_consent(), today=TODAY)
    check_consent(make_consent(expires_on=None, expiry_event="when the case closes"),
                  today=TODAY)
    check_consent(make_consent(signed_on=TODAY), today=TODAY)


def test_every_missing_element_is_named_at_once() -> None:
    blank = {k: v for missing, _ in ELEMENTS.values() for k, v in missing.items()
             if k not in ("recipients", "signed_on")}
    with pytest.raises(RuleViolation) as refused:
        check_consent(make_consent(**blank), today=TODAY)
    # All but the recipients' two and the date, in the order of the form, one after another.
    assert str(refused.value) == " ".join(
        s for name, (_, s) in ELEMENTS.items()
        if name not in ("(4) recipients", "(4) recipient's name", "(9) date signed"))


def test_a_consent_cannot_expire_before_it_was_signed_nor_list_a_kind_twice() -> None:
    for consent, sentence in (
            (make_consent(expires_on=SIGNED - timedelta(days=1)),
             "The consent cannot expire before it was signed."),
            (make_consent(information=(Information.VISIT_NOTES,) * 2),
             "Each kind of information is listed once.")):
        with pytest.raises(RuleViolation) as refused:
            check_consent(consent, today=TODAY)
        assert str(refused.value) == sentence


def test_in_force_through_its_expiry_day_and_expired_the_day_after() -> None:
    consent = make_consent()
    assert state(consent, [], today=SIGNED) is ConsentState.IN_FORCE
    assert state(consent, [], today=EXPIRES) is ConsentState.IN_FORCE
    assert state(consent, [], today=EXPIRES + timedelta(days=1)) is ConsentState.EXPIRED


def test_the_expiry_event_ends_it_from_its_date() -> None:
    consent = make_consent(expires_on=None, expiry_event="when the juvenile case closes")
    event = make_end(consent, kind=EndKind.EVENT, on=date(2030, 1, 10), how="case closed")
    assert state(consent, [], today=date(2031, 1, 1)) is ConsentState.IN_FORCE
    assert state(consent, [event], today=date(2030, 1, 9)) is ConsentState.IN_FORCE
    assert state(consent, [event], today=date(2030, 1, 10)) is ConsentState.ENDED


def test_revocation_takes_effect_from_its_date_and_wins_over_everything() -> None:
    consent = make_consent()
    revoked = make_end(consent, on=date(2026, 11, 20))
    event = make_end(consent, kind=EndKind.EVENT, on=date(2026, 11, 10), how="case closed")
    assert state(consent, [revoked], today=date(2026, 11, 19)) is ConsentState.IN_FORCE
    assert state(consent, [revoked], today=date(2026, 11, 20)) is ConsentState.REVOKED
    assert state(consent, [event, revoked], today=TODAY) is ConsentState.REVOKED
    assert state(consent, [revoked], today=EXPIRES + timedelta(days=9)) is ConsentState.REVOKED
    # Another consent's revocation is not this one's.
    assert state(make_consent(), [revoked], today=TODAY) is ConsentState.IN_FORCE


def test_check_end_refuses_the_wrong_consent_a_future_date_and_no_account() -> None:
    consent = make_consent()
    check_end(make_end(consent), consent, today=TODAY)
    for end, sentence in (
            (make_end(make_consent()), "This ends another consent."),
            (make_end(consent, on=TODAY + timedelta(days=1)),
             "A consent cannot be ended on a future date."),
            (make_end(consent, on=SIGNED - timedelta(days=1)),
             "A consent cannot end before it was signed."),
            (make_end(consent, how=" "),
             "Say how the revocation was received (for example, a signed note)."),
            (make_end(consent, kind=EndKind.EVENT, how=""), "Say what happened."),
            # Every problem is named at once, one sentence after another.
            (make_end(make_consent(), on=TODAY + timedelta(days=1), how=""),
             "This ends another consent. A consent cannot be ended on a future date. "
             "Say how the revocation was received (for example, a signed note).")):
        with pytest.raises(RuleViolation) as refused:
            check_end(end, consent, today=TODAY)
        assert str(refused.value) == sentence


def test_covers_matches_recipient_kind_and_name_purpose_and_information() -> None:
    consent = make_consent()
    same = Recipient(name="  sangamon county   CIRCUIT court", kind=RecipientKind.COURT)
    assert covers(consent, recipient=same, purpose=" status report for the PERMANENCY "
                  "hearing ", information=Information.DRUG_SCREENS)
    for recipient, purpose, information in (
            (Recipient(name=COURT.name, kind=RecipientKind.OTHER), PURPOSE,
             Information.VISIT_NOTES),
            (Recipient(name="Cook County Court", kind=RecipientKind.COURT), PURPOSE,
             Information.VISIT_NOTES),
            (COURT, "Treatment planning", Information.VISIT_NOTES),
            (COURT, PURPOSE, Information.ATTENDANCE)):
        assert not covers(consent, recipient=recipient, purpose=purpose,
                          information=information)


def test_the_summary_carries_every_element() -> None:
    consent = make_consent(signer_authority="guardian", expiry_event="when the case closes")
    lines = dict(summary(consent))
    text = " ".join(lines.values())
    for element in (consent.patient, consent.disclosing_party, consent.description,
                    "visit notes", "drug screen results", COURT.name, str(RecipientKind.COURT),
                    consent.purpose, consent.revocation_statement,
                    "2027-05-01, or when the case closes", consent.signed_by, "guardian",
                    "2026-11-02", consent.id):
        assert element in text, element
    assert set(lines) >= {"Consent of", "Who may disclose", "Information", "Recipients",
                          "Purpose", "Right to revoke", "Expires", "Signed by"}


# -- the basis of a disclosure --------------------------------------------------------------

TO_COURT = Purpose(recipient=COURT, purpose=PURPOSE)
TWO = ("Alder parent", "Birch parent")
FAMILY = CaseId("case-1")  # make_consent's case


def basis(*consents: Any, ends: tuple[Any, ...] = (), people: tuple[str, ...] = TWO,
          information: Information = Information.VISIT_NOTES) -> dict[str, ConsentId]:
    # A generator on purpose: the consents are read once for every person.
    return basis_for(families={FAMILY: people}, purpose=TO_COURT, information=information,
                     consents=(c for c in consents), ends=ends, today=TODAY)[FAMILY]


def test_each_person_rests_on_their_own_covering_consent() -> None:
    alder, birch = make_consent(), make_consent(patient="birch  Parent")
    assert basis(alder, birch) == {"Alder parent": alder.id, "Birch parent": birch.id}


def test_the_newest_signed_consent_is_chosen() -> None:
    old = make_consent(signed_on=date(2026, 1, 2))
    new = make_consent(signed_on=date(2026, 11, 1))
    later_recorded = make_consent(signed_on=date(2026, 1, 2),
                                  recorded_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert basis(new, old, later_recorded, people=("Alder parent",)) == {
        "Alder parent": new.id}
    assert basis(old, later_recorded, people=("Alder parent",)) == {
        "Alder parent": later_recorded.id}


@pytest.mark.parametrize("why", ["missing", "expired", "revoked", "other recipient",
                                 "other purpose", "other information", "event"])
def test_a_person_without_a_usable_consent_is_named_in_the_refusal(why: str) -> None:
    alder = make_consent()
    birch = {
        "missing": None,
        "expired": make_consent(patient="Birch parent", expires_on=date(2026, 11, 23)),
        "revoked": make_consent(patient="Birch parent"),
        "event": make_consent(patient="Birch parent"),
        "other recipient": make_consent(patient="Birch parent", recipients=(
            Recipient(name="Lincoln Recovery Center", kind=RecipientKind.TREATMENT_PROVIDER),)),
        "other purpose": make_consent(patient="Birch parent", purpose="Treatment planning"),
        "other information": make_consent(patient="Birch parent",
                                          information=(Information.ATTENDANCE,)),
    }[why]
    ends: tuple[ConsentEnd, ...] = ()
    if why in ("revoked", "event") and birch is not None:
        ends = (make_end(birch, kind=EndKind.REVOKED if why == "revoked" else EndKind.EVENT),)
    given = [c for c in (alder, birch) if c is not None]
    with pytest.raises(NotPermitted, match="No consent in force lets Birch parent be") as no:
        basis(*given, ends=ends)
    assert "Alder parent" not in str(no.value)
    assert str(COURT) in str(no.value) and "documented exception" in str(no.value)


def test_a_refusal_names_everyone_without_consent() -> None:
    with pytest.raises(NotPermitted, match="Alder parent, Birch parent"):
        basis()


def test_a_basis_rests_on_consent_or_on_one_documented_exception() -> None:
    assert "Birch parent (consent c-2)" in Basis(
        consents={"Alder parent": ConsentId("c-1"), "Birch parent": ConsentId("c-2")}
    ).describe()
    with pytest.raises(RuleViolation, match="consent or on one exception"):
        Basis()
    with pytest.raises(RuleViolation, match="consent or on one exception"):
        Basis(consents={"Alder parent": ConsentId("c-1")},
              exception=Exception_.COURT_ORDER, reference="Case 2026-JA-14")


@pytest.mark.parametrize("exception", list(Exception_))
def test_every_exception_needs_its_reference(exception: Exception_) -> None:
    with pytest.raises(RuleViolation, match=re.escape(exception.reference_label)):
        Basis(exception=exception, reference="  ")
    described = Basis(exception=exception, reference="ref 1").describe()
    assert exception.citation in described and "ref 1" in described
    assert exception.explanation and exception.citation.startswith("42 CFR 2.")


def test_another_persons_consent_does_not_stand_in() -> None:
    other = replace(make_consent(), patient="Cedar parent")
    with pytest.raises(NotPermitted, match="Alder parent"):
        basis(other, people=("Alder parent",))


def test_a_consent_counts_only_for_its_own_family_and_all_missing_are_named() -> None:
    other = CaseId("case-2")
    elsewhere = make_consent(case_id="case-2")  # the same name, in another family's case
    with pytest.raises(NotPermitted) as refused:
        basis_for(families={FAMILY: ("Alder parent",), other: ("Alder parent", "Birch parent")},
                  purpose=TO_COURT, information=Information.VISIT_NOTES, consents=[elsewhere],
                  ends=(), today=TODAY)
    assert "lets Alder parent, Birch parent be disclosed" in refused.value.message
    assert basis_for(families={other: ("Alder parent",)}, purpose=TO_COURT,
                     information=Information.VISIT_NOTES, consents=[elsewhere], ends=(),
                     today=TODAY) == {other: {"Alder parent": elsewhere.id}}
