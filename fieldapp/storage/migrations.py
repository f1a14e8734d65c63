"""The schema, as named steps applied in order (sqlite-utils Migrations).

A step that must seal what it finds (0007) is given the profile's data key by `sealing_with`,
around `migrate`: sqlite-utils hands a step the database only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlite_utils
from sqlite_utils import Migrations

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.errors import DatabaseUnusable
from fieldapp.storage.audit_store import seal_written_details
from fieldapp.storage.schema_consents import create_consent_tables
from fieldapp.storage.schema_integrity import create_former_keys, create_integrity_tables
from fieldapp.storage.schema_records import create_field_records
from fieldapp.storage.schema_sync import create_scope_digests, create_sync_tables

MIGRATIONS = Migrations("fieldapp")
# Every step below, in order; a test checks the two agree.
STEPS = ("0001_initial", "0002_field_records", "0003_sync", "0004_consents", "0005_referrals",
         "0006_integrity", "0007_sealed_audit", "0008_former_keys", "0009_scope_digests")
# The data key of the profile being migrated, for the steps that seal (`sealing_with`).
_DATA_KEY: ContextVar[DataKey | None] = ContextVar("fieldapp_migration_key", default=None)


@contextmanager
def sealing_with(key: DataKey) -> Iterator[None]:
    """Steps applied inside seal what they must with `key`, the profile's data key."""
    token = _DATA_KEY.set(key)
    try:
        yield
    finally:
        _DATA_KEY.reset(token)


@MIGRATIONS(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE vault_meta (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT
        """
    )
    # A sealed table: routing metadata in plain columns, everything sensitive in `sealed`.
    db.execute(
        """
        CREATE TABLE records (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            revision INTEGER NOT NULL CHECK (revision >= 1),
            key_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sealed BLOB NOT NULL
        ) STRICT
        """
    )
    db.execute("CREATE INDEX records_by_kind ON records (kind, updated_at)")


@MIGRATIONS(name="0002_field_records")
def _field_records(db: sqlite_utils.Database) -> None:
    create_field_records(db)


@MIGRATIONS(name="0003_sync")
def _sync(db: sqlite_utils.Database) -> None:
    create_sync_tables(db)


@MIGRATIONS(name="0004_consents")
def _consents(db: sqlite_utils.Database) -> None:
    create_consent_tables(db)


@MIGRATIONS(name="0005_referrals")
def _referrals(db: sqlite_utils.Database) -> None:
    # Who started a family in the field, until a supervisor confirms it (`Case.referred_by`).
    if "referred_by" not in db.table("cases").columns_dict:
        db.execute("ALTER TABLE cases ADD COLUMN referred_by TEXT")


@MIGRATIONS(name="0006_integrity")
def _integrity(db: sqlite_utils.Database) -> None:
    create_integrity_tables(db)


@MIGRATIONS(name="0007_sealed_audit")
def _sealed_audit(db: sqlite_utils.Database) -> None:
    # The audit log's details (a case, a recipient's kind, what was disclosed) sealed where
    # they stand; the hash chain covers them as written, so it verifies as before.
    seal_written_details(db, _DATA_KEY.get())


@MIGRATIONS(name="0008_former_keys")
def _former_keys(db: sqlite_utils.Database) -> None:
    create_former_keys(db)


@MIGRATIONS(name="0009_scope_digests")
def _scope_digests(db: sqlite_utils.Database) -> None:
    create_scope_digests(db)


def unknown_steps(db: sqlite_utils.Database) -> list[str]:
    """Applied steps this version does not know: the database is from a newer FieldApp."""
    applied = [m.name for m in MIGRATIONS.applied(db)]
    pending = {m.name for m in MIGRATIONS.pending(db)}
    known = {name for name in STEPS if name not in pending}
    return [name for name in applied if name not in known]


def migrate(db: sqlite_utils.Database) -> None:
    """Bring the schema up to date; refuse a database written by a newer FieldApp."""
    unknown = unknown_steps(db)
    if unknown:
        raise DatabaseUnusable(
            "This profile was written by a newer version of FieldApp "
            f"(schema step {unknown[-1]}). Update FieldApp to open it; nothing was changed."
        )
    MIGRATIONS.apply(db)
