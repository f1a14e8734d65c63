"""Consents to disclose (42 CFR 2.31): every element the rule lists, and when one is in force.

A consent is recorded from the signed form, once, and never edited: a changed consent is a new
consent. It ends by revocation, by its expiry date, or by the event it names; an end is its own
record (`ConsentEnd`), so a revocation made on one laptop reaches every other one by sync and
cannot be lost to an edit made elsewhere.

The elements of a written consent under 42 CFR 2.31(a), as amended in 2024 (read from the eCFR
text of § 2.31, "Consent requirements"), and where each one lives here:
  (1) the name of the patient                                   `patient`
  (2) who is authorized to make the use or disclosure           `disclosing_party`
  (3) a specific and meaningful description of the information `information` + `description`
  (4) the recipients, by name                                   `recipients`
  (5) the purpose of each disclosure                            `purpose`
  (6) the right to revoke in writing, the reliance exception,
      and how to revoke                                         `revocation_statement`
  (7) the expiry date, event or condition                       `expires_on` / `expiry_event`
  (8) the signature of the patient (or an authorized person)    `signed_by` (+ `signer_authority`)
  (9) the date it was signed                                    `signed_on`
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, ConsentId, UserId

REVOCATION_STATEMENT = (
    "You may revoke this consent at any time, in writing, except to the extent that the "
    "program has already acted in reliance on it. To revoke it, give or send a signed note "
    "saying so to your recovery coordinator or to the program's office."
)


class RecipientKind(StrEnum):
    COURT = "court"
    TREATMENT_PROVIDER = "treatment provider"
    CHILD_WELFARE = "child-welfare agency"
    OTHER = "other"
    # Recipients of exports that need no consent (see `disclosure.Exception_`); a consent form
    # does not name them.
    PROGRAM_STAFF = "program staff"
    PATIENT = "the person themself"


# The kinds of recipient a consent form names (the consent dialog offers these).
CONSENT_RECIPIENT_KINDS = (RecipientKind.COURT, RecipientKind.TREATMENT_PROVIDER,
                           RecipientKind.CHILD_WELFARE, RecipientKind.OTHER)


class Information(StrEnum):
    """Kinds of information a consent may cover; each export says which kind it discloses."""

    VISIT_NOTES = "visit notes"
    DRUG_SCREENS = "drug screen results"
    ATTENDANCE = "attendance and participation"


class ConsentState(StrEnum):
    IN_FORCE = "in force"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ENDED = "ended by its expiry event"


class EndKind(StrEnum):
    REVOKED = "revoked"
    EVENT = "expiry event occurred"


@dataclass(frozen=True, kw_only=True)
class Recipient:
    name: str
    kind: RecipientKind

    def same_as(self, other: Recipient) -> bool:
        """The same recipient: same kind and the same name, ignoring case and spacing."""
        return self.kind is other.kind and same_words(self.name, other.name)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


@dataclass(frozen=True, kw_only=True)
class Consent:
    """A signed consent, as recorded from the form. Sealed: everything but ids and dates."""

    id: ConsentId
    case_id: CaseId
    patient: str
    disclosing_party: str
    information: tuple[Information, ...]
    description: str
    recipients: tuple[Recipient, ...]
    purpose: str
    revocation_statement: str = REVOCATION_STATEMENT
    expires_on: date | None = None
    expiry_event: str = ""
    signed_by: str
    signer_authority: str = ""
    signed_on: date
    recorded_by: UserId
    recorded_at: datetime


@dataclass(frozen=True, kw_only=True)
class ConsentEnd:
    """A consent's revocation, or the record that its expiry event happened."""

    id: str
    consent_id: ConsentId
    case_id: CaseId
    kind: EndKind
    on: date
    how: str
    recorded_by: UserId
    recorded_at: datetime


def check_consent(consent: Consent, *, today: date) -> None:
    """Refuse a consent that lacks any element of 42 CFR 2.31(a), naming every one missing."""
    c = consent
    checks = (
        (not c.patient.strip(), "Name the person whose records the consent covers."),
        (not c.disclosing_party.strip(), "Say who may disclose (the program, by name)."),
        (not c.information, "Choose what kind of information may be disclosed."),
        (len(set(c.information)) != len(c.information), "Each kind of information is listed "
                                                        "once."),
        (not c.description.strip(), "Describe the information specifically (how much and "
                                    "what kind)."),
        (not c.recipients, "Name at least one recipient."),
        (any(not r.name.strip() for r in c.recipients), "Every recipient needs a name."),
        (not c.purpose.strip(), "Give the purpose of the disclosure."),
        (not c.revocation_statement.strip(), "The consent must state the right to revoke it."),
        (c.expires_on is None and not c.expiry_event.strip(),
         "Give the date or the event on which the consent expires."),
        (not c.signed_by.strip(), "Give the name of the person who signed."),
        (c.signed_on > today, "The date signed cannot be in the future."),
        (c.expires_on is not None and c.expires_on < c.signed_on,
         "The consent cannot expire before it was signed."),
    )
    problems = [message for failed, message in checks if failed]
    if problems:
        raise RuleViolation(" ".join(problems))


def check_end(end: ConsentEnd, consent: Consent, *, today: date) -> None:
    problems = []
    if end.consent_id != consent.id or end.case_id != consent.case_id:
        problems.append("This ends another consent.")
    if end.on > today:
        problems.append("A consent cannot be ended on a future date.")
    if end.on < consent.signed_on:
        problems.append("A consent cannot end before it was signed.")
    if not end.how.strip():
        problems.append("Say how the revocation was received (for example, a signed note)."
                        if end.kind is EndKind.REVOKED else "Say what happened.")
    if problems:
        raise RuleViolation(" ".join(problems))


def state(consent: Consent, ends: Iterable[ConsentEnd], *, today: date) -> ConsentState:
    """Where the consent stands on `today`. A revocation wins over everything else."""
    mine = [e for e in ends if e.consent_id == consent.id and e.on <= today]
    if any(e.kind is EndKind.REVOKED for e in mine):
        return ConsentState.REVOKED
    if mine:
        return ConsentState.ENDED
    if consent.expires_on is not None and today > consent.expires_on:
        return ConsentState.EXPIRED
    return ConsentState.IN_FORCE


def covers(consent: Consent, *, recipient: Recipient, purpose: str,
           information: Information) -> bool:
    """Whether the consent names this recipient, this purpose and this kind of information."""
    return (information in consent.information
            and any(r.same_as(recipient) for r in consent.recipients)
            and same_words(consent.purpose, purpose))


def summary(consent: Consent) -> list[tuple[str, str]]:
    """The consent's elements as (label, text) lines, for a disclosure to carry (2.32(b))."""
    expiry = consent.expires_on.isoformat() if consent.expires_on else ""
    if consent.expiry_event.strip():
        expiry = f"{expiry}, or {consent.expiry_event}" if expiry else consent.expiry_event
    signer = consent.signed_by + (f" ({consent.signer_authority})"
                                  if consent.signer_authority.strip() else "")
    return [
        ("Consent of", consent.patient),
        ("Who may disclose", consent.disclosing_party),
        ("Information", f"{', '.join(consent.information)}: {consent.description}"),
        ("Recipients", "; ".join(str(r) for r in consent.recipients)),
        ("Purpose", consent.purpose),
        ("Right to revoke", consent.revocation_statement),
        ("Expires", expiry),
        ("Signed by", f"{signer} on {consent.signed_on.isoformat()}"),
        ("Consent id", consent.id),
    ]


def same_words(a: str, b: str) -> bool:
    """The same name or phrase, ignoring case and spacing ("Cook  County" is "cook county")."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
