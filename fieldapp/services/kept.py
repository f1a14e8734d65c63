"""Work kept for its author: changes to a case (or a mileage ledger) that left this laptop before
they were settled (not sent, refused by the server, or in conflict), once the grace period of
`sync/client/forget.py` was over.

They are sealed in `kept_for_you` with the profile's data key: nothing of them is in clear in the
database file, no screen files them under a case, and sync never sends them. The only ways out
are the person's own: export them to a file they chose (`fieldapp kept --export FILE`), or
discard them (`fieldapp kept --discard`, after a confirmation). Both are audited.

Thread rule: the database worker.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.audit import Action
from fieldapp.domain.exports import spreadsheet_safe
from fieldapp.domain.kinds import KINDS
from fieldapp.services.exports.job import Exported, write
from fieldapp.services.session import Session
from fieldapp.storage.sealed import SealedTable

TABLE = "kept_for_you"
THINGS = {kind.table: kind.thing for kind in KINDS}
# What an export or a discard is called in the audit log (never a case id: an entry's subject
# stays in clear; only its details are sealed).
SUBJECT = "changes kept for their author"
CSV_COLUMNS = ("kept at", "case", "what", "record id", "why it was kept", "the record here",
               "the changes", "the other versions")
WARNING = ("The file is not encrypted. Anyone who can open it can read the substance use records "
           "in it. Keep it only where your program allows, and delete it when it is no longer "
           "needed.")


class KeptFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, kw_only=True)
class KeptItem:
    """One record's unsettled work, kept for its author.

    Attributes:
        scope: the case id (or "ledger:<worker>") the record belonged to.
        table, record_id: which record; `thing` says it in words ("visit note").
        why: why it was kept, in plain words (the server's refusal as it said it, not sent...).
        record: the record as it was here, {"plain": ..., "body": ...}; None for a deletion
            that was never sent. A body that did not open is {"unreadable": ...}.
        changes: its entries waiting to go up: state, reason and when each was made.
        conflicts: its open conflicts: the reason and the other version.
        kept_at, id: when it was kept, and its id in the kept place.
    """

    scope: str
    table: str
    record_id: str
    thing: str
    why: str
    record: dict[str, Any] | None
    changes: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    kept_at: str = ""
    id: str = ""


class KeptForYou:
    """The sealed place of kept work. Thread rule: the database worker, inside the caller's
    transaction."""

    def __init__(self, db: sqlite_utils.Database, key: DataKey) -> None:
        self._db, self._table = db, SealedTable(db, key, TABLE)

    def keep(self, item: KeptItem, *, now: str) -> None:
        body = {k: v for k, v in asdict(item).items() if k not in ("id", "kept_at")}
        self._table.insert(record_id=str(uuid.uuid4()), body=body, plain={"kept_at": now})

    def items(self) -> list[KeptItem]:
        """Every kept item, oldest first; one that does not open is shown as such, never
        skipped."""
        found = []
        for opened in self._table.select(order="kept_at, rowid"):
            row, body = opened.row, opened.body
            if body is None:
                body = {"scope": "", "table": "", "record_id": "", "thing": "record",
                        "why": "This kept item was damaged on this laptop and does not open.",
                        "record": None}
            found.append(KeptItem(**body, kept_at=str(row["kept_at"]), id=str(row["id"])))
        return found

    def count(self) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])  # noqa: S608

    def remove_all(self) -> int:
        return int(self._db.execute(f"DELETE FROM {TABLE}").rowcount)  # noqa: S608


def thing_of(table: str) -> str:
    return THINGS.get(table, "record")


def kept_of(session: Session) -> KeptForYou:
    db, key = session.vault().open_parts()
    return KeptForYou(db, key)


def sentence(items: list[KeptItem]) -> str:
    """What the person is told while anything is kept: "3 changes to a case no longer yours
    were kept for you to export"; "" when nothing is."""
    if not items:
        return ""
    ledgers = {i.scope for i in items if i.scope.startswith("ledger:")}
    cases = {i.scope for i in items} - ledgers
    places = []
    if cases:
        places.append("a case" if len(cases) == 1 else f"{len(cases)} cases")
    if ledgers:
        places.append("a mileage ledger" if len(ledgers) == 1 else
                      f"{len(ledgers)} mileage ledgers")
    count = len(items)
    return (f"{count} change{'' if count == 1 else 's'} to {' and '.join(places)} no longer "
            f"yours {'was' if count == 1 else 'were'} kept for you to export")


# -- the file ----------------------------------------------------------------------------------

def render(items: list[KeptItem], fmt: KeptFormat) -> bytes:
    """The file's bytes: JSON (everything, as kept) or CSV (one row per item, UTF-8 with a byte
    order mark, every text cell safe from formulas)."""
    if fmt is KeptFormat.CSV:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([WARNING])
        writer.writerow([])
        writer.writerow(CSV_COLUMNS)
        for item in items:
            writer.writerow([spreadsheet_safe(text) for text in (
                item.kept_at, item.scope, item.thing, item.record_id, item.why,
                _json(item.record), _json(item.changes), _json(item.conflicts))])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    document = {"notice": WARNING, "kept": [asdict(item) for item in items]}
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def export_kept(session: Session, path: Path, *, fmt: KeptFormat, overwrite: bool = False
                ) -> Exported:
    """Write every kept item to `path` (whole or not at all, owner-readable only) and audit it
    (how many, the format and the file's digest; never the file's name)."""
    items = kept_of(session).items()
    done = write(path, render(items, fmt), records=len(items), overwrite=overwrite)
    workspace = session.workspace()
    with workspace.unit() as stores:
        workspace.audit(stores, Action.EXPORT, SUBJECT, format=str(fmt), records=len(items),
                        bytes=done.size, sha256=done.sha256)
    return done


def discard_kept(session: Session) -> int:
    """Remove every kept item from this laptop (the person confirmed); audited; how many."""
    workspace = session.workspace()
    with workspace.unit() as stores:
        removed = kept_of(session).remove_all()
        if removed:
            workspace.audit(stores, Action.RECORDS_REMOVED, SUBJECT, records=removed,
                            why="discarded by their author")
    return removed


def as_plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A conflict side or record without its wire ciphertext (kept readable, not re-sealed)."""
    if value is None:
        return None
    return {k: v for k, v in value.items() if k != "sealed"}
