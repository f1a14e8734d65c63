"""Pull: apply the server's documents, or keep them in the inbox until they can be (no key yet,
local changes to settle first, not where they claim to belong).

Thread rule: the database worker; every public method is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from fieldapp.crypto.aead import SealBroken
from fieldapp.domain.kinds import KINDS
from fieldapp.storage.note_store import readable, settle_note_status
from fieldapp.storage.screen_store import land_screen_head
from fieldapp.storage.sealed import Body, SealedTable, open_row, seal_body
from sync import protocol as wire
from sync.client.integrity import (
    UNVERIFIED,
    signature_problem,
    signature_problems,
    with_stamps,
)
from sync.client.local import APPEND_ONLY, LOCAL_ONLY, MISPLACED, WRITER_FIELD, LocalRecords
from sync.client.sealing import KeyRing, open_from_wire
from sync.client.wire_shape import from_wire

# The tables whose rows must read back as part of a note before they are filed.
NOTE_TABLES = frozenset({"visit_notes"} | {kind.table for kind in KINDS if kind.scope.parent
                                             and kind.scope.parent[0] == "visit_notes"})


class Inbox(LocalRecords):
    """Applies pulled documents."""

    def missing_keys(self, docs: Iterable[wire.Doc], keys: KeyRing) -> set[str]:
        return {d.scope for d in docs if d.key_version is not None
                and keys.get(d.scope, d.key_version) is None}

    def apply_page(self, page: wire.Page, keys: KeyRing) -> int:
        """Apply a page and move the checkpoint, together; returns documents applied."""
        applied = 0
        with self.db.atomic(), self._applying():
            touched: set[str] = set()
            self._checked = signature_problems(
                [d for d in page.docs if not self._held(d)], self._signing_keys())
            for doc in page.docs:
                applied += self._take(doc, keys, touched)
            settle_note_status(self.db, self.key, touched, now=self.now)
            self._set_state("checkpoint", str(page.next))
        return applied

    def retry_inbox(self, keys: KeyRing) -> int:
        """Apply documents that waited for a key or for a person's decision."""
        applied = 0
        with self.db.atomic(), self._applying():
            docs = [(wire.Doc.model_validate_json(r[0]), str(r[1])) for r in self.db.execute(
                "SELECT doc, reason FROM sync_inbox ORDER BY seq").fetchall()]
            touched: set[str] = set()
            for doc, reason in docs:
                self.db.execute("DELETE FROM sync_inbox WHERE tbl = ? AND record_id = ?",
                                [doc.table, doc.record_id])
                # A refused change's record returns to the server's version even where this
                # laptop already counts that revision as held (its own change never landed).
                applied += self._take(doc, keys, touched, restore=reason == "refused")
            settle_note_status(self.db, self.key, touched, now=self.now)
        return applied

    def cases_waiting_for_keys(self) -> int:
        """Cases the server sent this laptop that cannot be opened yet: no member who holds
        the case's key has wrapped it for this user (that member's next sync does)."""
        return int(self.db.execute("SELECT count(*) FROM sync_inbox WHERE reason = 'key' AND "
                                   "tbl = 'cases'").fetchone()[0])

    def unknown_authors(self) -> set[str]:
        """Authors of documents waiting aside whose keys this laptop has not pinned yet."""
        authors = {str(json.loads(doc).get("author")) for (doc,) in self.db.execute(
            "SELECT doc FROM sync_inbox WHERE reason LIKE ?", [f"{UNVERIFIED}%"]).fetchall()}
        return authors - set(self._signing_keys())

    def inbox_keys(self) -> set[str]:
        return {r[0] for r in self.db.execute(
            "SELECT DISTINCT json_extract(doc, '$.scope') FROM sync_inbox WHERE reason = 'key'")}

    def _take(self, doc: wire.Doc, keys: KeyRing, touched: set[str], *,
              restore: bool = False) -> int:
        """Apply one pulled document if it is new here (or, with `restore`, whatever this
        laptop holds); 1 if it was applied."""
        early = None if restore else self._before_taking(doc)
        if early is not None:
            return early
        aside = self._aside(doc)
        if aside is not None:
            self._to_inbox(doc, aside)
            return 0
        # Kept as signed wherever it waits (the stamps are applied in `_land`): a copy with the
        # server's stamps merged into its plain fields would fail its signature at the retry.
        if self._blocked(doc.table, doc.record_id):
            refused = restore or self.db.execute(
                "SELECT 1 FROM outbox WHERE tbl = ? AND record_id = ? AND state IN "
                "('rejected', 'quarantined')", [doc.table, doc.record_id]).fetchone()
            self._to_inbox(doc, "refused" if refused else "local changes")
            return 0
        body = self._open(doc, keys)
        if body is None and not doc.deleted:
            return 0
        if not self._land(doc, body):
            return 0
        self._mark_synced(doc.table, doc.record_id, doc.scope, doc.rev, deleted=doc.deleted)
        self._seen(doc.op_id, doc.table, doc.record_id, doc.rev)
        if doc.table == "visit_notes":
            touched.add(doc.record_id)
        elif doc.table in ("addenda", "note_reviews"):
            touched.add(str(doc.plain.get("note_id")))
        return 1

    def _held(self, doc: wire.Doc) -> bool:
        """This laptop holds `doc` already (its own change coming back, or one applied), or it
        is the server's own allocation: nothing of it to check."""
        synced = self._synced(doc.table, doc.record_id)
        return doc.table == wire.ALLOCATIONS or (
            synced is not None and synced[1] == doc.rev and bool(synced[2]) == doc.deleted)

    def _before_taking(self, doc: wire.Doc) -> int | None:
        """Documents settled without opening them: echoes, allocations, rollbacks."""
        synced = self._synced(doc.table, doc.record_id)
        if synced is not None and synced[1] == doc.rev and bool(synced[2]) == doc.deleted:
            return 0  # this laptop's own change coming back, or one it already holds
        if doc.table == wire.ALLOCATIONS:
            self._allocation(doc)
            self._mark_synced(doc.table, doc.record_id, doc.scope, doc.rev, deleted=False)
            return 1
        if doc.table not in wire.SYNCED_TABLES:
            return 0
        if synced is not None and doc.rev < synced[1] and self._mine(doc.table, doc.record_id):
            # The server holds an older version than this laptop had confirmed (restored from
            # a backup): send ours again over what it has rather than go back in time.
            self._mark_synced(doc.table, doc.record_id, doc.scope, doc.rev, deleted=doc.deleted)
            self._touch(doc.table, doc.record_id)
            return 0
        return None

    def _aside(self, doc: wire.Doc) -> str | None:
        """The inbox reason `doc` waits aside under, never applied but shown to the person:
        not its author's as signed, or older than what this laptop has seen (checked again
        at the next sync), or naming another case or ledger than the one it came under (never
        filed anywhere); None if it may be applied."""
        key = (doc.table, doc.record_id, doc.rev)
        signed = self._checked[key] if key in self._checked else \
            signature_problem(doc, self._signing_keys())
        why = signed or self._rolled_back(doc) or self._not_theirs(doc)
        if why is not None:
            return f"{UNVERIFIED}{why}"
        why = self._misplaced(with_stamps(doc))
        return None if why is None else f"{MISPLACED}{why}"

    def _not_theirs(self, doc: wire.Doc) -> str | None:
        """Why `doc`'s author may not write it, by the rule the server applies (a record is
        written only in its author's name and changed or removed only by its author; a month
        by its worker or the supervisor who decides it); None if they may. A signature proves
        who wrote a change, not that they were entitled to: a server that invents a person must
        not be able to remove a colleague's draft in that person's name."""
        field = WRITER_FIELD.get(doc.table)
        if doc.table == "mileage_months":
            row = self._row(doc.table, doc.record_id)
            worker = (row or {}).get("worker_id") if doc.deleted else doc.plain.get("worker_id")
            deciders = {worker, None if doc.deleted else doc.plain.get("decided_by")}
            return None if doc.author in deciders else \
                "Its author is neither the month's worker nor the supervisor deciding it."
        if field is None:
            return None
        if not doc.deleted and doc.plain.get(field) != doc.author:
            return "It is written in another person's name than its author's."
        row = self._row(doc.table, doc.record_id)
        if row is not None and doc.table not in APPEND_ONLY and row.get(field) != doc.author:
            return "It changes a record only its author may change."
        return None

    def _rolled_back(self, doc: wire.Doc) -> str | None:
        """Why `doc` is an earlier state of its record served as current; None if it is not."""
        newest = self.db.execute("SELECT max(rev) FROM seen_ops WHERE tbl = ? AND "
                                 "record_id = ?", [doc.table, doc.record_id]).fetchone()[0]
        synced = self._synced(doc.table, doc.record_id)
        held = max(int(newest or 0), synced[1] if synced else 0)
        if doc.rev < held:
            return "It is older than the version of this record this laptop already has."
        seen = self.db.execute("SELECT rev FROM seen_ops WHERE op_id = ?",
                               [doc.op_id]).fetchone()
        if seen is not None and int(seen[0]) < held:
            return "It is an earlier change to this record, served again as if it were new."
        return None

    def _misplaced(self, doc: wire.Doc) -> str | None:
        """Why `doc` does not belong to the scope it came under, judged by the same rule the
        server applies (`wire.misplaced`) against what this laptop holds."""
        if doc.deleted:
            # A deletion carries no fields of its record: it must name the scope this laptop
            # holds the record under.
            synced = self._synced(doc.table, doc.record_id)
            return None if synced is None or synced[0] == doc.scope else \
                "This deletion names another case than the record's."
        def parent(table: str, record_id: str) -> str | None:
            row = self._row(table, record_id)
            if row is not None and row.get("case_id") is not None:
                return str(row["case_id"])
            synced = self._synced(table, record_id)
            return synced[0] if synced else None

        def series(_: str, screen_id: str) -> str | None:
            row = self.db.execute("SELECT case_id FROM drug_screens WHERE id = ?",
                                  [screen_id]).fetchone()
            return None if row is None else str(row[0])

        return wire.misplaced(doc.table, doc.record_id, doc.plain, doc.scope,
                              parent_scope=parent, series_scope=series, parent_required=False)

    def set_aside(self) -> list[dict[str, Any]]:
        """Documents from the server that name another case or ledger than the one they came
        under, or that fail the checks of `sync/client/integrity.py`: never filed, kept for a
        person (and the program) to see. `kind` is "misplaced" or "unverified"."""
        return [{"table": t, "record_id": r,
                 "kind": "misplaced" if why.startswith(MISPLACED) else "unverified",
                 "reason": why.removeprefix(MISPLACED).removeprefix(UNVERIFIED),
                 "scope": json.loads(doc).get("scope"), "author": json.loads(doc).get("author")}
                for t, r, why, doc in self.db.execute(
                    "SELECT tbl, record_id, reason, doc FROM sync_inbox WHERE reason LIKE ? "
                    "OR reason LIKE ? ORDER BY seq",
                    [f"{MISPLACED}%", f"{UNVERIFIED}%"]).fetchall()]

    def _open(self, doc: wire.Doc, keys: KeyRing) -> Body | None:
        """The document's body, or None (and the document waits in the inbox)."""
        if doc.deleted:
            return None
        key = keys.get(doc.scope, doc.key_version or 0)
        if key is None:
            self._to_inbox(doc, "key")
            return None
        try:
            return open_from_wire(key, doc)
        except (SealBroken, ValueError, UnicodeDecodeError):
            self._to_inbox(doc, "unreadable")
            return None

    def _land(self, doc: wire.Doc, body: Body | None) -> bool:
        """Write one document; a row the local rules refuse waits in the inbox instead."""
        self.db.execute("SAVEPOINT doc")
        try:
            if body is None:
                self._remove_local(doc.table, doc.record_id)
            else:
                self._apply_body(doc, with_stamps(doc).plain, body)
                self._reads_back(doc.table, doc.record_id)
        except (sqlite3.Error, KeyError, TypeError, ValueError) as exc:
            self.db.execute("ROLLBACK TO doc")
            self.db.execute("RELEASE doc")
            self._to_inbox(doc, f"not applicable: {type(exc).__name__}")
            return False
        self.db.execute("RELEASE doc")
        return True

    def _reads_back(self, tbl: str, record_id: str) -> None:
        """Raise unless the row just landed reads back as its kind: a colleague's laptop (or a
        member who crafts one) can send a body that opens but is not a note, and filed, it
        would break every list of the case's notes (`note_store.readable`)."""
        if tbl not in NOTE_TABLES:
            return
        row = self._row(tbl, record_id)
        if row is not None:
            readable(tbl, row, open_row(self.key, table=tbl, row=row))

    def _apply_body(self, doc: wire.Doc, plain: Mapping[str, Any], body: Body, *,
                    replace_locked: bool = False) -> None:
        tbl, record_id = doc.table, doc.record_id
        # The columns that travelled sealed go back beside the clear ones (`wire_shape`).
        plain, body = from_wire(tbl, plain, body)
        if tbl == "note_reviews" and "capacity" in plain:
            # The capacity a review counts in is the one the server gave its reviewer, never
            # what the reviewer's laptop wrote in the sealed body.
            body = {k: v for k, v in body.items() if k != "capacity"}
            if plain["capacity"] is not None:
                body["capacity"] = plain["capacity"]
        if tbl not in self._columns:  # read once, not per document (PRAGMA table_info)
            self._columns[tbl] = {c.name for c in self.db.table(tbl).columns} - LOCAL_ONLY
        columns = self._columns[tbl]
        values = {k: v for k, v in plain.items() if k in columns}
        row = self._row(tbl, record_id)
        table = SealedTable(self.db, self.key, tbl)
        if tbl in APPEND_ONLY:
            if row is not None and not replace_locked:
                return
            revision = int(plain.get("revision") or 1)
            if tbl == "drug_screen_revisions":
                # The head first: a revision's screen_id references drug_screens (foreign keys
                # are on), so a screen new to this laptop could otherwise never land.
                land_screen_head(self.db, screen_id=str(plain["screen_id"]),
                                 case_id=doc.scope, revision=revision, body=body, now=self.now,
                                 same_revision=replace_locked)
            if row is None:
                table.insert(record_id=record_id, body=body, plain=values, revision=revision)
            else:
                self._reseal(tbl, record_id, revision, body, values)
            return
        if tbl == "visit_notes" and row is not None and row["status"] != "draft" \
                and not replace_locked:
            return  # a signed note never changes: what came is what this laptop has
        if row is None:
            table.insert(record_id=record_id, body=body, plain=values)
        else:
            self._reseal(tbl, record_id, int(row["revision"]) + 1, body, values)

    def _reseal(self, tbl: str, record_id: str, revision: int, body: Body,
                plain: dict[str, Any]) -> None:
        """Replace a row's plain columns and its sealed body, sealed at `revision`."""
        sealed = seal_body(self.key, table=tbl, record_id=record_id, revision=revision,
                           body=body)
        values = {**plain, "revision": revision, "key_id": self.key.key_id, "sealed": sealed}
        assignments = ", ".join(f"[{k}] = ?" for k in values)
        self.db.execute(f"UPDATE [{tbl}] SET {assignments} WHERE id = ?",  # noqa: S608
                        [*values.values(), record_id])

    def _allocation(self, doc: wire.Doc) -> None:
        worker, month = str(doc.plain.get("worker_id")), str(doc.plain.get("month"))
        trips = json.loads(str(doc.plain.get("trips") or "{}"))
        self.db.execute("DELETE FROM mileage_allocations WHERE worker_id = ? AND month = ?",
                        [worker, month])
        self.db.conn.executemany("INSERT INTO mileage_allocations VALUES (?, ?, ?, ?)",
                            [(worker, month, trip, str(miles)) for trip, miles in trips.items()])
