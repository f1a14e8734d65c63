"""Giving the records a profile wrote before it joined a server to the user the server names.

A profile made offline gets a random user id (a UUID) at creation; enrolment tells it who the
person is on the program's server. Every record written before then names the random id as its
author, worker, recorder or assignee, in plain routing columns (the sealed bodies hold no user
ids, but they are checked too). This rewrites that one id to the server's id, in the
enrolment's transaction: the same person, now known by the program's name for them. Content,
times and signatures are unchanged; nothing has been sent to a server yet, so nothing already
there disagrees. A mileage month's record id is made from its worker's id, so it is re-sealed
under its new id and its outbox entry follows it.

The signed-note and append-only locks let this through by the one mode they allow a plain
column to change in (`replace kept`); capture triggers stay quiet, because each record already
has its pending outbox entry from when it was written.

Thread rule: the database worker, inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.kinds import KINDS, tables
from fieldapp.storage.sealed import SEALED_COLUMNS, open_row, seal_body

_MONTHS = "mileage_months"


@dataclass
class Reattributed:
    """How many rows of each table now name the server's user id."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def reattribute(db: sqlite_utils.Database, key: DataKey, *, old: str, new: str
                ) -> Reattributed:
    """Rewrite user id `old` to `new` in every record; the caller holds the transaction."""
    done = Reattributed()
    if old == new:
        return done
    with _unlocked(db):
        for table in _record_tables(db):
            changed = _rewrite_table(db, key, table, old=old, new=new)
            if changed:
                done.rows[table] = changed
    return done


def _record_tables(db: sqlite_utils.Database) -> list[str]:
    """Every kind's table (`fieldapp.domain.kinds`) and the laptop's tables of series heads
    (drug screens): the profile's records, none of its bookkeeping."""
    heads = [kind.series_head[0] for kind in KINDS if kind.series_head is not None]
    return [name for name in (*tables(KINDS), *heads) if db[name].exists()]


def _rewrite_table(db: sqlite_utils.Database, key: DataKey, table: str, *, old: str,
                   new: str) -> int:
    columns = [c.name for c in db.table(table).columns]
    sealed = set(columns) >= SEALED_COLUMNS
    changed = 0
    for row in list(db.query(f"SELECT rowid AS _rowid, * FROM [{table}]")):  # noqa: S608
        rowid = row.pop("_rowid")
        updates: dict[str, object] = {
            c: _replaced(row[c], old, new) for c in columns
            if c not in SEALED_COLUMNS and isinstance(row[c], str) and old in row[c]}
        updates = {c: v for c, v in updates.items() if v != row[c]}
        body = open_row(key, table=table, row=row) if sealed else {}
        new_body = _replaced_body(body, old, new)
        moves = table == _MONTHS and old in str(row["id"])
        if not updates and new_body == body and not moves:
            continue
        if moves:
            _move_month(db, key, row, updates, body=new_body, old=old, new=new)
        else:
            if new_body != body:
                updates["sealed"] = seal_body(key, table=table, record_id=str(row["id"]),
                                              revision=int(row["revision"]), body=new_body)
            assignments = ", ".join(f"[{c}] = ?" for c in updates)
            db.execute(f"UPDATE [{table}] SET {assignments} WHERE rowid = ?",  # noqa: S608
                       [*updates.values(), rowid])
        changed += 1
    return changed


def _move_month(db: sqlite_utils.Database, key: DataKey, row: dict[str, object],
                updates: dict[str, object], *, body: dict[str, Any], old: str, new: str
                ) -> None:
    """A month's id is its worker's id and the month: the record moves to its new id, sealed
    for it, and its waiting outbox entry goes with it."""
    old_id = str(row["id"])
    new_id = old_id.replace(old, new)
    moved = {**row, **updates, "id": new_id}
    moved["sealed"] = seal_body(key, table=_MONTHS, record_id=new_id,
                                revision=int(str(row["revision"])), body=body)
    db.execute(f"DELETE FROM {_MONTHS} WHERE id = ?", [old_id])  # noqa: S608 - fixed name
    db.table(_MONTHS).insert(moved)
    db.execute("UPDATE outbox SET record_id = ? WHERE tbl = ? AND record_id = ?",
               [new_id, _MONTHS, old_id])


def _replaced(value: str, old: str, new: str) -> str:
    """`old` as a whole value, inside a JSON list of ids, or as the worker part of an id."""
    if value == old:
        return new
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            return value
        if isinstance(items, list):
            return json.dumps([new if item == old else item for item in items])
    if value.startswith(f"{old}|") or value == f"ledger:{old}":
        return value.replace(old, new, 1)
    return value


def _replaced_body(body: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    replaced = _replaced_json(body, old, new)
    assert isinstance(replaced, dict)
    return replaced


def _replaced_json(value: object, old: str, new: str) -> object:
    if value == old:
        return new
    if isinstance(value, dict):
        return {k: _replaced_json(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced_json(v, old, new) for v in value]
    return value


@contextmanager
def _unlocked(db: sqlite_utils.Database) -> Iterator[None]:
    db.execute("DELETE FROM sync_applying")
    db.execute("INSERT INTO sync_applying VALUES ('replace kept')")
    try:
        yield
    finally:
        db.execute("DELETE FROM sync_applying")
