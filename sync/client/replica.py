"""The laptop's side of sync, in the database: freeze outbox entries into ops, settle the server's
answers, apply pulled documents, keep conflicts, compute the digest.

Thread rule: the vault's thread. Every public method is one transaction: a crash or a kill at
any point leaves either all of a step or none of it, and the pull checkpoint is written in the
transaction of the documents it covers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils
from pydantic import ValidationError

from fieldapp.crypto.aead import Binding, DataKey, SealBroken
from fieldapp.crypto.identity import b64, unb64
from fieldapp.domain.errors import RecordTampered
from fieldapp.domain.kinds import BY_TABLE, KINDS
from fieldapp.domain.visits import Review, settled_status
from fieldapp.storage.note_store import review_capacity
from fieldapp.storage.sealed import SEALED_COLUMNS, Body, SealedTable, open_row, seal_body
from fieldapp.storage.settings_store import load_settings
from sync import protocol as wire

CONFLICTS = "sync_conflicts"
# A pulled document names the local table it belongs to; these never change after insertion.
APPEND_ONLY = frozenset(kind.table for kind in KINDS if kind.append_only)
# The inbox reason of a document that does not belong to the scope it came under.
MISPLACED = "misplaced: "
# Plain columns the laptop keeps for itself and never sends: the sealed table's own.
LOCAL_ONLY = SEALED_COLUMNS
# Whose each record is (the person who wrote it), from its kind's declaration; cases and mileage
# months, which name no single writer, are judged in `_mine`.
WRITER_FIELD = {kind.table: kind.writer for kind in KINDS if kind.writer is not None}


@dataclass
class KeyRing:
    """Content keys by (scope, version), as held in the vault."""

    keys: dict[tuple[str, int], bytes] = field(default_factory=dict)

    def newest(self, scope: str) -> tuple[int, bytes] | None:
        versions = [v for (s, v) in self.keys if s == scope]
        return (max(versions), self.keys[(scope, max(versions))]) if versions else None

    def get(self, scope: str, version: int) -> bytes | None:
        return self.keys.get((scope, version))


@dataclass(frozen=True)
class Settled:
    """What one round of answers did, counted by outcome, and keys to share after it."""

    outcomes: dict[str, int]
    new_scopes: set[str]


def wire_key(scope: str, version: int, key: bytes) -> DataKey:
    return DataKey(key, key_id=f"{scope}#{version}")


def seal_for_wire(key: bytes, *, scope: str, version: int, table: str, record_id: str,
                  op_id: str, content: Mapping[str, Any]) -> str:
    """Seal a record's body under a scope key, bound to table, record, op and key version."""
    data_key = wire_key(scope, version, key)
    plaintext = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return b64(data_key.seal(plaintext.encode(), Binding(
        table=table, record_id=f"{record_id}@{op_id}", revision=0, key_id=data_key.key_id)))


def open_from_wire(key: bytes, doc: wire.Doc) -> Body:
    assert doc.sealed is not None and doc.key_version is not None
    data_key = wire_key(doc.scope, doc.key_version, key)
    plaintext = data_key.open(unb64(doc.sealed), Binding(
        table=doc.table, record_id=f"{doc.record_id}@{doc.op_id}", revision=0,
        key_id=data_key.key_id))
    body = json.loads(plaintext.decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError("not a record body")
    return body


def payload_hash(key: bytes, content: Mapping[str, Any]) -> str:
    """An HMAC under the scope key: equal for equal changes, meaningless to the server."""
    canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


class Replica:
    """Thread rule: the vault's thread."""

    def __init__(self, db: sqlite_utils.Database, key: DataKey, *, user_id: str, now: str
                 ) -> None:
        self.db, self.key, self.user_id, self.now = db, key, user_id, now
        self._columns: dict[str, set[str]] = {}  # per table; a replica lives for one step

    # -- state ----------------------------------------------------------------------------------

    def state(self, name: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM sync_state WHERE name = ?", [name]).fetchone()
        return str(row[0]) if row else default

    def set_state(self, name: str, value: str) -> None:
        with self.db.atomic():
            self._set_state(name, value)

    def _set_state(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", [name, value])

    def checkpoint(self) -> int:
        return int(self.state("checkpoint", "0"))

    def waiting(self) -> int:
        """Local changes not yet accepted by the server (pending or in flight)."""
        return int(self.db.execute("SELECT count(*) FROM outbox WHERE state IN "
                                   "('pending', 'sending')").fetchone()[0])

    # -- push: freeze and settle ----------------------------------------------------------------

    def pending_scopes(self) -> set[str]:
        """The key scopes the waiting changes will be sealed under."""
        scopes = set()
        for tbl, record_id in self.db.execute(
                "SELECT tbl, record_id FROM outbox WHERE state = 'pending'").fetchall():
            scope = self._scope(tbl, record_id)
            if scope is not None:
                scopes.add(scope)
        return scopes

    def freeze(self, keys: KeyRing, *, max_ops: int = wire.MAX_BATCH_OPS,
               max_bytes: int = wire.MAX_BATCH_BYTES) -> list[wire.Op]:
        """The next batch: ops already in flight first (same bytes), then new ones frozen now.

        A record with an op in flight waits for its answer before its next change is frozen,
        because that change is made over the revision the answer brings.
        """
        ops: list[wire.Op] = []
        size = 0
        with self.db.atomic():
            in_flight = set(self.db.execute(
                "SELECT tbl, record_id FROM outbox WHERE state = 'sending'").fetchall())
            # Read in slices of the outbox, not all of it: a batch needs its first few hundred
            # entries, and a first sync of 10,000 asks for 50 batches.
            for seq, op_id, tbl, record_id, state, frozen in self._waiting_after(2 * max_ops):
                op: wire.Op | None
                if state == "pending":
                    if (tbl, record_id) in in_flight:
                        continue
                    try:
                        op, payload = self._freeze_one(seq, op_id, tbl, record_id, keys)
                    except (ValidationError, RecordTampered, KeyError, TypeError,
                            ValueError) as exc:
                        # One record that cannot be sent must not hold back all the others:
                        # it stays here, shown to the person with the reason.
                        self._refuse_locally(seq, f"This change could not be prepared for "
                                                  f"sending ({type(exc).__name__}); it is kept "
                                                  "on this laptop.")
                        continue
                    if op is None:
                        continue
                else:
                    try:
                        op, payload = wire.Op.model_validate_json(frozen), frozen
                    except ValidationError:
                        self._refuse_locally(seq, "This change was damaged on this laptop "
                                                  "before it could be sent.")
                        continue
                if ops and (len(ops) >= max_ops or size + len(payload) > max_bytes):
                    break
                ops.append(op)
                size += len(payload)
        return ops

    def _refuse_locally(self, seq: int, reason: str) -> None:
        self.db.execute("UPDATE outbox SET state = 'quarantined', reason = ? WHERE seq = ?",
                        [reason, seq])

    def held_back(self) -> list[dict[str, Any]]:
        """Documents from the server this laptop could not apply for another reason than a
        missing key or a person's pending decision (a rule here refused it, or it did not
        open): the digest counts them as held, so they are reported separately."""
        return [{"table": t, "record_id": r, "reason": why} for t, r, why in self.db.execute(
            "SELECT tbl, record_id, reason FROM sync_inbox WHERE reason NOT IN "
            "('key', 'local changes', 'refused') ORDER BY seq").fetchall()]

    def _waiting_after(self, chunk: int) -> Iterator[tuple[int, str, str, str, str, str]]:
        """Pending and in-flight outbox entries in order, read `chunk` at a time (rows frozen
        meanwhile are behind the cursor, so each entry comes once)."""
        after = 0
        while True:
            rows = self.db.execute(
                "SELECT seq, op_id, tbl, record_id, state, payload FROM outbox WHERE state IN "
                "('pending', 'sending') AND seq > ? ORDER BY seq LIMIT ?",
                [after, chunk]).fetchall()
            yield from rows
            if len(rows) < chunk:
                return
            after = rows[-1][0]

    def _freeze_one(self, seq: int, op_id: str, tbl: str, record_id: str, keys: KeyRing
                    ) -> tuple[wire.Op | None, str]:
        """The op and its frozen bytes; (None, "") if the entry has nothing to send now."""
        row = self._row(tbl, record_id)
        synced = self._synced(tbl, record_id)
        if row is None and synced is None:
            # Made and removed before it ever went up: there is nothing to tell the server.
            self.db.execute("DELETE FROM outbox WHERE seq = ?", [seq])
            return None, ""
        scope = synced[0] if row is None and synced else self._scope(tbl, record_id)
        newest = keys.newest(scope) if scope else None
        if scope is None or newest is None:
            return None, ""  # no key yet: it waits (the engine fetches or makes keys first)
        version, key = newest
        base = synced[1] if synced else 0
        if row is None:
            content: dict[str, Any] = {"table": tbl, "record_id": record_id, "scope": scope,
                                       "base_rev": base, "deleted": True}
            op = wire.Op(op_id=op_id, table=tbl, record_id=record_id, scope=scope,
                         base_rev=base, deleted=True, payload_hash=payload_hash(key, content))
        else:
            body = open_row(self.key, table=tbl, row=row)
            plain = self._plain(tbl, row)
            content = {"table": tbl, "record_id": record_id, "scope": scope, "base_rev": base,
                       "plain": plain, "body": body}
            op = wire.Op(op_id=op_id, table=tbl, record_id=record_id, scope=scope,
                         base_rev=base, plain=plain, key_version=version,
                         sealed=seal_for_wire(key, scope=scope, version=version, table=tbl,
                                              record_id=record_id, op_id=op_id, content=body),
                         payload_hash=payload_hash(key, content))
        payload = op.model_dump_json()
        self.db.execute("UPDATE outbox SET state = 'sending', payload = ? WHERE seq = ?",
                        [payload, seq])
        return op, payload

    def settle(self, answers: Iterable[wire.Answer], keys: KeyRing) -> Settled:
        """Record the server's verdicts: one transaction for the whole batch."""
        outcomes: dict[str, int] = {}
        new_scopes: set[str] = set()
        with self.db.atomic(), self._applying():
            for answer in answers:
                row = self.db.execute("SELECT seq, tbl, record_id, payload FROM outbox WHERE "
                                      "op_id = ? AND state = 'sending'",
                                      [answer.op_id]).fetchone()
                if row is None:
                    continue  # an answer for an op settled already (a duplicate delivery)
                seq, tbl, record_id, payload = row
                op = wire.Op.model_validate_json(payload)
                verdict = answer.first if answer.outcome == "duplicate" and answer.first \
                    else answer
                outcomes[verdict.outcome] = outcomes.get(verdict.outcome, 0) + 1
                self._settle_one(seq, tbl, record_id, op=op, verdict=verdict, keys=keys)
                if verdict.outcome == "applied" and op.base_rev == 0 and tbl == "cases":
                    new_scopes.add(op.scope)
        return Settled(outcomes, new_scopes)

    def _settle_one(self, seq: int, tbl: str, record_id: str, *, op: wire.Op,
                    verdict: wire.Answer, keys: KeyRing) -> None:
        outcome = verdict.outcome
        if outcome == "applied":
            assert verdict.rev is not None
            self._mark_synced(tbl, record_id, op.scope, verdict.rev, deleted=op.deleted)
            self.db.execute("DELETE FROM outbox WHERE seq = ?", [seq])
        elif outcome == "conflict":
            assert verdict.theirs is not None and verdict.rev is not None
            self.db.execute("DELETE FROM outbox WHERE seq = ?", [seq])
            self._conflict(tbl, record_id, op, verdict, keys)
        elif outcome == "gone":
            self.db.execute("DELETE FROM outbox WHERE seq = ?", [seq])
            self._mark_synced(tbl, record_id, op.scope, self._rev(tbl, record_id), deleted=True)
            # The local copy is about to go: keep it (this laptop's edit of a record deleted
            # elsewhere) in the conflict record, or what the person typed would be lost.
            row = self._row(tbl, record_id)
            mine = None if row is None else {"plain": self._plain(tbl, row),
                                             "body": open_row(self.key, table=tbl, row=row)}
            self._keep_aside(tbl, record_id, reason=verdict.reason or "deleted elsewhere",
                             theirs=None, state="kept", mine=mine)
            self._remove_local(tbl, record_id)
        else:  # mismatch (quarantined) or rejected: kept here, shown, never retried by itself
            state = "quarantined" if outcome == "mismatch" else "rejected"
            self.db.execute("UPDATE outbox SET state = ?, reason = ? WHERE seq = ?",
                            [state, verdict.reason or outcome, seq])
            if verdict.theirs is not None:
                # The server's version waits until the person dismisses the refusal; then it
                # replaces this laptop's (retry_inbox), so the two do not differ for good.
                self._to_inbox(verdict.theirs, "refused")

    def _conflict(self, tbl: str, record_id: str, op: wire.Op, verdict: wire.Answer,
                  keys: KeyRing) -> None:
        theirs = verdict.theirs
        assert theirs is not None and verdict.rev is not None
        theirs_side = self._side(theirs, keys)
        mine_applied = verdict.rev > theirs.rev
        if mine_applied:
            # My signed note became the head; the draft it replaced is kept for me to read.
            self._mark_synced(tbl, record_id, op.scope, verdict.rev, deleted=False)
            self._keep_aside(tbl, record_id, reason=verdict.reason or "", theirs=theirs_side,
                             state="kept")
            return
        self._mark_synced(tbl, record_id, op.scope, theirs.rev, deleted=theirs.deleted)
        row = self._row(tbl, record_id)
        # Locked here: a signed note, or a record that never changes (the same screen revision
        # recorded differently on two laptops).
        mine_locked = row is not None and (tbl in APPEND_ONLY or (
            tbl == "visit_notes" and row["status"] != "draft"))
        theirs_signed = tbl == "visit_notes" and theirs.plain.get("status") != "draft"
        if row is None or theirs_signed or theirs.deleted or tbl in APPEND_ONLY:
            # Nothing of mine to choose against (deleted here), a signature stands there, or a
            # record that cannot change was recorded there first: the server's version is
            # applied and mine is kept aside, never dropped.
            mine = None if row is None else {"plain": self._plain(tbl, row),
                                             "body": open_row(self.key, table=tbl, row=row)}
            self._keep_aside(tbl, record_id, reason=verdict.reason or "", theirs=theirs_side,
                             mine=mine, state="kept")
            if theirs_side is not None and "unreadable" not in theirs_side["body"]:
                mode = "replace kept" if mine_locked else "pull"
                with self._applying(mode):
                    self._apply_body(theirs, theirs_side["plain"], theirs_side["body"],
                                     replace_locked=mine_locked)
                    self._derive_note_status({record_id} if tbl == "visit_notes" else set())
            return
        self._keep_aside(tbl, record_id, reason=verdict.reason or "", theirs=theirs_side,
                         state="open")

    # -- pull: apply documents ------------------------------------------------------------------

    def missing_keys(self, docs: Iterable[wire.Doc], keys: KeyRing) -> set[str]:
        return {d.scope for d in docs if d.key_version is not None
                and keys.get(d.scope, d.key_version) is None}

    def apply_page(self, page: wire.Page, keys: KeyRing) -> int:
        """Apply a page and move the checkpoint, together; returns documents applied."""
        applied = 0
        with self.db.atomic(), self._applying():
            touched: set[str] = set()
            for doc in page.docs:
                applied += self._take(doc, keys, touched)
            self._derive_note_status(touched)
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
            self._derive_note_status(touched)
        return applied

    def cases_waiting_for_keys(self) -> int:
        """Cases the server sent this laptop that cannot be opened yet: no member who holds
        the case's key has wrapped it for this user (that member's next sync does)."""
        return int(self.db.execute("SELECT count(*) FROM sync_inbox WHERE reason = 'key' AND "
                                   "tbl = 'cases'").fetchone()[0])

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
        why = self._misplaced(doc)
        if why is not None:
            # A record that names another case (or ledger) than the one it came under is
            # never filed anywhere: it waits aside, shown to the person.
            self._to_inbox(doc, f"{MISPLACED}{why}")
            return 0
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
        if doc.table == "visit_notes":
            touched.add(doc.record_id)
        elif doc.table in ("addenda", "note_reviews"):
            touched.add(str(doc.plain.get("note_id")))
        return 1

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

    def _misplaced(self, doc: wire.Doc) -> str | None:
        """Why `doc` does not belong to the scope it came under, judged by the same rule the
        server applies (`wire.misplaced`) against what this laptop holds."""
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
        under: never filed, kept for a person (and the program) to see."""
        return [{"table": t, "record_id": r, "reason": why.removeprefix(MISPLACED),
                 "scope": json.loads(doc).get("scope")}
                for t, r, why, doc in self.db.execute(
                    "SELECT tbl, record_id, reason, doc FROM sync_inbox WHERE reason LIKE ? "
                    "ORDER BY seq", [f"{MISPLACED}%"]).fetchall()]

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
                self._apply_body(doc, doc.plain, body)
        except (sqlite3.Error, KeyError, TypeError, ValueError) as exc:
            self.db.execute("ROLLBACK TO doc")
            self.db.execute("RELEASE doc")
            self._to_inbox(doc, f"not applicable: {type(exc).__name__}")
            return False
        self.db.execute("RELEASE doc")
        return True

    def _apply_body(self, doc: wire.Doc, plain: Mapping[str, Any], body: Body, *,
                    replace_locked: bool = False) -> None:
        tbl, record_id = doc.table, doc.record_id
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
                self._screen_head(doc.scope, str(plain["screen_id"]), revision, body,
                                  same_revision=replace_locked)
            if row is None:
                table.insert(record_id=record_id, body=body, plain=values, revision=revision)
            else:
                sealed = seal_body(self.key, table=tbl, record_id=record_id, revision=revision,
                                   body=body)
                values.update(revision=revision, key_id=self.key.key_id, sealed=sealed)
                assignments = ", ".join(f"[{k}] = ?" for k in values)
                self.db.execute(f"UPDATE [{tbl}] SET {assignments} WHERE id = ?",  # noqa: S608
                                [*values.values(), record_id])
            return
        if tbl == "visit_notes" and row is not None and row["status"] != "draft" \
                and not replace_locked:
            return  # a signed note never changes: what came is what this laptop has
        if row is None:
            table.insert(record_id=record_id, body=body, plain=values)
        else:
            revision = int(row["revision"]) + 1
            sealed = seal_body(self.key, table=tbl, record_id=record_id, revision=revision,
                               body=body)
            values.update(revision=revision, key_id=self.key.key_id, sealed=sealed)
            assignments = ", ".join(f"[{k}] = ?" for k in values)
            self.db.execute(f"UPDATE [{tbl}] SET {assignments} WHERE id = ?",  # noqa: S608
                            [*values.values(), record_id])

    def _screen_head(self, case_id: str, screen_id: str, revision: int, body: Body, *,
                     same_revision: bool = False) -> None:
        head = self.db.execute("SELECT current_revision FROM drug_screens WHERE id = ?",
                               [screen_id]).fetchone()
        if head is None:
            self.db.execute("INSERT INTO drug_screens VALUES (?, ?, ?, ?, ?, ?)",
                            [screen_id, case_id, body["collected_at"], body["reason"], revision,
                             self.now])
        elif revision > int(head[0]) or (same_revision and revision == int(head[0])):
            self.db.execute("UPDATE drug_screens SET collected_at = ?, reason = ?, "
                            "current_revision = ?, updated_at = ? WHERE id = ?",
                            [body["collected_at"], body["reason"], revision, self.now,
                             screen_id])

    def _allocation(self, doc: wire.Doc) -> None:
        worker, month = str(doc.plain.get("worker_id")), str(doc.plain.get("month"))
        trips = json.loads(str(doc.plain.get("trips") or "{}"))
        self.db.execute("DELETE FROM mileage_allocations WHERE worker_id = ? AND month = ?",
                        [worker, month])
        self.db.conn.executemany("INSERT INTO mileage_allocations VALUES (?, ?, ?, ?)",
                            [(worker, month, trip, str(miles)) for trip, miles in trips.items()])

    def _derive_note_status(self, note_ids: set[str]) -> None:
        """A signed note's status follows its latest review or the author's later addendum; under
        co-supervision (the program's settings, as stored here) a co-signature completes it only
        once both the intact and the SUD supervisor have co-signed since the author's last
        change (visits.settled_status, the rule the laptop that reviewed applied)."""
        if not note_ids:
            return
        settings = load_settings(self.db)
        reviews_table = SealedTable(self.db, self.key, "note_reviews")
        for note_id in note_ids:
            row = self.db.execute("SELECT status, author FROM visit_notes WHERE id = ?",
                                  [note_id]).fetchone()
            if row is None or row[0] == "draft":
                continue
            reviews = [Review(reviewer=o.row["reviewer"],
                              at=datetime.fromisoformat(o.row["reviewed_at"]),
                              cosigned=bool(o.row["cosigned"]),
                              capacity=review_capacity(o.body or {}))
                       for o in reviews_table.select("note_id = ?", [note_id],
                                                     order="reviewed_at, rowid")]
            changes = [datetime.fromisoformat(at) for (at,) in self.db.execute(
                "SELECT created_at FROM addenda WHERE note_id = ? AND author = ?",
                [note_id, row[1]]).fetchall()]
            status = str(settled_status(reviews, author_changes=changes, settings=settings))
            if status != row[0]:
                self.db.execute("UPDATE visit_notes SET status = ?, updated_at = ? WHERE id = ?",
                                [status, self.now, note_id])

    # -- conflicts ------------------------------------------------------------------------------

    def _side(self, doc: wire.Doc, keys: KeyRing) -> dict[str, Any] | None:
        if doc.deleted:
            return None
        key = keys.get(doc.scope, doc.key_version or 0)
        try:
            body = open_from_wire(key, doc) if key else {"unreadable": "no key for it yet"}
        except (SealBroken, ValueError, UnicodeDecodeError):
            body = {"unreadable": "it did not authenticate"}
        return {"plain": dict(doc.plain), "body": body, "rev": doc.rev, "op_id": doc.op_id,
                "scope": doc.scope, "key_version": doc.key_version, "sealed": doc.sealed,
                "author": doc.author}

    def _keep_aside(self, tbl: str, record_id: str, *, reason: str,
                    theirs: dict[str, Any] | None, state: str,
                    mine: dict[str, Any] | None = None) -> None:
        SealedTable(self.db, self.key, CONFLICTS).insert(
            record_id=str(uuid.uuid4()),
            body={"reason": reason, "theirs": theirs, "mine": mine},
            plain={"tbl": tbl, "record_id": record_id, "state": state,
                   "created_at": self.now})

    def conflicts(self, *, states: tuple[str, ...] = ("open", "kept")) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in states)
        found = []
        for opened in SealedTable(self.db, self.key, CONFLICTS).select(
                f"state IN ({marks})", list(states), order="created_at, id"):
            found.append({**opened.row, **(opened.body or {})})
        return found

    def conflict_sides(self, conflict_id: str) -> dict[str, Any]:
        """Both sides of one conflict for a person to compare: `mine` is what this laptop holds
        (the kept copy, or the record as it is here now), `theirs` the other version; each is
        {"plain": ..., "body": ...} or None (deleted). Also `reason`, `state`, `table`."""
        row, body = SealedTable(self.db, self.key, CONFLICTS).get(conflict_id)
        mine = body.get("mine")
        if mine is None and row["state"] == "open":
            local = self._row(row["tbl"], row["record_id"])
            if local is not None:
                mine = {"plain": self._plain(row["tbl"], local),
                        "body": open_row(self.key, table=row["tbl"], row=local)}
        return {"id": conflict_id, "table": row["tbl"], "record_id": row["record_id"],
                "state": row["state"], "reason": body.get("reason", ""),
                "created_at": row["created_at"], "mine": mine, "theirs": body.get("theirs")}

    def resolve(self, conflict_id: str, choice: str) -> None:
        """`mine`: send my version over theirs. `theirs`: take theirs here. `seen`: a kept
        copy was read (nothing changes). Whatever is chosen, the conflict record stays."""
        table = SealedTable(self.db, self.key, CONFLICTS)
        with self.db.atomic():
            row, body = table.get(conflict_id)
            tbl, record_id = row["tbl"], row["record_id"]
            if choice == "mine":
                if row["state"] != "open":
                    raise ValueError("Only an open conflict can be settled this way.")
                self._touch(tbl, record_id)
            elif choice == "theirs":
                if row["state"] != "open" or body["theirs"] is None:
                    raise ValueError("Only an open conflict can be settled this way.")
                theirs = body["theirs"]
                doc = wire.Doc(table=tbl, record_id=record_id, scope=theirs["scope"],
                               rev=theirs["rev"], seq=0, op_id=theirs["op_id"],
                               author=theirs["author"], deleted=False, plain=theirs["plain"],
                               key_version=theirs["key_version"], sealed=theirs["sealed"])
                self.db.execute("DELETE FROM outbox WHERE tbl = ? AND record_id = ? AND "
                                "state = 'pending'", [tbl, record_id])
                with self._applying():
                    self._apply_body(doc, theirs["plain"], theirs["body"])
            elif choice != "seen":
                raise ValueError(f"Unknown choice {choice!r}.")
            self.db.execute("UPDATE sync_conflicts SET state = 'resolved', resolved_at = ?, "
                            "resolution = ? WHERE id = ?", [self.now, choice, conflict_id])

    def problems(self) -> list[dict[str, Any]]:
        """Changes the server refused or set aside, for a person to see."""
        return [{"op_id": op, "table": t, "record_id": r, "state": s, "reason": why}
                for op, t, r, s, why in self.db.execute(
                    "SELECT op_id, tbl, record_id, state, reason FROM outbox WHERE state IN "
                    "('quarantined', 'rejected') ORDER BY seq").fetchall()]

    def retry_problem(self, op_id: str) -> None:
        """Send a refused change again, under a new op id (the old verdict stands for the old)."""
        with self.db.atomic():
            row = self.db.execute("SELECT tbl, record_id FROM outbox WHERE op_id = ? AND state "
                                  "IN ('quarantined', 'rejected')", [op_id]).fetchone()
            if row is None:
                return
            self.db.execute("DELETE FROM outbox WHERE op_id = ?", [op_id])
            self._touch(row[0], row[1])

    def dismiss_problem(self, op_id: str) -> None:
        """Give a refused change up: it is not sent again, and the next sync puts the
        server's version back (kept in the inbox since the refusal); a record the server never
        had stays on this laptop only."""
        with self.db.atomic():
            self.db.execute("DELETE FROM outbox WHERE op_id = ? AND state IN "
                            "('quarantined', 'rejected')", [op_id])

    # -- verification ---------------------------------------------------------------------------

    def digest(self, visible: Collection[str] | None = None) -> wire.Digest:
        """What this laptop holds, as the server counts it; with `visible`, only those scopes
        (a case reassigned away but kept here for unsent work is no longer the server's to
        count for this user)."""
        held = {(t, r): (v, d) for t, r, s, v, d in self.db.execute(
            "SELECT tbl, record_id, scope, rev, deleted FROM synced").fetchall()
            if visible is None or s in visible}
        for t, r, v, doc in self.db.execute(
                "SELECT tbl, record_id, rev, doc FROM sync_inbox").fetchall():
            opened = json.loads(doc)
            if visible is None or opened.get("scope") in visible:
                held[(t, r)] = (v, int(bool(opened.get("deleted"))))
        return wire.digest_of((t, r, v) for (t, r), (v, d) in held.items() if not d)

    def repair(self, manifest: Iterable[wire.ManifestEntry],
               visible: Collection[str] | None = None) -> int:
        """After a digest mismatch: send again what the server lacks, and pull everything again
        from the start (nothing local is overwritten while it has changes waiting). Scopes not
        `visible` to the user any more are left as they are."""
        on_server = {(e.table, e.record_id) for e in manifest}
        resent = 0
        with self.db.atomic():
            rows = [(t, r) for t, r, s in self.db.execute(
                "SELECT tbl, record_id, scope FROM synced WHERE deleted = 0 AND tbl != ?",
                [wire.ALLOCATIONS]).fetchall() if visible is None or s in visible]
            for tbl, record_id in rows:
                if (tbl, record_id) not in on_server and self._mine(tbl, record_id):
                    self.db.execute("DELETE FROM synced WHERE tbl = ? AND record_id = ?",
                                    [tbl, record_id])
                    self._touch(tbl, record_id)
                    resent += 1
            for tbl, record_id in rows:
                self.db.execute("DELETE FROM synced WHERE tbl = ? AND record_id = ? AND NOT "
                                "EXISTS (SELECT 1 FROM outbox o WHERE o.tbl = synced.tbl AND "
                                "o.record_id = synced.record_id)", [tbl, record_id])
            self._set_state("checkpoint", "0")
        return resent

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
        self.db.execute("INSERT OR REPLACE INTO synced VALUES (?, ?, ?, ?, ?)",
                        [tbl, record_id, scope, rev, int(deleted)])

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
