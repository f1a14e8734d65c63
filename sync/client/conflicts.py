"""Conflicts: the other side of each one kept sealed beside the record, shown side by side, and
settled by a person's choice; changes the server refused, retried or dismissed.

Thread rule: the database worker; every public method is one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from fieldapp.crypto.aead import SealBroken
from fieldapp.storage.sealed import SealedTable, open_row
from sync import protocol as wire
from sync.client.inbox import Inbox
from sync.client.integrity import signature_problem, with_stamps
from sync.client.local import CONFLICTS
from sync.client.sealing import KeyRing, open_from_wire
from sync.client.wire_shape import from_wire


class Conflicts(Inbox):
    """Keeps and settles conflicts and refused changes."""

    def _side(self, doc: wire.Doc, keys: KeyRing) -> dict[str, Any] | None:
        if doc.deleted:
            return None
        key = keys.get(doc.scope, doc.key_version or 0)
        if signature_problem(doc, self._signing_keys()) is not None:
            # Never shown as the other side nor applied: the server's copy is not its author's.
            body = {"unreadable": "it is not signed with its author's key"}
        else:
            doc = with_stamps(doc)
            try:
                body = open_from_wire(key, doc) if key else {"unreadable": "no key for it yet"}
            except (SealBroken, ValueError, UnicodeDecodeError):
                body = {"unreadable": "it did not authenticate"}
        # Shown as the laptop's row holds it: the columns that travelled sealed beside the rest.
        plain, body = from_wire(doc.table, doc.plain, body)
        return {"plain": plain, "body": body, "rev": doc.rev, "op_id": doc.op_id,
                "scope": doc.scope, "key_version": doc.key_version, "sealed": doc.sealed,
                "author": doc.author}

    def _keep_aside(self, tbl: str, record_id: str, *, reason: str,
                    theirs: dict[str, Any] | None, state: str,
                    mine: dict[str, Any] | None = None) -> None:
        SealedTable(self.db, self.key, CONFLICTS).insert(
            record_id=str(uuid.uuid4()),
            body={"reason": reason, "theirs": theirs, "mine": mine},
            plain={"tbl": tbl, "record_id": record_id, "state": state,
                   "created_at": self.now})

    def conflicts(self, *, states: tuple[str, ...] = ("open", "kept")) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in states)
        found = []
        for opened in SealedTable(self.db, self.key, CONFLICTS).select(
                f"state IN ({marks})", list(states), order="created_at, id"):
            found.append({**opened.row, **(opened.body or {})})
        return found

    def conflict_sides(self, conflict_id: str) -> dict[str, Any]:
        """Both sides of one conflict for a person to compare: `mine` is what this laptop holds
        (the kept copy, or the record as it is here now), `theirs` the other version; each is
        {"plain": ..., "body": ...} or None (deleted). Also `reason`, `state`, `table`."""
        row, body = SealedTable(self.db, self.key, CONFLICTS).get(conflict_id)
        mine = body.get("mine")
        if mine is None and row["state"] == "open":
            local = self._row(row["tbl"], row["record_id"])
            if local is not None:
                mine = {"plain": self._plain(row["tbl"], local),
                        "body": open_row(self.key, table=row["tbl"], row=local)}
        return {"id": conflict_id, "table": row["tbl"], "record_id": row["record_id"],
                "state": row["state"], "reason": body.get("reason", ""),
                "created_at": row["created_at"], "mine": mine, "theirs": body.get("theirs")}

    def resolve(self, conflict_id: str, choice: str) -> None:
        """`mine`: send my version over theirs. `theirs`: take theirs here. `seen`: a kept
        copy was read (nothing changes). Whatever is chosen, the conflict record stays."""
        table = SealedTable(self.db, self.key, CONFLICTS)
        with self.db.atomic():
            row, body = table.get(conflict_id)
            tbl, record_id = row["tbl"], row["record_id"]
            if choice == "mine":
                if row["state"] != "open":
                    raise ValueError("Only an open conflict can be settled this way.")
                self._touch(tbl, record_id)
            elif choice == "theirs":
                if row["state"] != "open" or body["theirs"] is None:
                    raise ValueError("Only an open conflict can be settled this way.")
                theirs = body["theirs"]
                doc = wire.Doc(table=tbl, record_id=record_id, scope=theirs["scope"],
                               rev=theirs["rev"], seq=0, op_id=theirs["op_id"],
                               author=theirs["author"], deleted=False, plain=theirs["plain"],
                               key_version=theirs["key_version"], sealed=theirs["sealed"])
                self.db.execute("DELETE FROM outbox WHERE tbl = ? AND record_id = ? AND "
                                "state = 'pending'", [tbl, record_id])
                with self._applying():
                    self._apply_body(doc, theirs["plain"], theirs["body"])
            elif choice != "seen":
                raise ValueError(f"Unknown choice {choice!r}.")
            self.db.execute("UPDATE sync_conflicts SET state = 'resolved', resolved_at = ?, "
                            "resolution = ? WHERE id = ?", [self.now, choice, conflict_id])

    def problems(self) -> list[dict[str, Any]]:
        """Changes the server refused or set aside, for a person to see."""
        return [{"op_id": op, "table": t, "record_id": r, "state": s, "reason": why}
                for op, t, r, s, why in self.db.execute(
                    "SELECT op_id, tbl, record_id, state, reason FROM outbox WHERE state IN "
                    "('quarantined', 'rejected') ORDER BY seq").fetchall()]

    def retry_problem(self, op_id: str) -> None:
        """Send a refused change again, under a new op id (the old verdict stands for the old)."""
        with self.db.atomic():
            row = self.db.execute("SELECT tbl, record_id FROM outbox WHERE op_id = ? AND state "
                                  "IN ('quarantined', 'rejected')", [op_id]).fetchone()
            if row is None:
                return
            self.db.execute("DELETE FROM outbox WHERE op_id = ?", [op_id])
            self._touch(row[0], row[1])

    def dismiss_problem(self, op_id: str) -> None:
        """Give a refused change up: it is not sent again, and the next sync puts the
        server's version back (kept in the inbox since the refusal); a record the server never
        had stays on this laptop only."""
        with self.db.atomic():
            self.db.execute("DELETE FROM outbox WHERE op_id = ? AND state IN "
                            "('quarantined', 'rejected')", [op_id])

