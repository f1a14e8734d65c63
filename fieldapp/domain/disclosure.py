"""Disclosures: what goes to whom, on what basis, and the accounting kept of each.

An export or print of substance-use information names its recipient and purpose and rests on a
basis: for every person in recovery whose records it holds, a consent in force that covers the
recipient, the purpose and the kind of information (42 CFR 2.31), or one documented exception
from the short list below. Every disclosure is kept as a `Disclosure` record (synced, sealed)
and as an audit entry, which together are the accounting of disclosures per person (2.24).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from fieldapp.domain.consent import (
    Consent,
    ConsentEnd,
    ConsentState,
    Information,
    Recipient,
    RecipientKind,
    covers,
    same_words,
    state,
)
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import CaseId, ConsentId, DisclosureId, UserId


class Exception_(StrEnum):  # noqa: N801 (the field's word; `Exception` is Python's)
    """The documented exceptions to consent a program uses, with the rule for each."""

    PROGRAM_USE = "within the program"
    PATIENT_ACCESS = "to the person themself"
    CHILD_ABUSE_REPORT = "child abuse or neglect report"
    MEDICAL_EMERGENCY = "medical emergency"
    COURT_ORDER = "court order"

    @property
    def citation(self) -> str:
        return _CITATIONS[self]

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]

    @property
    def reference_label(self) -> str:
        """What the person must write down to document the exception."""
        return _REFERENCES[self]


_CITATIONS = {
    Exception_.PROGRAM_USE: "42 CFR 2.12(c)(3)",
    Exception_.PATIENT_ACCESS: "42 CFR 2.23",
    Exception_.CHILD_ABUSE_REPORT: "42 CFR 2.12(c)(6)",
    Exception_.MEDICAL_EMERGENCY: "42 CFR 2.51",
    Exception_.COURT_ORDER: "42 CFR 2.64",
}
_EXPLANATIONS = {
    Exception_.PROGRAM_USE: "Communication within the program, to staff who need the "
                            "information for their work (supervision, payroll, audit).",
    Exception_.PATIENT_ACCESS: "The person's own records, given to them at their request.",
    Exception_.CHILD_ABUSE_REPORT: "The initial report of suspected child abuse or neglect "
                                   "made under state law; Part 2 does not restrict it.",
    Exception_.MEDICAL_EMERGENCY: "Medical personnel, to the extent needed to meet a bona fide "
                                  "medical emergency.",
    Exception_.COURT_ORDER: "An order of a court issued under 42 CFR 2.64 after notice and a "
                            "finding of good cause (a subpoena alone is not enough).",
}
_REFERENCES = {
    Exception_.PROGRAM_USE: "Who in the program needs it, and why",
    Exception_.PATIENT_ACCESS: "How the person asked (date, in writing or in person)",
    Exception_.CHILD_ABUSE_REPORT: "Hotline or report number, and the date of the report",
    Exception_.MEDICAL_EMERGENCY: "The emergency, the facility and the person who asked",
    Exception_.COURT_ORDER: "The court, the case number and the date of the order",
}


# Who each exception lets records go to: within the program, program staff; the person's own
# records, the person; a child-abuse report, the state's child-welfare agency (or the police,
# where state law sends reports there); an emergency, medical personnel; a 2.64 order, whom the
# order names.
_RECIPIENTS_OF = {
    Exception_.PROGRAM_USE: (RecipientKind.PROGRAM_STAFF,),
    Exception_.PATIENT_ACCESS: (RecipientKind.PATIENT,),
    Exception_.CHILD_ABUSE_REPORT: (RecipientKind.CHILD_WELFARE, RecipientKind.OTHER),
    Exception_.MEDICAL_EMERGENCY: (RecipientKind.TREATMENT_PROVIDER, RecipientKind.OTHER),
    Exception_.COURT_ORDER: (RecipientKind.COURT, RecipientKind.TREATMENT_PROVIDER,
                             RecipientKind.CHILD_WELFARE, RecipientKind.OTHER),
}


def own_records_only(terms: Terms, people: Sequence[str]) -> None:
    """A person's own records go to them alone (42 CFR 2.23): refuse a family of whom the
    recipient is not the parent in recovery, or not the only one."""
    if terms.exception is not Exception_.PATIENT_ACCESS:
        return
    name = terms.recipient.name
    others = [p for p in people if not same_words(p, name)]
    if len(others) == len(people):
        raise NotPermitted(f"{name} is not a parent in recovery of this family: under "
                           "42 CFR 2.23 a person gets only their own records.")
    if others:
        raise NotPermitted(f"This family's records are also {', '.join(others)}'s: under "
                           f"42 CFR 2.23 {name} gets only their own; the others' need their "
                           "consent.")


@dataclass(frozen=True, kw_only=True)
class Purpose:
    """Who an export is for and why: the recipient and purpose a consent must name."""

    recipient: Recipient
    purpose: str


@dataclass(frozen=True, kw_only=True)
class Terms:
    """Who an export is for and why, and the exception it rests on when it needs no consent.

    Without an exception the export rests on consent: each person's own, found when the
    export is made (`basis_for`).
    """

    recipient: Recipient
    purpose: str
    exception: Exception_ | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not self.recipient.name.strip():
            problems.append("Say who the export is for.")
        if not self.purpose.strip():
            problems.append("Say what it is for (the purpose).")
        if self.exception is not None and not self.reference.strip():
            problems.append(f"Document the exception: {self.exception.reference_label}.")
        if self.exception is not None and \
                self.recipient.kind not in _RECIPIENTS_OF[self.exception]:
            kinds = " or ".join(str(k) for k in _RECIPIENTS_OF[self.exception])
            problems.append(f"A disclosure {self.exception} goes to {kinds}, not to "
                            f"{self.recipient.kind}.")
        if problems:
            raise RuleViolation(" ".join(problems))

    @property
    def asked(self) -> Purpose:
        return Purpose(recipient=self.recipient, purpose=self.purpose)


@dataclass(frozen=True, kw_only=True)
class Basis:
    """What a disclosure relies on: consents (by person) or one documented exception."""

    consents: Mapping[str, ConsentId] = field(default_factory=dict)
    exception: Exception_ | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        if (self.exception is None) == (not self.consents):
            raise RuleViolation("A disclosure rests on consent or on one exception.")
        if self.exception is not None and not self.reference.strip():
            raise RuleViolation(f"Document the exception: {self.exception.reference_label}.")

    def describe(self) -> str:
        if self.exception is not None:
            return f"Exception: {self.exception} ({self.exception.citation}). {self.reference}"
        return "Consent of " + "; ".join(
            f"{person} (consent {consent_id})" for person, consent_id in self.consents.items())


@dataclass(frozen=True, kw_only=True)
class Disclosure:
    """One case's part of one export: the accounting entry. Sealed but for ids and dates."""

    id: DisclosureId
    case_id: CaseId
    people: tuple[str, ...]
    recipient: Recipient
    purpose: str
    information: Information
    what: str
    basis: Basis
    at: datetime
    by: UserId
    sha256: str


def basis_for(*, families: Mapping[CaseId, Sequence[str]], purpose: Purpose,
              information: Information, consents: Iterable[Consent],
              ends: Iterable[ConsentEnd], today: date) -> dict[CaseId, dict[str, ConsentId]]:
    """For each family, each person's consent in force that covers this disclosure (the newest
    signed), by the family's case and the person's name.

    Refuses, naming every person without one in every family, when any is missing: a
    disclosure resting on consent needs the consent of each person in recovery whose records it
    holds.
    """
    consents, ends = list(consents), list(ends)  # read once per person, not used up by one
    chosen: dict[CaseId, dict[str, ConsentId]] = {}
    missing = []
    for case_id, people in families.items():
        chosen[case_id] = {}
        for person in people:
            usable = [c for c in consents
                      if c.case_id == case_id and same_words(c.patient, person)
                      and state(c, ends, today=today) is ConsentState.IN_FORCE
                      and covers(c, recipient=purpose.recipient, purpose=purpose.purpose,
                                 information=information)]
            if usable:
                chosen[case_id][person] = max(usable,
                                              key=lambda c: (c.signed_on, c.recorded_at)).id
            else:
                missing.append(person)
    if missing:
        raise NotPermitted(
            f"No consent in force lets {', '.join(missing)} be disclosed to "
            f"{purpose.recipient} for “{purpose.purpose}” ({information}). Record a consent "
            "that names this recipient and purpose, or choose a documented exception.")
    return chosen
