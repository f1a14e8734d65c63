"""Schema step 0003: what sync keeps beside the records.

- `outbox`: one entry per local change waiting to go up. Triggers write it, so a change and its
  outbox entry commit in the same transaction whichever code path made the change. Consecutive
  edits of one record share one pending entry (the newest content goes up); an entry being sent
  keeps its frozen payload, so a retry sends exactly the same bytes under the same op id.
- `synced`: the server revision (and key scope) each local record was last reconciled with.
- `sync_state`: the pull checkpoint and the last successful sync, written in the transaction of
  the rows they cover.
- `sync_inbox`: documents pulled but not applied yet (no key yet, or the record has local changes
  a person must settle first); ciphertext only.
- `sync_conflicts`: the other side of every conflict, sealed like any record.
- `mileage_allocations`: the server's reimbursable miles per trip.
- `sync_applying`: holds one row while sync applies the server's changes, so those changes are
  not sent back up and a trip the server accepted can land in a month this laptop has locked.
"""

from __future__ import annotations

import sqlite_utils

from fieldapp.domain.kinds import FIELD_RECORDS_STEP, made_in, tables

# The record tables there were when sync came: their changes are captured from this step on.
_BEFORE_SYNC = made_in(FIELD_RECORDS_STEP)
CAPTURED = tables(_BEFORE_SYNC)

_TABLES = (
    """CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE,
        tbl TEXT NOT NULL, record_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'quarantined', 'rejected')),
        payload TEXT, created_at TEXT NOT NULL, reason TEXT) STRICT""",
    "CREATE UNIQUE INDEX outbox_one_pending ON outbox (tbl, record_id) WHERE state = 'pending'",
    "CREATE INDEX outbox_by_record ON outbox (tbl, record_id, state)",
    """CREATE TABLE synced (
        tbl TEXT NOT NULL, record_id TEXT NOT NULL, scope TEXT NOT NULL, rev INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tbl, record_id)) STRICT""",
    "CREATE TABLE sync_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
    """CREATE TABLE sync_inbox (
        tbl TEXT NOT NULL, record_id TEXT NOT NULL, seq INTEGER NOT NULL, rev INTEGER NOT NULL,
        doc TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (tbl, record_id)) STRICT""",
    """CREATE TABLE sync_conflicts (
        id TEXT PRIMARY KEY, revision INTEGER NOT NULL CHECK (revision >= 1),
        key_id TEXT NOT NULL, sealed BLOB NOT NULL, tbl TEXT NOT NULL, record_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'kept', 'resolved')),
        created_at TEXT NOT NULL, resolved_at TEXT, resolution TEXT) STRICT""",
    "CREATE INDEX sync_conflicts_by_record ON sync_conflicts (tbl, record_id, state)",
    """CREATE TABLE mileage_allocations (
        worker_id TEXT NOT NULL, month TEXT NOT NULL, trip_id TEXT NOT NULL,
        reimbursable TEXT NOT NULL, PRIMARY KEY (worker_id, month, trip_id)) STRICT""",
    "CREATE TABLE sync_applying (mode TEXT NOT NULL) STRICT",
)

_CAPTURE = """CREATE TRIGGER {table}_outbox_{event} AFTER {event_upper} ON {table} {when}
    BEGIN
        INSERT INTO outbox (op_id, tbl, record_id, state, created_at)
        SELECT lower(hex(randomblob(16))), '{table}', {row}.id, 'pending',
               strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE NOT EXISTS (SELECT 1 FROM sync_applying)
          AND NOT EXISTS (SELECT 1 FROM outbox WHERE tbl = '{table}' AND record_id = {row}.id
                          AND state = 'pending');
    END"""

# The status of a signed note is derived from its reviews and addenda, which travel themselves.
_CAPTURE_WHEN = {("visit_notes", "update"): "WHEN OLD.status = 'draft'"}

_MONTH_LOCKED = ("EXISTS (SELECT 1 FROM mileage_months m WHERE m.worker_id = {row}.worker_id "
                 "AND m.month = {row}.month AND m.status IN ('submitted', 'approved'))")


def _capture_triggers() -> list[str]:
    return capture_triggers(CAPTURED)


def capture_triggers(tables: tuple[str, ...]) -> list[str]:
    """Triggers that note every local change of `tables` in the outbox (not sync's own)."""
    statements = []
    for table in tables:
        for event, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
            statements.append(_CAPTURE.format(
                table=table, event=event, event_upper=event.upper(), row=row,
                when=_CAPTURE_WHEN.get((table, event), "")))
    return statements


def _trip_lock_triggers() -> list[str]:
    """The month lock of step 0002, except for trips the server already accepted."""
    statements = []
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        condition = " OR ".join(_MONTH_LOCKED.format(row=row) for row in rows)
        statements += [
            f"DROP TRIGGER trips_month_locked_{event.lower()}",
            f"CREATE TRIGGER trips_month_locked_{event.lower()} BEFORE {event} ON trips "  # noqa: S608
            f"WHEN ({condition}) AND NOT EXISTS (SELECT 1 FROM sync_applying) "
            "BEGIN SELECT RAISE(ABORT, 'this month''s mileage is submitted and locked'); END",
        ]
    return statements


_LOCKED_NOTE_COLUMNS = ("id, sealed, revision, key_id, case_id, author, visit_date, "
                        "contact_type, signed_by, signed_at, late_entry, next_visit_date")


_APPEND_ONLY = tables(kind for kind in _BEFORE_SYNC if kind.append_only)
_REPLACE_KEPT = "NOT EXISTS (SELECT 1 FROM sync_applying WHERE mode = 'replace kept')"


def _replace_kept_triggers() -> list[str]:
    """Step 0002's locks on signed notes (and, in `append_only_triggers`, on records that never
    change), with one narrow exception: when the server answers that its version of such a
    record stands (another signature of the same note, the same screen revision recorded
    differently on another laptop first), its version replaces this laptop's, whose own is kept
    aside sealed in `sync_conflicts` (nothing is lost; the two stay comparable)."""
    return [
        "DROP TRIGGER visit_notes_signed_locked",
        f"""CREATE TRIGGER visit_notes_signed_locked BEFORE UPDATE OF {_LOCKED_NOTE_COLUMNS}
            ON visit_notes WHEN OLD.status != 'draft' AND {_REPLACE_KEPT}
            BEGIN SELECT RAISE(ABORT, 'a signed note is locked; add an addendum'); END""",
    ]


def append_only_triggers(tables: tuple[str, ...], *, create: bool) -> list[str]:
    """The triggers that refuse any change or removal of a row of `tables`, except while sync
    replaces a row the server's version stands over (`replace kept`) or forgets a case
    (`forget`); `create` for new tables, otherwise step 0002's triggers are replaced."""
    statements = []
    for table in tables:
        for event, mode in (("update", "replace kept"), ("delete", "forget")):
            if not create:
                statements.append(f"DROP TRIGGER {table}_no_{event}")
            statements.append(
                f"CREATE TRIGGER {table}_no_{event} BEFORE {event.upper()} ON {table} "  # noqa: S608
                f"WHEN NOT EXISTS (SELECT 1 FROM sync_applying WHERE mode = '{mode}') "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END")
    return statements


def _forget_triggers() -> list[str]:
    """Step 0002's refusal to delete signed notes (and, in `append_only_triggers`, append-only
    records), except while sync removes a case this laptop's user is no longer entitled to hold
    (mode `forget`): the server keeps every version, and 42 CFR Part 2 asks that records not
    stay where they are not needed. The audit log is never forgotten."""
    allowed = "NOT EXISTS (SELECT 1 FROM sync_applying WHERE mode = 'forget')"
    return [
        "DROP TRIGGER visit_notes_signed_kept",
        f"CREATE TRIGGER visit_notes_signed_kept BEFORE DELETE ON visit_notes "
        f"WHEN OLD.status != 'draft' AND {allowed} "
        "BEGIN SELECT RAISE(ABORT, 'a signed note cannot be deleted'); END",
    ]


def create_sync_tables(db: sqlite_utils.Database) -> None:
    for statement in (*_TABLES, *_capture_triggers(), *_trip_lock_triggers(),
                      *_replace_kept_triggers(), *_forget_triggers(),
                      *append_only_triggers(_APPEND_ONLY, create=False)):
        db.execute(statement)


def create_scope_digests(db: sqlite_utils.Database) -> None:
    """Schema step 0009: each scope's digest of what this laptop holds (count of live records
    and their sum, `sync/digests.py`), kept as records are taken; counted from `synced` the
    first time a sync needs it."""
    db.execute("""CREATE TABLE scope_digests (
        scope TEXT PRIMARY KEY, count INTEGER NOT NULL, total TEXT NOT NULL) STRICT""")
