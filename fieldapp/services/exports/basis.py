"""What an export rests on: for each family in it, the consents or the exception, found before
anything is written, and the accounting entries written with the export's audit entry.

Thread rule: the database worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fieldapp.domain.cases import Case
from fieldapp.domain.consent import Consent, ConsentEnd, Information, summary
from fieldapp.domain.disclosure import (
    Basis,
    Disclosure,
    Terms,
    consents_covering,
    no_consent,
    own_records_only,
)
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.exports import ExportRequest
from fieldapp.domain.people import CaseId, DisclosureId, UserId, new_id
from fieldapp.services.consents import ConsentService, record_disclosures
from fieldapp.services.workspace import Stores, Workspace


@dataclass(frozen=True, kw_only=True)
class CaseBasis:
    """One family's part of an export: whose records, and what their disclosure rests on."""

    case_id: CaseId
    family: str
    people: tuple[str, ...]
    basis: Basis


@dataclass(frozen=True, kw_only=True)
class DisclosureSheet:
    """Who an export goes to, why, on what basis: printed on its first page and kept as the
    accounting of disclosures.

    Attributes:
        consents: the consents relied on, whose summary the export carries (42 CFR 2.32(b)).
    """

    terms: Terms
    information: Information
    cases: tuple[CaseBasis, ...]
    consents: tuple[Consent, ...]

    def lines(self) -> list[tuple[str, str]]:
        terms = self.terms
        if terms.exception is not None:
            basis = (f"No consent: {terms.exception} ({terms.exception.citation}). "
                     f"{terms.exception.explanation} Documented: {terms.reference}")
        else:
            basis = ("The written consent of each person whose records are disclosed "
                     "(42 CFR 2.31), summarised below.")
        return [("Disclosed to", str(terms.recipient)), ("Purpose", terms.purpose),
                ("Information", str(self.information)), ("Basis", basis)]

    def consent_lines(self) -> list[list[tuple[str, str]]]:
        return [summary(c) for c in self.consents]


def disclosure_sheet(workspace: Workspace, request: ExportRequest, cases: Sequence[Case]
                     ) -> DisclosureSheet:
    """The basis for disclosing `cases`' records under `request`, or `NotPermitted` naming each
    person without a consent in force that covers the recipient, purpose and information."""
    terms = request.terms
    if terms is None:
        raise RuleViolation("Say who the export is for and why.")
    information = request.kind.information
    consents: dict[str, Consent] = {}
    found: list[CaseBasis] = []
    held: list[Consent] = []
    ends: list[ConsentEnd] = []
    if terms.exception is None and cases:
        held, ends = ConsentService(workspace).consents_and_ends([c.id for c in cases])
    by_id = {c.id: c for c in held}
    missing: list[str] = []  # everyone without a consent, in every family, said at once
    for case in cases:
        people = tuple(p.name for p in case.parents)
        if terms.exception is not None:
            own_records_only(terms, people)
            basis = Basis(exception=terms.exception, reference=terms.reference)
        else:
            chosen, lacking = consents_covering(
                people=people, purpose=terms.asked, information=information,
                consents=[c for c in held if c.case_id == case.id], ends=ends,
                today=workspace.today())
            missing += lacking
            if lacking:
                continue
            consents.update({i: by_id[i] for i in chosen.values()})
            basis = Basis(consents=chosen)
        found.append(CaseBasis(case_id=case.id, family=case.family_name, people=people,
                               basis=basis))
    if missing:
        raise no_consent(missing, purpose=terms.asked, information=information)
    return DisclosureSheet(terms=terms, information=information, cases=tuple(found),
                           consents=tuple(sorted(consents.values(),
                                                 key=lambda c: (c.patient, c.signed_on))))


def account(workspace: Workspace, stores: Stores, sheet: DisclosureSheet, *, what: str,
            sha256: str) -> list[Disclosure]:
    """Write one accounting entry per family, in the caller's transaction (with the export's
    own audit entry), each with its audit entry in the hash chain."""
    at: datetime = workspace.now()
    entries = [Disclosure(id=DisclosureId(new_id()), case_id=c.case_id, people=c.people,
                          recipient=sheet.terms.recipient, purpose=sheet.terms.purpose,
                          information=sheet.information, what=what, basis=c.basis, at=at,
                          by=UserId(workspace.actor.user_id), sha256=sha256)
               for c in sheet.cases]
    record_disclosures(workspace, stores, entries)
    return entries
