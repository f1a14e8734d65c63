"""The encrypted vault: a profile's passphrase, data key and database, locked or open.

`Profile` is the locked profile on disk: it creates, unlocks, changes the passphrase and restores
backups. `Vault` is an open profile: the database connection and the data key, until `lock()`.
Thread rule: a `Vault` and everything using it stay on the thread that opened it (the app's one
database worker). Key derivation is slow by design, so no method here belongs on the UI thread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

import sqlite_utils

from fieldapp.crypto import keyfile
from fieldapp.crypto.aead import DataKey
from fieldapp.crypto.kdf import strengthened
from fieldapp.crypto.keyfile import KeyFile
from fieldapp.domain.clock import Clock, iso, system_clock
from fieldapp.domain.errors import (
    DatabaseUnusable,
    KeyFileDamaged,
    ProfileExists,
    ProfileMissing,
    VaultLocked,
    WeakPassphrase,
    WrongPassphrase,
)
from fieldapp.domain.passphrase import passphrase_problems
from fieldapp.storage import backups, database
from fieldapp.storage.files import atomic_write, fsync_dir
from fieldapp.storage.instance_lock import InstanceLock
from fieldapp.storage.lockout import UnlockThrottle
from fieldapp.storage.migrations import migrate, sealing_with
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.resources import passphrase_blocklist


class Profile:
    """A profile folder, locked.

    Attributes:
        paths: the profile's files.
    """

    def __init__(self, paths: ProfilePaths, *, clock: Clock = system_clock) -> None:
        self.paths = paths
        self._clock = clock
        self._throttle = UnlockThrottle(paths.unlock_attempts, clock=clock)

    def exists(self) -> bool:
        return self.paths.key_file.exists()

    def check_passphrase(self, passphrase: str, *, context_words: Iterable[str] = ()) -> list[str]:
        """The policy's objections to a new passphrase; empty means acceptable."""
        return passphrase_problems(passphrase, blocklist=passphrase_blocklist(),
                                   context_words=context_words)

    def create(self, passphrase: str, *, context_words: Iterable[str] = (),
               meta: Mapping[str, str] | None = None) -> Vault:
        """Create the profile: database first, then the key file, which marks it complete.

        `meta` (plain facts such as the owner's user id and role) is written in the same
        transaction as the key id, so a profile never exists without it.
        """
        if self.exists():
            raise ProfileExists(f"A profile already exists in {self.paths.root}.")
        problems = self.check_passphrase(passphrase, context_words=context_words)
        if problems:
            raise WeakPassphrase(problems)
        self.paths.ensure_root()
        instance = InstanceLock(self.paths.instance_lock)
        instance.acquire()
        try:
            return self._create(passphrase, instance, dict(meta or {}))
        except BaseException:
            instance.release()
            raise

    def _create(self, passphrase: str, instance: InstanceLock, meta: dict[str, str]) -> Vault:
        self._set_aside_incomplete()
        key_file, key = keyfile.create(passphrase, now=iso(self._clock()))
        db = database.connect(self.paths.database, create=True)
        try:
            migrate(db)
            with db.atomic():
                db.table("vault_meta").insert_all([
                    {"name": "key_id", "value": key.key_id},
                    {"name": "created_at", "value": iso(self._clock())},
                    *({"name": name, "value": value} for name, value in meta.items()),
                ])
            atomic_write(self.paths.key_file, key_file.to_bytes())
        except BaseException:
            db.conn.close()
            key.wipe()
            raise
        return Vault(self.paths, db, key, clock=self._clock, instance=instance)

    def unlock_wait(self) -> float:
        """Seconds before another passphrase attempt is accepted."""
        return self._throttle.seconds_left()

    def unwrap(self, passphrase: str) -> DataKey:
        """Check a passphrase against the key file, counting wrong ones; returns the data key."""
        self._throttle.check()
        key_file = self.read_key_file()
        try:
            key = keyfile.unwrap(key_file, passphrase)
        except WrongPassphrase:
            raise WrongPassphrase(retry_after=self._throttle.record_failure()) from None
        self._throttle.record_success()
        return key

    def unlock(self, passphrase: str) -> Vault:
        """Open the vault; `WrongPassphrase`, `UnlockDelayed`, `DatabaseUnusable` or
        `ProfileInUse` otherwise."""
        instance, key = self._lock_and_unwrap(passphrase)
        try:
            return self._open(key, instance)
        except BaseException:
            key.wipe()
            instance.release()
            raise

    def change_passphrase(self, old: str, new: str, *, context_words: Iterable[str] = ()) -> None:
        """Rewrap the data key under `new`; the old passphrase stops working at once."""
        problems = self.check_passphrase(new, context_words=context_words)
        if problems:
            raise WeakPassphrase(problems)
        current = self.read_key_file()
        key = self.unwrap(old)
        try:
            rewrapped = keyfile.wrap(key, new, now=iso(self._clock()),
                                     kdf=strengthened(current.kdf))
            atomic_write(self.paths.key_file, rewrapped.to_bytes())
        finally:
            key.wipe()

    def read_key_file(self) -> KeyFile:
        try:
            raw = self.paths.key_file.read_bytes()
        except FileNotFoundError as exc:
            raise ProfileMissing(f"There is no FieldApp profile in {self.paths.root}.") from exc
        return KeyFile.from_bytes(raw)

    def backups(self) -> list[Path]:
        return backups.list_backups(self.paths.backups)

    def restore(self, passphrase: str, backup: Path) -> Vault:
        """Replace the database with a backup; the current file is set aside, never deleted."""
        instance, key = self._lock_and_unwrap(passphrase)
        try:
            memory = backups.load(backup, key)
            try:
                staging = self._stage_restore(memory)
            finally:
                memory.close()
            # Only once the restored copy is safely on disk is the current file moved aside.
            self._set_aside_database("replaced")
            os.replace(staging, self.paths.database)
            fsync_dir(self.paths.root)
            return self._open(key, instance)
        except BaseException:
            key.wipe()
            instance.release()
            raise

    def _lock_and_unwrap(self, passphrase: str) -> tuple[InstanceLock, DataKey]:
        """Take the profile for this process, then the data key; nothing held on failure."""
        instance = self._take_instance_lock()
        try:
            return instance, self.unwrap(passphrase)
        except BaseException:
            instance.release()
            raise

    def _take_instance_lock(self) -> InstanceLock:
        if not self.exists():
            raise ProfileMissing(f"There is no FieldApp profile in {self.paths.root}.")
        instance = InstanceLock(self.paths.instance_lock)
        instance.acquire()
        self._sweep_temporaries()
        return instance

    def _sweep_temporaries(self) -> None:
        # A crash during an atomic write or a restore leaves a temp file (sealed content only).
        # With the instance lock held nobody else is writing, so they can go.
        for folder in (self.paths.root, self.paths.backups):
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
        self.paths.database.with_suffix(".restoring").unlink(missing_ok=True)

    def _open(self, key: DataKey, instance: InstanceLock) -> Vault:
        db = database.connect(self.paths.database, create=False)
        try:
            # The key must belong to this database before anything is written to it.
            stored = db.execute("SELECT value FROM vault_meta WHERE name = 'key_id'").fetchone()
            if stored is not None and stored[0] == key.key_id:
                with sealing_with(key):  # a step may seal what it finds (0007: the audit log)
                    migrate(db)
        except sqlite3.DatabaseError as exc:
            db.conn.close()
            raise DatabaseUnusable(
                "The profile's database is damaged. It was left untouched; restore it from a "
                "backup."
            ) from exc
        except BaseException:
            db.conn.close()
            raise
        if stored is None or stored[0] != key.key_id:
            db.conn.close()
            raise KeyFileDamaged(
                "The key file does not belong to this database; the profile was not opened."
            )
        return Vault(self.paths, db, key, clock=self._clock, instance=instance)

    def _stage_restore(self, memory: sqlite3.Connection) -> Path:
        staging = self.paths.database.with_suffix(".restoring")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        target = sqlite3.connect(staging)
        try:
            memory.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        os.chmod(staging, 0o600)
        with staging.open("rb") as handle:
            os.fsync(handle.fileno())
        return staging

    def _set_aside_database(self, why: str) -> None:
        stamp = self._clock().strftime("%Y%m%dT%H%M%S.%fZ")
        self.paths.set_aside.mkdir(mode=0o700, exist_ok=True)
        for path in (self.paths.database, *self.paths.sidecars()):
            if path.exists():
                os.replace(path, self.paths.set_aside / f"{path.name}.{why}-{stamp}")
        fsync_dir(self.paths.root)

    def _set_aside_incomplete(self) -> None:
        # A database without a key file is a creation that crashed before finishing, or a
        # profile whose key file was lost. Either way it is kept, never overwritten.
        if self.paths.database.exists():
            self._set_aside_database("without-key-file")


class Vault:
    """An open profile: its database and data key, until `lock()`.

    Attributes:
        paths: the profile's files.
    """

    def __init__(self, paths: ProfilePaths, db: sqlite_utils.Database, key: DataKey, *,
                 clock: Clock, instance: InstanceLock) -> None:
        self.paths = paths
        self._instance = instance
        self._db: sqlite_utils.Database | None = db
        self._key: DataKey | None = key
        self._clock = clock
        self._changes_at_open = db.conn.total_changes

    @property
    def locked(self) -> bool:
        return self._db is None

    @property
    def key_id(self) -> str:
        return self.open_parts()[1].key_id

    def open_parts(self) -> tuple[sqlite_utils.Database, DataKey]:
        """The connection and the data key; `VaultLocked` once the vault is locked."""
        if self._db is None or self._key is None:
            raise VaultLocked()
        return self._db, self._key

    def changed_since_open(self) -> bool:
        db, _ = self.open_parts()
        return db.conn.total_changes != self._changes_at_open

    def backup(self) -> backups.BackupInfo:
        """Write an encrypted backup now."""
        db, key = self.open_parts()
        return backups.write_backup(db.conn, key, folder=self.paths.backups, now=self._clock())

    def lock(self, *, backup: bool = True) -> None:
        """Back up if anything changed, truncate the WAL, close, and wipe the key from memory."""
        if self._db is None or self._key is None:
            return
        db, key = self._db, self._key
        try:
            if backup and (self.changed_since_open() or not backups.list_backups(
                    self.paths.backups)):
                self.backup()
        finally:
            self._db = self._key = None
            try:
                database.checkpoint_and_close(db)
            finally:
                key.wipe()
                self._instance.release()
