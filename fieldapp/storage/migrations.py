"""The schema, as named steps applied in order (sqlite-utils Migrations)."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

from fieldapp.domain.errors import DatabaseUnusable
from fieldapp.storage.schema_consents import create_consent_tables
from fieldapp.storage.schema_records import create_field_records
from fieldapp.storage.schema_sync import create_sync_tables

MIGRATIONS = Migrations("fieldapp")
# Every step below, in order; a test checks the two agree.
STEPS = ("0001_initial", "0002_field_records", "0003_sync", "0004_consents", "0005_referrals")


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
