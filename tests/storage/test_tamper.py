"""Tampering with sealed rows on disk is detected, named, and contained to the rows touched.

Every test edits a real vault's database with plain SQL, the way someone holding the file could,
then reads it back through `RecordStore`, `run_doctor` and the `fieldapp doctor` command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fieldapp.domain.errors import RecordTampered
from fieldapp.services.doctor import Report, run_doctor
from fieldapp.storage.records import TABLE, Record, RecordStore
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE, FakeClock

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _fill(store: RecordStore, count: int = 4) -> list[Record]:
    return [
        store.add(kind="note", body={"name": f"child {n}", "text": f"private note number {n}"})
        for n in range(count)
    ]


def _sealed(vault: Vault, record_id: str) -> bytes:
    db, _ = vault.open_parts()
    return bytes(db.execute("SELECT sealed FROM records WHERE id = ?", [record_id]).fetchone()[0])


def _set_sealed(vault: Vault, record_id: str, blob: bytes) -> None:
    db, _ = vault.open_parts()
    db.execute("UPDATE records SET sealed = ? WHERE id = ?", [blob, record_id])


def _flip_byte(blob: bytes, index: int) -> bytes:
    edited = bytearray(blob)
    edited[index] ^= 0x01
    return bytes(edited)


def _assert_tampered(store: RecordStore, record_id: str) -> None:
    with pytest.raises(RecordTampered) as raised:
        store.get(record_id)
    assert raised.value.table == TABLE == "records"
    assert raised.value.record_id == record_id
    assert record_id in raised.value.message


def _assert_only_these_tampered(store: RecordStore, records: list[Record],
                                tampered: set[str]) -> None:
    """get() and all() agree: the tampered ids fail, every other record opens intact."""
    for record in records:
        if record.id in tampered:
            _assert_tampered(store, record.id)
        else:
            assert store.get(record.id).body == record.body
    opened = store.all()
    assert [o.row["id"] for o in opened] == [r.id for r in records]
    for record, row in zip(records, opened, strict=True):
        assert "sealed" not in row.row
        if record.id in tampered:
            assert row.body is None
            assert row.problem is not None
            assert (row.problem.table, row.problem.record_id) == ("records", record.id)
        else:
            assert row.problem is None
            assert row.body == record.body


# --- (a) one byte of one blob -------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 12, 13, 30, -16, -1],
                         ids=["version", "nonce start", "nonce end", "ciphertext start",
                              "ciphertext", "tag start", "tag end"])
def test_one_flipped_byte_is_named_and_contained(
    vault: Vault, clock: FakeClock, index: int
) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    victim = records[1]
    _set_sealed(vault, victim.id, _flip_byte(_sealed(vault, victim.id), index))
    _assert_only_these_tampered(store, records, {victim.id})


def test_baseline_every_record_opens(vault: Vault, clock: FakeClock) -> None:
    # Without this, the tamper tests could pass against a store that never opens anything.
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    _assert_only_these_tampered(store, records, set())


def test_a_truncated_or_emptied_blob_is_named(vault: Vault, clock: FakeClock) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    _set_sealed(vault, records[0].id, _sealed(vault, records[0].id)[:-1])
    _set_sealed(vault, records[3].id, b"")
    _assert_only_these_tampered(store, records, {records[0].id, records[3].id})


# --- (b) blobs moved between rows ---------------------------------------------------------------


def test_swapped_blobs_are_both_named(vault: Vault, clock: FakeClock) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    first, second = records[0], records[2]
    blob_first, blob_second = _sealed(vault, first.id), _sealed(vault, second.id)
    _set_sealed(vault, first.id, blob_second)
    _set_sealed(vault, second.id, blob_first)
    _assert_only_these_tampered(store, records, {first.id, second.id})


def test_a_blob_copied_over_another_row_is_named(vault: Vault, clock: FakeClock) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    _set_sealed(vault, records[3].id, _sealed(vault, records[0].id))
    _assert_only_these_tampered(store, records, {records[3].id})


# --- (c) replay of an older revision ------------------------------------------------------------


def test_an_older_revision_put_back_is_named(vault: Vault, clock: FakeClock) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    target = records[2]
    old_blob = _sealed(vault, target.id)
    clock.advance(60)
    updated = store.replace(target.id, body={"name": "child 2", "text": "corrected"},
                            expected_revision=1)
    assert updated.revision == 2
    assert store.get(target.id).body == {"name": "child 2", "text": "corrected"}
    records[2] = updated
    _set_sealed(vault, target.id, old_blob)
    _assert_only_these_tampered(store, records, {target.id})


# --- (d) plain columns that are bound -----------------------------------------------------------


@pytest.mark.parametrize("change", [1, -1, 1000], ids=["up one", "down one", "far up"])
def test_an_edited_revision_number_is_named(
    vault: Vault, clock: FakeClock, change: int
) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    target = records[0]
    records[0] = store.replace(target.id, body={"name": "child 0", "text": "second"},
                               expected_revision=1)
    db, _ = vault.open_parts()
    db.execute("UPDATE records SET revision = revision + ? WHERE id = ?", [change, target.id])
    _assert_only_these_tampered(store, records, {target.id})


def test_an_edited_key_id_column_is_named(vault: Vault, clock: FakeClock) -> None:
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    db, _ = vault.open_parts()
    db.execute("UPDATE records SET key_id = '0000000000000000' WHERE id = ?", [records[1].id])
    _assert_only_these_tampered(store, records, {records[1].id})


# --- the doctor ---------------------------------------------------------------------------------


@pytest.fixture
def tampered_profile(vault: Vault, profile: Profile, clock: FakeClock) -> list[str]:
    """A locked profile with four records, two of them tampered; returns the tampered ids."""
    store = RecordStore(vault, clock=clock)
    records = _fill(store)
    _set_sealed(vault, records[1].id, _flip_byte(_sealed(vault, records[1].id), 20))
    db, _ = vault.open_parts()
    db.execute("UPDATE records SET revision = 2 WHERE id = ?", [records[3].id])
    vault.lock()
    return [records[1].id, records[3].id]


@pytest.fixture
def healthy_profile(vault: Vault, clock: FakeClock) -> None:
    _fill(RecordStore(vault, clock=clock))
    vault.lock()


def _sealed_findings(report: Report) -> list[str]:
    return [f.detail for f in report.findings if f.check == "sealed records"]


def test_doctor_names_tampered_records(tampered_profile: list[str], profile: Profile) -> None:
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert not report.healthy
    (detail,) = _sealed_findings(report)
    assert "2 of 4" in detail
    for record_id in tampered_profile:
        assert record_id in detail
    problems = [f for f in report.findings if not f.ok]
    assert [f.check for f in problems] == ["sealed records"], report.render()
    assert "private note" not in report.render()


def test_doctor_finds_a_healthy_profile_healthy(healthy_profile: None, profile: Profile) -> None:
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert report.healthy, report.render()
    assert _sealed_findings(report) == ["all 4 record(s) open"]


def _doctor_command(profile: Profile, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldapp", "--data-dir", str(profile.paths.root), "doctor",
         "--passphrase-stdin"],
        input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120, check=False,
    )


@pytest.mark.slow
def test_doctor_command_exits_1_and_prints_tampered_ids(
    tampered_profile: list[str], profile: Profile
) -> None:
    result = _doctor_command(profile, PASSPHRASE + "\n")
    assert result.returncode == 1, result.stdout + result.stderr
    for record_id in tampered_profile:
        assert record_id in result.stdout
    assert "[PROBLEM] sealed records" in result.stdout
    assert "private note" not in result.stdout + result.stderr


@pytest.mark.slow
def test_doctor_command_exits_0_on_a_healthy_profile(
    healthy_profile: None, profile: Profile
) -> None:
    result = _doctor_command(profile, PASSPHRASE + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The profile is healthy." in result.stdout
