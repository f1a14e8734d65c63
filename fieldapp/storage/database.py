"""Opening the profile's SQLite database with the settings every connection needs.

WAL for crash safety with `synchronous=FULL` (a committed write survives a power cut),
`secure_delete` so freed pages are zeroed rather than left holding old content, temp storage in
memory so sorts and temp tables never reach disk, and foreign keys on. A connection is used only
by the thread that opened it (sqlite3's default check); the app gives that job to one worker.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from fieldapp.domain.errors import DatabaseUnusable

# "FApp": lets FieldApp tell its own database from any other SQLite file.
APPLICATION_ID = 0x46417070
_SQLITE_MAGIC = b"SQLite format 3\x00"

_PRAGMAS = (
    "PRAGMA secure_delete = ON",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 5000",
)


def connect(path: Path, *, create: bool) -> sqlite_utils.Database:
    """Open (or with `create`, make) a FieldApp database; anything else is `DatabaseUnusable`."""
    if not create:
        check_header(path)
    elif path.exists() and path.stat().st_size > 0:
        raise DatabaseUnusable(f"A database already exists at {path}; it was left untouched.")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if create:
            os.chmod(path, 0o600)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        # Read-only check first: a foreign file must not be touched, not even switched to WAL.
        elif conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            raise DatabaseUnusable(
                f"{path.name} is a database of some other program, not a FieldApp profile. "
                "It was left untouched."
            )
        for pragma in _PRAGMAS:
            conn.execute(pragma)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseUnusable(_damaged(path)) from exc
    except BaseException:
        conn.close()
        raise
    return sqlite_utils.Database(conn)


def check_header(path: Path) -> None:
    """Refuse a missing, empty or non-SQLite file before SQLite ever touches it."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError as exc:
        raise DatabaseUnusable(
            f"The profile's database ({path.name}) is missing. Restore it from a backup."
        ) from exc
    if head != _SQLITE_MAGIC:
        raise DatabaseUnusable(_damaged(path))


def integrity_problems(db: sqlite_utils.Database, *, quick: bool = False) -> list[str]:
    """SQLite's own integrity check plus foreign keys; empty when the file is sound."""
    try:
        pragma = "quick_check" if quick else "integrity_check"
        rows = [str(row[0]) for row in db.execute(f"PRAGMA {pragma}").fetchall()]
        problems = [] if rows == ["ok"] else rows
        broken = db.execute("PRAGMA foreign_key_check").fetchall()
        problems += [f"row {row[1]} of {row[0]} points at a missing {row[2]}" for row in broken]
    except sqlite3.DatabaseError as exc:
        return [f"SQLite could not read the database: {exc}"]
    return problems


def checkpoint_and_close(db: sqlite_utils.Database) -> None:
    """Fold the WAL into the database, truncate it, and close the connection."""
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()


def _damaged(path: Path) -> str:
    return (
        f"{path.name} is damaged or is not a FieldApp database. It was left untouched; "
        "restore the profile from a backup."
    )
