"""Each scope's digest on the server, kept in the transaction of every change (`sync/digests.py`
says how and why); the caller's digest is the sum of their scopes' rows.

Thread rule: inside a transaction of the store (`ServerStore.unit`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from sync import digests as kept
from sync import protocol as wire

SCHEMA = (kept.CREATE,)
# counters: set once every scope's digest was counted from the records (a server from before).
COUNTED = "scope_digests"
Standing = kept.Standing
account = kept.account


def digest(db: sqlite3.Connection, scopes: Iterable[str]) -> wire.Digest:
    return wire.digest_sum(kept.parts(db, scopes))


def count_once(db: sqlite3.Connection) -> None:
    """On a server that kept records before digests were kept: count every scope's, once."""
    if db.execute("SELECT 1 FROM counters WHERE name = ?", [COUNTED]).fetchone():
        return
    kept.count_all(db, db.execute(
        "SELECT scope, tbl, record_id, rev FROM records WHERE deleted = 0").fetchall())
    db.execute("INSERT INTO counters VALUES (?, 1)", [COUNTED])
