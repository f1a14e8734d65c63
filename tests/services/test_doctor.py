"""`fieldapp doctor` on healthy and damaged profiles, in-process."""

from __future__ import annotations

import os

from fieldapp.services.doctor import run_doctor
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile
from tests.conftest import PASSPHRASE, FakeClock


def _healthy(profile: Profile, clock: FakeClock) -> None:
    vault = profile.create(PASSPHRASE)
    store = RecordStore(vault, clock=clock)
    for i in range(5):
        store.add(kind="note", body={"n": i})
    vault.lock()


def test_healthy_profile(profile: Profile, clock: FakeClock) -> None:
    _healthy(profile, clock)
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert report.healthy, report.render()
    text = report.render()
    assert "all 5 record(s) open" in text
    assert "opens and passes the integrity check" in text
    assert text.endswith("The profile is healthy.")


def test_without_passphrase_checks_structure_only(profile: Profile, clock: FakeClock) -> None:
    _healthy(profile, clock)
    report = run_doctor(profile, passphrase=None)
    assert report.healthy
    assert "sealed records" not in report.render()


def test_wrong_passphrase_is_a_problem(profile: Profile, clock: FakeClock) -> None:
    _healthy(profile, clock)
    report = run_doctor(profile, passphrase="definitely not the passphrase")
    assert not report.healthy
    assert "does not open this profile" in report.render()


def test_missing_profile(profile: Profile) -> None:
    report = run_doctor(profile, passphrase=None)
    assert not report.healthy
    assert "No FieldApp profile" in report.render()


def test_damaged_database_and_backup(profile: Profile, clock: FakeClock) -> None:
    _healthy(profile, clock)
    db_path = profile.paths.database
    db_path.write_bytes(b"\x00" * 8192)
    backup = profile.backups()[0]
    raw = bytearray(backup.read_bytes())
    raw[-10] ^= 0x40
    backup.write_bytes(bytes(raw))
    text = run_doctor(profile, passphrase=PASSPHRASE).render()
    assert "[PROBLEM] database:" in text and "restore the profile from a backup" in text
    assert f"[PROBLEM] backup {backup.name}: " in text and "altered" in text


def test_loose_permissions_are_reported(profile: Profile, clock: FakeClock) -> None:
    _healthy(profile, clock)
    os.chmod(profile.paths.key_file, 0o644)
    report = run_doctor(profile, passphrase=None)
    assert not report.healthy
    assert "vault.key" in report.render()


def test_downgraded_key_file_is_a_problem(profile: Profile, clock: FakeClock) -> None:
    _healthy(profile, clock)
    raw = profile.paths.key_file.read_text()
    profile.paths.key_file.write_text(raw.replace('"memory_kib": 65536', '"memory_kib": 1024'))
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert not report.healthy
    assert "weaker key protection" in report.render()
