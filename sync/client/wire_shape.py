"""What of a record travels in clear: only the plain fields a server rule reads.

A laptop's row keeps its plain columns (dates, counts, kinds of contact) for its own lists and
rules; on the wire only its kind's `RecordKind.clear` fields stay beside the sealed body, and
every other column travels inside it, under `COLUMNS`, and is put back into its column on the
laptop that applies it. The author signs the plain fields and the sealed body alike
(`wire.op_statement`), so a column moved inside stays covered. docs/server.md lists what stays
in clear and the rule that reads it.

Pure functions; any thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fieldapp.domain.kinds import BY_TABLE

# The body's key holding the row's other plain columns; no record body has a field of this name.
COLUMNS = "_columns"


def to_wire(table: str, plain: Mapping[str, Any], body: Mapping[str, Any]
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain, body) as they travel: the fields a server rule reads in clear, the rest of the
    row's columns inside the body (which is sealed after)."""
    clear = BY_TABLE[table].clear
    moved = {k: v for k, v in plain.items() if k not in clear}
    shown = {k: v for k, v in plain.items() if k in clear}
    return shown, {**body, COLUMNS: moved} if moved else dict(body)


def from_wire(table: str, plain: Mapping[str, Any], body: Mapping[str, Any]
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain, body) as a laptop's row holds them: the columns that travelled inside the body
    back beside the clear ones. A field of `clear` comes from the clear fields only, the ones
    the server judged, never from inside the body; a column in both is taken from the clear
    fields (the columns the server sets itself, `wire.STAMPED`, are merged into `plain` before
    this). A document from a laptop that sent every column in clear comes through as it is."""
    clear = BY_TABLE[table].clear
    inside = body.get(COLUMNS)
    moved = {k: v for k, v in inside.items() if k not in clear} \
        if isinstance(inside, Mapping) else {}
    rest = {k: v for k, v in body.items() if k != COLUMNS}
    return {**moved, **plain}, rest
