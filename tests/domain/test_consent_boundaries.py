"""Consents on the edges of their dates (today, the day of signing, the day of expiry), and the
2.32(b) summary of a consent that leaves out what the form lets it leave out."""

from __future__ import annotations

from datetime import date, timedelta

from fieldapp.domain.consent import (
    Consent,
    ConsentState,
    Recipient,
    RecipientKind,
    check_consent,
    check_end,
    state,
    summary,
)
from tests.domain.consent_helpers import COURT, SIGNED, make_consent, make_end

TODAY = date(2026, 11, 24)


def test_a_revocation_dated_today_is_accepted_and_in_effect_today() -> None:
    consent = make_consent()
    revoked = make_end(consent, on=TODAY)
    check_end(revoked, consent, today=TODAY)
    assert state(consent, [revoked], today=TODAY) is ConsentState.REVOKED


def test_a_revocation_on_the_day_of_signing_is_accepted() -> None:
    consent = make_consent(signed_on=SIGNED)
    revoked = make_end(consent, on=SIGNED)
    check_end(revoked, consent, today=TODAY)
    assert state(consent, [revoked], today=SIGNED) is ConsentState.REVOKED


def test_a_consent_may_expire_on_the_day_it_is_signed_and_holds_for_that_day() -> None:
    one_day = make_consent(signed_on=SIGNED, expires_on=SIGNED)
    check_consent(one_day, today=TODAY)
    assert state(one_day, [], today=SIGNED) is ConsentState.IN_FORCE
    assert state(one_day, [], today=SIGNED + timedelta(days=1)) is ConsentState.EXPIRED


def test_the_summary_gives_every_element_in_the_words_a_recipient_reads() -> None:
    clinic = Recipient(name="Lincoln Recovery Center", kind=RecipientKind.TREATMENT_PROVIDER)
    consent = make_consent(recipients=(COURT, clinic), signer_authority="guardian",
                           expiry_event="when the case closes")
    assert summary(consent) == [
        ("Consent of", "Alder parent"),
        ("Who may disclose", "Intact Family Recovery, Springfield office"),
        ("Information", "visit notes, drug screen results: "
                        "Visit notes and drug screen results from September 2026 on"),
        ("Recipients", "Sangamon County Circuit Court (court); "
                       "Lincoln Recovery Center (treatment provider)"),
        ("Purpose", "Status report for the permanency hearing"),
        # 2.31(a)(6): the right to revoke in writing, the reliance exception, and how.
        ("Right to revoke", "You may revoke this consent at any time, in writing, except to "
                            "the extent that the program has already acted in reliance on it. "
                            "To revoke it, give or send a signed note saying so to your "
                            "recovery coordinator or to the program's office."),
        ("Expires", "2027-05-01, or when the case closes"),
        ("Signed by", "Alder parent (guardian) on 2026-11-02"),
        ("Consent id", consent.id),
    ]


def test_the_summary_of_a_consent_that_ends_only_by_an_event_names_the_event() -> None:
    consent = make_consent(expires_on=None, expiry_event="when the juvenile case closes")
    assert dict(summary(consent))["Expires"] == "when the juvenile case closes"


def test_the_summary_of_a_consent_that_ends_only_by_a_date_gives_the_date() -> None:
    for consent in (make_consent(), make_consent(expiry_event="  ")):
        assert dict(summary(consent))["Expires"] == "2027-05-01"


def test_the_summary_of_a_consent_signed_by_the_person_themself_adds_no_authority() -> None:
    for consent in (make_consent(), make_consent(signer_authority="  ")):
        assert dict(summary(consent))["Signed by"] == "Alder parent on 2026-11-02"


def test_a_consent_written_without_an_expiry_date_ends_only_by_its_event() -> None:
    """A form that names only an event ("until the case closes"): built as the dialog builds
    it, with no expiry date given at all, it is accepted and stays in force until the event is
    recorded. (A mutated default for the date once went unnoticed: every test named one.)"""
    fields = {k: v for k, v in vars(make_consent(expiry_event="until the case is closed"))
              .items() if k != "expires_on"}
    consent = Consent(**fields)
    assert consent.expires_on is None
    check_consent(consent, today=TODAY)
    assert state(consent, [], today=TODAY + timedelta(days=3650)) is ConsentState.IN_FORCE
