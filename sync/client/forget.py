"""Removing from this laptop what its user may no longer hold: a case reassigned to someone
else, a worker who moved to another team (their mileage ledger, for a supervisor).

The server keeps every version; the laptop keeps nothing it is not entitled to. Work that has not
reached the server (waiting, refused or in conflict) holds its scope here for `GRACE` from the
first sync that found the scope gone: what waits may still go up, and a refusal is shown as
before. After it the scope goes anyway, with its keys; that work is first moved, sealed, to the
person's "kept for you" place (`fieldapp/services/kept.py`), which only they can export or
discard: nothing typed is lost, and nothing stays filed under a case that is no longer theirs.

Thread rule: the database worker; one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import RecordTampered
from fieldapp.domain.kinds import KINDS, scope_sql
from fieldapp.services.kept import KeptForYou, KeptItem, as_plain, thing_of
from fieldapp.storage.sealed import SEALED_COLUMNS, SealedTable, open_row

# How long a case (or ledger) no longer listed for the person stays on their laptop while work on
# it is unsettled. Two weeks: time to finish and send a note that was being written (a worker
# back from leave, or from days in the field without a connection), or to settle a refusal with
# the supervisor at the next supervision (every other week at the longest); no longer, because a
# case taken away should not stay readable where it is no longer needed.
GRACE = timedelta(days=14)
LEAVING = "leaving_scopes"
CONFLICTS = "sync_conflicts"


def _local_tables() -> dict[str, str]:
    """Each record table's key scope as SQL over its own row (aliased `r`), children before
    parents (foreign keys): every kind's and, after a series' records, the laptop's table of
    the series' heads (drug screens after their results)."""
    scope_of: dict[str, str] = {}
    for kind in reversed(KINDS):
        scope_of[kind.table] = scope_sql(kind)
        if kind.series_head is not None:
            head, case_column = kind.series_head
            scope_of[head] = f"r.{case_column}"
    return scope_of


# The key scope of each row, as SQL over the row's own table (aliased `r`).
SCOPE_OF = _local_tables()
# Children before parents (foreign keys).
ORDER = tuple(SCOPE_OF)


@dataclass
class Forgotten:
    """What one pass removed: the scopes, and per scope how many records' unsettled work was
    kept for the person."""

    scopes: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)


def held_scopes(db: sqlite_utils.Database) -> set[str]:
    union = " UNION ".join(f"SELECT {expr} FROM [{table}] r"  # noqa: S608 - fixed names
                           for table, expr in SCOPE_OF.items())
    return {str(row[0]) for row in db.execute(union).fetchall() if row[0] is not None}


def unsettled_records(db: sqlite_utils.Database, scope: str) -> list[tuple[str, str]]:
    """The records of `scope` with a change not on the server (waiting, in flight, refused) or
    an open conflict, as (table, record id): those held here, and those deleted here whose
    deletion has not gone up."""
    found: list[tuple[str, str]] = []
    for table, expr in SCOPE_OF.items():
        found += [(table, str(row[0])) for row in db.execute(
            f"SELECT r.id FROM [{table}] r WHERE {expr} = ? AND EXISTS "  # noqa: S608
            "(SELECT 1 FROM outbox o WHERE o.tbl = ? AND o.record_id = r.id "
            " UNION ALL SELECT 1 FROM sync_conflicts c WHERE c.tbl = ? AND c.record_id = r.id "
            " AND c.state = 'open') ORDER BY r.id", [scope, table, table]).fetchall()]
    for table, record_id in db.execute(
            "SELECT DISTINCT o.tbl, o.record_id FROM outbox o JOIN synced s ON s.tbl = o.tbl "
            "AND s.record_id = o.record_id WHERE s.scope = ? ORDER BY o.seq",
            [scope]).fetchall():
        if table in SCOPE_OF and db.execute(f"SELECT 1 FROM [{table}] WHERE id = ?",  # noqa: S608
                                            [record_id]).fetchone() is None:
            found.append((str(table), str(record_id)))
    return found


def unsettled(db: sqlite_utils.Database, scope: str) -> bool:
    """Whether any record of `scope` has a change not on the server or an open conflict."""
    return bool(unsettled_records(db, scope))


def forget_elsewhere(db: sqlite_utils.Database, key: DataKey, visible: Iterable[str], *,
                     now: datetime) -> Forgotten:
    """Remove every record of a scope that is held here but no longer visible to the user: at
    once if nothing of it is unsettled, otherwise once `GRACE` has passed since a sync first
    found it gone, after moving the unsettled work to the person's kept place."""
    allowed = set(visible)
    done = Forgotten()
    with db.atomic():
        leaving = sorted(held_scopes(db) - allowed)
        marks = ", ".join("?" for _ in leaving)
        db.execute(f"DELETE FROM {LEAVING} WHERE scope NOT IN ({marks})",  # noqa: S608
                   leaving)
        for scope in leaving:
            work = unsettled_records(db, scope)
            if work and not _grace_over(db, scope, now):
                continue
            for table, record_id in work:
                _keep_for_author(db, key, scope, table, record_id, now=iso(now))
            _remove(db, scope)
            db.execute(f"DELETE FROM {LEAVING} WHERE scope = ?", [scope])  # noqa: S608
            done.scopes.append(scope)
            if work:
                done.kept[scope] = len(work)
    return done


def _grace_over(db: sqlite_utils.Database, scope: str, now: datetime) -> bool:
    """Whether `GRACE` has passed since a sync first found `scope` gone (noted now if this is
    the first)."""
    db.execute(f"INSERT OR IGNORE INTO {LEAVING} VALUES (?, ?)", [scope, iso(now)])  # noqa: S608
    since = db.execute(f"SELECT since FROM {LEAVING} WHERE scope = ?",  # noqa: S608
                       [scope]).fetchone()[0]
    return now - datetime.fromisoformat(str(since)) >= GRACE


def _keep_for_author(db: sqlite_utils.Database, key: DataKey, scope: str, table: str,
                     record_id: str, *, now: str) -> None:
    """Move one record's unsettled work into the kept place: the record as it is here, its
    waiting or refused changes and its open conflicts; those entries then go."""
    changes = [{"state": state, "reason": reason or "", "made_at": made}
               for state, reason, made in db.execute(
                   "SELECT state, reason, created_at FROM outbox WHERE tbl = ? AND "
                   "record_id = ? ORDER BY seq", [table, record_id]).fetchall()]
    conflicts = [{"reason": opened.body.get("reason", ""),
                  "theirs": as_plain(opened.body.get("theirs"))}
                 if opened.body is not None else
                 {"reason": "This conflict was damaged on this laptop and does not open.",
                  "theirs": None}
                 for opened in SealedTable(db, key, CONFLICTS).select(
                     "tbl = ? AND record_id = ? AND state = 'open'", [table, record_id],
                     order="created_at, id")]
    KeptForYou(db, key).keep(KeptItem(
        scope=scope, table=table, record_id=record_id, thing=thing_of(table),
        why=_why(changes, conflicts), record=_record(db, key, table, record_id),
        changes=changes, conflicts=conflicts), now=now)
    db.execute("DELETE FROM outbox WHERE tbl = ? AND record_id = ?", [table, record_id])
    db.execute(f"DELETE FROM {CONFLICTS} WHERE tbl = ? AND record_id = ? AND "  # noqa: S608
               "state = 'open'", [table, record_id])


def _record(db: sqlite_utils.Database, key: DataKey, table: str, record_id: str
            ) -> dict[str, Any] | None:
    cursor = db.execute(f"SELECT * FROM [{table}] WHERE id = ?", [record_id])  # noqa: S608
    row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip([d[0] for d in cursor.description], row, strict=True))
    try:
        body: dict[str, Any] = open_row(key, table=table, row=found)
    except RecordTampered:
        body = {"unreadable": "it was damaged on this laptop and does not open"}
    return {"plain": {k: v for k, v in found.items() if k not in SEALED_COLUMNS},
            "body": body}


def _why(changes: list[dict[str, Any]], conflicts: list[dict[str, Any]]) -> str:
    """Why a record was kept, in plain words, from its changes' states and its conflicts."""
    reasons = []
    for change in changes:
        if change["state"] == "rejected":
            reasons.append(f"The server refused it: {change['reason']}")
        elif change["state"] == "quarantined":
            reasons.append(f"It could not be sent: {change['reason']}")
        else:
            reasons.append("It had not reached the server when the case stopped being yours.")
    if conflicts:
        reasons.append("It was in conflict with another version, not settled.")
    return " ".join(dict.fromkeys(reasons))


def _remove(db: sqlite_utils.Database, scope: str) -> None:
    """Every record of `scope` here, its sync state and its waiting documents."""
    db.execute("DELETE FROM sync_applying")
    db.execute("INSERT INTO sync_applying VALUES ('forget')")
    try:
        for table in ORDER:
            ids = [row[0] for row in db.execute(
                f"SELECT r.id FROM [{table}] r WHERE {SCOPE_OF[table]} = ?",  # noqa: S608
                [scope]).fetchall()]
            if table == "cases":  # a trip of one's own may still name the family
                ids = [i for i in ids if db.execute(
                    "SELECT 1 FROM trips WHERE case_id = ?", [i]).fetchone() is None]
            for record_id in ids:
                db.execute(f"DELETE FROM [{table}] WHERE id = ?",  # noqa: S608
                           [record_id])
                db.execute("DELETE FROM sync_conflicts WHERE tbl = ? AND record_id = ?",
                           [table, record_id])
        db.execute("DELETE FROM synced WHERE scope = ?", [scope])
        db.execute("DELETE FROM scope_digests WHERE scope = ?", [scope])
        db.execute("DELETE FROM sync_inbox WHERE json_extract(doc, '$.scope') = ?", [scope])
        if scope.startswith("ledger:"):
            db.execute("DELETE FROM mileage_allocations WHERE worker_id = ?",
                       [scope.removeprefix("ledger:")])
    finally:
        db.execute("DELETE FROM sync_applying")
