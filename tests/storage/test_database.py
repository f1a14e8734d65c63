"""Opening the database: settings, foreign and damaged files, schema versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fieldapp.domain.errors import DatabaseUnusable
from fieldapp.services.doctor import run_doctor
from fieldapp.storage import database
from fieldapp.storage.migrations import MIGRATIONS, STEPS, migrate
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE


def test_connection_settings(vault: Vault) -> None:
    db, _ = vault.open_parts()
    pragma = {name: db.execute(f"PRAGMA {name}").fetchone()[0] for name in
              ("journal_mode", "secure_delete", "temp_store", "foreign_keys", "synchronous",
               "application_id")}
    assert pragma == {"journal_mode": "wal", "secure_delete": 1, "temp_store": 2,
                      "foreign_keys": 1, "synchronous": 2,
                      "application_id": database.APPLICATION_ID}
    assert tuple(m.name for m in MIGRATIONS.applied(db)) == STEPS


def test_profile_files_are_owner_only(vault: Vault) -> None:
    for path in [vault.paths.root, *vault.paths.root.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, path


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseUnusable, match="some other program"):
        database.connect(path, create=False)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_non_database_file_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fieldapp.sqlite3"
    path.write_bytes(content)
    with pytest.raises(DatabaseUnusable):
        database.connect(path, create=False)
    assert path.read_bytes() == content


def test_missing_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnusable, match="missing"):
        database.connect(tmp_path / "nowhere.sqlite3", create=False)


def test_newer_schema_is_refused(profile: Profile, vault: Vault) -> None:
    db, _ = vault.open_parts()
    with db.atomic():
        db.table(MIGRATIONS.migrations_table).insert(
            {"migration_set": "fieldapp", "name": "0999_from_the_future", "applied_at": "x"})
    vault.lock(backup=False)
    with pytest.raises(DatabaseUnusable, match="newer version"):
        profile.unlock(PASSPHRASE)


def test_migrate_is_idempotent(vault: Vault) -> None:
    db, _ = vault.open_parts()
    migrate(db)
    migrate(db)
    assert len(MIGRATIONS.applied(db)) == len(STEPS)


def test_damaged_page_is_reported_by_integrity_check(profile: Profile) -> None:
    vault = profile.create(PASSPHRASE)
    db, _ = vault.open_parts()
    with db.atomic():
        for i in range(300):
            db.execute("INSERT INTO vault_meta VALUES (?, ?)", [f"filler-{i}", "x" * 200])
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'vault_meta'").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    vault.lock(backup=False)
    raw = bytearray(profile.paths.database.read_bytes())
    start = (root - 1) * page_size
    raw[start : start + 12] = b"\xff" * 12  # the b-tree page header of the table's root page
    profile.paths.database.write_bytes(bytes(raw))
    db = database.connect(profile.paths.database, create=False)
    try:
        assert database.integrity_problems(db)
    finally:
        db.conn.close()


def test_step_list_matches_the_registered_migrations(tmp_path: Path) -> None:
    db = database.connect(tmp_path / "fresh.sqlite3", create=True)
    try:
        assert tuple(m.name for m in MIGRATIONS.pending(db)) == STEPS
    finally:
        db.conn.close()


def test_doctor_names_a_newer_schema(profile: Profile, vault: Vault) -> None:
    db, _ = vault.open_parts()
    with db.atomic():
        db.table(MIGRATIONS.migrations_table).insert(
            {"migration_set": "fieldapp", "name": "0999_from_the_future", "applied_at": "x"})
    vault.lock(backup=False)
    report = run_doctor(profile, passphrase=None)
    assert not report.healthy
    assert "newer FieldApp" in report.render()
