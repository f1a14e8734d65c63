"""Encrypted backups: written on lock, rotated, verified, restored; damage is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.domain.errors import BackupUnusable, DatabaseUnusable
from fieldapp.storage import backups
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE, FakeClock


def _write(vault: Vault, clock: FakeClock, text: str) -> str:
    return RecordStore(vault, clock=clock).add(kind="note", body={"text": text}).id


def test_lock_writes_a_backup_only_when_something_changed(
    profile: Profile, clock: FakeClock
) -> None:
    vault = profile.create(PASSPHRASE)
    _write(vault, clock, "first")
    vault.lock()
    assert len(profile.backups()) == 1
    clock.advance(60)
    profile.unlock(PASSPHRASE).lock()
    assert len(profile.backups()) == 1, "an unchanged profile needs no new backup"


def test_backup_is_sealed_and_restores(profile: Profile, clock: FakeClock) -> None:
    vault = profile.create(PASSPHRASE)
    kept = _write(vault, clock, "written before the backup")
    info = vault.backup()
    clock.advance(1)
    _write(vault, clock, "written after the backup")
    vault.lock(backup=False)
    raw = info.path.read_bytes()
    assert b"SQLite format 3" not in raw and b"written before" not in raw
    restored = profile.restore(PASSPHRASE, info.path)
    records = RecordStore(restored, clock=clock).all()
    assert [o.row["id"] for o in records] == [kept]
    restored.lock()
    # The replaced database is kept, never deleted.
    assert any(p.name.startswith("fieldapp.sqlite3.replaced-")
               for p in profile.paths.set_aside.iterdir())


def test_rotation_keeps_the_newest(vault: Vault, clock: FakeClock) -> None:
    made = []
    for _ in range(backups.KEEP + 3):
        clock.advance(1)
        made.append(vault.backup().path)
    assert backups.list_backups(vault.paths.backups) == sorted(made[-backups.KEEP:], reverse=True)


@pytest.mark.parametrize("damage", ["flip", "truncate", "append", "header"])
def test_damaged_backup_is_refused(vault: Vault, damage: str) -> None:
    path = vault.backup().path
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) - 100]
    elif damage == "append":
        raw += raw[-200:]
    else:
        raw[len(backups.MAGIC) + 5] ^= 0x20
    path.write_bytes(bytes(raw))
    _, key = vault.open_parts()
    with pytest.raises(BackupUnusable):
        backups.load(path, key)


def test_restore_with_wrong_key_file_backup_is_refused(
    vault: Vault, tmp_path: Path, clock: FakeClock
) -> None:
    other = Profile(type(vault.paths)(tmp_path / "other"), clock=clock).create(PASSPHRASE)
    foreign = other.backup().path
    other.lock()
    _, key = vault.open_parts()
    with pytest.raises(BackupUnusable, match="another profile"):
        backups.load(foreign, key)


def test_corrupted_database_is_never_overwritten_and_restores(
    profile: Profile, clock: FakeClock
) -> None:
    vault = profile.create(PASSPHRASE)
    record = _write(vault, clock, "survives")
    vault.lock()
    db_path = profile.paths.database
    damaged = bytearray(db_path.read_bytes())
    damaged[:16] = b"garbage garbage!"
    db_path.write_bytes(bytes(damaged))
    with pytest.raises(DatabaseUnusable, match="restore"):
        profile.unlock(PASSPHRASE)
    assert db_path.read_bytes() == bytes(damaged), "a damaged file must be left as it is"
    restored = profile.restore(PASSPHRASE, profile.backups()[0])
    assert RecordStore(restored, clock=clock).get(record).body == {"text": "survives"}
    restored.lock()
    set_aside = list(profile.paths.set_aside.iterdir())
    assert any(p.read_bytes() == bytes(damaged) for p in set_aside)
