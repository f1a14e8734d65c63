"""The vault: create, unlock, lock, change passphrase, on real files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fieldapp.crypto import keyfile
from fieldapp.crypto.kdf import FLOOR, new_params
from fieldapp.domain.errors import (
    ProfileExists,
    ProfileInUse,
    ProfileMissing,
    UnlockDelayed,
    VaultLocked,
    WeakPassphrase,
    WrongPassphrase,
)
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import OTHER_PASSPHRASE, PASSPHRASE, FakeClock


def test_create_then_unlock_reads_back_records(profile: Profile, clock: FakeClock) -> None:
    vault = profile.create(PASSPHRASE)
    record = RecordStore(vault, clock=clock).add(kind="note", body={"text": "hello"})
    vault.lock()
    reopened = profile.unlock(PASSPHRASE)
    assert RecordStore(reopened, clock=clock).get(record.id).body == {"text": "hello"}
    reopened.lock()


def test_create_refuses_weak_passphrase_and_writes_nothing(profile: Profile) -> None:
    with pytest.raises(WeakPassphrase):
        profile.create("password123")
    assert not profile.paths.root.exists()


def test_create_refuses_existing_profile(vault: Vault, profile: Profile) -> None:
    with pytest.raises(ProfileExists):
        profile.create(OTHER_PASSPHRASE)


def test_unlock_without_profile_says_so(profile: Profile) -> None:
    with pytest.raises(ProfileMissing):
        profile.unlock(PASSPHRASE)


def test_lock_drops_key_and_connection(vault: Vault) -> None:
    _, key = vault.open_parts()
    vault.lock()
    assert key.wiped
    with pytest.raises(VaultLocked):
        vault.open_parts()
    assert not any(p.exists() for p in vault.paths.sidecars()), "WAL must be truncated away"


def test_change_passphrase_rewraps_only_the_key(profile: Profile, clock: FakeClock) -> None:
    vault = profile.create(PASSPHRASE)
    record = RecordStore(vault, clock=clock).add(kind="note", body={"text": "kept"})
    db, _ = vault.open_parts()
    sealed_before = db.execute("SELECT sealed FROM records").fetchone()[0]
    vault.lock()
    profile.change_passphrase(PASSPHRASE, OTHER_PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        profile.unlock(PASSPHRASE)
    reopened = profile.unlock(OTHER_PASSPHRASE)
    db, _ = reopened.open_parts()
    assert db.execute("SELECT sealed FROM records").fetchone()[0] == sealed_before
    assert RecordStore(reopened, clock=clock).get(record.id).body == {"text": "kept"}
    reopened.lock()


def test_change_passphrase_needs_the_old_one(vault: Vault, profile: Profile) -> None:
    vault.lock()
    with pytest.raises(WrongPassphrase):
        profile.change_passphrase(OTHER_PASSPHRASE, "another long passphrase of mine")
    profile.unlock(PASSPHRASE).lock()


def test_wrong_passphrases_grow_a_delay_that_survives_restart(
    vault: Vault, profile: Profile, clock: FakeClock
) -> None:
    vault.lock()
    waits = []
    for _ in range(5):
        with pytest.raises(WrongPassphrase) as caught:
            profile.unlock("not the passphrase at all")
        waits.append(caught.value.retry_after)
        clock.advance(caught.value.retry_after)
    assert waits == [0, 0, 5, 10, 20]
    # The next attempt comes too early: refused without even checking the passphrase.
    with pytest.raises(WrongPassphrase):
        profile.unlock("still not the passphrase")  # failure 6 -> 40 s
    restarted = Profile(profile.paths, clock=clock)  # a new process reads the same file
    with pytest.raises(UnlockDelayed) as delayed:
        restarted.unlock(PASSPHRASE)
    assert delayed.value.seconds_left == pytest.approx(40)
    assert "40 seconds" in delayed.value.message
    clock.advance(40)
    restarted.unlock(PASSPHRASE).lock()
    # A right passphrase clears the count.
    with pytest.raises(WrongPassphrase) as caught:
        restarted.unlock("wrong once more, after success")
    assert caught.value.retry_after == 0


def test_a_second_opener_is_refused_until_the_first_locks(vault: Vault, profile: Profile) -> None:
    other_window = Profile(profile.paths, clock=FakeClock())
    with pytest.raises(ProfileInUse):
        other_window.unlock(PASSPHRASE)
    vault.lock()
    other_window.unlock(PASSPHRASE).lock()


def test_a_damaged_attempts_file_delays_but_not_forever(
    vault: Vault, profile: Profile, clock: FakeClock
) -> None:
    vault.lock()
    profile.paths.unlock_attempts.write_text("{ not json")
    written = datetime.fromtimestamp(profile.paths.unlock_attempts.stat().st_mtime, UTC)
    clock.now = written
    with pytest.raises(UnlockDelayed):
        profile.unlock(PASSPHRASE)
    clock.advance(5)
    profile.unlock(PASSPHRASE).lock()


def test_change_passphrase_never_lowers_key_protection(profile: Profile) -> None:
    paths = profile.paths
    stronger = new_params(memory_kib=FLOOR.memory_kib * 2, iterations=4, lanes=4)
    paths.ensure_root()
    # A profile created by a later version with stronger defaults.
    profile.create(PASSPHRASE).lock()
    key = keyfile.unwrap(profile.read_key_file(), PASSPHRASE)
    paths.key_file.write_bytes(keyfile.wrap(key, PASSPHRASE, now="t", kdf=stronger).to_bytes())
    profile.change_passphrase(PASSPHRASE, OTHER_PASSPHRASE)
    after = profile.read_key_file().kdf
    assert (after.memory_kib, after.iterations) == (FLOOR.memory_kib * 2, 4)
    assert after.salt != stronger.salt


def test_leftover_temp_files_are_swept_on_unlock(vault: Vault, profile: Profile) -> None:
    vault.lock()
    stray = profile.paths.backups / ".backup-x.fabackup.abc.tmp"
    stray.write_bytes(b"sealed bytes from a killed write")
    profile.unlock(PASSPHRASE).lock()
    assert not stray.exists()
