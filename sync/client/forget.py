"""Removing from this laptop what its user may no longer hold: a case reassigned to someone
else, a worker who moved to another team (their mileage ledger, for a supervisor).

The server keeps every version; the laptop keeps nothing it is not entitled to, except work that
has not reached the server yet (waiting, refused or in conflict): a scope with any of that is
left alone until the person has dealt with it, so nothing typed is lost.

Thread rule: the database worker; one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from fieldapp.domain.kinds import KINDS, scope_sql


def _local_tables() -> dict[str, str]:
    """Each record table's key scope as SQL over its own row (aliased `r`), children before
    parents (foreign keys): every kind's and, after a series' records, the laptop's table of
    the series' heads (drug screens after their results)."""
    scope_of: dict[str, str] = {}
    for kind in reversed(KINDS):
        scope_of[kind.table] = scope_sql(kind)
        if kind.series_head is not None:
            head, case_column = kind.series_head
            scope_of[head] = f"r.{case_column}"
    return scope_of


# The key scope of each row, as SQL over the row's own table (aliased `r`).
SCOPE_OF = _local_tables()
# Children before parents (foreign keys).
ORDER = tuple(SCOPE_OF)


def held_scopes(db: sqlite_utils.Database) -> set[str]:
    union = " UNION ".join(f"SELECT {expr} FROM [{table}] r"  # noqa: S608 - fixed names
                           for table, expr in SCOPE_OF.items())
    return {str(row[0]) for row in db.execute(union).fetchall() if row[0] is not None}


def unsettled(db: sqlite_utils.Database, scope: str) -> bool:
    """Whether any record of `scope` has a change not on the server or an open conflict."""
    for table, expr in SCOPE_OF.items():
        found = db.execute(
            f"SELECT 1 FROM [{table}] r WHERE {expr} = ? AND EXISTS "  # noqa: S608
            "(SELECT 1 FROM outbox o WHERE o.tbl = ? AND o.record_id = r.id "
            " UNION ALL SELECT 1 FROM sync_conflicts c WHERE c.tbl = ? AND c.record_id = r.id "
            " AND c.state = 'open') LIMIT 1", [scope, table, table]).fetchone()
        if found:
            return True
    return False


def forget_elsewhere(db: sqlite_utils.Database, visible: Iterable[str]) -> list[str]:
    """Remove every record of a scope that is held here but no longer visible to the user;
    returns the scopes removed."""
    allowed = set(visible)
    gone = []
    with db.atomic():
        for scope in sorted(held_scopes(db) - allowed):
            if unsettled(db, scope):
                continue
            db.execute("DELETE FROM sync_applying")
            db.execute("INSERT INTO sync_applying VALUES ('forget')")
            try:
                for table in ORDER:
                    ids = [row[0] for row in db.execute(
                        f"SELECT r.id FROM [{table}] r WHERE {SCOPE_OF[table]} = ?",  # noqa: S608
                        [scope]).fetchall()]
                    if table == "cases":  # a trip of one's own may still name the family
                        ids = [i for i in ids if db.execute(
                            "SELECT 1 FROM trips WHERE case_id = ?", [i]).fetchone() is None]
                    for record_id in ids:
                        db.execute(f"DELETE FROM [{table}] WHERE id = ?",  # noqa: S608
                                   [record_id])
                        db.execute("DELETE FROM sync_conflicts WHERE tbl = ? AND record_id = ?",
                                   [table, record_id])
                db.execute("DELETE FROM synced WHERE scope = ?", [scope])
                db.execute("DELETE FROM sync_inbox WHERE json_extract(doc, '$.scope') = ?",
                           [scope])
                if scope.startswith("ledger:"):
                    db.execute("DELETE FROM mileage_allocations WHERE worker_id = ?",
                               [scope.removeprefix("ledger:")])
            finally:
                db.execute("DELETE FROM sync_applying")
            gone.append(scope)
    return gone
