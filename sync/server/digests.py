"""Each scope's digest on the server, kept up to date in the transaction of every change.

The digest a laptop compares (`wire.digest_of`) is a sum, modulo 2**256, of one SHA-256 per live
record of the caller's scopes. Recomputing it at every sync read and hashed every record the
caller may hold (a sync with nothing to do grew with history: issue 20). Here each scope keeps
its count and its sum (`scope_digests`); a change adds its new revision and takes away the one it
replaces, and the caller's digest is the sum of their scopes' rows.

Thread rule: inside a transaction of the store (`ServerStore.unit`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from sync import protocol as wire

SCHEMA = ("CREATE TABLE IF NOT EXISTS scope_digests (scope TEXT PRIMARY KEY, "
          "count INTEGER NOT NULL, total TEXT NOT NULL)",)
# counters: set once every scope's digest was counted from the records (a server from before).
COUNTED = "scope_digests"

# (scope, table, record id, revision, deleted) of a record as it stands.
Standing = tuple[str, str, str, int, bool]


def account(db: sqlite3.Connection, before: Standing | None, after: Standing | None) -> None:
    """A record went from `before` to `after` (None: absent); its scopes' digests follow."""
    if before == after:
        return
    for standing, sign in ((before, -1), (after, 1)):
        if standing is None or standing[4]:
            continue  # absent or deleted: not in any digest
        scope, table, record_id, rev, _ = standing
        _add(db, scope, sign, sign * wire.digest_item(table, record_id, rev))


def digest(db: sqlite3.Connection, scopes: Iterable[str]) -> wire.Digest:
    names = sorted(set(scopes))
    if not names:
        return wire.digest_sum([])
    rows = db.execute(f"SELECT count, total FROM scope_digests WHERE scope IN "  # noqa: S608
                      f"({', '.join('?' for _ in names)})", names).fetchall()
    return wire.digest_sum((int(count), int(total, 16)) for count, total in rows)


def count_once(db: sqlite3.Connection) -> None:
    """On a server that kept records before digests were kept: count every scope's, once."""
    if db.execute("SELECT 1 FROM counters WHERE name = ?", [COUNTED]).fetchone():
        return
    db.execute("DELETE FROM scope_digests")
    for scope, table, record_id, rev in db.execute(
            "SELECT scope, tbl, record_id, rev FROM records WHERE deleted = 0").fetchall():
        _add(db, scope, 1, wire.digest_item(table, record_id, rev))
    db.execute("INSERT INTO counters VALUES (?, 1)", [COUNTED])


def _add(db: sqlite3.Connection, scope: str, count: int, amount: int) -> None:
    row = db.execute("SELECT count, total FROM scope_digests WHERE scope = ?",
                     [scope]).fetchone()
    old_count, old_total = (int(row[0]), int(row[1], 16)) if row else (0, 0)
    db.execute("INSERT OR REPLACE INTO scope_digests VALUES (?, ?, ?)",
               [scope, old_count + count, f"{(old_total + amount) % wire.DIGEST_MODULUS:064x}"])
