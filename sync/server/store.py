"""The server's storage: people, teams, devices, enrolment codes, cases, wrapped keys, audit.

SQLite by default (one file in the data folder). The methods are the interface a PostgreSQL
backend implements too: plain values in and out, one transaction per method. The server stores
no clinical content: case details and keys arrive sealed or wrapped by clients.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fieldapp.domain.people import WORKER_ROLES, Role
from fieldapp.domain.visits import SupervisorCapacity
from sync.protocol import NAME_PATTERN

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS program (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "name TEXT NOT NULL, settings TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS teams (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "role TEXT NOT NULL, team_id TEXT REFERENCES teams (id), public_key TEXT, "
    "wrapped_private_key TEXT, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, user_id TEXT NOT NULL "
    "REFERENCES users (id), name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, "
    "enrolled_at TEXT NOT NULL, last_seen TEXT, revoked_at TEXT)",
    "CREATE TABLE IF NOT EXISTS enrolment_codes (code_hash TEXT PRIMARY KEY, user_id TEXT NOT "
    "NULL REFERENCES users (id), expires_at TEXT NOT NULL, used_at TEXT)",
    "CREATE TABLE IF NOT EXISTS cases (id TEXT PRIMARY KEY, status TEXT NOT NULL, "
    "coordinator_id TEXT REFERENCES users (id), intact_worker_id TEXT REFERENCES users (id), "
    "team_id TEXT NOT NULL REFERENCES teams (id), sealed_details TEXT, created_at TEXT NOT NULL)",
    # A key scope is a case id or a worker's mileage ledger (`ledger:<user id>`).
    "CREATE TABLE IF NOT EXISTS case_keys (case_id TEXT NOT NULL, "
    "version INTEGER NOT NULL, user_id TEXT NOT NULL REFERENCES users (id), "
    "wrapped_key TEXT NOT NULL, PRIMARY KEY (case_id, version, user_id))",
    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, "
    "actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL, "
    "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS attempts (bucket TEXT PRIMARY KEY, window_start TEXT NOT NULL, "
    "count INTEGER NOT NULL)",
    # A user's keys before they were replaced: their signing key still checks what they signed
    # then (laptops fetch the list with the person's keys: `wire.PersonKeys`).
    "CREATE TABLE IF NOT EXISTS former_keys (user_id TEXT NOT NULL REFERENCES users (id), "
    "public_key TEXT NOT NULL, signing_key TEXT, replaced_at TEXT NOT NULL, "
    "reason TEXT NOT NULL)",
    # A scope whose key must move past version `after`: someone whose keys were exposed (a
    # device revoked, keys reset) could open it. Done once a version above `after` exists.
    "CREATE TABLE IF NOT EXISTS key_rotations (case_id TEXT PRIMARY KEY, "
    "after INTEGER NOT NULL, reason TEXT NOT NULL, since TEXT NOT NULL)",
    # A caller's cases by the column that makes them theirs, never by reading every case.
    "CREATE INDEX IF NOT EXISTS cases_by_team ON cases (team_id, id)",
    "CREATE INDEX IF NOT EXISTS cases_by_coordinator ON cases (coordinator_id)",
    "CREATE INDEX IF NOT EXISTS cases_by_intact_worker ON cases (intact_worker_id)",
    "CREATE INDEX IF NOT EXISTS users_by_team ON users (team_id)",
    "CREATE INDEX IF NOT EXISTS case_keys_by_user ON case_keys (user_id)",
)

# Columns added after the first release, as (table, column, definition): `CREATE TABLE IF NOT
# EXISTS` leaves an existing server's tables as they were, so each is added when missing.
ADDED_COLUMNS = (
    # Which supervisor someone is where the program co-supervises (NULL: not said).
    ("users", "supervises", "TEXT CHECK (supervises IN ('intact', 'SUD'))"),
    # A family a worker started in the field: who, until a supervisor confirms it (NULL:
    # opened or confirmed by a supervisor, or set up by the administrator).
    ("cases", "referred_by", "TEXT REFERENCES users (id)"),
    # The user's Ed25519 verifying key, registered with the sealing key by the first device.
    ("users", "signing_key", "TEXT"),
    # Who sealed each key copy, and their signature of it (`wire.key_statement`).
    ("case_keys", "signer", "TEXT"),
    ("case_keys", "signature", "TEXT"),
    # Why the user's keys must be replaced (a device of theirs revoked, reset by the
    # administrator); NULL when they need not be. While set, nobody is given their public
    # keys, so nothing new is sealed to keys a lost laptop holds.
    ("users", "keys_due", "TEXT"),
)

CODE_LIFETIME = timedelta(hours=24)
# Every step of the server's schema, in order (this module's tables, then the records' and the
# scopes' digests: `sync/server/records.py`, `digests.py`). Each is recorded in `schema_steps`
# when applied; a database that records a step not listed here was written by a newer server,
# and this one refuses to open it rather than write to tables it does not know. A change to the
# schema is a new step at the end, never an edit of one that shipped.
SCHEMA_STEPS = ("0001_people_devices_keys", "0002_records", "0003_scope_digests")
STEPS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_steps (name TEXT PRIMARY KEY, "
               "applied_at TEXT NOT NULL)")


class StoreError(Exception):
    """A request the data does not allow; `code` is the wire error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Device:
    id: str
    user_id: str
    name: str
    enrolled_at: str
    revoked_at: str | None
    last_seen: str | None = None  # to the minute: the device's last signed-in request


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    team_id: str | None
    public_key: str | None
    wrapped_private_key: str | None
    supervises: str | None
    signing_key: str | None = None
    keys_due: str | None = None  # why the user's keys must be replaced (None: they need not be)

    @property
    def shared_keys(self) -> tuple[str | None, str | None]:
        """The public keys others may seal to and check against: none while they are due to
        be replaced (a revoked laptop holds the private halves)."""
        if self.keys_due is not None:
            return None, None
        return self.public_key, self.signing_key


USER_COLUMNS = ("id, name, role, team_id, public_key, wrapped_private_key, supervises, "
                "signing_key, keys_due")
# Why keys are due (said to the person whose laptop replaces them, and in the audit).
DEVICE_REVOKED = "a laptop of yours was revoked"
RESET_BY_ADMINISTRATOR = "your administrator reset your keys"


def check_assignment(db: sqlite3.Connection, team_id: str, coordinator_id: str | None,
                      intact_worker_id: str | None) -> None:
    """A coordinator and an intact worker must hold those roles in the case's team."""
    for user_id, role in ((coordinator_id, "recovery coordinator"),
                          (intact_worker_id, "intact worker")):
        if user_id is None:
            continue
        row = db.execute("SELECT role, team_id FROM users WHERE id = ?", [user_id]).fetchone()
        if row is None or row[0] != role or row[1] != team_id:
            raise StoreError("bad_assignment", f"{user_id} is not a {role} in team {team_id}.")


def _check_supervises(role: str, supervises: str | None) -> None:
    if supervises is not None and role != "supervisor":
        raise StoreError("bad_capacity", "Only a supervisor is the intact or the SUD supervisor.")
    if supervises is not None and supervises not in tuple(SupervisorCapacity):
        raise StoreError("bad_capacity", "A supervisor is the intact or the SUD supervisor.")


def _check_name(name: str, what: str) -> None:
    """Ids of people and cases are names (protocol.NAME_PATTERN): a case can never be taken
    for a mileage ledger (`ledger:<user>`), nor a person's id split a month's record id."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise StoreError("bad_id", f"{what} starts with a letter or digit and uses letters, "
                         "digits and . _ - only (at most 64).")


def applied(db: sqlite3.Connection, step: str) -> None:
    """Record that `step` (one of SCHEMA_STEPS) is applied, once."""
    db.execute("INSERT OR IGNORE INTO schema_steps VALUES (?, ?)",
               [step, datetime.now(UTC).isoformat()])


def add_columns(db: sqlite3.Connection, columns: Iterable[tuple[str, str, str]]) -> None:
    """Add each (table, column, definition) a table does not have yet."""
    for table, column, definition in columns:
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _expose_keys(db: sqlite3.Connection, user_id: str, reason: str, *, now: str) -> None:
    """The user's private keys may be in someone else's hands: due to be replaced, and every
    scope whose key they hold to move past its present version."""
    if db.execute("SELECT public_key FROM users WHERE id = ?", [user_id]).fetchone()[0] is None:
        return  # no keys yet: nothing was exposed
    db.execute("UPDATE users SET keys_due = ? WHERE id = ?", [reason, user_id])
    db.execute("INSERT INTO key_rotations (case_id, after, reason, since) "
               "SELECT case_id, max(version), ?, ? FROM case_keys WHERE case_id IN "
               "(SELECT case_id FROM case_keys WHERE user_id = ?) GROUP BY case_id "
               "ON CONFLICT (case_id) DO UPDATE SET after = max(after, excluded.after), "
               "reason = excluded.reason, since = excluded.since", [reason, now, user_id])


def _set_keys(db: sqlite3.Connection, user_id: str, *, public_key: str,
              signing_key: str | None, wrapped_private_key: str, now: str) -> None:
    """New keys for the user: the old ones (if any) kept as former keys, with the reason they
    were due; every case key copy sealed to them removed (they open with the old keys only)."""
    old = db.execute("SELECT public_key, signing_key, keys_due FROM users WHERE id = ?",
                     [user_id]).fetchone()
    if old is not None and old[0] is not None:
        db.execute("INSERT INTO former_keys VALUES (?, ?, ?, ?, ?)",
                   [user_id, old[0], old[1], now, old[2] or "replaced"])
        db.execute("DELETE FROM case_keys WHERE user_id = ?", [user_id])
    db.execute("UPDATE users SET public_key = ?, signing_key = ?, wrapped_private_key = ?, "
               "keys_due = NULL WHERE id = ?",
               [public_key, signing_key, wrapped_private_key, user_id])


def digest(secret: str) -> str:
    """Only a hash of a code or device token is ever stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ServerStore:
    """SQLite storage; safe to call from several request threads. Writes go one at a time
    through one connection under the store's lock (`unit`); reads run beside them, each on its
    thread's own connection in a snapshot of the last commit (`reading`: WAL readers never wait
    for the writer, nor it for them)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = data_dir / "server.sqlite3"
        self._path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        os.chmod(path, 0o600)
        self._lock = threading.RLock()
        self._depth = 0
        self._writer: int | None = None  # the thread inside a unit, if any
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON",
                       "secure_delete = ON"):
            self._conn.execute(f"PRAGMA {pragma}")
        with self.unit() as db:
            db.execute(STEPS_TABLE)
            unknown = [name for (name,) in db.execute("SELECT name FROM schema_steps")
                       if name not in SCHEMA_STEPS]
            if unknown:
                raise StoreError("newer_schema", f"This server's database was written by a "
                                 f"newer fieldapp-server (schema step {max(unknown)}). Run that "
                                 "version, or restore a backup made by this one; nothing was "
                                 "changed.")
            for statement in SCHEMA:
                db.execute(statement)
            add_columns(db, ADDED_COLUMNS)
            applied(db, SCHEMA_STEPS[0])

    @contextmanager
    def unit(self) -> Iterator[sqlite3.Connection]:
        """One transaction under the store's lock; a unit inside a unit joins the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth, self._writer = 1, threading.get_ident()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth, self._writer = 0, None
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One consistent read on this thread's own connection, without the store's lock; a
        read inside a unit (the same thread) reads in the unit's transaction, and a read
        inside a read joins it."""
        if self._writer == threading.get_ident():
            yield self._conn
            return
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            for pragma in ("foreign_keys = ON", "query_only = ON"):
                conn.execute(f"PRAGMA {pragma}")
            local.conn, local.depth = conn, 0
            with self._lock:
                self._readers.append(conn)
        if local.depth:
            local.depth += 1
            try:
                yield conn
            finally:
                local.depth -= 1
            return
        conn.execute("BEGIN")
        local.depth = 1
        try:
            yield conn
        finally:
            local.depth = 0
            conn.execute("ROLLBACK")  # nothing was written: it only ends the snapshot

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._conn.close()

    # -- program, teams, users ---------------------------------------------------------------

    def init_program(self, name: str, settings: dict[str, Any]) -> None:
        with self.unit() as db:
            db.execute("INSERT OR REPLACE INTO program VALUES (1, ?, ?)",
                       [name, json.dumps(settings, sort_keys=True)])

    def program(self) -> dict[str, Any]:
        with self.reading() as db:
            row = db.execute("SELECT name, settings FROM program").fetchone()
        if row is None:
            raise StoreError("not_initialised", "The program has not been set up on this server.")
        return {"name": row[0], **json.loads(row[1])}

    def add_team(self, team_id: str, name: str) -> None:
        with self.unit() as db:
            db.execute("INSERT INTO teams VALUES (?, ?)", [team_id, name])

    def add_user(self, user_id: str, name: str, role: str, team_id: str | None, *, now: str,
                 supervises: str | None = None) -> None:
        _check_supervises(role, supervises)
        _check_name(user_id, "A person's id")
        with self.unit() as db:
            db.execute("INSERT INTO users (id, name, role, team_id, created_at, supervises) "
                       "VALUES (?, ?, ?, ?, ?, ?)", [user_id, name, role, team_id, now, supervises])

    def set_supervises(self, user_id: str, supervises: str | None) -> None:
        """Say which supervisor `user_id` is ('intact' or 'SUD'), or None for not said."""
        with self.unit() as db:
            row = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
            if row is None:
                raise StoreError("unknown_user", f"There is no user {user_id}.")
            _check_supervises(row[0], supervises)
            db.execute("UPDATE users SET supervises = ? WHERE id = ?", [supervises, user_id])

    def user(self, user_id: str) -> User | None:
        with self.reading() as db:
            row = db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?",  # noqa: S608
                             [user_id]).fetchone()
        return User(*row) if row else None

    # -- enrolment and devices ---------------------------------------------------------------

    def create_code(self, user_id: str, *, now: datetime) -> str:
        """A one-time enrolment code: random, short-lived, stored only as a hash."""
        code = "-".join(secrets.token_hex(3) for _ in range(3))
        with self.unit() as db:
            if db.execute("SELECT 1 FROM users WHERE id = ?", [user_id]).fetchone() is None:
                raise StoreError("unknown_user", f"There is no user {user_id}.")
            db.execute("INSERT INTO enrolment_codes VALUES (?, ?, ?, NULL)",
                       [digest(code), user_id, (now + CODE_LIFETIME).isoformat()])
        return code

    def enrol(self, code: str, *, device_name: str, public_key: str | None,
              wrapped_private_key: str | None, now: datetime, signing_key: str | None = None
              ) -> tuple[Device, str, User]:
        """Spend a code on a new device; the first device also registers the user's keys."""
        token = secrets.token_urlsafe(32)
        device_id = secrets.token_hex(8)
        with self.unit() as db:
            row = db.execute("SELECT user_id, expires_at, used_at FROM enrolment_codes WHERE "
                             "code_hash = ?", [digest(code)]).fetchone()
            if row is None or row[2] is not None or datetime.fromisoformat(row[1]) <= now:
                raise StoreError("bad_code", "This enrolment code is not valid: it may be "
                                 "mistyped, already used or expired. Ask for a new one.")
            user_id = row[0]
            db.execute("UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ?",
                       [now.isoformat(), digest(code)])
            registered, due = db.execute("SELECT public_key, keys_due FROM users WHERE id = ?",
                                         [user_id]).fetchone()
            if (registered is None or due is not None) and public_key and wrapped_private_key:
                # A first enrolment, or one after the user's keys were exposed (their only
                # laptop lost, keys reset): the new laptop's keys become the user's.
                _set_keys(db, user_id, public_key=public_key, signing_key=signing_key,
                          wrapped_private_key=wrapped_private_key, now=now.isoformat())
            db.execute("INSERT INTO devices VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                       [device_id, user_id, device_name, digest(token), now.isoformat()])
        user = self.user(user_id)
        assert user is not None
        return Device(device_id, user_id, device_name, now.isoformat(), None), token, user

    def device_for_token(self, token: str, *, now: datetime) -> Device | None:
        with self.reading() as db:
            row = db.execute("SELECT id, user_id, name, enrolled_at, revoked_at, last_seen "
                             "FROM devices WHERE token_hash = ?", [digest(token)]).fetchone()
        stale = (now - timedelta(minutes=1)).isoformat()
        if row is not None and row[4] is None and (row[5] is None or row[5] < stale):
            # At most once a minute, and only then a write: every request writing (and
            # syncing to disk) a timestamp cost more than a whole sync with nothing to do.
            with self.unit() as db:
                db.execute("UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS "
                           "NULL OR last_seen < ?)", [now.isoformat(), row[0], stale])
        return Device(*row) if row else None

    def devices(self, user_id: str | None = None) -> list[Device]:
        with self.reading() as db:
            rows = db.execute("SELECT id, user_id, name, enrolled_at, revoked_at, last_seen "
                              "FROM devices WHERE ? IS NULL OR user_id = ? ORDER BY enrolled_at",
                              [user_id, user_id]).fetchall()
        return [Device(*row) for row in rows]

    def revoke_device(self, device_id: str, *, now: datetime, held_keys: bool = True) -> None:
        """Revoke a device; it held its user's private keys, so they are due to be replaced
        and every scope they could open to be rotated (`_expose_keys`), in the same
        transaction. `held_keys=False` only for a laptop that never opened them (an enrolment
        that stopped at the recovery code): the person keeps their keys."""
        with self.unit() as db:
            row = db.execute("SELECT user_id FROM devices WHERE id = ? AND revoked_at IS NULL",
                             [device_id]).fetchone()
            if row is None:
                raise StoreError("unknown_device", f"No active device {device_id}.")
            db.execute("UPDATE devices SET revoked_at = ? WHERE id = ?",
                       [now.isoformat(), device_id])
            if held_keys:
                _expose_keys(db, str(row[0]), DEVICE_REVOKED, now=now.isoformat())

    def reset_keys(self, user_id: str, *, now: datetime) -> bool:
        """The administrator's way back from a lost recovery code or a key thought known to
        someone else: the user's keys are due to be replaced (their next laptop to sync makes
        new ones, or, with none left, their next enrolment does) and their scopes rotated.
        Returns whether they were due already."""
        with self.unit() as db:
            row = db.execute("SELECT public_key, keys_due FROM users WHERE id = ?",
                             [user_id]).fetchone()
            if row is None:
                raise StoreError("unknown_user", f"There is no user {user_id}.")
            if row[0] is None:
                raise StoreError("no_keys", f"{user_id} has no keys yet: their first "
                                 "enrolment makes them.")
            _expose_keys(db, user_id, RESET_BY_ADMINISTRATOR, now=now.isoformat())
        return row[1] is not None

    def replace_keys(self, user_id: str, *, public_key: str, signing_key: str,
                     wrapped_private_key: str, copies: list[tuple[str, int, str, str]],
                     scopes: set[str], now: datetime) -> str:
        """A laptop of the user made new keys because theirs were due to be replaced: they
        become the user's; every copy of a case key sealed to the old ones goes, and
        `copies` (scope, version, sealed key, signature: what that laptop holds, sealed to
        the new keys) take their place, for the `scopes` the user may hold and versions that
        exist. Returns why the keys were due. `keys_not_due` if they were not (another laptop
        replaced them first)."""
        with self.unit() as db:
            row = db.execute("SELECT keys_due FROM users WHERE id = ?", [user_id]).fetchone()
            if row is None or row[0] is None:
                raise StoreError("keys_not_due", "Your keys were already replaced, on another "
                                 "of your laptops; nothing was changed here.")
            names = sorted(scopes)
            existing = set(db.execute(
                f"SELECT DISTINCT case_id, version FROM case_keys WHERE case_id IN "  # noqa: S608
                f"({', '.join('?' for _ in names)})", names).fetchall()) if names else set()
            _set_keys(db, user_id, public_key=public_key, signing_key=signing_key,
                      wrapped_private_key=wrapped_private_key, now=now.isoformat())
            db.executemany("INSERT OR IGNORE INTO case_keys (case_id, version, user_id, "
                           "wrapped_key, signer, signature) VALUES (?, ?, ?, ?, ?, ?)",
                           [(scope, version, user_id, sealed, user_id, signature)
                            for scope, version, sealed, signature in copies
                            if scope in scopes and (scope, version) in existing])
        return str(row[0])

    def former_signing_keys(self, user_id: str) -> list[str]:
        """The signing keys `user_id` had before their present one, oldest first."""
        return self.former_signing_keys_of([user_id]).get(user_id, [])

    def former_signing_keys_of(self, user_ids: Iterable[str]) -> dict[str, list[str]]:
        """`former_signing_keys` of several people in one query (a team list at every sync)."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        found: dict[str, list[str]] = {}
        with self.reading() as db:
            for user_id, key in db.execute(
                    f"SELECT user_id, signing_key FROM former_keys WHERE user_id IN "  # noqa: S608
                    f"({', '.join('?' for _ in wanted)}) AND signing_key IS NOT NULL "
                    "ORDER BY rowid", wanted):
                found.setdefault(str(user_id), []).append(str(key))
        return found

    # -- cases and keys ----------------------------------------------------------------------

    def add_case(self, case_id: str, *, team_id: str, coordinator_id: str | None,
                 intact_worker_id: str | None, now: str) -> None:
        _check_name(case_id, "A case id")
        with self.unit() as db:
            check_assignment(db, team_id, coordinator_id, intact_worker_id)
            db.execute("INSERT INTO cases (id, status, coordinator_id, intact_worker_id, "
                       "team_id, created_at) VALUES (?, 'open', ?, ?, ?, ?)",
                       [case_id, coordinator_id, intact_worker_id, team_id, now])

    def assign(self, case_id: str, *, coordinator_id: str | None,
               intact_worker_id: str | None) -> None:
        with self.unit() as db:
            row = db.execute("SELECT team_id FROM cases WHERE id = ?", [case_id]).fetchone()
            if row is None:
                raise StoreError("unknown_case", f"There is no case {case_id}.")
            check_assignment(db, row[0], coordinator_id, intact_worker_id)
            db.execute("UPDATE cases SET coordinator_id = ?, intact_worker_id = ? WHERE id = ?",
                       [coordinator_id, intact_worker_id, case_id])

    def cases(self) -> list[dict[str, Any]]:
        """Every case of the program (the administrator's view; requests use `cases_of`)."""
        return self._cases("1", [])

    def cases_of(self, user: User) -> list[dict[str, Any]]:
        """The cases `user` may read, by id, from the indexes: a supervisor's team's, or those
        a worker is assigned to; none for anyone else (an administrator, a supervisor without
        a team)."""
        if user.role == Role.SUPERVISOR:
            return self._cases("team_id = ?", [user.team_id])
        if user.role in WORKER_ROLES:
            return self._cases("coordinator_id = ? OR intact_worker_id = ?", [user.id, user.id])
        return []

    def case(self, case_id: str) -> dict[str, Any] | None:
        found = self._cases("id = ?", [case_id])
        return found[0] if found else None

    def _cases(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        with self.reading() as db:
            db.row_factory = sqlite3.Row
            try:
                rows = [dict(r) for r in db.execute(
                    "SELECT id, status, coordinator_id, intact_worker_id, team_id, "  # noqa: S608
                    f"sealed_details, referred_by FROM cases WHERE {where} ORDER BY id", params)]
            finally:
                db.row_factory = None
        return rows

    def users_of_teams(self, team_ids: Iterable[str | None]) -> dict[str, User]:
        """The users of the given teams, by id (case members always belong to the case's
        team: `check_assignment`)."""
        wanted = sorted({t for t in team_ids if t is not None})
        if not wanted:
            return {}
        with self.reading() as db:
            rows = db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE team_id IN "  # noqa: S608
                              f"({', '.join('?' for _ in wanted)})", wanted).fetchall()
        return {u.id: u for u in (User(*row) for row in rows)}

    def members(self, case: dict[str, Any]) -> list[User]:
        """Who may read a case: its coordinator, its intact worker and its team's supervisors."""
        with self.reading() as db:
            rows = db.execute(
                f"SELECT {USER_COLUMNS} FROM users "  # noqa: S608 - fixed column names
                "WHERE id IN (?, ?) OR (role = 'supervisor' AND team_id = ?) ORDER BY id",
                [case["coordinator_id"], case["intact_worker_id"], case["team_id"]]).fetchall()
        return [User(*row) for row in rows]

    def team_members(self, team_id: str | None) -> list[User]:
        """The users of team `team_id`; nobody for None (people without a team are not one
        team: a supervisor without a team must not see every such worker's mileage)."""
        with self.reading() as db:
            rows = db.execute(f"SELECT {USER_COLUMNS} FROM users "  # noqa: S608
                              "WHERE team_id = ? ORDER BY id", [team_id]).fetchall()
        return [User(*row) for row in rows]

    def team_of(self, user_id: str) -> list[User]:
        """The people of `user_id`'s team, `user_id` included; only them without a team (a
        NULL team matches nobody)."""
        with self.reading() as db:
            rows = db.execute(
                "SELECT u.id, u.name, u.role, u.team_id, u.public_key, u.wrapped_private_key, "
                "u.supervises, u.signing_key, u.keys_due FROM users AS me JOIN users AS u "
                "ON u.id = me.id OR u.team_id = me.team_id "
                "WHERE me.id = ? ORDER BY u.id", [user_id]).fetchall()
        return [User(*row) for row in rows]

    def keys_for(self, case_id: str, user_id: str
                 ) -> list[tuple[int, str, str | None, str | None]]:
        """(version, sealed key, signer, signature) of each copy sealed to `user_id`."""
        with self.reading() as db:
            rows = db.execute("SELECT version, wrapped_key, signer, signature FROM case_keys "
                              "WHERE case_id = ? AND user_id = ? ORDER BY version",
                              [case_id, user_id]).fetchall()
        return [(int(v), str(k), signer, signature) for v, k, signer, signature in rows]

    def put_keys(self, case_id: str, keys: list[tuple[int, str, str, str | None]], *,
                 uploader: str) -> list[int]:
        """Store sealed keys; the first copy of a (version, member) stands, so no member can
        replace another member's key with something else. A version that exists already can be
        shared again only by someone who holds it: two devices that each made a first key for
        the same scope while offline learn that theirs lost (`key_taken`). New versions continue
        the sequence, each the current one plus one (`key_version_skipped`): a member who
        planted version 1,000,000 would have left no version for the next rotation. A version
        below the current one that is missing (deleted from this database) may be shared again
        by whoever holds it. Returns the
        versions that are new to the scope."""
        new = []
        with self.unit() as db:
            current = int(db.execute("SELECT coalesce(max(version), 0) FROM case_keys WHERE "
                                     "case_id = ?", [case_id]).fetchone()[0])
            for version in sorted({key[0] for key in keys}):
                exists = db.execute("SELECT 1 FROM case_keys WHERE case_id = ? AND version = ?",
                                    [case_id, version]).fetchone()
                held = db.execute("SELECT 1 FROM case_keys WHERE case_id = ? AND version = ? "
                                  "AND user_id = ?", [case_id, version, uploader]).fetchone()
                if exists and not held:
                    raise StoreError("key_taken", f"Version {version} of this key was made "
                                     "on another device first; fetch it instead.")
                if not exists and version > current + 1:
                    raise StoreError("key_version_skipped", f"The next version of this key is "
                                     f"{current + 1}; version {version} cannot be added.")
                if not exists:
                    new.append(version)
                    current = version
            db.executemany("INSERT OR IGNORE INTO case_keys (case_id, version, user_id, "
                           "wrapped_key, signer, signature) VALUES (?, ?, ?, ?, ?, ?)",
                           [(case_id, version, user, wrapped, uploader, signature)
                            for version, user, wrapped, signature in keys])
        return new

    def refuse_key(self, case_id: str, version: int, user_id: str) -> bool:
        """Remove `user_id`'s own copy of a version that does not open or verify on their
        laptop, so a member who holds the version shares it again (the first copy stands
        against everyone else); False if there was none."""
        with self.unit() as db:
            gone = db.execute("DELETE FROM case_keys WHERE case_id = ? AND version = ? AND "
                              "user_id = ?", [case_id, version, user_id]).rowcount
        return bool(gone)

    # -- audit and attempts ------------------------------------------------------------------

    def audit(self, *, at: str, actor: str, action: str, subject: str,
              details: dict[str, Any] | None = None) -> None:
        with self.unit() as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, "0" * 64)
            body = json.dumps(details or {}, sort_keys=True)
            entry = json.dumps([prev, seq, at, actor, action, subject, body])
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [seq, at, actor, action, subject, body, prev,
                        hashlib.sha256(entry.encode()).hexdigest()])

    def audit_entries(self) -> list[tuple[Any, ...]]:
        with self.reading() as db:
            return db.execute("SELECT seq, at, actor, action, subject, details FROM audit "
                              "ORDER BY seq").fetchall()

    def count_attempt(self, bucket: str, *, now: datetime, window: timedelta) -> int:
        """Count one attempt in `bucket`'s current window; returns the count so far."""
        with self.unit() as db:
            row = db.execute("SELECT window_start, count FROM attempts WHERE bucket = ?",
                             [bucket]).fetchone()
            if row is None or now - datetime.fromisoformat(row[0]) >= window:
                db.execute("INSERT OR REPLACE INTO attempts VALUES (?, ?, 1)",
                           [bucket, now.isoformat()])
                return 1
            db.execute("UPDATE attempts SET count = count + 1 WHERE bucket = ?", [bucket])
            return int(row[1]) + 1
