"""The grace period of a scope no longer listed for the person, and what is kept for them after it,
on a real vault without a server (the journeys through a real server are in
test_kept_for_you.py): boundaries of the period to the microsecond, every kind of unsettled
work (waiting, refused, set aside here, a deletion, an open conflict, a damaged record) kept
and never dropped, and the words and files the person gets."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest

from fieldapp.domain.people import CaseId, NoteId, new_id
from fieldapp.services.kept import (
    CSV_COLUMNS,
    WARNING,
    KeptFormat,
    KeptForYou,
    KeptItem,
    render,
    sentence,
)
from fieldapp.storage.sealed import SealedTable
from fieldapp.storage.vault import Vault
from sync.client.forget import GRACE, forget_elsewhere, unsettled
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    WORKER,
    make_trip,
    open_case,
    services,
    visit_details,
)

MICRO = timedelta(microseconds=1)
TWO_WEEKS = timedelta(days=14)  # the rule, written out: not computed from GRACE


def case_with_draft(vault: Vault, clock: FakeClock, narrative: str = "Draft."
                    ) -> tuple[CaseId, NoteId]:
    case = open_case(vault, clock)
    note = services(vault, clock, WORKER).notes.start_draft(
        case.id, visit_details(narrative=narrative))
    return case.id, note.id


def count(vault: Vault, sql: str, *params: object) -> int:
    db, _ = vault.open_parts()
    return int(db.execute(sql, params).fetchone()[0])


def forget(vault: Vault, clock: FakeClock, *visible: str, after: timedelta = timedelta()
           ) -> list[str]:
    db, key = vault.open_parts()
    return forget_elsewhere(db, key, visible, now=clock.now + after).scopes


def kept_items(vault: Vault) -> list[KeptItem]:
    return KeptForYou(*vault.open_parts()).items()


def test_waiting_work_holds_the_scope_until_the_grace_period_is_over(
        vault: Vault, clock: FakeClock) -> None:
    case_id, note_id = case_with_draft(vault, clock, "Written at the kitchen table.")
    assert forget(vault, clock) == []
    assert forget(vault, clock, after=TWO_WEEKS - MICRO) == [], "counted from the first sync"
    db, key = vault.open_parts()
    done = forget_elsewhere(db, key, [], now=clock.now + TWO_WEEKS)
    assert done.scopes == [case_id] and done.kept == {case_id: 2}
    assert count(vault, "SELECT count(*) FROM cases") == 0
    assert count(vault, "SELECT count(*) FROM visit_notes") == 0
    assert count(vault, "SELECT count(*) FROM outbox") == 0
    assert count(vault, "SELECT count(*) FROM leaving_scopes") == 0
    items = {item.record_id: item for item in kept_items(vault)}
    assert set(items) == {case_id, note_id}
    note = items[note_id]
    assert (note.scope, note.table, note.thing) == (case_id, "visit_notes", "visit note")
    assert note.record is not None
    assert note.record["body"]["narrative"] == "Written at the kitchen table."
    assert note.record["plain"]["case_id"] == case_id and "sealed" not in note.record["plain"]
    assert note.why == "It had not reached the server when the case stopped being yours."
    [change] = note.changes
    assert (change["state"], change["reason"]) == ("pending", "")
    assert set(change) == {"state", "reason", "made_at"}
    assert note.kept_at == "2026-12-08T09:30:00.000000+00:00"
    assert items[case_id].thing == "family's case"


def test_a_scope_still_listed_or_without_work_is_never_marked(vault: Vault,
                                                              clock: FakeClock) -> None:
    case_id, note_id = case_with_draft(vault, clock)
    services(vault, clock, WORKER).notes.sign(note_id)
    assert forget(vault, clock, case_id, after=GRACE * 10) == []
    assert count(vault, "SELECT count(*) FROM leaving_scopes") == 0
    assert count(vault, "SELECT count(*) FROM cases") == 1
    db, _ = vault.open_parts()
    assert unsettled(db, case_id)
    db.execute("DELETE FROM outbox")  # everything went up
    assert not unsettled(db, case_id)
    assert forget(vault, clock) == [case_id], "nothing unsettled: at once, signed notes too"
    assert count(vault, "SELECT count(*) FROM visit_notes") == 0
    assert kept_items(vault) == []
    open_case(vault, clock)
    assert count(vault, "SELECT count(*) FROM outbox") == 1, "later changes are sent again"


def test_each_scope_taken_away_is_judged_on_its_own(vault: Vault, clock: FakeClock) -> None:
    """A scope still in its grace period does not hold back another that can go."""
    first = open_case(vault, clock, id=CaseId("a-first")).id
    db, _ = vault.open_parts()
    db.execute("DELETE FROM outbox")
    open_case(vault, clock, id=CaseId("b-waiting"))
    third = open_case(vault, clock, id=CaseId("c-third")).id
    db.execute("DELETE FROM outbox WHERE record_id = ?", [third])
    assert forget(vault, clock) == [first, third]
    assert db.execute("SELECT scope FROM leaving_scopes").fetchall() == [("b-waiting",)]
    assert forget(vault, clock, after=GRACE) == ["b-waiting"]


def test_a_trip_of_ones_own_keeps_the_family_it_names(vault: Vault, clock: FakeClock) -> None:
    """The case goes, its notes with it; the case row stays while the worker's own trip (in
    their ledger, still theirs) names the family."""
    case_id, _ = case_with_draft(vault, clock)
    services(vault, clock, WORKER).mileage.add_trip(make_trip(case_id=case_id))
    db, _ = vault.open_parts()
    db.execute("DELETE FROM outbox")
    assert forget(vault, clock, "ledger:rc-1") == [case_id]
    assert count(vault, "SELECT count(*) FROM visit_notes") == 0
    assert count(vault, "SELECT count(*) FROM cases WHERE id = ?", case_id) == 1
    assert count(vault, "SELECT count(*) FROM trips") == 1


def test_the_family_a_trip_names_keeps_no_open_conflict(vault: Vault, clock: FakeClock) -> None:
    case_id, _ = case_with_draft(vault, clock)
    services(vault, clock, WORKER).mileage.add_trip(make_trip(case_id=case_id))
    db, key = vault.open_parts()
    db.execute("DELETE FROM outbox")
    conflicts = SealedTable(db, key, "sync_conflicts")
    for state in ("open", "resolved"):
        conflicts.insert(record_id=new_id(), body={"reason": state, "theirs": None},
                         plain={"tbl": "cases", "record_id": case_id, "state": state,
                                "created_at": "then"})
    assert forget(vault, clock, "ledger:rc-1") == []
    assert forget(vault, clock, "ledger:rc-1", after=GRACE) == [case_id]
    assert count(vault, "SELECT count(*) FROM cases") == 1
    assert db.execute("SELECT state FROM sync_conflicts").fetchall() == [("resolved",)]
    [kept] = kept_items(vault)
    assert kept.conflicts == [{"reason": "open", "theirs": None}]


def test_a_ledger_no_longer_supervised_goes_with_its_allocations(vault: Vault,
                                                                  clock: FakeClock) -> None:
    services(vault, clock, WORKER).mileage.add_trip(make_trip())
    db, _ = vault.open_parts()
    db.execute("DELETE FROM outbox")
    db.execute("INSERT INTO mileage_allocations VALUES ('rc-1', '2026-11', 't1', '90')")
    db.execute("INSERT INTO mileage_allocations VALUES ('rc-2', '2026-11', 't2', '90')")
    db.execute("INSERT INTO synced VALUES ('trips', 'x', 'ledger:rc-1', 1, 0)")
    db.execute("INSERT INTO sync_inbox VALUES ('trips', 'y', 1, 1, ?, 'key')",
               ['{"scope": "ledger:rc-1"}'])
    db.execute("INSERT INTO sync_inbox VALUES ('trips', 'z', 2, 1, ?, 'key')",
               ['{"scope": "ledger:rc-2"}'])
    assert forget(vault, clock) == ["ledger:rc-1"]
    assert count(vault, "SELECT count(*) FROM trips") == 0
    assert db.execute("SELECT worker_id FROM mileage_allocations").fetchall() == [("rc-2",)]
    assert count(vault, "SELECT count(*) FROM synced") == 0
    assert db.execute("SELECT record_id FROM sync_inbox").fetchall() == [("z",)]


def test_a_scope_listed_again_loses_its_mark(vault: Vault, clock: FakeClock) -> None:
    """Given back and taken away again: the period starts again from the second time."""
    case_id, _ = case_with_draft(vault, clock)
    assert forget(vault, clock) == []
    assert forget(vault, clock, case_id, after=timedelta(days=10)) == []
    assert forget(vault, clock, after=timedelta(days=20)) == []
    assert forget(vault, clock, after=timedelta(days=20) + GRACE - MICRO) == []
    assert forget(vault, clock, after=timedelta(days=20) + GRACE) == [case_id]


def test_refused_set_aside_and_deleted_changes_are_each_kept_with_their_reason(
        vault: Vault, clock: FakeClock) -> None:
    case_id, refused = case_with_draft(vault, clock, "Refused.")
    notes = services(vault, clock, WORKER).notes
    aside = notes.start_draft(case_id, visit_details(narrative="Set aside.")).id
    deleted = notes.start_draft(case_id, visit_details(narrative="Deleted.")).id
    db, _ = vault.open_parts()
    db.execute("DELETE FROM outbox")
    # The deleted draft had reached the server; its deletion had not.
    db.execute("INSERT INTO synced VALUES ('visit_notes', ?, ?, 1, 0)", [deleted, case_id])
    notes.delete_draft(deleted)
    db.execute("INSERT INTO outbox (op_id, tbl, record_id, state, created_at, reason) VALUES "
               "(?, 'visit_notes', ?, 'rejected', 'then', 'no longer on your caseload')",
               [new_id(), refused])
    db.execute("INSERT INTO outbox (op_id, tbl, record_id, state, created_at, reason) VALUES "
               "(?, 'visit_notes', ?, 'quarantined', 'then', 'damaged here')", [new_id(), aside])
    assert forget(vault, clock) == []
    assert forget(vault, clock, after=GRACE) == [case_id]
    items = {item.record_id: item for item in kept_items(vault)}
    assert set(items) == {refused, aside, deleted}
    assert items[refused].why == "The server refused it: no longer on your caseload"
    assert items[aside].why == "It could not be sent: damaged here"
    assert items[deleted].record is None, "a deletion keeps which record it was"
    assert [c["state"] for c in items[deleted].changes] == ["pending"]
    assert count(vault, "SELECT count(*) FROM outbox") == 0
    assert count(vault, "SELECT count(*) FROM synced") == 0


def test_an_open_conflict_is_kept_with_the_other_version(vault: Vault, clock: FakeClock) -> None:
    case_id, note_id = case_with_draft(vault, clock, "Mine.")
    db, key = vault.open_parts()
    db.execute("DELETE FROM outbox")
    theirs = {"plain": {"case_id": case_id}, "body": {"narrative": "Theirs."}, "rev": 2,
              "sealed": "c2VhbGVk", "author": "rc-2"}
    SealedTable(db, key, "sync_conflicts").insert(
        record_id=new_id(), body={"reason": "both edited", "theirs": theirs, "mine": None},
        plain={"tbl": "visit_notes", "record_id": note_id, "state": "open",
               "created_at": "2026-11-02"})
    SealedTable(db, key, "sync_conflicts").insert(
        record_id=new_id(), body={"reason": "settled long ago", "theirs": None, "mine": None},
        plain={"tbl": "visit_notes", "record_id": note_id, "state": "resolved",
               "created_at": "before"})
    SealedTable(db, key, "sync_conflicts").insert(  # kept before the first, found after it
        record_id=new_id(), body={"theirs": None}, plain={
            "tbl": "visit_notes", "record_id": note_id, "state": "open",
            "created_at": "2026-11-01"})
    damaged = new_id()
    SealedTable(db, key, "sync_conflicts").insert(
        record_id=damaged, body={"reason": "x", "theirs": None}, plain={
            "tbl": "visit_notes", "record_id": note_id, "state": "open",
            "created_at": "2026-11-03"})
    db.execute("UPDATE sync_conflicts SET sealed = x'00' WHERE id = ?", [damaged])
    db.execute("INSERT INTO outbox (op_id, tbl, record_id, state, created_at, reason) VALUES "
               "(?, 'visit_notes', ?, 'rejected', 'then', 'not yours')", [new_id(), note_id])
    assert forget(vault, clock) == []
    assert forget(vault, clock, after=GRACE) == [case_id]
    [item] = kept_items(vault)
    assert item.record is not None and item.record["body"]["narrative"] == "Mine."
    assert item.conflicts == [{"reason": "", "theirs": None}, {"reason": "both edited", "theirs": {
        "plain": {"case_id": case_id}, "body": {"narrative": "Theirs."}, "rev": 2,
        "author": "rc-2"}}, {"reason": "This conflict was damaged on this laptop and does not "
                                       "open.", "theirs": None}]
    assert item.why == ("The server refused it: not yours It was in conflict with another "
                        "version, not settled.")
    assert [c["state"] for c in item.changes] == ["rejected"]
    assert count(vault, "SELECT count(*) FROM sync_conflicts") == 0


def test_a_damaged_record_is_kept_as_damaged_not_dropped(vault: Vault, clock: FakeClock) -> None:
    case_id, note_id = case_with_draft(vault, clock)
    db, _ = vault.open_parts()
    db.execute("UPDATE visit_notes SET sealed = x'00' WHERE id = ?", [note_id])
    assert forget(vault, clock) == []
    assert forget(vault, clock, after=GRACE) == [case_id]
    [note] = [i for i in kept_items(vault) if i.record_id == note_id]
    assert note.record is not None
    assert note.record["body"] == {"unreadable": "it was damaged on this laptop and does not open"}
    assert note.record["plain"]["case_id"] == case_id


def test_a_damaged_kept_item_is_shown_not_skipped(vault: Vault, clock: FakeClock) -> None:
    case_with_draft(vault, clock)
    forget(vault, clock)
    forget(vault, clock, after=GRACE)
    db, _ = vault.open_parts()
    db.execute("UPDATE kept_for_you SET sealed = x'00' WHERE rowid = 1")
    first, second = kept_items(vault)
    assert first.why == "This kept item was damaged on this laptop and does not open."
    assert first.record is None and second.record is not None


def item(scope: str, narrative: str = "x") -> KeptItem:
    return KeptItem(scope=scope, table="visit_notes", record_id=new_id(), thing="visit note",
                    why="The server refused it: no", record={"plain": {},
                                                             "body": {"narrative": narrative}},
                    kept_at="2026-11-24T09:30:00.000000+00:00")


@pytest.mark.parametrize(("scopes", "said"), [
    ([], ""),
    (["c1"], "1 change to a case no longer yours was kept for you to export"),
    (["c1", "c1", "c1"], "3 changes to a case no longer yours were kept for you to export"),
    (["c1", "c2"], "2 changes to 2 cases no longer yours were kept for you to export"),
    (["ledger:w1"], "1 change to a mileage ledger no longer yours was kept for you to export"),
    (["c1", "ledger:w1", "ledger:w2"],
     "3 changes to a case and 2 mileage ledgers no longer yours were kept for you to export"),
])
def test_the_sentence_the_person_reads(scopes: list[str], said: str) -> None:
    assert sentence([item(s) for s in scopes]) == said


def test_the_files_hold_everything_and_no_formula_runs() -> None:
    items = [item("c1", "=HYPERLINK(\"http://x\")"), item("c2", "plain")]
    data = render(items, KeptFormat.CSV)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert rows[0] == [WARNING] and rows[1] == [] and rows[2] == list(CSV_COLUMNS)
    assert [r[1] for r in rows[3:]] == ["c1", "c2"]
    assert rows[3][0] == "2026-11-24T09:30:00.000000+00:00"
    assert json.loads(rows[3][5])["body"]["narrative"] == "=HYPERLINK(\"http://x\")"
    assert rows[3][4] == "The server refused it: no" and rows[3][6:] == ["[]", "[]"]
    formula = item("c3")
    formula = KeptItem(**{**formula.__dict__, "why": "=1+1", "record": None})
    [row] = list(csv.reader(render([formula], KeptFormat.CSV).decode("utf-8-sig")
                            .splitlines()))[3:]
    assert row[4] == "'=1+1" and row[5] == ""
    document = json.loads(render(items, KeptFormat.JSON))
    assert document["notice"] == WARNING
    assert [k["record"]["body"]["narrative"] for k in document["kept"]] == [
        "=HYPERLINK(\"http://x\")", "plain"]
    assert document["kept"][0]["why"] == "The server refused it: no"
