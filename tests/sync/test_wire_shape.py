"""What travels in clear: only the fields a server rule reads; every other column of a laptop's
row travels sealed and comes back into its column, and docs/server.md says the same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from fieldapp.domain.kinds import BY_TABLE, KINDS
from fieldapp.storage.migrations import migrate
from fieldapp.storage.sealed import SEALED_COLUMNS
from sync.client.wire_shape import COLUMNS, from_wire, to_wire

# The checkout's docs (found upwards: mutation runs copy the tests into a folder of the checkout).
DOCS = next(p / "docs" / "server.md" for p in Path(__file__).resolve().parents
            if (p / "docs" / "server.md").is_file())
VALUES = st.one_of(st.none(), st.integers(-10, 10), st.text(max_size=8))


def laptop_columns() -> dict[str, list[str]]:
    """Each record table's plain columns in a new laptop profile's schema."""
    db = sqlite_utils.Database(memory=True)
    migrate(db)
    return {kind.table: [c.name for c in db.table(kind.table).columns
                         if c.name not in SEALED_COLUMNS] for kind in KINDS}


COLUMNS_OF = laptop_columns()


def a_row(table: str, values: list[Any]) -> dict[str, Any]:
    names = COLUMNS_OF[table] + (["revision"] if table == "drug_screen_revisions" else [])
    return dict(zip(names, values * len(names), strict=False))


@pytest.mark.parametrize("table", sorted(BY_TABLE))
@given(values=st.lists(VALUES, min_size=1, max_size=12), body=st.dictionaries(
    st.sampled_from(["narrative", "results", "comment", "capacity"]), VALUES, max_size=3))
def test_a_row_goes_out_with_only_its_clear_fields_and_comes_back_whole(
        table: str, values: list[Any], body: dict[str, Any]) -> None:
    """The clear part is exactly the row's fields of `clear`; the row and the body come back
    as they were on the laptop that applies it."""
    plain = a_row(table, values)
    clear, sealed = to_wire(table, plain, body)
    assert set(clear) == set(plain) & BY_TABLE[table].clear
    assert not set(clear) - BY_TABLE[table].clear
    assert from_wire(table, clear, sealed) == (plain, body)


def test_the_moved_columns_are_the_ones_the_issue_names() -> None:
    """Contact type, next visit date and screens per month travel sealed; a note's status, a
    trip's miles and a month's worker stay in clear, because a server rule reads them."""
    assert {"contact_type", "next_visit_date", "visit_date"}.isdisjoint(
        BY_TABLE["visit_notes"].clear)
    assert "per_month" not in BY_TABLE["random_schedules"].clear
    assert "status" in BY_TABLE["visit_notes"].clear
    assert {"total_miles", "month", "trip_date", "recorded_at"} <= BY_TABLE["trips"].clear
    _, sealed = to_wire("visit_notes", {"case_id": "c1", "author": "rc1", "status": "signed",
                                        "contact_type": "phone"}, {"narrative": "n"})
    assert sealed == {"narrative": "n", COLUMNS: {"contact_type": "phone"}}


def test_a_record_with_nothing_to_move_travels_as_before() -> None:
    """A disclosure keeps every field in clear (the server's audit reads its time): its body
    goes out as it is, so a laptop from before this change reads it as it always did."""
    plain = {"case_id": "c1", "disclosed_by": "rc1", "disclosed_at": "2026-11-24T09:30:00"}
    assert to_wire("disclosures", plain, {"recipient": "court"}) == (
        plain, {"recipient": "court"})


def test_a_clear_field_is_never_taken_from_inside_the_body() -> None:
    """An author who writes `signed` inside the body and `draft` in clear is applied as the
    server judged it, draft; one who leaves a clear field out gets none from the body."""
    plain, _ = from_wire("visit_notes", {"case_id": "c1", "author": "rc1", "status": "draft"},
                         {COLUMNS: {"status": "signed", "author": "mallory",
                                    "contact_type": "phone"}})
    assert plain == {"case_id": "c1", "author": "rc1", "status": "draft",
                     "contact_type": "phone"}
    plain, _ = from_wire("visit_notes", {"case_id": "c1"}, {COLUMNS: {"author": "mallory"}})
    assert plain == {"case_id": "c1"}


def test_what_the_server_stamps_wins_over_what_travelled_sealed() -> None:
    """A case's supervisors are the server's own list (a stamp merged into the clear fields),
    not the author's copy inside the body; a document from a laptop that sent every column in
    clear comes through as it is."""
    plain, _ = from_wire("cases", {"status": "open", "supervisor_ids": '["sup1"]'},
                         {COLUMNS: {"supervisor_ids": '["old"]', "start_date": "2026-11-02"}})
    assert plain == {"status": "open", "supervisor_ids": '["sup1"]', "start_date": "2026-11-02"}
    old = {"case_id": "c1", "contact_type": "phone"}
    assert from_wire("visit_notes", old, {"narrative": "n"}) == (old, {"narrative": "n"})


def _documented() -> dict[str, tuple[set[str], set[str]]]:
    """docs/server.md's records table: table -> (clear fields, fields sealed on the wire)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## What the server keeps in clear, and why", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[0].strip("`") in BY_TABLE:
            found[cells[0].strip("`")] = (set(re.findall(r"`(\w+)`", cells[1])),
                                          {n for n in re.findall(r"`(\w+)`", cells[3])})
    return found


def test_docs_list_each_kinds_clear_fields_and_what_moved() -> None:
    """docs/server.md names, per kind, exactly the fields the declaration keeps in clear and
    every other column of the laptop's row as sealed on the wire."""
    documented = _documented()
    assert set(documented) == set(BY_TABLE)
    for table, (clear, moved) in documented.items():
        assert clear == BY_TABLE[table].clear, table
        assert moved == set(COLUMNS_OF[table]) - BY_TABLE[table].clear, table
