"""Tables whose sensitive part is one sealed blob per row.

A sealed table has at least `id`, `revision`, `key_id` and `sealed` columns. The body of a record
(a JSON object of everything sensitive) is sealed with the data key and bound to the table, id,
revision and key id; routing metadata the rules need stays in plain columns beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import Binding, DataKey, SealBroken
from fieldapp.domain.errors import RecordNotFound, RecordTampered, StaleRevision

SEALED_COLUMNS = frozenset({"id", "revision", "key_id", "sealed"})

Body = dict[str, Any]


@dataclass(frozen=True)
class Opened:
    """One row of a sealed table, opened; `body` is None when the row failed authentication.

    Attributes:
        row: the plain columns (without the blob).
        body: the decrypted body, or None if tampered.
        problem: the tampering error for that row, if any.
    """

    row: dict[str, Any]
    body: Body | None
    problem: RecordTampered | None = None


def seal_body(key: DataKey, *, table: str, record_id: str, revision: int, body: Mapping[str, Any]
              ) -> bytes:
    """Seal `body` for one revision of one row."""
    plaintext = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return key.seal(plaintext, Binding(table=table, record_id=record_id, revision=revision,
                                       key_id=key.key_id))


def open_row(key: DataKey, *, table: str, row: Mapping[str, Any]) -> Body:
    """Open the blob of `row`; `RecordTampered` names the row if it does not authenticate."""
    record_id = str(row["id"])
    binding = Binding(table=table, record_id=record_id, revision=int(row["revision"]),
                      key_id=str(row["key_id"]))
    try:
        plaintext = key.open(bytes(row["sealed"]), binding)
        body = json.loads(plaintext.decode("utf-8"))
    except (SealBroken, UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise RecordTampered(table=table, record_id=record_id) from exc
    if not isinstance(body, dict):
        raise RecordTampered(table=table, record_id=record_id)
    return body


def sealed_tables(db: sqlite_utils.Database) -> list[str]:
    """Every table in the database that holds sealed rows, found from the schema itself."""
    return [
        name for name in db.table_names()
        if {column.name for column in db.table(name).columns} >= SEALED_COLUMNS
    ]


def open_all(db: sqlite_utils.Database, key: DataKey, table: str, *, where: str = "1",
             params: Sequence[Any] = ()) -> Iterator[Opened]:
    """Open every row of `table` (those `where` selects, over plain columns), yielding tampered
    rows with their problem instead of raising."""
    for row in db.query(f"SELECT * FROM [{table}] WHERE {where} ORDER BY rowid",  # noqa: S608 - names from schema
                        list(params)):
        plain = {k: v for k, v in row.items() if k != "sealed"}
        try:
            yield Opened(plain, open_row(key, table=table, row=row))
        except RecordTampered as exc:
            yield Opened(plain, None, exc)


class SealedTable:
    """Seal on the way in, open on the way out, for one sealed table.

    Thread rule: use on the database worker, inside the caller's transaction.
    """

    def __init__(self, db: sqlite_utils.Database, key: DataKey, name: str) -> None:
        self.db, self.key, self.name = db, key, name

    def insert(self, *, record_id: str, body: Mapping[str, Any], plain: Mapping[str, Any],
               revision: int = 1) -> None:
        sealed = seal_body(self.key, table=self.name, record_id=record_id, revision=revision,
                           body=body)
        self.db.table(self.name).insert({"id": record_id, "revision": revision,
                                         "key_id": self.key.key_id, "sealed": sealed, **plain})

    def replace(self, *, record_id: str, body: Mapping[str, Any], plain: Mapping[str, Any],
                expected_revision: int) -> int:
        """Write the next revision; `StaleRevision` if someone saved in between."""
        revision = expected_revision + 1
        sealed = seal_body(self.key, table=self.name, record_id=record_id, revision=revision,
                           body=body)
        columns = {"revision": revision, "key_id": self.key.key_id, "sealed": sealed, **plain}
        assignments = ", ".join(f"[{name}] = ?" for name in columns)
        cursor = self.db.execute(
            f"UPDATE [{self.name}] SET {assignments} WHERE id = ? AND revision = ?",  # noqa: S608
            [*columns.values(), record_id, expected_revision])
        if cursor.rowcount != 1:
            raise StaleRevision("This record was changed elsewhere since it was opened; "
                                "reopen it and make the change again.")
        return revision

    def row(self, record_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query(f"SELECT * FROM [{self.name}] WHERE id = ?",  # noqa: S608
                                  [record_id]))
        return rows[0] if rows else None

    def get(self, record_id: str) -> tuple[dict[str, Any], Body]:
        """The plain columns and opened body; `RecordNotFound` or `RecordTampered` otherwise."""
        row = self.row(record_id)
        if row is None:
            raise RecordNotFound(f"No record {record_id} exists in {self.name}.")
        return _plain(row), open_row(self.key, table=self.name, row=row)

    def select(self, where: str = "1", params: list[Any] | None = None,
               order: str = "rowid") -> list[Opened]:
        """Rows matching `where`, opened; a tampered row comes back with its problem."""
        sql = f"SELECT * FROM [{self.name}] WHERE {where} ORDER BY {order}"  # noqa: S608
        found = []
        for row in self.db.query(sql, params or []):
            try:
                found.append(Opened(_plain(row), open_row(self.key, table=self.name, row=row)))
            except RecordTampered as exc:
                found.append(Opened(_plain(row), None, exc))
        return found


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "sealed"}
