"""Remove a profile from this computer, and say beforehand what would be lost.

Thread rule: both functions touch the disk and SQLite; the UI calls them on the database worker.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from fieldapp.domain.errors import KnownError
from fieldapp.storage.instance_lock import InstanceLock
from fieldapp.storage.paths import ProfilePaths


@dataclass(frozen=True)
class RemovalFacts:
    """What the locked profile's plain bookkeeping says (no record is decrypted for this).

    Attributes:
        last_sync: when it last synced with a program server (UTC ISO), None if it never did:
            only then is the profile known to be enrolled.
        waiting: local changes never sent to a server; None if the database could not be read.
    """

    last_sync: str | None
    waiting: int | None


def removal_facts(paths: ProfilePaths) -> RemovalFacts:
    """Read, without the passphrase, whether the profile ever synced and what waits to go up."""
    try:
        db = sqlite3.connect(f"{paths.database.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return RemovalFacts(last_sync=None, waiting=None)
    try:
        row = db.execute("SELECT value FROM sync_state WHERE name = 'last_success'").fetchone()
        (waiting,) = db.execute(
            "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending', 'quarantined')"
        ).fetchone()
        return RemovalFacts(last_sync=row[0] if row else None, waiting=int(waiting))
    except sqlite3.Error:  # an older or damaged database: say nothing rather than guess
        return RemovalFacts(last_sync=None, waiting=None)
    finally:
        db.close()


def remove_profile(paths: ProfilePaths, *, open_one: Path) -> bool:
    """Delete the profile's files; True if its folder is gone too.

    Never `open_one` (the profile this window has open or chosen), nor a profile another window
    or command holds (`ProfileInUse`). Only FieldApp's own files go: a folder that also holds
    other things (a `--data-dir` chosen for more than FieldApp) keeps them, and False says so.
    """
    if paths.root.resolve() == open_one.resolve():
        raise KnownError("This is the profile open in this window; switch to another first.")
    if not paths.key_file.exists():
        raise KnownError(f"There is no FieldApp profile in {paths.root}.")
    instance = InstanceLock(paths.instance_lock)
    instance.acquire()  # raises ProfileInUse while anyone has it open
    instance.release()  # Windows cannot delete a file held open, even by its deleter
    for folder in (paths.backups, paths.set_aside, paths.logs):
        shutil.rmtree(folder, ignore_errors=True)
    # The key file goes first: without it what remains is no longer a profile, even half removed.
    for file in (paths.key_file, paths.database, *paths.sidecars(), paths.instance_lock,
                 paths.unlock_attempts, *paths.root.glob(".*.tmp"),
                 paths.database.with_suffix(".restoring")):
        file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        paths.root.rmdir()
    return not paths.root.exists()
