"""Builders for consent tests: a complete consent, its end, and a disclosure resting on it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fieldapp.domain.consent import (
    Consent,
    ConsentEnd,
    EndKind,
    Information,
    Recipient,
    RecipientKind,
)
from fieldapp.domain.disclosure import Basis, Disclosure
from fieldapp.domain.people import CaseId, ConsentId, DisclosureId, UserId, new_id

COURT = Recipient(name="Sangamon County Circuit Court", kind=RecipientKind.COURT)
PURPOSE = "Status report for the permanency hearing"
SIGNED = date(2026, 11, 2)
EXPIRES = date(2027, 5, 1)


def make_consent(*, case_id: str = "case-1", **overrides: Any) -> Consent:
    """A complete consent of 'Alder parent' to tell the court about visit notes and screens."""
    fields: dict[str, Any] = {
        "id": ConsentId(new_id()), "case_id": CaseId(case_id), "patient": "Alder parent",
        "disclosing_party": "Intact Family Recovery, Springfield office",
        "information": (Information.VISIT_NOTES, Information.DRUG_SCREENS),
        "description": "Visit notes and drug screen results from September 2026 on",
        "recipients": (COURT,), "purpose": PURPOSE, "expires_on": EXPIRES,
        "signed_by": "Alder parent", "signed_on": SIGNED,
        "recorded_by": UserId("placeholder"), "recorded_at": datetime(2000, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return Consent(**fields)


def make_end(consent: Consent, **overrides: Any) -> ConsentEnd:
    """A written revocation of `consent` received on 20 November 2026."""
    fields: dict[str, Any] = {
        "id": new_id(), "consent_id": consent.id, "case_id": consent.case_id,
        "kind": EndKind.REVOKED, "on": date(2026, 11, 20),
        "how": "Signed note handed to the coordinator",
        "recorded_by": UserId("rc-1"), "recorded_at": datetime(2026, 11, 20, 15, tzinfo=UTC),
    }
    fields.update(overrides)
    return ConsentEnd(**fields)


def make_disclosure(*, case_id: str, basis: Basis, **overrides: Any) -> Disclosure:
    """Alder parent's visit notes for November, sent to the court."""
    fields: dict[str, Any] = {
        "id": DisclosureId(new_id()), "case_id": CaseId(case_id), "people": ("Alder parent",),
        "recipient": COURT, "purpose": PURPOSE, "information": Information.VISIT_NOTES,
        "what": "Visit notes, 1 to 24 November 2026 (PDF, 4 pages)", "basis": basis,
        "at": datetime(2026, 11, 24, 9, 30, tzinfo=UTC), "by": UserId("rc-1"),
        "sha256": "ab" * 32,
    }
    fields.update(overrides)
    return Disclosure(**fields)
