"""The consent registry (42 CFR 2.31) and the accounting of disclosures (2.24)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from fieldapp.domain import consent as rules
from fieldapp.domain.audit import Action
from fieldapp.domain.cases import Case
from fieldapp.domain.consent import Consent, ConsentEnd, ConsentState, EndKind, same_words
from fieldapp.domain.disclosure import Disclosure
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, ConsentId, Role, new_id
from fieldapp.services.workspace import Stores, Workspace
from fieldapp.storage.consent_store import canonical_json


@dataclass(frozen=True, kw_only=True)
class ConsentView:
    """A consent with its ends and where it stands as of today."""

    consent: Consent
    ends: tuple[ConsentEnd, ...]
    state: ConsentState


@dataclass(frozen=True, kw_only=True)
class ExpiringConsent:
    case_id: CaseId
    consent_id: ConsentId
    patient: str
    expires_on: date


class ConsentService:
    """Thread rule: the database worker."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def record(self, consent: Consent) -> Consent:
        """Record a signed consent for one of the case's parents in recovery."""
        consent = replace(consent, recorded_by=self._ws.actor.user_id,
                          recorded_at=self._ws.now())
        rules.check_consent(consent, today=self._ws.today())
        with self._ws.unit() as stores:
            case = stores.cases.get(consent.case_id)
            self._ws.require_case(case)
            consent = replace(consent, patient=_parent_named(case, consent.patient))
            stores.consents.add(consent)
            self._ws.audit(stores, Action.CONSENT_RECORDED, consent.id, case=consent.case_id)
        return consent

    def end(self, consent_id: ConsentId, *, kind: EndKind, on: date, how: str) -> ConsentEnd:
        """Record a revocation, or that the consent's expiry event happened, from `on`."""
        with self._ws.unit() as stores:
            consent = stores.consents.get(consent_id)
            self._ws.require_case(stores.cases.get(consent.case_id))
            _, ends = stores.consents.for_cases([consent.case_id])
            _refuse_ended(consent, [e for e in ends if e.consent_id == consent_id], on=on)
            end = ConsentEnd(id=new_id(), consent_id=consent_id, case_id=consent.case_id,
                             kind=kind, on=on, how=how, recorded_by=self._ws.actor.user_id,
                             recorded_at=self._ws.now())
            rules.check_end(end, consent, today=self._ws.today())
            stores.consents.add_end(end)
            self._ws.audit(stores, Action.CONSENT_ENDED, consent_id, case=consent.case_id,
                           kind=kind.name)
        return end

    def for_case(self, case_id: CaseId) -> list[ConsentView]:
        """The case's consents, newest signed first, each with where it stands today."""
        consents, ends = self.consents_and_ends([case_id])
        today = self._ws.today()
        views = [ConsentView(consent=c, ends=tuple(e for e in ends if e.consent_id == c.id),
                             state=rules.state(c, ends, today=today)) for c in consents]
        return sorted(views, key=lambda v: (v.consent.signed_on, v.consent.recorded_at),
                      reverse=True)

    def people(self, case_id: CaseId) -> list[str]:
        """Who a consent of this case can be for: its parents in recovery."""
        case = self._ws.stores().cases.get(case_id)
        self._ws.require_case(case)
        return [p.name for p in case.parents]

    def consents_and_ends(self, case_ids: Sequence[CaseId]
                          ) -> tuple[list[Consent], list[ConsentEnd]]:
        """Every consent of these cases and every end recorded for them (whatever their
        state: `domain.disclosure.basis_for` decides which are in force)."""
        stores = self._ws.stores()
        for case_id in dict.fromkeys(case_ids):
            self._ws.require_case(stores.cases.get(case_id))
        return stores.consents.for_cases(list(case_ids))


def expiring(workspace: Workspace, *, within_days: int) -> list[ExpiringConsent]:
    """Consents in force on the actor's caseload whose expiry date is within the next
    `within_days` days (today included), soonest first. Thread rule: the database worker."""
    if workspace.actor.role is Role.ADMIN:
        return []
    today = workspace.today()
    horizon = today + timedelta(days=within_days)
    consents, ends = workspace.stores().consents.for_cases(_caseload(workspace))
    found = [ExpiringConsent(case_id=c.case_id, consent_id=c.id, patient=c.patient,
                             expires_on=c.expires_on)
             for c in consents
             if c.expires_on is not None and today <= c.expires_on <= horizon
             and rules.state(c, ends, today=today) is ConsentState.IN_FORCE]
    return sorted(found, key=lambda e: (e.expires_on, e.patient.casefold(), e.consent_id))


class AccountingService:
    """The accounting of disclosures, per case and per person. Thread rule: the database
    worker."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def for_case(self, case_id: CaseId, *, person: str | None = None) -> list[Disclosure]:
        """The case's disclosures, newest first; with `person`, only those that hold theirs."""
        stores = self._ws.stores()
        self._ws.require_case(stores.cases.get(case_id))
        found = stores.consents.disclosures([case_id])
        if person is None:
            return found
        return [d for d in found if any(same_words(p, person) for p in d.people)]


def record_disclosures(workspace: Workspace, stores: Stores,
                       disclosures: Sequence[Disclosure]) -> None:
    """Keep each disclosure and its audit entry, inside the caller's `unit()` (the export's).

    The audit entry holds ids and plain facts only, and `entry`, the SHA-256 of the
    disclosure's canonical JSON, so the hash-chained log corroborates the sealed record.
    """
    for disclosure in disclosures:
        workspace.require_case(stores.cases.get(disclosure.case_id))
        stores.consents.add_disclosure(disclosure)
        basis = disclosure.basis
        workspace.audit(
            stores, Action.DISCLOSURE, disclosure.id, case=disclosure.case_id,
            recipient=disclosure.recipient.kind.name,
            basis=sorted(basis.consents.values()) if basis.exception is None
            else basis.exception.name,
            information=disclosure.information.name, sha256=disclosure.sha256,
            entry=entry_hash(disclosure))


def entry_hash(disclosure: Disclosure) -> str:
    """The SHA-256 (hex) of the disclosure's canonical JSON, as its audit entry carries it."""
    return hashlib.sha256(canonical_json(disclosure).encode("utf-8")).hexdigest()


def _caseload(workspace: Workspace) -> list[CaseId]:
    me = workspace.actor.user_id
    rows = workspace.db.execute(
        "SELECT id FROM cases WHERE coordinator_id = ? OR intact_worker_id = ? "
        "OR EXISTS (SELECT 1 FROM json_each(supervisor_ids) WHERE value = ?) ORDER BY id",
        [me, me, me]).fetchall()
    return [CaseId(row[0]) for row in rows]


def _parent_named(case: Case, patient: str) -> str:
    """The case's spelling of the parent in recovery named `patient`."""
    for parent in case.parents:
        if same_words(parent.name, patient):
            return parent.name
    raise RuleViolation("A consent is signed by, or for, one of the case's parents in "
                        "recovery; choose who it is for from the case's list.")


def _refuse_ended(consent: Consent, ends: list[ConsentEnd], *, on: date) -> None:
    revoked = sorted(e.on for e in ends if e.kind is EndKind.REVOKED)
    if revoked:
        raise RuleViolation(f"This consent was already revoked on {revoked[0].isoformat()}.")
    if ends:
        ended = min(e.on for e in ends)
        raise RuleViolation(f"This consent already ended on {ended.isoformat()}, when its "
                            "expiry event happened.")
    if consent.expires_on is not None and on > consent.expires_on:
        raise RuleViolation(f"This consent already expired: its last day was "
                            f"{consent.expires_on.isoformat()}.")
