"""Consents, their ends and the disclosures made on them: sealed rows, case id and times plain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fieldapp.domain.consent import (
    Consent,
    ConsentEnd,
    EndKind,
    Information,
    Recipient,
    RecipientKind,
)
from fieldapp.domain.disclosure import Basis, Disclosure, Exception_
from fieldapp.domain.errors import RecordTampered
from fieldapp.domain.people import CaseId, ConsentId, DisclosureId, UserId
from fieldapp.storage import codec
from fieldapp.storage.sealed import Body, Opened, SealedTable


class ConsentStore:
    """Thread rule: the database worker, inside the caller's transaction."""

    def __init__(self, consents: SealedTable, ends: SealedTable, disclosures: SealedTable
                 ) -> None:
        self._consents, self._ends, self._disclosures = consents, ends, disclosures

    def add(self, consent: Consent) -> None:
        self._consents.insert(
            record_id=consent.id, body=consent_body(consent),
            plain={"case_id": consent.case_id, "recorded_by": consent.recorded_by,
                   "recorded_at": codec.moment(consent.recorded_at)})

    def add_end(self, end: ConsentEnd) -> None:
        self._ends.insert(
            record_id=end.id, body=_end_body(end),
            plain={"consent_id": end.consent_id, "case_id": end.case_id,
                   "recorded_by": end.recorded_by, "recorded_at": codec.moment(end.recorded_at)})

    def get(self, consent_id: ConsentId) -> Consent:
        """The consent; `RecordNotFound` or `RecordTampered` otherwise."""
        row, body = self._consents.get(consent_id)
        if body.get("case_id") != row["case_id"]:
            raise RecordTampered(table="consents", record_id=consent_id)
        return _consent(row, body)

    def for_cases(self, case_ids: Sequence[CaseId]) -> tuple[list[Consent], list[ConsentEnd]]:
        """Every consent of `case_ids` (oldest recorded first) and every end recorded for them.
        A row that does not open, or whose sealed case is not its plain one, is left out; so is
        a consent with such an end: an end that cannot be read may be a revocation, and a
        consent that may have been revoked is not relied on (`fieldapp doctor` names the
        damaged row)."""
        where, params = _in_cases(case_ids)
        opened_ends = self._ends.select(where, params, order="recorded_at, id")
        ends = [_end(row, body) for row, body in _intact(opened_ends)
                if body["consent_id"] == row["consent_id"]]
        doubtful = {o.row["consent_id"] for o in opened_ends} - {e.consent_id for e in ends}
        consents = [_consent(row, body) for row, body in _intact(self._consents.select(
            where, params, order="recorded_at, id")) if row["id"] not in doubtful]
        return consents, ends

    def add_disclosure(self, disclosure: Disclosure) -> None:
        self._disclosures.insert(
            record_id=disclosure.id, body=disclosure_body(disclosure),
            plain={"case_id": disclosure.case_id, "disclosed_by": disclosure.by,
                   "disclosed_at": codec.moment(disclosure.at)})

    def disclosures(self, case_ids: Sequence[CaseId]) -> list[Disclosure]:
        """The disclosures of `case_ids`, newest first."""
        where, params = _in_cases(case_ids)
        opened = self._disclosures.select(where, params, order="disclosed_at DESC, rowid DESC")
        return [_disclosure(row, body) for row, body in _intact(opened)]


def canonical_json(disclosure: Disclosure) -> str:
    """The disclosure as one canonical JSON text (sorted keys, no spacing): what its audit
    entry's hash is taken of."""
    return json.dumps(disclosure_body(disclosure), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def consent_body(c: Consent) -> Body:
    return {
        "case_id": c.case_id, "patient": c.patient, "disclosing_party": c.disclosing_party,
        "information": [str(i) for i in c.information], "description": c.description,
        "recipients": [_recipient_body(r) for r in c.recipients], "purpose": c.purpose,
        "revocation_statement": c.revocation_statement, "expires_on": codec.day(c.expires_on),
        "expiry_event": c.expiry_event, "signed_by": c.signed_by,
        "signer_authority": c.signer_authority, "signed_on": codec.day(c.signed_on),
    }


def disclosure_body(d: Disclosure) -> Body:
    return {
        "id": d.id, "case_id": d.case_id, "people": list(d.people),
        "recipient": _recipient_body(d.recipient), "purpose": d.purpose,
        "information": str(d.information), "what": d.what,
        "basis": {"consents": dict(d.basis.consents),
                  "exception": d.basis.exception.name if d.basis.exception else None,
                  "reference": d.basis.reference},
        "at": codec.moment(d.at), "by": d.by, "sha256": d.sha256,
    }


def _end_body(e: ConsentEnd) -> Body:
    return {"consent_id": e.consent_id, "case_id": e.case_id, "kind": str(e.kind),
            "on": codec.day(e.on), "how": e.how}


def _recipient_body(r: Recipient) -> dict[str, str]:
    return {"name": r.name, "kind": str(r.kind)}


def _recipient(body: Body) -> Recipient:
    return Recipient(name=body["name"], kind=RecipientKind(body["kind"]))


def _consent(row: dict[str, Any], body: Body) -> Consent:
    signed_on, recorded_at = codec.to_day(body["signed_on"]), codec.to_moment(row["recorded_at"])
    assert signed_on is not None and recorded_at is not None
    return Consent(
        id=ConsentId(row["id"]), case_id=CaseId(body["case_id"]), patient=body["patient"],
        disclosing_party=body["disclosing_party"],
        information=tuple(Information(i) for i in body["information"]),
        description=body["description"],
        recipients=tuple(_recipient(r) for r in body["recipients"]), purpose=body["purpose"],
        revocation_statement=body["revocation_statement"],
        expires_on=codec.to_day(body["expires_on"]), expiry_event=body["expiry_event"],
        signed_by=body["signed_by"], signer_authority=body["signer_authority"],
        signed_on=signed_on, recorded_by=UserId(row["recorded_by"]), recorded_at=recorded_at)


def _end(row: dict[str, Any], body: Body) -> ConsentEnd:
    on, recorded_at = codec.to_day(body["on"]), codec.to_moment(row["recorded_at"])
    assert on is not None and recorded_at is not None
    return ConsentEnd(
        id=str(row["id"]), consent_id=ConsentId(body["consent_id"]),
        case_id=CaseId(body["case_id"]), kind=EndKind(body["kind"]), on=on, how=body["how"],
        recorded_by=UserId(row["recorded_by"]), recorded_at=recorded_at)


def _disclosure(row: dict[str, Any], body: Body) -> Disclosure:
    at = codec.to_moment(body["at"])
    assert at is not None
    basis = body["basis"]
    return Disclosure(
        id=DisclosureId(row["id"]), case_id=CaseId(body["case_id"]), people=tuple(body["people"]),
        recipient=_recipient(body["recipient"]), purpose=body["purpose"],
        information=Information(body["information"]), what=body["what"],
        basis=Basis(consents={p: ConsentId(c) for p, c in basis["consents"].items()},
                    exception=Exception_[basis["exception"]] if basis["exception"] else None,
                    reference=basis["reference"]),
        at=at, by=UserId(body["by"]), sha256=body["sha256"])


def _intact(opened: list[Opened]) -> list[tuple[dict[str, Any], Body]]:
    """The rows that opened and whose sealed case is their plain one."""
    return [(o.row, o.body) for o in opened
            if o.body is not None and o.body.get("case_id") == o.row["case_id"]]


def _in_cases(case_ids: Sequence[CaseId]) -> tuple[str, list[Any]]:
    marks = ", ".join("?" * len(case_ids))
    return f"case_id IN ({marks})", list(case_ids)
