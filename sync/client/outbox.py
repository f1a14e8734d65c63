"""Push: freeze waiting changes into ops (the same bytes under the same op id on a retry) and settle
the server's answers to them.

Thread rule: the database worker; every public method is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from fieldapp.crypto.identity import Identity
from fieldapp.domain.errors import RecordTampered
from fieldapp.storage.note_store import settle_note_status
from fieldapp.storage.sealed import open_row
from sync import protocol as wire
from sync.client.conflicts import Conflicts
from sync.client.local import APPEND_ONLY
from sync.client.sealing import SIGNATURE_ROOM, KeyRing, payload_hash, seal_for_wire, sign_ops
from sync.client.wire_shape import to_wire


@dataclass(frozen=True)
class Settled:
    """What one round of answers did, counted by outcome, and keys to share after it."""

    outcomes: dict[str, int]
    new_scopes: set[str]


class Outbox(Conflicts):
    """Freezes local changes and settles the answers."""

    def pending_scopes(self) -> set[str]:
        """The key scopes the waiting changes will be sealed under."""
        scopes = set()
        for tbl, record_id in self.db.execute(
                "SELECT tbl, record_id FROM outbox WHERE state = 'pending'").fetchall():
            scope = self._scope(tbl, record_id)
            if scope is not None:
                scopes.add(scope)
        return scopes

    def freeze(self, keys: KeyRing, identity: Identity, *, max_ops: int = wire.MAX_BATCH_OPS,
               max_bytes: int = wire.MAX_BATCH_BYTES) -> list[wire.Op]:
        """The next batch: ops already in flight first (same bytes), then new ones frozen now,
        each signed by `identity` (this laptop's person, the author of every op it sends).

        A record with an op in flight waits for its answer before its next change is frozen,
        because that change is made over the revision the answer brings.
        """
        ops: list[wire.Op] = []
        fresh: list[tuple[int, int]] = []  # (place in ops, outbox seq) of ops frozen now
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
                        op = self._freeze_one(seq, op_id, (tbl, record_id), keys)
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
                    length = len(op.model_dump_json()) + SIGNATURE_ROOM
                else:
                    try:
                        op, length = wire.Op.model_validate_json(frozen), len(frozen)
                    except ValidationError:
                        self._refuse_locally(seq, "This change was damaged on this laptop "
                                                  "before it could be sent.")
                        continue
                if ops and (len(ops) >= max_ops or size + length > max_bytes):
                    break
                if state == "pending":
                    fresh.append((len(ops), seq))
                ops.append(op)
                size += length
            # Signed together (on several threads for a large batch), then frozen: a retry
            # sends exactly these bytes under the same op id.
            signed = sign_ops(identity, self.user_id, [ops[i] for i, _ in fresh])
            for (i, seq), op in zip(fresh, signed, strict=True):
                ops[i] = op
                self.db.execute("UPDATE outbox SET state = 'sending', payload = ? WHERE seq = ?",
                                [op.model_dump_json(), seq])
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

    def _freeze_one(self, seq: int, op_id: str, record: tuple[str, str], keys: KeyRing
                    ) -> wire.Op | None:
        """The op, not signed yet; None if the entry has nothing to send now."""
        tbl, record_id = record
        row = self._row(tbl, record_id)
        synced = self._synced(tbl, record_id)
        if row is None and synced is None:
            # Made and removed before it ever went up: there is nothing to tell the server.
            self.db.execute("DELETE FROM outbox WHERE seq = ?", [seq])
            return None
        scope = synced[0] if row is None and synced else self._scope(tbl, record_id)
        newest = keys.newest(scope) if scope else None
        if scope is None or newest is None:
            return None  # no key yet: it waits (the engine fetches or makes keys first)
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
            # In clear only what a server rule reads; the row's other columns go sealed.
            clear, sealed = to_wire(tbl, plain, body)
            op = wire.Op(op_id=op_id, table=tbl, record_id=record_id, scope=scope,
                         base_rev=base, plain=clear, key_version=version,
                         sealed=seal_for_wire(key, scope=scope, version=version, table=tbl,
                                              record_id=record_id, op_id=op_id, content=sealed),
                         payload_hash=payload_hash(key, content))
        return op

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
            self._seen(op.op_id, tbl, record_id, verdict.rev)
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
            self._seen(op.op_id, tbl, record_id, verdict.rev)
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
                    settled = {record_id} if tbl == "visit_notes" else set()
                    settle_note_status(self.db, self.key, settled, now=self.now)
            return
        self._keep_aside(tbl, record_id, reason=verdict.reason or "", theirs=theirs_side,
                         state="open")

