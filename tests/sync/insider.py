"""A malicious member's laptop: a real enrolled profile whose owner sends ops of their own making
over the real protocol, with their real device token and the keys their laptop really holds.

And what an attack must leave as it was: the server's tables (but for the stored answer of each
refused op and the audit of the push) and every honest laptop's records.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx

from fieldapp.crypto.signing import key_statement
from fieldapp.services import case_keys, enrolment
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.sealing import payload_hash, seal_for_wire
from tests.sync.tamper import server_db

# Written by every push by design: the op's stored answer and the audit of the push.
BOOKKEEPING = {"ops", "audit", "attempts", "usage"}
LAPTOP_TABLES = (*wire.SYNCED_TABLES, "drug_screens", "mileage_allocations")


class Insider:
    """The person behind `session`, sending what they like under their own device token."""

    def __init__(self, session: Session) -> None:
        enrolled = enrolment.enrolment_of(session)
        assert enrolled is not None
        self.session = session
        self.url = str(enrolled["server_url"])
        self.user_id = str(enrolled["user"]["id"])
        self.token = str(enrolled["device_token"])

    def key(self, scope: str) -> tuple[int, bytes]:
        """The newest key this laptop holds for `scope`, or a key of its own making (version 1)
        where it holds none: the server cannot tell the difference."""
        held = {v: k for (s, v), k in case_keys.case_keys(self.session).items() if s == scope}
        return (max(held), held[max(held)]) if held else (1, os.urandom(32))

    def op(self, table: str, record_id: str, scope: str, plain: dict[str, Any],
           body: dict[str, Any] | None = None, *, base_rev: int = 0,
           key: tuple[int, bytes] | None = None) -> dict[str, Any]:
        """One op as a laptop freezes it, sealed under `key` (default: the scope's key here)."""
        version, secret = key or self.key(scope)
        op_id = uuid.uuid4().hex
        content = body or {"narrative": "written by an insider"}
        # Not through wire.Op: an attacker's laptop checks nothing before sending. It signs
        # with its own key, as any member can: the server's rules, not the signature, refuse.
        sealed = seal_for_wire(secret, scope=scope, version=version, table=table,
                               record_id=record_id, op_id=op_id, content=content)
        hashed = payload_hash(secret, {"plain": plain, "body": content})
        identity = enrolment.identity_of(self.session)
        assert identity is not None
        signature = identity.sign(wire.op_statement(
            self.user_id, op_id=op_id, table=table, record_id=record_id, scope=scope,
            base_rev=base_rev, deleted=False, plain=plain, key_version=version, sealed=sealed,
            payload_hash=hashed))
        return {"op_id": op_id, "table": table, "record_id": record_id, "scope": scope,
                "base_rev": base_rev, "deleted": False, "plain": plain, "key_version": version,
                "sealed": sealed, "payload_hash": hashed, "signature": signature}

    def signed(self, scope: str, copies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Key copies as this member uploads them: signed with their own key, as any member
        can sign whatever they share."""
        identity = enrolment.identity_of(self.session)
        assert identity is not None
        return [{**c, "signer": self.user_id, "signature": identity.sign(key_statement(
            scope, c["version"], c["user_id"], c["wrapped_key"], self.user_id))}
            for c in copies]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, trust_env=False, timeout=15) as client:
            return client.request(method, path, headers={
                "Authorization": f"Bearer {self.token}"}, **kwargs)

    def push(self, *ops: dict[str, Any]) -> list[wire.Answer]:
        response = self.request("POST", "/v1/sync/push", json={"ops": list(ops)})
        assert response.status_code == 200, response.text
        return wire.PushResult.model_validate(response.json()).answers


def plant_misplaced_note(sync_server: Any, mallory: Insider, case_a: str, case_b: str) -> None:
    """As a server that lies: a signed note sealed under case A's key, naming case B, written
    straight into the server's database under case A (as no honest server would file it)."""
    op = mallory.op("visit_notes", "planted-note", case_a, {
        "case_id": case_b, "author": mallory.user_id, "visit_date": "2026-11-23",
        "contact_type": "home visit", "status": "signed", "signed_by": mallory.user_id,
        "signed_at": "2026-11-24T09:00:00+00:00", "late_entry": 0, "next_visit_date": None,
        "updated_at": "2026-11-24T09:00:00+00:00"})
    with server_db(sync_server.data_dir) as conn:  # its digests kept in step, as a server's
        seq = conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' "
                           "RETURNING value").fetchone()[0]
        conn.execute("INSERT INTO records (tbl, record_id, scope, rev, seq, op_id, author, "
                     "plain, key_version, sealed, deleted, base_rev, payload_hash, signature) "
                     "VALUES ('visit_notes', ?, ?, 1, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
                     [op["record_id"], op["scope"], seq, op["op_id"], mallory.user_id,
                      json.dumps(op["plain"]), op["key_version"], op["sealed"],
                      op["payload_hash"], op["signature"]])


def server_tables(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the server's tables that an attack could change (bookkeeping left out)."""
    conn = sqlite3.connect(f"file:{data_dir / 'server.sqlite3'}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                            "'table' ORDER BY name")]
        found = {}
        for name in names:
            if name in BOOKKEEPING:
                continue
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
            kept = ", ".join(c for c in columns if (name, c) != ("devices", "last_seen"))
            found[name] = sorted(conn.execute(f"SELECT {kept} FROM {name}").fetchall(),  # noqa: S608
                                 key=repr)
        return found
    finally:
        conn.close()


def audit_actions(data_dir: Path) -> list[tuple[str, str, str]]:
    """(actor, action, subject) of every audit entry, in order."""
    conn = sqlite3.connect(f"file:{data_dir / 'server.sqlite3'}?mode=ro", uri=True)
    try:
        return [(str(a), str(b), str(c)) for a, b, c in conn.execute(
            "SELECT actor, action, subject FROM audit ORDER BY seq")]
    finally:
        conn.close()


def laptop_records(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every record row of a laptop (sealed bodies included: a changed body changes them)."""
    db, _ = session.vault().open_parts()
    return {table: [tuple(r) for r in db.execute(
                f"SELECT * FROM [{table}] ORDER BY rowid").fetchall()]  # noqa: S608
            for table in LAPTOP_TABLES}
