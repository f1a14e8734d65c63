"""The laptop's records as sync sees them: sync's state, the scope and owner of a record, and the
writes every step of sync shares (marking what is synced, the inbox, the applying mode).

Thread rule: the database worker, inside the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.kinds import BY_TABLE, KINDS
from fieldapp.storage.sealed import SEALED_COLUMNS
from sync import digests
from sync import protocol as wire
from sync.client.pins import Pins

CONFLICTS = "sync_conflicts"
# sync_state: the key versions that did not open (`keys_set_aside`).
KEYS_SET_ASIDE = "keys_set_aside"
# A pulled document names the local table it belongs to; these never change after insertion.
APPEND_ONLY = frozenset(kind.table for kind in KINDS if kind.append_only)
# The inbox reason of a document that does not belong to the scope it came under.
MISPLACED = "misplaced: "
# Plain columns the laptop keeps for itself and never sends: the sealed table's own.
LOCAL_ONLY = SEALED_COLUMNS
# Whose each record is (the person who wrote it), from its kind's declaration; cases and mileage
# months, which name no single writer, are judged in `_mine`.
WRITER_FIELD = {kind.table: kind.writer for kind in KINDS if kind.writer is not None}


class LocalRecords:
    """Sync's view of one profile's database, for one step of a sync."""

    def __init__(self, db: sqlite_utils.Database, key: DataKey, *, user_id: str, now: str
                 ) -> None:
        self.db, self.key, self.user_id, self.now = db, key, user_id, now
        self._columns: dict[str, set[str]] = {}  # per table; a replica lives for one step
        # Pinned signing keys (and former ones), read once a step.
        self._signers: dict[str, tuple[str, ...]] | None = None
        # A page's signatures, checked together before it is applied (`Inbox.apply_page`).
        self._checked: dict[tuple[str, str, int], str | None] = {}

    # -- state ----------------------------------------------------------------------------------

    def state(self, name: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM sync_state WHERE name = ?", [name]).fetchone()
        return str(row[0]) if row else default

    def set_state(self, name: str, value: str) -> None:
        with self.db.atomic():
            self._set_state(name, value)

    def _set_state(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", [name, value])

    def keys_set_aside(self) -> list[dict[str, Any]]:
        """Key versions shared with this user that did not open (damaged, or not made for
        them): records sealed under them wait unread; everything else syncs."""
        return list(json.loads(self.state(KEYS_SET_ASIDE, "[]")))

    def set_key_aside(self, scope: str, version: int, *, aside: bool = True) -> None:
        """Remember (or, once it opens, forget) a key version that did not open; one
        transaction."""
        kept = [k for k in self.keys_set_aside()
                if (k["scope"], k["version"]) != (scope, version)]
        if aside:
            kept.append({"scope": scope, "version": version, "at": self.now})
        if kept != self.keys_set_aside():
            self.set_state(KEYS_SET_ASIDE, json.dumps(kept, sort_keys=True))

    def checkpoint(self) -> int:
        return int(self.state("checkpoint", "0"))

    def waiting(self) -> int:
        """Local changes not yet accepted by the server (pending or in flight)."""
        return int(self.db.execute("SELECT count(*) FROM outbox WHERE state IN "
                                   "('pending', 'sending')").fetchone()[0])

    # -- helpers --------------------------------------------------------------------------------

    @contextmanager
    def _applying(self, mode: str = "pull") -> Iterator[None]:
        """While inside, changes are the server's: not captured for sending back up. Mode
        `replace kept` lets the server's version of a locked record (a signed note, a screen
        revision) replace this laptop's, only when the server answered that its version stands;
        this laptop's is kept aside, sealed, in `sync_conflicts`."""
        outer = self.db.execute("SELECT mode FROM sync_applying").fetchone()
        self.db.execute("DELETE FROM sync_applying")
        self.db.execute("INSERT INTO sync_applying VALUES (?)", [mode])
        try:
            yield
        finally:
            self.db.execute("DELETE FROM sync_applying")
            if outer is not None:
                self.db.execute("INSERT INTO sync_applying VALUES (?)", [outer[0]])

    def _touch(self, tbl: str, record_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO outbox (op_id, tbl, record_id, state, created_at) "
                        "VALUES (?, ?, ?, 'pending', ?)",
                        [uuid.uuid4().hex, tbl, record_id, self.now])

    def _blocked(self, tbl: str, record_id: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM outbox WHERE tbl = ? AND record_id = ? UNION ALL "
            "SELECT 1 FROM sync_conflicts WHERE tbl = ? AND record_id = ? AND state = 'open'",
            [tbl, record_id, tbl, record_id]).fetchone() is not None

    def _to_inbox(self, doc: wire.Doc, reason: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO sync_inbox VALUES (?, ?, ?, ?, ?, ?)",
                        [doc.table, doc.record_id, doc.seq, doc.rev, doc.model_dump_json(),
                         reason])

    def _mark_synced(self, tbl: str, record_id: str, scope: str, rev: int, *, deleted: bool
                     ) -> None:
        """This laptop holds the record at `rev`; its scope's digest follows (`sync/digests`)."""
        before = self._synced(tbl, record_id)
        digests.account(self.db, None if before is None else (
            before[0], tbl, record_id, before[1], bool(before[2])),
            (scope, tbl, record_id, rev, deleted))
        self.db.execute("INSERT OR REPLACE INTO synced VALUES (?, ?, ?, ?, ?)",
                        [tbl, record_id, scope, rev, int(deleted)])

    def _seen(self, op_id: str, tbl: str, record_id: str, rev: int) -> None:
        """Remember a change taken here at its revision (`sync/client/integrity.py`)."""
        self.db.execute("INSERT OR REPLACE INTO seen_ops VALUES (?, ?, ?, ?)",
                        [op_id, tbl, record_id, rev])

    def _signing_keys(self) -> dict[str, tuple[str, ...]]:
        if self._signers is None:
            self._signers = Pins(self.db, now=self.now).signing_keys()
        return self._signers

    def _synced(self, tbl: str, record_id: str) -> tuple[str, int, int] | None:
        row = self.db.execute("SELECT scope, rev, deleted FROM synced WHERE tbl = ? AND "
                              "record_id = ?", [tbl, record_id]).fetchone()
        return (str(row[0]), int(row[1]), int(row[2])) if row else None

    def _rev(self, tbl: str, record_id: str) -> int:
        synced = self._synced(tbl, record_id)
        return synced[1] if synced else 0

    def _row(self, tbl: str, record_id: str) -> dict[str, Any] | None:
        # A plain cursor: `db.query` costs three times as much, once per op in a first sync.
        cursor = self.db.execute(f"SELECT * FROM [{tbl}] WHERE id = ?", [record_id])  # noqa: S608
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row,
                                                 strict=True))

    def _remove_local(self, tbl: str, record_id: str) -> None:
        if tbl == "visit_notes":
            self.db.execute("DELETE FROM visit_notes WHERE id = ? AND status = 'draft'",
                            [record_id])
        elif tbl == "trips":
            self.db.execute("DELETE FROM trips WHERE id = ?", [record_id])

    def _mine(self, tbl: str, record_id: str) -> bool:
        row = self._row(tbl, record_id)
        if row is None:
            return False
        if tbl == "cases":
            return self.user_id in list(json.loads(str(row["supervisor_ids"])))
        if tbl == "mileage_months":
            return self.user_id in (row["worker_id"], row["decided_by"])
        field_name = WRITER_FIELD.get(tbl)
        return field_name is not None and bool(row[field_name] == self.user_id)

    def _plain(self, tbl: str, row: Mapping[str, Any]) -> dict[str, Any]:
        plain = {k: v for k, v in row.items() if k not in LOCAL_ONLY}
        if tbl == "drug_screen_revisions":
            plain["revision"] = int(row["revision"])
        return plain

    def _scope(self, tbl: str, record_id: str) -> str | None:
        """The key scope a record is sealed under on the wire, by its kind's rule
        (`wire.SCOPE_RULES`, the rule the server judges it by); where this laptop no longer
        holds it, the scope it was last synced under."""
        row = self._row(tbl, record_id)
        found = None if row is None else self._scope_of(tbl, record_id, row)
        if found is not None:
            return found
        synced = self._synced(tbl, record_id)
        return synced[0] if synced else None

    def _scope_of(self, tbl: str, record_id: str, row: Mapping[str, Any]) -> str | None:
        rule = wire.SCOPE_RULES[tbl]
        if rule.own:
            return record_id
        if rule.ledger_of is not None:
            return wire.ledger_scope(str(row[rule.ledger_of]))
        if rule.case_field is not None:
            return str(row[rule.case_field])
        if rule.parent is not None:
            return self._scope(rule.parent[0], str(row[rule.parent[1]]))
        kind = BY_TABLE[tbl]
        assert rule.series is not None and kind.series_head is not None  # a drug screen's
        table, case_column = kind.series_head  # case is its screen's
        head = self.db.execute(f"SELECT {case_column} FROM {table} WHERE id = ?",  # noqa: S608
                               [row[rule.series]]).fetchone()
        return None if head is None else str(head[0])
