"""The hash-chained audit log in SQLite: appended in the same transaction as what it records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from fieldapp.domain.audit import AuditEntry, chain, first_break


class AuditStore:
    """Thread rule: the database worker, inside the caller's transaction."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def append(self, *, at: str, actor: str, action: str, subject: str,
               details: Mapping[str, Any] | None = None) -> AuditEntry:
        """Chain one entry after the last; `details` hold ids and plain facts, never content."""
        entry = chain(self.last(), at=at, actor=actor, action=action, subject=subject,
                      details=details or {})
        self._db.table("audit_log").insert({
            "seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "subject": entry.subject, "details": json.dumps(dict(entry.details), sort_keys=True),
            "prev_hash": entry.prev_hash, "hash": entry.hash})
        return entry

    def last(self) -> AuditEntry | None:
        rows = list(self._db.query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1"))
        return _entry(rows[0]) if rows else None

    def entries(self, *, subject: str | None = None) -> list[AuditEntry]:
        if subject is None:
            rows = self._db.query("SELECT * FROM audit_log ORDER BY seq")
        else:
            rows = self._db.query("SELECT * FROM audit_log WHERE subject = ? ORDER BY seq",
                                  [subject])
        return [_entry(row) for row in rows]

    def first_break(self) -> int | None:
        """The sequence number where the chain breaks, or None when it is intact."""
        entries = self.entries()
        index = first_break(entries)
        return None if index is None else entries[index].seq


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(seq=int(row["seq"]), at=str(row["at"]), actor=str(row["actor"]),
                      action=str(row["action"]), subject=str(row["subject"]),
                      details=json.loads(row["details"]), prev_hash=str(row["prev_hash"]),
                      hash=str(row["hash"]))
