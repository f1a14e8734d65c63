"""Schema step 0002: the field records (cases, visit notes, screens, trips, audit log).

Every record table is a sealed table (see `sealed`): plain columns carry only what routing and the
rules need (ids, dates, statuses, miles); everything else is in the sealed blob. Triggers are the
last line of defence behind the domain rules: a signed note, an addendum, a review, a screen
revision and an audit entry cannot be changed or removed by any SQL at all, and a submitted or
approved month refuses trips.
"""

from __future__ import annotations

import sqlite_utils

from fieldapp.domain.kinds import FIELD_RECORDS_STEP, made_in, tables

_SEALED = "revision INTEGER NOT NULL CHECK (revision >= 1), key_id TEXT NOT NULL, " \
          "sealed BLOB NOT NULL"

_TABLES = (
    """CREATE TABLE settings (
        name TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL,
        updated_at TEXT NOT NULL) STRICT""",
    f"""CREATE TABLE cases (
        id TEXT PRIMARY KEY, {_SEALED},
        status TEXT NOT NULL CHECK (status IN ('open', 'aftercare', 'closed')),
        coordinator_id TEXT, intact_worker_id TEXT, supervisor_ids TEXT NOT NULL DEFAULT '[]',
        start_date TEXT NOT NULL, visits_per_week INTEGER NOT NULL,
        updated_at TEXT NOT NULL) STRICT""",
    f"""CREATE TABLE visit_notes (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases (id), {_SEALED},
        author TEXT NOT NULL, visit_date TEXT NOT NULL, contact_type TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft', 'signed', 'returned', 'cosigned')),
        signed_by TEXT, signed_at TEXT, late_entry INTEGER NOT NULL DEFAULT 0,
        next_visit_date TEXT, updated_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX visit_notes_by_case ON visit_notes (case_id, visit_date)",
    "CREATE INDEX visit_notes_by_status ON visit_notes (status)",
    f"""CREATE TABLE addenda (
        id TEXT PRIMARY KEY, note_id TEXT NOT NULL REFERENCES visit_notes (id), {_SEALED},
        author TEXT NOT NULL, created_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX addenda_by_note ON addenda (note_id, created_at)",
    f"""CREATE TABLE note_reviews (
        id TEXT PRIMARY KEY, note_id TEXT NOT NULL REFERENCES visit_notes (id), {_SEALED},
        reviewer TEXT NOT NULL, reviewed_at TEXT NOT NULL,
        cosigned INTEGER NOT NULL CHECK (cosigned IN (0, 1))) STRICT""",
    "CREATE INDEX note_reviews_by_note ON note_reviews (note_id, reviewed_at)",
    """CREATE TABLE drug_screens (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases (id),
        collected_at TEXT NOT NULL, reason TEXT NOT NULL, current_revision INTEGER NOT NULL,
        updated_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX drug_screens_by_case ON drug_screens (case_id, collected_at)",
    f"""CREATE TABLE drug_screen_revisions (
        id TEXT PRIMARY KEY, screen_id TEXT NOT NULL REFERENCES drug_screens (id), {_SEALED},
        recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL,
        UNIQUE (screen_id, revision)) STRICT""",
    f"""CREATE TABLE random_schedules (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases (id), {_SEALED},
        first_day TEXT NOT NULL, last_day TEXT NOT NULL, per_month INTEGER NOT NULL,
        fingerprint TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL) STRICT""",
    f"""CREATE TABLE trips (
        id TEXT PRIMARY KEY, {_SEALED}, worker_id TEXT NOT NULL, trip_date TEXT NOT NULL,
        month TEXT NOT NULL, total_miles TEXT NOT NULL, case_id TEXT REFERENCES cases (id),
        recorded_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX trips_by_month ON trips (worker_id, month, trip_date)",
    f"""CREATE TABLE mileage_months (
        id TEXT PRIMARY KEY, {_SEALED}, worker_id TEXT NOT NULL, month TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'submitted', 'approved', 'returned')),
        submitted_at TEXT, decided_by TEXT, decided_at TEXT, UNIQUE (worker_id, month)) STRICT""",
    """CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        subject TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE) STRICT""",
)

_APPEND_ONLY = (*tables(kind for kind in made_in(FIELD_RECORDS_STEP) if kind.append_only),
                "audit_log")

_LOCKED_NOTE_COLUMNS = ("id, sealed, revision, key_id, case_id, author, visit_date, "
                        "contact_type, signed_by, signed_at, late_entry, next_visit_date")

# A note becomes co-signed or returned only together with the review that says so.
_LATEST_REVIEW = ("(SELECT cosigned FROM note_reviews WHERE note_id = NEW.id "
                  "ORDER BY reviewed_at DESC, rowid DESC LIMIT 1)")

_MONTH_LOCKED = ("EXISTS (SELECT 1 FROM mileage_months m WHERE m.worker_id = {row}.worker_id "
                 "AND m.month = {row}.month AND m.status IN ('submitted', 'approved'))")


def _triggers() -> list[str]:
    statements = []
    for table in _APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END")
    statements += [
        f"""CREATE TRIGGER visit_notes_signed_locked BEFORE UPDATE OF {_LOCKED_NOTE_COLUMNS}
            ON visit_notes WHEN OLD.status != 'draft'
            BEGIN SELECT RAISE(ABORT, 'a signed note is locked; add an addendum'); END""",
        """CREATE TRIGGER visit_notes_never_unsigned BEFORE UPDATE OF status ON visit_notes
            WHEN OLD.status != 'draft' AND NEW.status = 'draft'
            BEGIN SELECT RAISE(ABORT, 'a signed note is locked; add an addendum'); END""",
        f"""CREATE TRIGGER visit_notes_cosigned_by_review BEFORE UPDATE OF status ON visit_notes
            WHEN NEW.status = 'cosigned' AND {_LATEST_REVIEW} IS NOT 1
            BEGIN SELECT RAISE(ABORT, 'a note is co-signed only by a review'); END""",
        f"""CREATE TRIGGER visit_notes_returned_by_review BEFORE UPDATE OF status ON visit_notes
            WHEN NEW.status = 'returned' AND {_LATEST_REVIEW} IS NOT 0
            BEGIN SELECT RAISE(ABORT, 'a note is returned only by a review'); END""",
        """CREATE TRIGGER visit_notes_signed_kept BEFORE DELETE ON visit_notes
            WHEN OLD.status != 'draft'
            BEGIN SELECT RAISE(ABORT, 'a signed note cannot be deleted'); END""",
    ]
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        condition = " OR ".join(_MONTH_LOCKED.format(row=row) for row in rows)
        statements.append(
            f"CREATE TRIGGER trips_month_locked_{event.lower()} BEFORE {event} ON trips "
            f"WHEN {condition} "
            "BEGIN SELECT RAISE(ABORT, 'this month''s mileage is submitted and locked'); END")
    return statements


def create_field_records(db: sqlite_utils.Database) -> None:
    for statement in (*_TABLES, *_triggers()):
        db.execute(statement)
