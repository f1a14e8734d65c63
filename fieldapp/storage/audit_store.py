"""The hash-chained audit log in SQLite: appended in the same transaction as what it records.

Who acted, what they did, to which record id, and when stay in clear (`seq`, `at`, `actor`,
`action`, `subject`, and the chain's `prev_hash` and `hash`); the details (the case, the kind of
recipient and of information disclosed, a schedule's fingerprint...) are sealed with the
profile's data key, bound to the entry's place in the log, so the database file holds none of
them in clear. Each hash still covers the details as written, so the chains written before they
were sealed (schema step 0007) verify unchanged; checking a hash needs the key, and without it
only the links between entries are checked.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import Binding, DataKey, SealBroken
from fieldapp.domain.audit import GENESIS, AuditEntry, chain, first_break

TABLE = "audit_log"
# What an entry's details read as when they do not open (changed, or sealed under another key):
# never what was written, so that entry's hash no longer matches and the chain breaks there.
UNREADABLE = {"unreadable": "the sealed details of this entry did not open"}


class AuditStore:
    """Thread rule: the database worker, inside the caller's transaction.

    Without `key` (a check made without the passphrase) entries read with empty details and
    `first_break` checks only that each entry follows the one before; nothing can be appended.
    """

    def __init__(self, db: sqlite_utils.Database, key: DataKey | None = None) -> None:
        self._db, self._key = db, key

    def append(self, *, at: str, actor: str, action: str, subject: str,
               details: Mapping[str, Any] | None = None) -> AuditEntry:
        """Chain one entry after the last; `details` hold ids and plain facts, never content,
        and are sealed."""
        if self._key is None:
            raise ValueError("The audit log is written with the profile's data key.")
        entry = chain(self.last(), at=at, actor=actor, action=action, subject=subject,
                      details=details or {})
        self._db.table(TABLE).insert({
            "seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "subject": entry.subject,
            "details": seal_details(self._key, seq=entry.seq, details=entry.details),
            "prev_hash": entry.prev_hash, "hash": entry.hash})
        return entry

    def last(self) -> AuditEntry | None:
        rows = list(self._db.query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1"))
        return self._entry(rows[0]) if rows else None

    def entries(self, *, subject: str | None = None) -> list[AuditEntry]:
        if subject is None:
            rows = self._db.query("SELECT * FROM audit_log ORDER BY seq")
        else:
            rows = self._db.query("SELECT * FROM audit_log WHERE subject = ? ORDER BY seq",
                                  [subject])
        return [self._entry(row) for row in rows]

    def first_break(self) -> int | None:
        """The sequence number where the chain breaks, or None when it is intact."""
        entries = self.entries()
        index = first_break(entries) if self._key is not None else first_unlinked(entries)
        return None if index is None else entries[index].seq

    def _entry(self, row: Mapping[str, Any]) -> AuditEntry:
        return AuditEntry(seq=int(row["seq"]), at=str(row["at"]), actor=str(row["actor"]),
                          action=str(row["action"]), subject=str(row["subject"]),
                          details=self._details(int(row["seq"]), str(row["details"])),
                          prev_hash=str(row["prev_hash"]), hash=str(row["hash"]))

    def _details(self, seq: int, stored: str) -> dict[str, Any]:
        if stored.startswith("{"):
            # Written before step 0007 sealed them (read by a check of a profile not yet
            # opened since); the entry's hash says whether they are the ones written.
            try:
                return dict(json.loads(stored))
            except ValueError:
                return dict(UNREADABLE)
        if self._key is None:
            return {}
        return open_details(self._key, seq=seq, stored=stored)


def seal_details(key: DataKey, *, seq: int, details: Mapping[str, Any]) -> str:
    """An entry's details sealed for its place in the log (text: the column is TEXT)."""
    plaintext = json.dumps(dict(details))
    return base64.b64encode(key.seal(plaintext.encode(), _binding(key, seq))).decode()


def open_details(key: DataKey, *, seq: int, stored: str) -> dict[str, Any]:
    """The details sealed for entry `seq`; `UNREADABLE` if they do not open there."""
    try:
        return dict(json.loads(key.open(base64.b64decode(stored), _binding(key, seq))))
    except (SealBroken, ValueError, TypeError):  # not base64, not JSON, not an object
        return dict(UNREADABLE)


def first_unlinked(entries: Sequence[AuditEntry]) -> int | None:
    """Index of the first entry that does not follow the one before (its number or the hash
    it names), or None: all that can be checked without the key that opens the details."""
    prev_hash, seq = GENESIS, 0
    for index, entry in enumerate(entries):
        if entry.seq != seq + 1 or entry.prev_hash != prev_hash:
            return index
        prev_hash, seq = entry.hash, entry.seq
    return None


def seal_written_details(db: sqlite_utils.Database, key: DataKey | None) -> None:
    """Seal the details of entries written in clear (before schema step 0007), each where it
    stands; their hashes, which cover the details themselves, stay as they are. The log
    refuses every change (its triggers), so they are set aside for this one and put back as
    they were, in the caller's transaction."""
    rows = db.execute("SELECT seq, details FROM audit_log WHERE details LIKE '{%' "
                      "ORDER BY seq").fetchall()
    if not rows:
        return
    if key is None:
        raise ValueError("Sealing the audit log's details needs the profile's data key.")
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                          "tbl_name = ?", [TABLE]).fetchall()
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER [{name}]")
    for seq, stored in rows:
        db.execute("UPDATE audit_log SET details = ? WHERE seq = ?",
                   [seal_details(key, seq=int(seq), details=json.loads(stored)), seq])
    for _, sql in triggers:
        db.execute(sql)


def _binding(key: DataKey, seq: int) -> Binding:
    return Binding(table=TABLE, record_id=str(seq), revision=1, key_id=key.key_id)
