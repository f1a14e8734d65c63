"""The `records` table: sealed records of any kind, for the vault's own use and its tests.

Later record types get typed tables of their own built the same way (`sealed`); this one keeps the
vault usable and testable on its own. Every write is one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fieldapp.domain.clock import Clock, iso
from fieldapp.domain.errors import RecordNotFound, StaleRevision
from fieldapp.storage.sealed import Body, Opened, open_all, open_row, seal_body
from fieldapp.storage.vault import Vault

TABLE = "records"


@dataclass(frozen=True, kw_only=True)
class Record:
    """An opened record: plain routing metadata and the decrypted body."""

    id: str
    kind: str
    revision: int
    created_at: str
    updated_at: str
    body: Body


class RecordStore:
    """Create, read, replace and delete sealed records in one open vault.

    Thread rule: the database worker, which opened the vault.
    """

    def __init__(self, vault: Vault, *, clock: Clock) -> None:
        self._vault = vault
        self._clock = clock

    def add(self, *, kind: str, body: Body) -> Record:
        """Seal and store a new record; returns it with its new id, revision 1."""
        db, key = self._vault.open_parts()
        record_id = str(uuid.uuid4())
        now = iso(self._clock())
        row: dict[str, Any] = {
            "id": record_id, "kind": kind, "revision": 1, "key_id": key.key_id,
            "created_at": now, "updated_at": now,
            "sealed": seal_body(key, table=TABLE, record_id=record_id, revision=1, body=body),
        }
        with db.atomic():
            db.table(TABLE).insert(row)
        return Record(id=record_id, kind=kind, revision=1, created_at=now, updated_at=now,
                      body=dict(body))

    def replace(self, record_id: str, *, body: Body, expected_revision: int) -> Record:
        """Store a new revision of a record; refuses if someone else saved in between."""
        db, key = self._vault.open_parts()
        with db.atomic():
            current = self._row(record_id)
            if current["revision"] != expected_revision:
                raise StaleRevision(
                    "This record was changed elsewhere since you opened it; reopen it and "
                    "make your change again."
                )
            revision = expected_revision + 1
            now = iso(self._clock())
            sealed = seal_body(key, table=TABLE, record_id=record_id, revision=revision, body=body)
            db.execute(
                "UPDATE records SET revision = ?, key_id = ?, updated_at = ?, sealed = ? "
                "WHERE id = ? AND revision = ?",
                [revision, key.key_id, now, sealed, record_id, expected_revision],
            )
        return Record(id=record_id, kind=str(current["kind"]), revision=revision,
                      created_at=str(current["created_at"]), updated_at=now, body=dict(body))

    def remove(self, record_id: str) -> None:
        """Delete a record; `secure_delete` zeroes the freed space."""
        db, _ = self._vault.open_parts()
        with db.atomic():
            self._row(record_id)
            db.execute("DELETE FROM records WHERE id = ?", [record_id])

    def get(self, record_id: str) -> Record:
        """Open one record; `RecordTampered` if its seal is broken."""
        _, key = self._vault.open_parts()
        row = self._row(record_id)
        return _record(row, open_row(key, table=TABLE, row=row))

    def all(self) -> list[Opened]:
        """Every record, tampered ones included with their problem, so one bad row hides none."""
        db, key = self._vault.open_parts()
        return list(open_all(db, key, TABLE))

    def of_kind(self, kind: str) -> list[Opened]:
        """The records of one kind (by the `records_by_kind` index), as `all` opens them: a
        profile's few identity records without opening its hundreds of case keys."""
        db, key = self._vault.open_parts()
        return list(open_all(db, key, TABLE, where="kind = ?", params=[kind]))

    def count(self) -> int:
        db, _ = self._vault.open_parts()
        return int(db.execute("SELECT count(*) FROM records").fetchone()[0])

    def _row(self, record_id: str) -> dict[str, Any]:
        db, _ = self._vault.open_parts()
        rows = list(db.query("SELECT * FROM records WHERE id = ?", [record_id]))
        if not rows:
            raise RecordNotFound(f"No record {record_id} exists in this profile.")
        return rows[0]


def _record(row: dict[str, Any], body: Body) -> Record:
    return Record(id=str(row["id"]), kind=str(row["kind"]), revision=int(row["revision"]),
                  created_at=str(row["created_at"]), updated_at=str(row["updated_at"]), body=body)

