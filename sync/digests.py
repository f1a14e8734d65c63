"""Digests kept per scope, on the server and on each laptop (the same table on both sides).

The digest a laptop and the server compare (`wire.digest_of`) is a sum, modulo 2**256, of one
SHA-256 per live record. Recomputing it at every sync read and hashed every record held, so a
sync with nothing to do grew with history (issue 20). Instead each side keeps, per scope, the
count of live records and their sum (`scope_digests`), moved in the same transaction as every
change: a change adds its new revision and takes away the one it replaces. The digest of a set
of scopes is then the sum of their rows.

Thread rule: inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, Protocol

from sync import protocol as wire

# The table on both sides (the laptop's is made by schema step 0009).
CREATE = ("CREATE TABLE IF NOT EXISTS scope_digests (scope TEXT PRIMARY KEY, "
          "count INTEGER NOT NULL, total TEXT NOT NULL)")

# (scope, table, record id, revision, deleted) of a record as it stands.
Standing = tuple[str, str, str, int, bool]


class Executes(Protocol):
    """A connection: sqlite3's (the server) or sqlite-utils' (a laptop's vault)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> sqlite3.Cursor: ...


def account(db: Executes, before: Standing | None, after: Standing | None) -> None:
    """A record went from `before` to `after` (None: absent); its scopes' digests follow."""
    if before == after:
        return
    for standing, sign in ((before, -1), (after, 1)):
        if standing is None or standing[4]:
            continue  # absent or deleted: not in any digest
        scope, table, record_id, rev, _ = standing
        add(db, scope, sign, sign * wire.digest_item(table, record_id, rev))


def parts(db: Executes, scopes: Iterable[str] | None) -> list[tuple[int, int]]:
    """(count, sum) of each of `scopes` (every scope for None)."""
    if scopes is None:
        rows = db.execute("SELECT count, total FROM scope_digests").fetchall()
    else:
        names = sorted(set(scopes))
        rows = db.execute(f"SELECT count, total FROM scope_digests WHERE scope IN "  # noqa: S608
                          f"({', '.join('?' for _ in names)})", names).fetchall() if names else []
    return [(int(count), int(total, 16)) for count, total in rows]


def add(db: Executes, scope: str, count: int, amount: int) -> None:
    row = db.execute("SELECT count, total FROM scope_digests WHERE scope = ?",
                     [scope]).fetchone()
    old_count, old_total = (int(row[0]), int(row[1], 16)) if row else (0, 0)
    db.execute("INSERT OR REPLACE INTO scope_digests VALUES (?, ?, ?)",
               [scope, old_count + count, f"{(old_total + amount) % wire.DIGEST_MODULUS:064x}"])


def count_all(db: Executes, rows: Iterable[tuple[str, str, str, int]]) -> None:
    """Every scope's digest counted afresh from `rows` (scope, table, record id, revision) of
    the live records."""
    totals: dict[str, list[int]] = {}
    for scope, table, record_id, rev in rows:
        entry = totals.setdefault(scope, [0, 0])
        entry[0] += 1
        entry[1] += wire.digest_item(table, record_id, rev)
    db.execute("DELETE FROM scope_digests")
    for scope, (count, total) in totals.items():
        db.execute("INSERT INTO scope_digests VALUES (?, ?, ?)",
                   [scope, count, f"{total % wire.DIGEST_MODULUS:064x}"])
