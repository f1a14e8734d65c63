"""Verification: the digest both sides compare, and the repair of what the server does not hold.

Thread rule: the database worker; every public method is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable

from sync import protocol as wire
from sync.client.local import LocalRecords


class Verification(LocalRecords):
    """Compares with the server and repairs."""

    def digest(self, visible: Collection[str] | None = None) -> wire.Digest:
        """What this laptop holds, as the server counts it; with `visible`, only those scopes
        (a case reassigned away but kept here for unsent work is no longer the server's to
        count for this user)."""
        held = {(t, r): (v, d) for t, r, s, v, d in self.db.execute(
            "SELECT tbl, record_id, scope, rev, deleted FROM synced").fetchall()
            if visible is None or s in visible}
        for t, r, v, doc in self.db.execute(
                "SELECT tbl, record_id, rev, doc FROM sync_inbox").fetchall():
            opened = json.loads(doc)
            if visible is None or opened.get("scope") in visible:
                held[(t, r)] = (v, int(bool(opened.get("deleted"))))
        return wire.digest_of((t, r, v) for (t, r), (v, d) in held.items() if not d)

    def repair(self, manifest: Iterable[wire.ManifestEntry],
               visible: Collection[str] | None = None) -> int:
        """After a digest mismatch: send again what the server lacks, and pull everything again
        from the start (nothing local is overwritten while it has changes waiting). Scopes not
        `visible` to the user any more are left as they are."""
        on_server = {(e.table, e.record_id) for e in manifest}
        resent = 0
        with self.db.atomic():
            rows = [(t, r) for t, r, s in self.db.execute(
                "SELECT tbl, record_id, scope FROM synced WHERE deleted = 0 AND tbl != ?",
                [wire.ALLOCATIONS]).fetchall() if visible is None or s in visible]
            for tbl, record_id in rows:
                if (tbl, record_id) not in on_server and self._mine(tbl, record_id):
                    self.db.execute("DELETE FROM synced WHERE tbl = ? AND record_id = ?",
                                    [tbl, record_id])
                    self._touch(tbl, record_id)
                    resent += 1
            for tbl, record_id in rows:
                self.db.execute("DELETE FROM synced WHERE tbl = ? AND record_id = ? AND NOT "
                                "EXISTS (SELECT 1 FROM outbox o WHERE o.tbl = synced.tbl AND "
                                "o.record_id = synced.record_id)", [tbl, record_id])
            self._set_state("checkpoint", "0")
        return resent

