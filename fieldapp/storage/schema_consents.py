"""Schema step 0004: consents, their ends and the disclosures made on them (sealed, append-only).

A consent is never edited (a changed consent is a new one) and it ends by its own record, so all
three tables refuse UPDATE and DELETE, with the two narrow exceptions sync has for every
append-only table (`schema_sync.append_only_triggers`): the server's version of a row replacing
this laptop's (`replace kept`), and a case removed from a laptop no longer entitled to it
(`forget`). Every local insert goes to the outbox. Plain columns are the routing only: ids, the
case, who recorded it and when.
"""

from __future__ import annotations

import sqlite_utils

from fieldapp.domain.kinds import CONSENTS_STEP, made_in, tables
from fieldapp.storage.schema_sync import append_only_triggers, capture_triggers

CONSENT_TABLES = tables(made_in(CONSENTS_STEP))
# Every one of them is append-only: the step's triggers say so (a test checks the two agree).
_APPEND_ONLY = tables(kind for kind in made_in(CONSENTS_STEP) if kind.append_only)

_SEALED = "revision INTEGER NOT NULL CHECK (revision >= 1), key_id TEXT NOT NULL, " \
          "sealed BLOB NOT NULL"

_TABLES = (
    f"""CREATE TABLE consents (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases (id), {_SEALED},
        recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX consents_by_case ON consents (case_id, recorded_at)",
    # No foreign key to `consents`: sync pulls rows in the server's order, and a revocation
    # recorded on another laptop may arrive before (or, on a slow link, without) its consent in
    # the same batch. `case_id` still refers to the case, which always comes first; a dangling
    # end harms nothing, as an end is only ever read beside its consent.
    f"""CREATE TABLE consent_ends (
        id TEXT PRIMARY KEY, consent_id TEXT NOT NULL,
        case_id TEXT NOT NULL REFERENCES cases (id), {_SEALED},
        recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX consent_ends_by_case ON consent_ends (case_id, recorded_at)",
    "CREATE INDEX consent_ends_by_consent ON consent_ends (consent_id)",
    f"""CREATE TABLE disclosures (
        id TEXT PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases (id), {_SEALED},
        disclosed_by TEXT NOT NULL, disclosed_at TEXT NOT NULL) STRICT""",
    "CREATE INDEX disclosures_by_case ON disclosures (case_id, disclosed_at)",
)


def create_consent_tables(db: sqlite_utils.Database) -> None:
    for statement in (*_TABLES, *append_only_triggers(_APPEND_ONLY, create=True),
                      *capture_triggers(CONSENT_TABLES)):
        db.execute(statement)
