"""What an export rests on: for each family in it, the consents or the exception, found before
anything is written, and the accounting entries written with the export's audit entry.

Thread rule: the database worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fieldapp.domain.cases import Case
from fieldapp.domain.consent import Consent, Information, summary
from fieldapp.domain.disclosure import Basis, Disclosure, Terms, basis_for, own_records_only
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
    information = request.kind.information
    families = {c.id: tuple(p.name for p in c.parents) for c in cases}
    if terms.exception is not None:
        for people in families.values():
            own_records_only(terms, people)
        bases = {case_id: Basis(exception=terms.exception, reference=terms.reference)
                 for case_id in families}
        relied_on: list[Consent] = []
    else:
        held, ends = ConsentService(workspace).consents_and_ends(list(families))
        chosen = basis_for(families=families, purpose=terms.asked, information=information,
                           consents=held, ends=ends, today=workspace.today())
        bases = {case_id: Basis(consents=by_person) for case_id, by_person in chosen.items()}
        used = {i for by_person in chosen.values() for i in by_person.values()}
        relied_on = [c for c in held if c.id in used]
    found = [CaseBasis(case_id=c.id, family=c.family_name, people=families[c.id],
                       basis=bases[c.id]) for c in cases]
    return DisclosureSheet(terms=terms, information=information, cases=tuple(found),
                           consents=tuple(sorted(relied_on,
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
