"""The server's side of record sync: heads, history, conflict copies, idempotent ops, pulls.

Every push op is judged in one transaction with the op's stored answer, so a repeated op (same
`op_id`, same payload hash) gets exactly its first answer again and is never applied twice. Every
version ever accepted stays in `record_history`, and every losing side of a conflict in
`conflict_copies`: nothing a person typed is dropped here either. The server reads plain routing
fields only (ids, dates, statuses, miles); sealed bodies are stored as they arrive.

Mileage: after any trip or month change the worker's month is re-allocated in trip order inside
the same transaction, so devices that were offline together can never claim more than the cap
between them; the result travels back as a `mileage_allocations` document.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fieldapp.crypto.signing import on_every_core, verifies
from fieldapp.domain.kinds import KINDS
from fieldapp.domain.mileage import split_at_cap
from fieldapp.domain.people import Role
from sync import protocol as wire
from sync.server import digests
from sync.server.store import (
    SCHEMA_STEPS,
    ServerStore,
    StoreError,
    User,
    add_columns,
    applied,
    check_assignment,
)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS records (tbl TEXT NOT NULL, record_id TEXT NOT NULL, "
    "scope TEXT NOT NULL, rev INTEGER NOT NULL, seq INTEGER NOT NULL UNIQUE, "
    "op_id TEXT NOT NULL, author TEXT NOT NULL, plain TEXT NOT NULL, key_version INTEGER, "
    "sealed TEXT, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tbl, record_id))",
    "CREATE INDEX IF NOT EXISTS records_by_scope ON records (scope, seq)",
    # A month's trips for its allocation, which runs after every trip op: without this, each
    # op read and parsed every trip of the ledger (a first sync of 2,000 trips took ~15 s).
    "CREATE INDEX IF NOT EXISTS records_trips_by_month ON records "
    "(scope, json_extract(plain, '$.month')) WHERE tbl = 'trips'",
    "CREATE TABLE IF NOT EXISTS record_history (tbl TEXT NOT NULL, record_id TEXT NOT NULL, "
    "rev INTEGER NOT NULL, op_id TEXT NOT NULL, author TEXT NOT NULL, plain TEXT NOT NULL, "
    "key_version INTEGER, sealed TEXT, deleted INTEGER NOT NULL, at TEXT NOT NULL, "
    "PRIMARY KEY (tbl, record_id, rev))",
    "CREATE TABLE IF NOT EXISTS conflict_copies (id INTEGER PRIMARY KEY, tbl TEXT NOT NULL, "
    "record_id TEXT NOT NULL, scope TEXT NOT NULL, op_id TEXT NOT NULL, author TEXT NOT NULL, "
    "base_rev INTEGER NOT NULL, head_rev INTEGER NOT NULL, plain TEXT NOT NULL, "
    "key_version INTEGER, sealed TEXT, deleted INTEGER NOT NULL, at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
    "payload_hash TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    # A drug screen's revisions share its case: the first revision's scope, found by screen.
    "CREATE INDEX IF NOT EXISTS records_screen_series ON records "
    "(json_extract(plain, '$.screen_id')) WHERE tbl = 'drug_screen_revisions'",
    # Bytes of sealed content each user has had stored (every revision): the storage quota.
    "CREATE TABLE IF NOT EXISTS usage (user_id TEXT PRIMARY KEY, bytes INTEGER NOT NULL)",
)
# Columns added after the first release (`store.add_columns`): what an author signed beside the
# record (`wire.op_statement`), and the columns the server set itself (`stamp`, JSON).
ADDED_COLUMNS = tuple((table, column, definition) for table in ("records", "record_history")
                      for column, definition in (
                          ("base_rev", "INTEGER NOT NULL DEFAULT 0"),
                          ("payload_hash", "TEXT NOT NULL DEFAULT ''"),
                          ("signature", "TEXT"),
                          ("stamp", "TEXT NOT NULL DEFAULT '{}'")))
# A server that kept records before the quota existed counts what they hold, once.
COUNT_USAGE = ("INSERT INTO usage SELECT author, sum(coalesce(length(sealed), 0)) FROM "
               "record_history WHERE NOT EXISTS (SELECT 1 FROM usage) GROUP BY author")

# Each kind's rules, from its declaration (`fieldapp.domain.kinds`).
APPEND_ONLY = frozenset(kind.table for kind in KINDS if kind.append_only)
DELETABLE = frozenset(kind.table for kind in KINDS if kind.deletable)
# Who may write each table: the plain field naming the writer must be the caller.
WRITER_FIELD = {kind.table: kind.writer for kind in KINDS if kind.writer is not None}
LOCKED_MONTH = ("submitted", "approved")


class Refusal(Exception):
    """An op that is not applied, with the outcome and a reason for people."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


@dataclass(frozen=True)
class Scopes:
    """What a user may read and write: case ids and mileage ledgers (`ledger:<user>`). The two
    are told apart by their kind (`wire.parse_scope`), never by which list a string is in."""

    cases: dict[str, dict[str, Any]]
    ledgers: set[str]

    def all(self) -> list[str]:
        return [*self.cases, *sorted(self.ledgers)]

    def __contains__(self, scope: str) -> bool:
        try:
            kind = wire.parse_scope(scope)
        except ValueError:
            return False
        if isinstance(kind, wire.LedgerScope):
            return scope in self.ledgers
        return kind.case_id in self.cases


@dataclass
class Batch:
    """One push as the server judges it: who sent it, from which device, when, what they may
    touch, and the (worker, month) pairs whose miles changed."""

    user: User
    device_id: str
    scopes: Scopes
    now: str
    quota: int
    due: set[tuple[str, str]] = field(default_factory=set)
    unsigned: frozenset[str] = frozenset()  # ops whose signature is not the caller's


def scopes_for(store: ServerStore, user: User) -> Scopes:
    """A worker: assigned cases and their own ledger. A supervisor: the team's cases and
    ledgers (their own included)."""
    if user.role == Role.ADMIN:
        return Scopes({}, set())
    cases = {c["id"]: c for c in store.cases_of(user)}
    if user.role == Role.SUPERVISOR:
        team = store.team_members(user.team_id)
        return Scopes(cases, {wire.ledger_scope(u.id) for u in team}
                      | {wire.ledger_scope(user.id)})
    return Scopes(cases, {wire.ledger_scope(user.id)})


def scope_members(store: ServerStore, scope: str) -> list[User]:
    """Who holds a scope's content key: a case's members, or a worker and their supervisors."""
    kind = wire.parse_scope(scope)
    if isinstance(kind, wire.LedgerScope):
        owner = store.user(kind.worker_id)
        if owner is None:
            return []
        supervisors = [u for u in store.team_members(owner.team_id)
                       if u.role == Role.SUPERVISOR and u.id != owner.id]
        return [owner, *supervisors]
    case = store.case(scope)
    return store.members(case) if case else []


class RecordSync:
    """Thread rule: any request thread; every method is one transaction of the store."""

    def __init__(self, store: ServerStore) -> None:
        self.store = store
        with store.unit() as db:
            for statement in SCHEMA:
                db.execute(statement)
            add_columns(db, ADDED_COLUMNS)
            db.execute(COUNT_USAGE)
            applied(db, SCHEMA_STEPS[1])
            for statement in digests.SCHEMA:
                db.execute(statement)
            digests.count_once(db)
            applied(db, SCHEMA_STEPS[2])

    # -- push ---------------------------------------------------------------------------------

    def push(self, user: User, ops: Iterable[wire.Op], *, device_id: str, now: str,
             cap: Decimal, quota: int) -> list[wire.Answer]:
        """Judge and apply `ops` in order, in one transaction; `quota`: bytes of sealed content
        a user may have stored in all."""
        ops = list(ops)
        unsigned = _unsigned(user, ops)
        if unsigned and _signed_before(self.store.former_signing_keys(user.id), user,
                                       [op for op in ops if op.op_id in unsigned]):
            # A laptop of the user that has not taken up the keys another one made: its
            # changes wait there, untouched, until it does (`sync/client/rekey.py`).
            raise StoreError("keys_replaced", "Your keys were replaced on another of your "
                             "laptops; enter the new recovery code on this one to send its "
                             "changes. Nothing was changed.")
        batch = Batch(user, device_id, scopes_for(self.store, user), now, quota,
                      unsigned=unsigned)
        answers = []
        with self.store.unit() as db:
            for op in ops:
                db.execute("SAVEPOINT op")
                try:
                    answer = self._one(db, batch, op)
                except BaseException:
                    db.execute("ROLLBACK TO op")
                    db.execute("RELEASE op")
                    raise
                db.execute("RELEASE op")
                answers.append(answer)
            # Once per month after the batch, still inside its transaction (no op reads an
            # allocation): re-splitting the month after every trip made a first sync of
            # 2,000 trips re-read ~80 trips 2,000 times.
            for worker, month in sorted(batch.due):
                self._allocate(db, worker, month, cap=cap)
        return answers

    def _one(self, db: sqlite3.Connection, batch: Batch, op: wire.Op) -> wire.Answer:
        user = batch.user
        seen = db.execute("SELECT user_id, payload_hash, answer FROM ops WHERE op_id = ?",
                          [op.op_id]).fetchone()
        if seen is not None:
            if seen[0] == user.id and seen[1] == op.payload_hash:
                first = wire.Answer.model_validate_json(seen[2])
                return wire.Answer(op_id=op.op_id, outcome="duplicate", rev=first.rev,
                                   first=first)
            return wire.Answer(op_id=op.op_id, outcome="mismatch",
                               reason="This change reuses the identity of a different change; "
                                      "it was set aside and nothing was altered.")
        db.execute("SAVEPOINT judged")
        try:
            answer = self._judge(db, batch, op)
        except Refusal as refusal:
            # Nothing a refused op did stays (an audit entry, a case row): only its answer.
            db.execute("ROLLBACK TO judged")
            # A refused change comes back with the server's version of the record (when the
            # caller may read it), so the laptop can return to it once the person dismisses
            # the refusal instead of keeping its own version for good.
            head = self._head(db, op.table, op.record_id) if refusal.outcome == "rejected" \
                else None
            theirs = self._dressed(head, batch.scopes) if head is not None and \
                head.scope in batch.scopes else None
            answer = wire.Answer(op_id=op.op_id, outcome=refusal.outcome, reason=refusal.reason,
                                 theirs=theirs)
        db.execute("RELEASE judged")
        db.execute("INSERT INTO ops VALUES (?, ?, ?, ?, ?)",
                   [op.op_id, user.id, op.payload_hash, answer.model_dump_json(), batch.now])
        return answer

    def _judge(self, db: sqlite3.Connection, batch: Batch, op: wire.Op) -> wire.Answer:
        if op.op_id in batch.unsigned:
            # Checked against the key this server registered for the caller (`_unsigned`), so
            # no laptop can put a change in a colleague's name; laptops check again.
            raise Refusal("rejected", "This change is not signed with your key; it was "
                                      "refused and nothing was changed.")
        head = self._admissible(db, batch, op)
        now = batch.now
        if op.table == "mileage_months":
            return self._month(db, batch, op, head)
        if op.table == "trips":
            self._require_open_month(db, op, head)
        if head is None or head.deleted:
            # A deleted head gets here only under a signature (see `_admissible`): a signed
            # note is kept for good and its laptop cannot remove it, so it stands over the
            # deletion of its draft elsewhere (answered "gone", it would stay on that laptop
            # and reach no one else).
            if head is None and (op.base_rev != 0 or op.deleted):
                raise Refusal("gone", "This record is not on the server (it was removed).")
            return self._apply(db, batch, op, head)
        locked = op.table in APPEND_ONLY or (
            op.table == "visit_notes" and head.plain.get("status") != "draft")
        if locked:
            if op.table not in APPEND_ONLY and op.base_rev == head.rev:
                raise Refusal("rejected", "A signed note is locked; add an addendum instead.")
            # The head stands and this version is kept beside it: a note signed elsewhere, or
            # a record that never changes recorded differently elsewhere first (two laptops
            # correcting one screen both make its next revision).
            self._copy(db, batch, op, head)
            reason = ("This note was signed on another device; your version is kept beside it "
                      "for you to review." if op.table == "visit_notes" else
                      "This was recorded differently on another device first; your version is "
                      "kept beside it for you to review (record it again if it still stands).")
            return wire.Answer(op_id=op.op_id, outcome="conflict", rev=head.rev,
                               theirs=head.doc(), reason=reason)
        if op.base_rev == head.rev:
            return self._apply(db, batch, op, head)
        if op.table == "visit_notes" and op.plain.get("status") == "signed" and not op.deleted:
            # Signing is final: the signed version becomes the head and the draft it replaced
            # is kept as a copy for the author to review (both survive).
            self._copy_head(db, head, base_rev=op.base_rev, now=now)
            applied = self._apply(db, batch, op, head)
            return wire.Answer(op_id=op.op_id, outcome="conflict", rev=applied.rev,
                               theirs=head.doc(), reason="You signed this note while a draft "
                               "of it changed on another device; that draft is kept for you to "
                               "review.")
        self._copy(db, batch, op, head)
        return wire.Answer(op_id=op.op_id, outcome="conflict", rev=head.rev, theirs=head.doc(),
                           reason="This record changed on another device; both versions are "
                                  "kept until you choose.")

    def _admissible(self, db: sqlite3.Connection, batch: Batch, op: wire.Op) -> Head | None:
        """The record's head if the op may be judged at all; `Refusal` otherwise."""
        if op.deleted != (op.sealed is None) or (op.sealed is not None) != \
                (op.key_version is not None):
            raise Refusal("rejected", "A change carries sealed content and its key version, "
                                      "or is a deletion.")
        if op.deleted and op.table not in DELETABLE:
            raise Refusal("rejected", "This kind of record is never deleted.")
        if not op.deleted:  # a deletion carries no fields: its head is judged below
            self._bound(db, op)
        if op.table == "cases":
            self._case(db, batch, op)
        if op.scope not in batch.scopes:
            raise Refusal("rejected", "This record belongs to a case or ledger that is not on "
                                      "your caseload.")
        head = self._head(db, op.table, op.record_id)
        if head is not None and head.scope != op.scope:
            raise Refusal("rejected", "This record belongs elsewhere.")
        self._check_writer(db, batch, op, head)
        if head is not None and head.deleted and not _signature(op):
            raise Refusal("gone", "This record was deleted on another device and stays "
                                  "deleted.")
        return head

    def _bound(self, db: sqlite3.Connection, op: wire.Op) -> None:
        """The record must belong to the scope it travels under, by its own fields and its
        parent's as this server holds them (`wire.SCOPE_RULES`)."""
        def parent(table: str, record_id: str) -> str | None:
            head = self._head(db, table, record_id)
            return None if head is None or head.deleted else head.scope

        def series(table: str, series_id: str) -> str | None:
            row = db.execute("SELECT scope FROM records WHERE tbl = ? AND json_extract(plain, "
                             "'$.screen_id') = ? LIMIT 1", [table, series_id]).fetchone()
            return None if row is None else str(row[0])

        why = wire.misplaced(op.table, op.record_id, op.plain, op.scope, parent_scope=parent,
                             series_scope=series, parent_required=True)
        if why is not None:
            raise Refusal("rejected", why)

    def _case(self, db: sqlite3.Connection, batch: Batch, op: wire.Op) -> None:
        """A supervisor's case document sets a new case up in their own team, or changes the
        status and assignment of one of their team's cases, and confirms a family a worker
        referred. A worker's case document is a referral: a new family started in the field,
        assigned to the worker alone, waiting for a supervisor of their team. The server's
        case list follows and its audit says what changed; who referred a family is the
        server's own record, stamped into the document, never the laptop's word."""
        user = batch.user
        if user.team_id is None:
            raise Refusal("rejected", "You are not in a team, so you cannot set up or change "
                                      "cases; ask your administrator to put you in one.")
        if op.deleted:
            raise Refusal("rejected", "A case is closed, never deleted.")
        row = db.execute("SELECT team_id, status, coordinator_id, intact_worker_id, "
                         "referred_by FROM cases WHERE id = ?", [op.record_id]).fetchone()
        if row is not None and row[0] != user.team_id:
            raise Refusal("rejected", "This case belongs to another team.")
        coordinator, intact = op.plain.get("coordinator_id"), op.plain.get("intact_worker_id")
        status = str(op.plain.get("status"))
        if status not in ("open", "aftercare", "closed"):
            raise Refusal("rejected", "A case is open, in aftercare or closed.")
        referred_by: str | None
        if user.role != Role.SUPERVISOR:
            referred_by = self._referral(row, user, status=status, coordinator=coordinator,
                                         intact=intact)
        else:
            # A supervisor's save confirms a referral unless the document still says who
            # referred it (an edit that is not yet a decision).
            referred_by = str(row[4]) if row is not None and row[4] is not None and \
                op.plain.get("referred_by") else None
        try:
            check_assignment(db, str(user.team_id),
                             None if coordinator is None else str(coordinator),
                             None if intact is None else str(intact))
        except StoreError as exc:
            raise Refusal("rejected", exc.message) from exc
        if row is None:
            db.execute("INSERT INTO cases (id, status, coordinator_id, intact_worker_id, "
                       "team_id, created_at, referred_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [op.record_id, status, coordinator, intact, user.team_id, batch.now,
                        referred_by])
            self._audit(batch, "case referred" if referred_by else "case created",
                        op.record_id, team=user.team_id, status=status,
                        coordinator=coordinator, intact_worker=intact)
        else:
            db.execute("UPDATE cases SET status = ?, coordinator_id = ?, intact_worker_id = ?, "
                       "referred_by = ? WHERE id = ?",
                       [status, coordinator, intact, referred_by, op.record_id])
            if row[4] is not None and referred_by is None:
                self._audit(batch, "case confirmed", op.record_id, referred_by=row[4])
            if (row[2], row[3]) != (coordinator, intact):
                self._audit(batch, "case assigned", op.record_id, coordinator=coordinator,
                            intact_worker=intact, was=[row[2], row[3]])
            if row[1] != status:
                self._audit(batch, f"case {'closed' if status == 'closed' else 'status'}",
                            op.record_id, status=status, was=row[1])
        batch.scopes.cases[op.record_id] = {"id": op.record_id, "status": status,
                                            "coordinator_id": coordinator,
                                            "intact_worker_id": intact, "team_id": user.team_id,
                                            "referred_by": referred_by}

    @staticmethod
    def _referral(row: tuple[Any, ...] | None, user: User, *, status: str,
                  coordinator: object, intact: object) -> str:
        """A worker may start a family in the field (DESIGN.md: a referral met first in the
        field), assigned to themselves alone and open, and keep its details up to date until a
        supervisor confirms it; nothing else about a case is theirs to change."""
        own = {Role.RECOVERY_COORDINATOR: (user.id, None),
               Role.INTACT_WORKER: (None, user.id)}.get(Role(user.role))
        if own is None or (coordinator, intact) != own or status != "open":
            raise Refusal("rejected", "Only a supervisor sets up or changes a case; a family "
                                      "you start in the field is yours alone and open until "
                                      "a supervisor confirms it.")
        if row is not None and row[4] != user.id:
            raise Refusal("rejected", "Only a supervisor changes a case that is confirmed or "
                                      "that someone else referred.")
        return user.id

    def _audit(self, batch: Batch, action: str, subject: str, **details: Any) -> None:
        """An entry in the server's audit, in the op's transaction (undone with a refusal)."""
        self.store.audit(at=batch.now, actor=batch.user.id, action=action, subject=subject,
                         details={"device": batch.device_id, **details})

    def _check_writer(self, db: sqlite3.Connection, batch: Batch, op: wire.Op,
                      head: Head | None) -> None:
        if op.table == "cases":
            return
        user = batch.user
        field_name = WRITER_FIELD.get(op.table)
        if op.deleted:
            # A deletion carries no fields: it is judged by the record it removes.
            if head is None:
                raise Refusal("gone", "This record is not on the server (it was removed).")
            op = op.model_copy(update={"plain": head.plain})
        if field_name is not None and op.plain.get(field_name) != user.id:
            raise Refusal("rejected", "A record can be written only in its author's name.")
        if head is not None and field_name is not None and head.plain.get(field_name) != \
                user.id and op.table not in APPEND_ONLY:  # never change: a conflict copy at most
            raise Refusal("rejected", "Only the author of this record can change it.")
        if op.table in ("note_reviews", "random_schedules") and user.role != Role.SUPERVISOR:
            raise Refusal("rejected", "Only a supervisor reviews notes and draws schedules.")
        if op.table in ("note_reviews", "random_schedules") and \
                batch.scopes.cases.get(op.scope, {}).get("team_id") != user.team_id:
            raise Refusal("rejected", "Only a supervisor of the case's team reviews its notes "
                                      "and draws its schedules.")
        if op.table == "note_reviews":
            self._review(db, user, op)

    @staticmethod
    def _review(db: sqlite3.Connection, user: User, op: wire.Op) -> None:
        """A review is never of one's own note, and the capacity it counts in is the one this
        server gives the reviewer (`supervises`), stamped into it, never the laptop's word."""
        note = RecordSync._head(db, "visit_notes", str(op.plain.get("note_id")))
        if note is not None and note.plain.get("author") == user.id:
            raise Refusal("rejected", "No one co-signs their own note.")
        if "capacity" in op.plain and op.plain["capacity"] != user.supervises:
            raise Refusal("rejected", "A review counts in the capacity the program gave its "
                                      "reviewer, not in another.")

    def _require_open_month(self, db: sqlite3.Connection, op: wire.Op, head: Head | None
                            ) -> None:
        months = set() if op.deleted else {str(op.plain.get("month"))}
        if head is not None:
            months.add(str(head.plain.get("month")))
        worker = head.plain.get("worker_id") if op.deleted and head else op.plain.get(
            "worker_id")
        for month in months:
            found = self._head(db, "mileage_months", f"{worker}|{month}")
            if found is not None and found.plain.get("status") in LOCKED_MONTH:
                raise Refusal("rejected", f"The mileage for {month} was already submitted and "
                                          "is locked; ask your supervisor to return it.")

    def _month(self, db: sqlite3.Connection, batch: Batch, op: wire.Op, head: Head | None
               ) -> wire.Answer:
        """A month's status moves only along submit, approve and return: submitted by its
        worker, decided by a supervisor of the worker's team (this server's team list)."""
        user = batch.user
        status = op.plain.get("status")
        current = head.plain.get("status") if head else "open"
        worker = str(op.plain.get("worker_id"))
        if status == "submitted":
            allowed = user.id == worker and current in ("open", "returned")
        elif status in ("approved", "returned"):
            owner = self.store.user(worker)
            allowed = (user.role == Role.SUPERVISOR and user.id != worker
                       and owner is not None and owner.team_id is not None
                       and owner.team_id == user.team_id
                       and current == "submitted" and op.plain.get("decided_by") == user.id)
        else:
            allowed = False
        if not allowed:
            raise Refusal("rejected", f"This month's mileage is {current} on the server, so it "
                                      f"cannot be marked {status} now.")
        return self._apply(db, batch, op, head)

    # -- writing ------------------------------------------------------------------------------

    def _apply(self, db: sqlite3.Connection, batch: Batch, op: wire.Op, head: Head | None
               ) -> wire.Answer:
        user, now = batch.user, batch.now
        self._charge(db, batch, op)
        # After every revision the server ever kept: a head put back to an older one (restored
        # from a backup, or by an attacker) must not make the next write collide with history.
        kept = db.execute("SELECT coalesce(max(rev), 0) FROM record_history WHERE tbl = ? AND "
                          "record_id = ?", [op.table, op.record_id]).fetchone()[0]
        rev = max(head.rev if head else 0, int(kept)) + 1
        seq = self._next_seq(db)
        # What the server sets itself is kept apart from what the author signed: a deletion
        # keeps its record's routing, a review counts in the capacity given here.
        stamp: dict[str, Any] = {}
        if op.deleted and head is not None:
            stamp = dict(head.plain)
        elif op.table == "note_reviews" and "capacity" not in op.plain:
            stamp = {"capacity": user.supervises}
        plain = json.dumps({**op.plain, **stamp}, sort_keys=True)
        signed = [op.base_rev, op.payload_hash, op.signature, json.dumps(stamp, sort_keys=True)]
        digests.account(db, _standing(db, op.table, op.record_id),
                        (op.scope, op.table, op.record_id, rev, op.deleted))
        db.execute(f"INSERT OR REPLACE INTO records ({_COLUMNS}) VALUES "  # noqa: S608
                   f"({', '.join('?' for _ in range(15))})",
                   [op.table, op.record_id, op.scope, rev, seq, op.op_id, user.id, plain,
                    op.key_version, op.sealed, int(op.deleted), *signed])
        db.execute("INSERT INTO record_history (tbl, record_id, rev, op_id, author, plain, "
                   "key_version, sealed, deleted, at, base_rev, payload_hash, signature, stamp) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [op.table, op.record_id, rev, op.op_id, user.id, plain, op.key_version,
                    op.sealed, int(op.deleted), now, *signed])
        if op.table in ("trips", "mileage_months"):
            months = set() if op.deleted else {str(op.plain.get("month"))}
            if head is not None:
                months.add(str(head.plain.get("month")))
            worker = head.plain.get("worker_id") if op.deleted and head else op.plain.get(
                "worker_id")
            batch.due.update((str(worker), month) for month in months)  # after the batch
        if op.table == "disclosures" and head is None:
            # The accounting of disclosures, corroborated in the server's own hash-chained
            # audit, in this op's transaction (ids and times only; the record stays sealed).
            self.store.audit(at=now, actor=user.id, action="disclosure", subject=op.record_id,
                             details={"case": op.scope, "at": op.plain.get("disclosed_at")})
        return wire.Answer(op_id=op.op_id, outcome="applied", rev=rev)

    @staticmethod
    def _charge(db: sqlite3.Connection, batch: Batch, op: wire.Op) -> None:
        """Count the op's sealed bytes against its author's quota; `Refusal` when full."""
        size = len(op.sealed or "")
        row = db.execute("SELECT bytes FROM usage WHERE user_id = ?", [batch.user.id]).fetchone()
        used = int(row[0]) if row else 0
        if size and used + size > batch.quota:
            raise Refusal("rejected", f"Your storage on the server is full ({batch.quota // 2**20}"
                                      " MB); this change is kept on this laptop. Ask your "
                                      "administrator.")
        db.execute("INSERT INTO usage VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                   "bytes = bytes + excluded.bytes", [batch.user.id, size])

    def _copy(self, db: sqlite3.Connection, batch: Batch, op: wire.Op, head: Head) -> None:
        """Keep the losing side of a conflict (counted against its author's quota too)."""
        self._charge(db, batch, op)
        user, now = batch.user, batch.now
        db.execute("INSERT INTO conflict_copies (tbl, record_id, scope, op_id, author, base_rev, "
                   "head_rev, plain, key_version, sealed, deleted, at) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [op.table, op.record_id, op.scope, op.op_id, user.id, op.base_rev, head.rev,
                    json.dumps(op.plain, sort_keys=True), op.key_version, op.sealed,
                    int(op.deleted), now])

    def _copy_head(self, db: sqlite3.Connection, head: Head, *, base_rev: int, now: str) -> None:
        db.execute("INSERT INTO conflict_copies (tbl, record_id, scope, op_id, author, base_rev, "
                   "head_rev, plain, key_version, sealed, deleted, at) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [head.table, head.record_id, head.scope, head.op_id, head.author, base_rev,
                    head.rev, json.dumps(head.plain, sort_keys=True), head.key_version,
                    head.sealed, int(head.deleted), now])

    def _allocate(self, db: sqlite3.Connection, worker: str, month: str, *, cap: Decimal
                  ) -> None:
        """Re-split the worker's month at the cap in trip order; publish it if it changed."""
        trips = []
        for record_id, plain_text in db.execute(
                "SELECT record_id, plain FROM records WHERE tbl = 'trips' AND scope = ? AND "
                "json_extract(plain, '$.month') = ? AND deleted = 0",  # records_trips_by_month
                [wire.ledger_scope(worker), month]):
            plain = json.loads(plain_text)
            if plain.get("month") != month:
                continue
            try:
                miles = Decimal(str(plain.get("total_miles")))
            except InvalidOperation:
                miles = Decimal(0)
            trips.append(((str(plain.get("trip_date")), str(plain.get("recorded_at")),
                           record_id), miles if miles.is_finite() and miles > 0 else Decimal(0)))
        trips.sort(key=lambda t: t[0])
        split = split_at_cap([(key[2], miles) for key, miles in trips], cap=cap)
        plain = {"worker_id": worker, "month": month, "cap": str(cap),
                 "reimbursable": str(sum(split.values(), Decimal(0))),
                 "trips": json.dumps({k: str(v) for k, v in split.items()}, sort_keys=True)}
        record_id = f"{worker}|{month}"
        head = self._head(db, wire.ALLOCATIONS, record_id)
        if head is not None and head.plain == plain:
            return
        rev = (head.rev if head else 0) + 1
        digests.account(db, _standing(db, wire.ALLOCATIONS, record_id),
                        (wire.ledger_scope(worker), wire.ALLOCATIONS, record_id, rev, False))
        db.execute("INSERT OR REPLACE INTO records (tbl, record_id, scope, rev, seq, op_id, "
                   "author, plain, key_version, sealed, deleted) VALUES (?, ?, ?, ?, ?, ?, "
                   "'server', ?, NULL, NULL, 0)",
                   [wire.ALLOCATIONS, record_id, wire.ledger_scope(worker), rev,
                    self._next_seq(db), f"allocation-{record_id}-{rev}",
                    json.dumps(plain, sort_keys=True)])

    @staticmethod
    def _next_seq(db: sqlite3.Connection) -> int:
        db.execute("INSERT INTO counters VALUES ('seq', 1) ON CONFLICT (name) DO UPDATE SET "
                   "value = value + 1")
        return int(db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0])

    @staticmethod
    def _head(db: sqlite3.Connection, table: str, record_id: str) -> Head | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM records WHERE tbl = ? AND record_id = ?",  # noqa: S608
                         [table, record_id]).fetchone()
        return Head.from_row(row) if row else None

    # -- case and assignment changes made by an administrator -----------------------------------

    def touch_case(self, case_id: str) -> None:
        """Send a case's document again (its assignment changed on the server)."""
        with self.store.unit() as db:
            now = _standing(db, "cases", case_id)
            if now is not None:
                scope, table, record_id, rev, deleted = now
                digests.account(db, now, (scope, table, record_id, rev + 1, deleted))
                db.execute("UPDATE records SET seq = ?, rev = rev + 1 WHERE tbl = 'cases' AND "
                           "record_id = ?", [self._next_seq(db), case_id])

    # -- pull, digest, manifest ---------------------------------------------------------------

    def pull(self, user: User, since: int, *, limit: int) -> wire.Page:
        scopes = scopes_for(self.store, user)
        names = scopes.all()
        if not names:
            return wire.Page(docs=[], next=since, more=False, scopes=[])
        marks = ", ".join("?" for _ in names)
        with self.store.reading() as db:
            # The page's seqs first, from the (scope, seq) index, then only those rows: sorting
            # whole rows sorted every remaining sealed body for each page (110 ms a page at the
            # start of 10,000 records, against 4 ms). A page also stops at MAX_PAGE_BYTES of
            # sealed content, so no member's large records make a colleague's page huge.
            sizes = db.execute(f"SELECT seq, coalesce(length(sealed), 0) FROM records WHERE "  # noqa: S608
                               f"seq > ? AND scope IN ({marks}) ORDER BY seq LIMIT ?",
                               [since, *names, limit + 1]).fetchall()
            sent: list[int] = []
            total, more = 0, False
            for seq, size in sizes:
                if sent and (len(sent) == limit or total + size > wire.MAX_PAGE_BYTES):
                    more = True
                    break
                sent.append(seq)
                total += size
            rows = db.execute(f"SELECT {_COLUMNS} FROM records WHERE seq IN "  # noqa: S608
                              f"({', '.join('?' for _ in sent)}) ORDER BY seq",
                              sent).fetchall()
            top = db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
            needs, rotate = self._needs_keys(db, user, scopes)
        docs = [self._dressed(Head.from_row(r), scopes) for r in rows]
        # With nothing left to send the checkpoint moves to the top of the sequence, so the
        # next pull starts after changes this user may not see.
        end = docs[-1].seq if more else max(since, int(top[0]) if top else 0)
        return wire.Page(docs=docs, next=end, more=more, needs_keys=needs, scopes=names,
                         rotate=rotate)

    def _dressed(self, head: Head, scopes: Scopes) -> wire.Doc:
        """A case's assignment comes from the server's own case list, not the last document."""
        if head.table == "cases" and head.record_id in scopes.cases:
            case = scopes.cases[head.record_id]
            team = [u.id for u in self.store.team_members(case["team_id"])
                    if u.role == Role.SUPERVISOR]
            doc = head.doc()
            stamped = {**doc.stamped, "coordinator_id": case["coordinator_id"],
                       "intact_worker_id": case["intact_worker_id"],
                       "referred_by": case.get("referred_by"),
                       "supervisor_ids": json.dumps(sorted(team))}
            return doc.model_copy(update={"stamped": stamped})
        return head.doc()

    def _needs_keys(self, db: sqlite3.Connection, user: User, known: Scopes
                    ) -> tuple[list[str], list[str]]:
        """Scopes whose newest key this user holds but some enrolled member does not (to share
        again), and scopes whose newest key someone holds who is no longer a member (to rotate:
        what is written next must be closed to them)."""
        wanting: list[str] = []
        rotate: list[str] = []
        scopes = known.all()
        if user.keys_due is not None or not scopes:  # exposed keys share nothing
            return wanting, rotate
        marks = ", ".join("?" for _ in scopes)
        # The holders of each scope's newest version, for the scopes whose newest version the
        # caller holds: one query (by the case_keys primary key), not one per scope.
        holders: dict[str, set[str]] = {}
        newest: dict[str, int] = {}
        for scope, version, holder in db.execute(
                f"WITH newest AS (SELECT case_id, max(version) AS version FROM case_keys "  # noqa: S608
                f"WHERE case_id IN ({marks}) GROUP BY case_id) "
                "SELECT k.case_id, k.version, k.user_id FROM newest AS n JOIN case_keys AS k "
                "ON k.case_id = n.case_id AND k.version = n.version "
                "WHERE EXISTS (SELECT 1 FROM case_keys AS mine WHERE mine.case_id = n.case_id "
                "AND mine.version = n.version AND mine.user_id = ?)", [*scopes, user.id]):
            holders.setdefault(scope, set()).add(holder)
            newest[scope] = int(version)
        if not holders:
            return wanting, rotate
        exposed = {scope: int(after) for scope, after in db.execute(
            f"SELECT case_id, after FROM key_rotations WHERE case_id IN "  # noqa: S608
            f"({', '.join('?' for _ in holders)})", sorted(holders))}
        members = self._members(user, known, sorted(holders))
        for scope in sorted(holders):
            held_by, present = holders[scope], members.get(scope, [])
            if any(m.shared_keys[0] and m.id not in held_by for m in present):
                wanting.append(scope)
            if exposed.get(scope, 0) >= newest[scope] or held_by - {m.id for m in present}:
                rotate.append(scope)
        return wanting, rotate

    def _members(self, user: User, known: Scopes, scopes: list[str]) -> dict[str, list[User]]:
        """Each scope's members, from the caller's case rows (`known`) and their teams' people,
        read once: a case's coordinator, intact worker and team supervisors; a ledger's worker
        and their team's supervisors (`scope_members` for one scope)."""
        cases: dict[str, dict[str, Any]] = {}
        owners: dict[str, str] = {}
        for scope in scopes:
            kind = wire.parse_scope(scope)
            if isinstance(kind, wire.LedgerScope):
                owners[scope] = kind.worker_id
            elif kind.case_id in known.cases:
                cases[scope] = known.cases[kind.case_id]
        people = self.store.users_of_teams({c["team_id"] for c in cases.values()}
                                           | {user.team_id})
        owner_users = {u: people.get(u) or self.store.user(u) for u in set(owners.values())}
        found: dict[str, list[User]] = {}
        for scope, case in cases.items():
            found[scope] = [u for u in people.values()
                            if u.id in (case["coordinator_id"], case["intact_worker_id"])
                            or (u.role == Role.SUPERVISOR and u.team_id == case["team_id"])]
        for scope, owner_id in owners.items():
            owner = owner_users.get(owner_id)
            if owner is not None:
                found[scope] = [owner, *(u for u in people.values() if u.role == Role.SUPERVISOR
                                         and u.team_id == owner.team_id and u.id != owner.id)]
        return found

    def manifest(self, user: User) -> list[wire.ManifestEntry]:
        return [wire.ManifestEntry(table=t, record_id=r, rev=v, deleted=bool(d))
                for t, r, v, d in self._entries(user)]

    def digest(self, user: User) -> wire.Digest:
        """The caller's digest from their scopes' kept digests (`sync/server/digests.py`): it
        costs the same at a hundred records and at a million."""
        names = scopes_for(self.store, user).all()
        with self.store.reading() as db:
            return digests.digest(db, names)

    def _entries(self, user: User) -> list[tuple[str, str, int, int]]:
        """(table, record id, revision, deleted) of every record the user may read."""
        names = scopes_for(self.store, user).all()
        if not names:
            return []
        marks = ", ".join("?" for _ in names)
        with self.store.reading() as db:
            return db.execute(f"SELECT tbl, record_id, rev, deleted FROM records WHERE scope "  # noqa: S608
                              f"IN ({marks}) ORDER BY tbl, record_id", names).fetchall()

    def conflict_copies(self) -> list[tuple[Any, ...]]:
        with self.store.reading() as db:
            return db.execute("SELECT tbl, record_id, op_id, author, base_rev, head_rev FROM "
                              "conflict_copies ORDER BY id").fetchall()


def _unsigned(user: User, ops: list[wire.Op]) -> frozenset[str]:
    """The ops of a push not signed with the key this server registered for `user` (none
    checked for someone who registered no signing key: laptops set their changes aside).
    Checked before the push's transaction, so the store's lock is never held for them."""
    key = user.signing_key
    if key is None:
        return frozenset()

    def check(chunk: Sequence[wire.Op]) -> list[str | None]:
        return [None if verifies(key, wire.signed_statement(op, user.id), op.signature)
                else op.op_id for op in chunk]

    return frozenset(op_id for op_id in on_every_core(check, ops) if op_id is not None)


def _standing(db: sqlite3.Connection, table: str, record_id: str) -> digests.Standing | None:
    row = db.execute("SELECT scope, rev, deleted FROM records WHERE tbl = ? AND record_id = ?",
                     [table, record_id]).fetchone()
    return None if row is None else (str(row[0]), table, record_id, int(row[1]), bool(row[2]))


def _signed_before(former: list[str], user: User, ops: list[wire.Op]) -> bool:
    """Whether `ops` are signed with one of the user's former keys."""
    return bool(former) and any(verifies(key, wire.signed_statement(op, user.id), op.signature)
                                for op in ops[:1] for key in former)


def _signature(op: wire.Op) -> bool:
    """The op that signs a note (the status a laptop sends for a note is draft or signed)."""
    return op.table == "visit_notes" and op.plain.get("status") == "signed" and not op.deleted


_COLUMNS = ("tbl, record_id, scope, rev, seq, op_id, author, plain, key_version, sealed, deleted, "
            "base_rev, payload_hash, signature, stamp")


@dataclass(frozen=True)
class Head:
    table: str
    record_id: str
    scope: str
    rev: int
    seq: int
    op_id: str
    author: str
    plain: dict[str, Any]
    key_version: int | None
    sealed: str | None
    deleted: bool
    base_rev: int = 0
    payload_hash: str = ""
    signature: str | None = None
    stamp: dict[str, Any] | None = None  # the columns of `plain` the server set itself

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Head:
        t, r, s, rev, seq, op, a, plain, kv, sealed, deleted, base, hashed, sig, stamp = row
        return cls(t, r, s, int(rev), int(seq), op, a, json.loads(plain), kv, sealed,
                   bool(deleted), int(base), str(hashed), sig, json.loads(stamp))

    def doc(self) -> wire.Doc:
        """The record as its author signed it, and what the server set beside it."""
        stamp = self.stamp or {}
        signed = {k: v for k, v in self.plain.items() if k not in stamp}
        return wire.Doc(table=self.table, record_id=self.record_id, scope=self.scope,
                        rev=self.rev, seq=self.seq, op_id=self.op_id, author=self.author,
                        deleted=self.deleted, plain=signed, key_version=self.key_version,
                        sealed=self.sealed, base_rev=self.base_rev,
                        payload_hash=self.payload_hash, signature=self.signature,
                        stamped=stamp)
