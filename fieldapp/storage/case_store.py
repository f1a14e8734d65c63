"""Cases in the `cases` table: family details sealed, assignments and status plain."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fieldapp.domain.cases import Case, CaseStatus, Person
from fieldapp.domain.people import CaseId, UserId
from fieldapp.storage import codec
from fieldapp.storage.sealed import Body, Opened, SealedTable


class CaseStore:
    """Thread rule: the database worker, inside the caller's transaction."""

    def __init__(self, table: SealedTable, *, now: str) -> None:
        self._table, self._now = table, now

    def add(self, case: Case) -> Case:
        self._table.insert(record_id=case.id, body=_body(case), plain=self._plain(case))
        return _with_revision(case, 1)

    def replace(self, case: Case) -> Case:
        revision = self._table.replace(record_id=case.id, body=_body(case),
                                       plain=self._plain(case), expected_revision=case.revision)
        return _with_revision(case, revision)

    def get(self, case_id: CaseId) -> Case:
        row, body = self._table.get(case_id)
        return to_case(row, body)

    def all(self) -> list[Opened]:
        return self._table.select(order="start_date, id")

    def _plain(self, case: Case) -> dict[str, Any]:
        return {"status": str(case.status), "coordinator_id": case.coordinator_id,
                "intact_worker_id": case.intact_worker_id,
                "supervisor_ids": json.dumps(list(case.supervisor_ids)),
                "referred_by": case.referred_by,
                "start_date": codec.day(case.start_date),
                "visits_per_week": case.visits_per_week, "updated_at": self._now}


def to_case(row: dict[str, Any], body: Body) -> Case:
    start = codec.to_day(row["start_date"])
    assert start is not None
    return Case(
        id=CaseId(row["id"]), family_name=body["family_name"],
        parents=tuple(Person(**p) for p in body["parents"]),
        children=tuple(Person(**c) for c in body["children"]), address=body["address"],
        # Sealed before these were asked for, a case has none of them: empty, not an error.
        phone=body.get("phone", ""), referral_source=body.get("referral_source", ""),
        referral_date=codec.to_day(body.get("referral_date")),
        coordinator_id=_user(row["coordinator_id"]),
        intact_worker_id=_user(row["intact_worker_id"]),
        supervisor_ids=tuple(UserId(u) for u in json.loads(row["supervisor_ids"])),
        status=CaseStatus(row["status"]), referred_by=_user(row.get("referred_by")),
        start_date=start,
        visits_per_week=int(row["visits_per_week"]), revision=int(row["revision"]))


def _body(case: Case) -> Body:
    def person(p: Person) -> dict[str, str]:
        return {"name": p.name, "relationship": p.relationship, "details": p.details}

    return {"family_name": case.family_name, "parents": [person(p) for p in case.parents],
            "children": [person(c) for c in case.children], "address": case.address,
            "phone": case.phone, "referral_source": case.referral_source,
            "referral_date": codec.day(case.referral_date)}


def _user(value: object) -> UserId | None:
    return UserId(str(value)) if value else None


def _with_revision(case: Case, revision: int) -> Case:
    return replace(case, revision=revision)
