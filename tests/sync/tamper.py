"""A server that lies: what an attacker with write access to a running server's database does
between two syncs (sqlite3 on the data file, WAL mode: open, edit, commit, close).

The attacker writes the columns the schema has, so the same attack runs against a server from
before signing too (where `signer`, `signature` and the like do not exist yet).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def server_db(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The server's database, written in one transaction and closed afterwards. Like the
    server it now is, the attacker keeps its own bookkeeping in step with what it changed: the
    scopes' digests are counted again from the records it serves (as the server computed them
    at every request before they were kept)."""
    conn = sqlite3.connect(data_dir / "server.sqlite3", timeout=10)
    try:
        with conn:
            yield conn
            if "scope_digests" in {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}:
                from sync.server import digests  # noqa: PLC0415 - the server's own code

                conn.execute("DELETE FROM counters WHERE name = ?", [digests.COUNTED])
                digests.count_once(conn)
    finally:
        conn.close()


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]


def write_row(conn: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> None:
    """INSERT OR REPLACE the row's values of the columns `table` has."""
    kept = {k: v for k, v in row.items() if k in columns(conn, table)}
    conn.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(kept)}) VALUES "  # noqa: S608
                 f"({', '.join('?' for _ in kept)})", list(kept.values()))


def next_seq(conn: sqlite3.Connection) -> int:
    """The next number of the server's sequence, taken as the server takes it."""
    return int(conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' "
                            "RETURNING value").fetchone()[0])


def head(conn: sqlite3.Connection, table: str, record_id: str) -> dict[str, Any]:
    """The record's row in `records` (its head), by column."""
    cursor = conn.execute("SELECT * FROM records WHERE tbl = ? AND record_id = ?",
                          [table, record_id])
    row = cursor.fetchone()
    assert row is not None, (table, record_id)
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def history(conn: sqlite3.Connection, table: str, record_id: str, rev: int) -> dict[str, Any]:
    """Revision `rev` of the record as `record_history` keeps it, by column."""
    cursor = conn.execute("SELECT * FROM record_history WHERE tbl = ? AND record_id = ? AND "
                          "rev = ?", [table, record_id, rev])
    row = cursor.fetchone()
    assert row is not None, (table, record_id, rev)
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def publish(conn: sqlite3.Connection, row: Mapping[str, Any], **changes: Any) -> int:
    """Serve `row` (a head, or a history row with its scope) as the record's head again, with
    `changes` and a new seq, so every laptop pulls it next; `plain` changes are merged into the
    row's plain columns. Returns the seq."""
    plain = {**json.loads(str(row["plain"])), **changes.pop("plain", {})}
    seq = next_seq(conn)
    write_row(conn, "records", {**row, **changes, "plain": json.dumps(plain, sort_keys=True),
                                "seq": seq})
    return seq


def body_of(row: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """The sealed body of a `records` row, opened with its scope's key (what a member can do
    with any record of their case)."""
    from sync import protocol as wire  # noqa: PLC0415 - only the tests that open bodies
    from sync.client.sealing import open_from_wire  # noqa: PLC0415

    return dict(open_from_wire(key, wire.Doc(
        table=row["tbl"], record_id=row["record_id"], scope=row["scope"], rev=row["rev"],
        seq=row["seq"], op_id=row["op_id"], author=row["author"], deleted=False, plain={},
        key_version=row["key_version"], sealed=row["sealed"])))
