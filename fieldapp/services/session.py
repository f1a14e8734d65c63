"""The profile session: create, unlock, lock, change passphrase, back up and restore.

A session offers the profile itself (whose it is, its own sealed records, its auto-lock) and
the open vault as a `Workspace`; the use cases are services over that workspace
(`NoteService(session.workspace())`, `today_summary(session.workspace())`), never shortcuts
here (tests/services/test_session.py keeps it so).

Thread rule: every method runs on the database worker (`DbWorker`); the UI reaches them through
its task runner, the command line calls them directly on its only thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from fieldapp.domain.clock import Clock, system_clock
from fieldapp.domain.errors import BackupUnusable, DatabaseUnusable, VaultLocked
from fieldapp.domain.people import Actor, Role, UserId, new_id
from fieldapp.services.directory import OWNER_KIND
from fieldapp.services.workspace import Workspace
from fieldapp.storage.backups import BackupInfo, read_info
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.profile_settings import AUTO_LOCK_MINUTES
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile, Vault

log = logging.getLogger(__name__)


class Session:
    """One profile, locked or open.

    Attributes:
        profile: the profile on disk.
    """

    def __init__(self, paths: ProfilePaths, *, clock: Clock = system_clock) -> None:
        self.profile = Profile(paths, clock=clock)
        self._clock = clock
        self._vault: Vault | None = None

    @property
    def is_open(self) -> bool:
        return self._vault is not None and not self._vault.locked

    def vault(self) -> Vault:
        if self._vault is None or self._vault.locked:
            raise VaultLocked()
        return self._vault

    def records(self) -> RecordStore:
        """The profile's own sealed records: the owner's name, and what joining a server keeps
        (key pair, device credential, case keys). Needs no actor, unlike `workspace()`."""
        return RecordStore(self.vault(), clock=self._clock)

    def create(self, passphrase: str, *, context_words: Iterable[str] = (),
               role: Role = Role.RECOVERY_COORDINATOR, user_id: UserId | None = None,
               name: str = "") -> None:
        """Create the profile for one person; their id and role are kept with it, their name
        sealed."""
        words = [*context_words, *name.split()]
        self._vault = self.profile.create(
            passphrase, context_words=words,
            meta={"user_id": user_id or new_id(), "role": str(role)})
        if name.strip():
            self.records().add(kind=OWNER_KIND, body={"name": name.strip()})
        log.info("profile created")

    def auto_lock_minutes(self) -> int:
        """Minutes of inactivity before the app locks itself (`AUTO_LOCK_MINUTES`)."""
        db, _ = self.vault().open_parts()
        return AUTO_LOCK_MINUTES.read(db)

    def set_auto_lock_minutes(self, minutes: int) -> None:
        """`RuleViolation` outside the declared limits; nothing is kept then."""
        db, _ = self.vault().open_parts()
        AUTO_LOCK_MINUTES.write(db, minutes)

    def owner_name(self) -> str:
        """The profile owner's name as they typed it ('' if none was given)."""
        for opened in self.records().of_kind(OWNER_KIND):
            if opened.body is not None:
                return str(opened.body.get("name", ""))
        return ""

    def actor(self) -> Actor:
        """The person this profile belongs to."""
        db, _ = self.vault().open_parts()
        meta = dict(db.execute(
            "SELECT name, value FROM vault_meta WHERE name IN ('user_id', 'role')").fetchall())
        if len(meta) != 2:
            raise DatabaseUnusable("This profile does not say whose it is; restore it from a "
                                   "backup or create it again.")
        return Actor(user_id=UserId(meta["user_id"]), role=Role(meta["role"]))

    def workspace(self) -> Workspace:
        """The open vault as its owner sees it: what every use case is built on."""
        return Workspace(self.vault(), actor=self.actor(), clock=self._clock)

    def unlock(self, passphrase: str) -> None:
        self._vault = self.profile.unlock(passphrase)
        log.info("profile unlocked")

    def lock(self) -> None:
        """Lock if open: back up if anything changed, truncate the WAL, drop the key."""
        if self._vault is not None:
            self._vault.lock()
            self._vault = None
            log.info("profile locked")

    def change_passphrase(self, old: str, new: str) -> None:
        self.profile.change_passphrase(old, new)
        log.info("passphrase changed")

    def backup_now(self) -> BackupInfo:
        info = self.vault().backup()
        log.info("backup written: %s", info.path.name)
        return info

    def backups(self) -> list[BackupInfo]:
        """Readable backups, newest first; unreadable ones are skipped (doctor names them)."""
        found = []
        for path in self.profile.backups():
            try:
                found.append(read_info(path))
            except BackupUnusable:
                log.warning("unreadable backup skipped: %s", path.name)
        return found

    def restore(self, passphrase: str, backup: Path) -> None:
        """Replace the database with `backup`; the current one is set aside, never deleted."""
        # No backup on this lock: rotation could delete the very backup being restored, and the
        # current database is kept in set-aside/ anyway.
        if self._vault is not None:
            self._vault.lock(backup=False)
            self._vault = None
        self._vault = self.profile.restore(passphrase, backup)
        log.info("profile restored from %s", backup.name)
