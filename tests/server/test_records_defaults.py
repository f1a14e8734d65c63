"""The server's record rules that rest on its lists of record kinds and month statuses, down to
their last entries: an approved month locks its trips as a submitted one does; a disclosure
(the accounting of what went to whom) is never changed once recorded, a second version is kept
beside it, never over it; and every kind of record that names its writer is written only in the
caller's own name.

In process, as tests/server/test_records_rules.py: `RecordSync` over a real `ServerStore`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.test_records_rules import (  # noqa: F401 (world is a fixture)
    AUTHOR_ONLY,
    World,
    month,
    note,
    op,
    rejected,
    trip,
    world,
)


def test_an_approved_month_locks_its_trips(world: World) -> None:  # noqa: F811
    assert world.one("ivan", trip("t-1", "ivan", "10")).outcome == "applied"
    world.one("ivan", month("ivan", "submitted"))
    assert world.one("sam", month("ivan", "approved", base_rev=1, decided_by="sam")
                     ).outcome == "applied"
    added = world.one("ivan", trip("t-2", "ivan", "10"))
    assert rejected(added) == ("The mileage for 2026-11 was already submitted and is locked; ask "
                               "your supervisor to return it.")
    changed = world.one("ivan", trip("t-1", "ivan", "12", base_rev=1))
    assert changed.outcome == "rejected"


def test_a_recorded_disclosure_is_never_changed(world: World) -> None:  # noqa: F811
    recorded = {"case_id": "n-1", "disclosed_by": "cora", "disclosed_at": "2026-11-19"}
    assert world.one("cora", op("disclosures", "d-1", "n-1", recorded)).outcome == "applied"
    redated = world.one("cora", op("disclosures", "d-1", "n-1",
                                   {**recorded, "disclosed_at": "2026-11-12"}, base_rev=1))
    assert (redated.outcome, redated.rev) == ("conflict", 1)
    assert redated.theirs is not None and redated.theirs.plain == recorded
    assert [c[0:4] for c in world.sync.conflict_copies()] == \
        [("disclosures", "d-1", redated.op_id, "cora")]


# Each kind that names its writer, with the plain fields it travels with (on case n-1, whose
# note v-1 and consent c-1 are cora's), pushed by `by` naming `writer` in `field`.
NAMED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "addenda": ("a-1", "author", {"note_id": "v-1"}),
    "note_reviews": ("r-1", "reviewer", {"note_id": "v-1"}),
    "drug_screen_revisions": ("s-1/1", "recorded_by", {"case_id": "n-1", "screen_id": "s-1",
                                                        "revision": 1}),
    "random_schedules": ("rs-1", "created_by", {"case_id": "n-1"}),
    "consents": ("c-2", "recorded_by", {"case_id": "n-1"}),
    "consent_ends": ("e-1", "recorded_by", {"case_id": "n-1", "consent_id": "c-1"}),
    "disclosures": ("d-1", "disclosed_by", {"case_id": "n-1"}),
}
SUPERVISED = {"note_reviews", "random_schedules"}  # written by a supervisor only


@pytest.mark.parametrize("table", NAMED)
def test_each_kind_is_written_only_in_its_callers_name(world: World,  # noqa: F811
                                                       table: str) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", op("consents", "c-1", "n-1", {"case_id": "n-1", "recorded_by": "cora"}))
    record_id, field, plain = NAMED[table]
    caller, colleague = ("sam", "sue") if table in SUPERVISED else ("ivan", "cora")
    forged = world.one(caller, op(table, record_id, "n-1", {**plain, field: colleague}))
    assert rejected(forged) == AUTHOR_ONLY
    assert world.one(caller, op(table, record_id, "n-1", {**plain, field: caller})
                     ).outcome == "applied"
