"""Verification: the digest both sides compare, and the repair of what the server does not hold.

Thread rule: the database worker; every public method is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable

from sync import digests
from sync import protocol as wire
from sync.client.local import LocalRecords

# sync_state: "1" once every scope's digest was counted here (`Verification._count_digests`).
DIGESTS_COUNTED = "digests_counted"


class Verification(LocalRecords):
    """Compares with the server and repairs."""

    def digest(self, visible: Collection[str] | None = None) -> wire.Digest:
        """What this laptop holds, as the server counts it; with `visible`, only those scopes
        (a case reassigned away but kept here for unsent work is no longer the server's to
        count for this user). From each scope's kept digest (`sync/digests.py`), so it costs
        the same at a thousand records and at a hundred thousand; a document waiting in the
        inbox counts at its revision instead of the one this laptop holds."""
        with self.db.atomic():
            if self.state(DIGESTS_COUNTED) != "1":
                self._count_digests()
            count, total = 0, 0
            for part_count, part_total in digests.parts(self.db, visible):
                count, total = count + part_count, total + part_total
            for t, r, v, doc in self.db.execute(
                    "SELECT tbl, record_id, rev, doc FROM sync_inbox").fetchall():
                opened = json.loads(doc)
                if visible is not None and opened.get("scope") not in visible:
                    continue
                prior = self._synced(t, r)
                if prior is not None and not prior[2] and (visible is None
                                                           or prior[0] in visible):
                    count, total = count - 1, total - wire.digest_item(t, r, prior[1])
                if not opened.get("deleted"):
                    count, total = count + 1, total + wire.digest_item(t, r, int(v))
        return wire.Digest(count=count, digest=f"{total % wire.DIGEST_MODULUS:064x}")

    def _count_digests(self) -> None:
        """Each scope's digest counted from what this laptop holds: once, on a profile from
        before they were kept, and again after a repair."""
        digests.count_all(self.db, self.db.execute(
            "SELECT scope, tbl, record_id, rev FROM synced WHERE deleted = 0").fetchall())
        self._set_state(DIGESTS_COUNTED, "1")

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
            self._count_digests()
        return resent

