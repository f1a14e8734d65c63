"""Schema step 0006: what a laptop keeps to trust no server blindly (`sync/client/pins.py`,
`sync/client/integrity.py`).

- `pinned_keys`: each colleague's public keys as this laptop first saw them (trust on first
  use), whether this laptop's person compared the fingerprint with theirs, and a different key
  the server offered since, waiting for the person's decision. Public keys and user ids only.
- `seen_ops`: every change this laptop has taken, at the revision it came with, so an earlier
  change served again as current (a replay, a rollback) is recognised and refused.
- `leaving_scopes`: each case or ledger this laptop still holds though the server no longer
  lists it for the person, kept for a grace period because work on it is unsettled, and since
  when (`sync/client/forget.py`). Case ids and times only.
- `kept_for_you`: that work once the grace period is over and the scope is gone: each change,
  its record as it was here, why it was kept, sealed; only its author can export or discard it
  (`fieldapp/services/kept.py`).

Schema step 0008 adds `former_signing_keys`: the signing keys a person had before their keys were
replaced (a laptop of theirs revoked, keys reset), which still check what they signed then. A
laptop takes them when it pins the person (at first sight, or when its person accepts a new
key after comparing it), never later from the server alone.
"""

from __future__ import annotations

import sqlite_utils

_TABLES = (
    """CREATE TABLE pinned_keys (
        user_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, signing_key TEXT NOT NULL,
        pinned_at TEXT NOT NULL, verified_at TEXT,
        offered_public TEXT, offered_signing TEXT, offered_at TEXT) STRICT""",
    """CREATE TABLE seen_ops (
        op_id TEXT PRIMARY KEY, tbl TEXT NOT NULL, record_id TEXT NOT NULL,
        rev INTEGER NOT NULL) STRICT""",
    "CREATE INDEX seen_ops_by_record ON seen_ops (tbl, record_id, rev)",
    "CREATE TABLE leaving_scopes (scope TEXT PRIMARY KEY, since TEXT NOT NULL) STRICT",
    """CREATE TABLE kept_for_you (
        id TEXT PRIMARY KEY, revision INTEGER NOT NULL CHECK (revision >= 1),
        key_id TEXT NOT NULL, sealed BLOB NOT NULL, kept_at TEXT NOT NULL) STRICT""",
)


def create_integrity_tables(db: sqlite_utils.Database) -> None:
    for statement in _TABLES:
        db.execute(statement)


def create_former_keys(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE former_signing_keys (
        user_id TEXT NOT NULL, signing_key TEXT NOT NULL, until TEXT NOT NULL,
        PRIMARY KEY (user_id, signing_key)) STRICT""")
