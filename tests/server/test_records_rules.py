"""The server's record rules, in process: `RecordSync` over a real `ServerStore` (real SQLite in
a temporary folder), no HTTP and no server process, so each rule's boundary is a fast test.

Who may write what (the writer check), the referral rules, month decisions, the scope a record
must travel under (`_bound`), the stale-revision and signed-note conflicts, and pull paging. The
end-to-end versions through a running server are in tests/sync/test_insider.py and
test_outcomes.py; these are the same rules at their edges, cheap enough for mutation testing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fieldapp.domain.people import Role
from sync import protocol as wire
from sync.server.records import RecordSync, Scopes
from sync.server.store import ServerStore, User

NOW = "2026-11-20T10:00:00+00:00"
CAP = Decimal("100")
_ids = itertools.count(1)


@dataclass
class World:
    """A program with two teams: north (supervisors sam and sue, coordinator cora, intact
    worker ivan, case n-1 of cora and ivan) and south (coordinator sol, case s-1)."""

    store: ServerStore
    sync: RecordSync

    def who(self, user_id: str) -> User:
        user = self.store.user(user_id)
        assert user is not None
        return user

    def push(self, user_id: str, *ops: wire.Op, quota: int = 10**9) -> list[wire.Answer]:
        return self.sync.push(self.who(user_id), ops, device_id="laptop-1", now=NOW, cap=CAP,
                              quota=quota)

    def one(self, user_id: str, op: wire.Op, quota: int = 10**9) -> wire.Answer:
        return self.push(user_id, op, quota=quota)[0]

    def case(self, case_id: str) -> dict[str, Any]:
        return {c["id"]: c for c in self.store.cases()}[case_id]

    def details(self) -> list[dict[str, Any]]:
        return [json.loads(row[5]) for row in self.store.audit_entries()]

    def actions(self) -> list[str]:
        return [row[3] for row in self.store.audit_entries()]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = ServerStore(tmp_path / "data")
    store.add_team("north", "North team")
    store.add_team("south", "South team")
    for user_id, role, team, supervises in (
            ("sam", Role.SUPERVISOR, "north", "SUD"), ("sue", Role.SUPERVISOR, "north", "intact"),
            ("cora", Role.RECOVERY_COORDINATOR, "north", None),
            ("ivan", Role.INTACT_WORKER, "north", None),
            ("sol", Role.RECOVERY_COORDINATOR, "south", None),
            ("ada", Role.ADMIN, None, None)):
        store.add_user(user_id, user_id.title(), role.value, team, now=NOW, supervises=supervises)
    store.add_case("n-1", team_id="north", coordinator_id="cora", intact_worker_id="ivan",
                   now=NOW)
    store.add_case("s-1", team_id="south", coordinator_id="sol", intact_worker_id=None, now=NOW)
    yield World(store, RecordSync(store))
    store.close()


def op(table: str, record_id: str, scope: str, plain: dict[str, Any], *, base_rev: int = 0,
       deleted: bool = False, sealed: str | None = "c2VhbGVk", op_id: str | None = None) -> wire.Op:
    body = json.dumps([table, record_id, plain, deleted, sealed], sort_keys=True)
    return wire.Op(op_id=op_id or f"op-{next(_ids):012d}-xxxx", table=table, record_id=record_id,
                   scope=scope, base_rev=base_rev, deleted=deleted,
                   plain={} if deleted else plain, key_version=None if deleted else 1,
                   sealed=None if deleted else sealed,
                   payload_hash=hashlib.sha256(body.encode()).hexdigest())


def shown(doc: wire.Doc) -> dict[str, Any]:
    """A document's columns as a laptop applies them: its author's, and the server's stamps."""
    return {**doc.plain, **doc.stamped}


def note(record_id: str, author: str, *, status: str = "draft", base_rev: int = 0,
         case: str = "n-1") -> wire.Op:
    return op("visit_notes", record_id, case, {"case_id": case, "author": author,
                                               "status": status}, base_rev=base_rev)


def trip(record_id: str, worker: str, miles: str, *, month: str = "2026-11",
         day: str = "2026-11-02", base_rev: int = 0) -> wire.Op:
    return op("trips", record_id, wire.ledger_scope(worker),
              {"worker_id": worker, "month": month, "trip_date": day, "total_miles": miles,
               "recorded_at": NOW}, base_rev=base_rev)


def month(worker: str, status: str, *, base_rev: int = 0, decided_by: str | None = None,
          when: str = "2026-11") -> wire.Op:
    plain: dict[str, Any] = {"worker_id": worker, "month": when, "status": status}
    if decided_by is not None:
        plain["decided_by"] = decided_by
    return op("mileage_months", f"{worker}|{when}", wire.ledger_scope(worker), plain,
              base_rev=base_rev)


def case_doc(case_id: str, *, coordinator: str | None, intact: str | None,
             status: str = "open", base_rev: int = 0, **extra: Any) -> wire.Op:
    return op("cases", case_id, case_id, {"coordinator_id": coordinator,
                                          "intact_worker_id": intact, "status": status, **extra},
              base_rev=base_rev)


def rejected(answer: wire.Answer) -> str | None:
    """The reason of a refusal (the answer must be one)."""
    assert answer.outcome == "rejected"
    return answer.reason


AUTHOR_ONLY = "A record can be written only in its author's name."
REFERRAL = ("Only a supervisor sets up or changes a case; a family you start in the field is "
            "yours alone and open until a supervisor confirms it.")


# -- the writer check ----------------------------------------------------------------------------

def test_a_note_is_written_only_in_its_callers_name(world: World) -> None:
    refused = world.one("ivan", note("v-1", "cora"))
    assert (refused.outcome, refused.reason) == ("rejected", AUTHOR_ONLY)
    assert world.one("ivan", note("v-1", "ivan")).outcome == "applied"


def test_only_the_author_changes_their_draft(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    refused = world.one("ivan", note("v-1", "ivan", base_rev=1))
    assert (refused.outcome, refused.reason) == \
        ("rejected", "Only the author of this record can change it.")
    assert refused.theirs is not None and refused.theirs.author == "cora"
    assert world.one("cora", note("v-1", "cora", base_rev=1)).rev == 2


def test_an_addendum_recorded_twice_is_a_conflict_not_a_refusal(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    first = op("addenda", "a-1", "n-1", {"note_id": "v-1", "author": "cora"})
    assert world.one("cora", first).outcome == "applied"
    again = world.one("ivan", op("addenda", "a-1", "n-1", {"note_id": "v-1", "author": "ivan"}))
    assert again.outcome == "conflict" and again.rev == 1
    assert again.reason == ("This was recorded differently on another device first; your "
                            "version is kept beside it for you to review (record it again if "
                            "it still stands).")
    assert again.theirs is not None and again.theirs.author == "cora"
    assert [c[0:4] for c in world.sync.conflict_copies()] == \
        [("addenda", "a-1", again.op_id, "ivan")]


def test_a_deletion_is_judged_by_the_record_it_removes(world: World) -> None:
    world.one("ivan", trip("t-1", "ivan", "10"))
    refused = world.one("sam", op("trips", "t-1", "ledger:ivan", {}, deleted=True, base_rev=1))
    assert (refused.outcome, refused.reason) == ("rejected", AUTHOR_ONLY)
    gone = world.one("ivan", op("trips", "t-2", "ledger:ivan", {}, deleted=True, base_rev=1))
    assert (gone.outcome, gone.reason) == \
        ("gone", "This record is not on the server (it was removed).")
    assert world.one("ivan", op("trips", "t-1", "ledger:ivan", {}, deleted=True,
                                base_rev=1)).outcome == "applied"


def test_only_a_supervisor_reviews_and_never_their_own_note(world: World) -> None:
    world.one("cora", note("v-1", "cora", status="signed"))
    review = {"note_id": "v-1", "reviewer": "ivan"}
    refused = world.one("ivan", op("note_reviews", "r-1", "n-1", review))
    assert rejected(refused) == "Only a supervisor reviews notes and draws schedules."
    assert world.one("sam", op("note_reviews", "r-1", "n-1", {**review, "reviewer": "sam"})
                     ).outcome == "applied"
    world.one("sam", note("v-2", "sam", status="signed"))
    own = world.one("sam", op("note_reviews", "r-2", "n-1", {"note_id": "v-2",
                                                            "reviewer": "sam"}))
    assert (own.outcome, own.reason) == ("rejected", "No one co-signs their own note.")


def test_a_review_counts_only_in_the_reviewers_own_capacity(world: World) -> None:
    world.one("cora", note("v-1", "cora", status="signed"))
    review = {"note_id": "v-1", "reviewer": "sam"}
    refused = world.one("sam", op("note_reviews", "r-1", "n-1", {**review,
                                                                "capacity": "intact"}))
    assert rejected(refused) == ("A review counts in the capacity the program gave its reviewer, "
                              "not in another.")
    assert world.one("sam", op("note_reviews", "r-1", "n-1", {**review, "capacity": "SUD"})
                     ).outcome == "applied"
    world.one("sue", op("note_reviews", "r-2", "n-1", {"note_id": "v-1", "reviewer": "sue"}))
    stamped = {d.record_id: shown(d).get("capacity")
               for d in world.sync.pull(world.who("sue"), 0, limit=100).docs
               if d.table == "note_reviews"}
    assert stamped == {"r-1": "SUD", "r-2": "intact"}


def test_a_schedule_is_drawn_only_by_a_supervisor(world: World) -> None:
    plain = {"case_id": "n-1", "created_by": "cora"}
    refused = world.one("cora", op("random_schedules", "rs-1", "n-1", plain))
    assert rejected(refused) == "Only a supervisor reviews notes and draws schedules."
    assert world.one("sam", op("random_schedules", "rs-1", "n-1", {**plain, "created_by": "sam"})
                     ).outcome == "applied"


# -- admissibility -------------------------------------------------------------------------------

def test_sealed_content_goes_with_its_key_version_or_it_is_a_deletion(world: World) -> None:
    sealed_deletion = note("v-1", "cora").model_copy(update={"deleted": True})
    no_key = note("v-2", "cora").model_copy(update={"key_version": None})
    bare = note("v-3", "cora").model_copy(update={"sealed": None, "key_version": None})
    reason = "A change carries sealed content and its key version, or is a deletion."
    for bad in (sealed_deletion, no_key, bare):
        assert rejected(world.one("cora", bad)) == reason
    addendum = op("addenda", "a-1", "n-1", {}, deleted=True, base_rev=1)
    assert rejected(world.one("cora", addendum)) == "This kind of record is never deleted."


def test_a_record_off_the_caseload_or_moved_elsewhere_is_refused(world: World) -> None:
    refused = world.one("sol", note("v-1", "sol"))
    assert rejected(refused) == ("This record belongs to a case or ledger that is not on your "
                              "caseload.")
    world.one("ivan", trip("t-1", "ivan", "5"))
    moved = world.one("cora", trip("t-1", "cora", "5"))
    assert (moved.outcome, moved.reason, moved.theirs) == \
        ("rejected", "This record belongs elsewhere.", None)


def test_a_deleted_record_stays_deleted_unless_a_note_is_signed(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", op("visit_notes", "v-1", "n-1", {}, deleted=True, base_rev=1))
    edit = world.one("cora", note("v-1", "cora", base_rev=1))
    assert (edit.outcome, edit.reason) == \
        ("gone", "This record was deleted on another device and stays deleted.")
    signed = world.one("cora", note("v-1", "cora", status="signed", base_rev=1))
    assert (signed.outcome, signed.rev) == ("applied", 3)
    assert edit.theirs is None  # a record that is gone is not sent back


def test_an_unknown_record_with_a_base_revision_is_gone(world: World) -> None:
    gone = world.one("cora", note("v-1", "cora", base_rev=1))
    assert (gone.outcome, gone.reason) == \
        ("gone", "This record is not on the server (it was removed).")


# -- where a record belongs (_bound) -------------------------------------------------------------

def test_a_record_travels_under_the_case_its_fields_and_parent_name(world: World) -> None:
    world.store.add_case("n-2", team_id="north", coordinator_id="cora", intact_worker_id=None,
                         now=NOW)
    wrong_case = op("visit_notes", "v-1", "n-1", {"case_id": "n-2", "author": "cora",
                                                  "status": "draft"})
    assert rejected(world.one("cora", wrong_case)) == \
        "This record names another case than the one it was filed under."
    orphan = op("addenda", "a-1", "n-1", {"note_id": "v-9", "author": "cora"})
    assert rejected(world.one("cora", orphan)) == "This record's parent is not on the server."
    world.one("cora", note("v-2", "cora", case="n-2"))
    astray = op("addenda", "a-2", "n-1", {"note_id": "v-2", "author": "cora"})
    assert rejected(world.one("cora", astray)) == "This record's parent belongs to another case."


def test_a_deleted_parent_is_not_on_the_server(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", op("visit_notes", "v-1", "n-1", {}, deleted=True, base_rev=1))
    orphan = op("addenda", "a-1", "n-1", {"note_id": "v-1", "author": "cora"})
    assert rejected(world.one("cora", orphan)) == "This record's parent is not on the server."


def test_a_screens_revisions_stay_in_its_first_case(world: World) -> None:
    world.store.add_case("n-2", team_id="north", coordinator_id="cora", intact_worker_id=None,
                         now=NOW)

    def revision(n: int, case: str) -> wire.Op:
        return op("drug_screen_revisions", f"scr-1/{n}", case,
                  {"screen_id": "scr-1", "revision": n, "recorded_by": "cora"})

    assert world.one("cora", revision(1, "n-1")).outcome == "applied"
    assert rejected(world.one("cora", revision(2, "n-2"))) == \
        "This record continues one that belongs to another case."
    assert world.one("cora", revision(2, "n-1")).outcome == "applied"


# -- conflicts and signed notes ------------------------------------------------------------------

def test_a_stale_edit_is_kept_beside_the_head(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", note("v-1", "cora", base_rev=1))
    stale = world.one("cora", note("v-1", "cora", base_rev=1))
    assert (stale.outcome, stale.rev) == ("conflict", 2)
    assert stale.reason == ("This record changed on another device; both versions are kept "
                            "until you choose.")
    assert [c[4:] for c in world.sync.conflict_copies()] == [(1, 2)]
    assert stale.theirs is not None and stale.theirs.rev == 2


def test_a_signed_note_is_locked(world: World) -> None:
    world.one("cora", note("v-1", "cora", status="signed"))
    edit = world.one("cora", note("v-1", "cora", base_rev=1))
    assert (edit.outcome, edit.reason) == \
        ("rejected", "A signed note is locked; add an addendum instead.")
    assert edit.theirs is not None and edit.theirs.plain["status"] == "signed"
    behind = world.one("cora", note("v-1", "cora", base_rev=0, status="signed"))
    assert (behind.outcome, behind.rev) == ("conflict", 1)
    assert behind.reason == ("This note was signed on another device; your version is kept "
                             "beside it for you to review.")


def test_signing_over_a_changed_draft_keeps_that_draft(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", note("v-1", "cora", base_rev=1))
    signed = world.one("cora", note("v-1", "cora", status="signed", base_rev=1))
    assert (signed.outcome, signed.rev) == ("conflict", 3)
    assert signed.theirs is not None and signed.theirs.rev == 2
    assert signed.reason == ("You signed this note while a draft of it changed on another "
                             "device; that draft is kept for you to review.")
    assert [c[3:] for c in world.sync.conflict_copies()] == [("cora", 1, 2)]


def test_a_repeated_op_gets_its_first_answer_and_a_reused_id_is_set_aside(world: World) -> None:
    first = note("v-1", "cora")
    assert world.one("cora", first).outcome == "applied"
    again = world.one("cora", first)
    assert (again.outcome, again.rev) == ("duplicate", 1)
    assert again.first is not None and again.first.outcome == "applied"
    other = note("v-2", "cora").model_copy(update={"op_id": first.op_id})
    stranger = world.one("ivan", first)
    for answer in (world.one("cora", other), stranger):
        assert (answer.outcome, answer.reason) == \
            ("mismatch", "This change reuses the identity of a different change; it was set "
                         "aside and nothing was altered.")


# -- referrals -----------------------------------------------------------------------------------

def test_a_worker_refers_a_family_assigned_to_them_alone(world: World) -> None:
    assert world.one("cora", case_doc("c-1", coordinator="cora", intact=None)).outcome == \
        "applied"
    assert world.one("ivan", case_doc("c-2", coordinator=None, intact="ivan")).outcome == \
        "applied"
    assert (world.case("c-1")["referred_by"], world.case("c-2")["referred_by"]) == \
        ("cora", "ivan")
    assert world.actions() == ["case referred", "case referred"]
    for bad in (case_doc("c-3", coordinator="cora", intact="ivan"),
                case_doc("c-3", coordinator=None, intact="cora"),
                case_doc("c-3", coordinator="cora", intact=None, status="aftercare")):
        assert rejected(world.one("cora", bad)) == REFERRAL


def test_a_referral_stays_its_workers_until_a_supervisor_confirms_it(world: World) -> None:
    world.one("cora", case_doc("c-1", coordinator="cora", intact=None))
    assert world.one("cora", case_doc("c-1", coordinator="cora", intact=None,
                                      base_rev=1, name="x")).outcome == "applied"
    # An edit by a supervisor that still names the referrer is not yet a decision.
    world.one("sam", case_doc("c-1", coordinator="cora", intact=None, base_rev=2,
                              referred_by="cora"))
    assert world.case("c-1")["referred_by"] == "cora"
    assert world.actions() == ["case referred"]
    world.one("sam", case_doc("c-1", coordinator="cora", intact="ivan", base_rev=3))
    assert world.case("c-1")["referred_by"] is None
    assert world.actions() == ["case referred", "case confirmed", "case assigned"]
    assert world.details()[1:] == [{"device": "laptop-1", "referred_by": "cora"},
                                  {"device": "laptop-1", "coordinator": "cora",
                                   "intact_worker": "ivan", "was": ["cora", None]}]
    refused = world.one("cora", case_doc("c-1", coordinator="cora", intact=None, base_rev=4))
    assert rejected(refused) == ("Only a supervisor changes a case that is confirmed or that "
                              "someone else referred.")


def test_a_worker_cannot_take_over_anothers_referral(world: World) -> None:
    world.store.add_user("cleo", "Cleo", Role.RECOVERY_COORDINATOR.value, "north", now=NOW)
    world.one("cora", case_doc("c-1", coordinator="cora", intact=None))
    refused = world.one("cleo", case_doc("c-1", coordinator="cleo", intact=None, base_rev=1))
    assert rejected(refused) == ("Only a supervisor changes a case that is confirmed or that "
                              "someone else referred.")
    assert world.case("c-1")["coordinator_id"] == "cora"


def test_case_rules_name_team_status_and_assignment(world: World) -> None:
    teamless = world.one("ada", case_doc("c-1", coordinator=None, intact=None))
    assert rejected(teamless) == ("You are not in a team, so you cannot set up or change cases; "
                               "ask your administrator to put you in one.")
    other = world.one("sol", case_doc("n-1", coordinator="sol", intact=None))
    assert rejected(other) == "This case belongs to another team."
    status = world.one("sam", case_doc("c-1", coordinator="cora", intact=None, status="paused"))
    assert rejected(status) == "A case is open, in aftercare or closed."
    wrong = world.one("sam", case_doc("c-1", coordinator="sol", intact=None))
    assert wrong.outcome == "rejected"
    assert "c-1" not in {c["id"] for c in world.store.cases()}
    assert world.actions() == []


def test_a_supervisor_sets_up_and_closes_a_case_with_its_audit(world: World) -> None:
    created = world.one("sam", case_doc("c-1", coordinator="cora", intact=None))
    assert created.outcome == "applied"
    assert world.case("c-1")["referred_by"] is None
    world.one("sam", case_doc("c-1", coordinator="cora", intact=None, status="aftercare",
                              base_rev=1))
    world.one("sam", case_doc("c-1", coordinator="cora", intact=None, status="closed",
                              base_rev=2))
    assert world.actions() == ["case created", "case status", "case closed"]
    assert world.details() == [
        {"device": "laptop-1", "team": "north", "status": "open", "coordinator": "cora",
         "intact_worker": None},
        {"device": "laptop-1", "status": "aftercare", "was": "open"},
        {"device": "laptop-1", "status": "closed", "was": "aftercare"}]
    assert world.case("c-1")["status"] == "closed"
    entry = world.store.audit_entries()[0]
    assert (entry[2], entry[4], json.loads(entry[5])["device"]) == ("sam", "c-1", "laptop-1")


def test_a_case_in_the_same_batch_is_at_once_on_the_caseload(world: World) -> None:
    answers = world.push("sam", case_doc("c-1", coordinator="cora", intact=None),
                         note("v-1", "sam", case="c-1"))
    assert [a.outcome for a in answers] == ["applied", "applied"]


# -- month decisions -----------------------------------------------------------------------------

def test_a_month_is_submitted_by_its_worker_and_decided_by_a_team_supervisor(world: World
                                                                             ) -> None:
    assert world.one("ivan", month("ivan", "submitted")).outcome == "applied"
    not_sam = world.one("sam", month("ivan", "approved", base_rev=1, decided_by="sue"))
    assert rejected(not_sam) == ("This month's mileage is submitted on the server, so it cannot "
                              "be marked approved now.")
    assert world.one("sam", month("ivan", "returned", base_rev=1, decided_by="sam")
                     ).outcome == "applied"
    assert world.one("ivan", month("ivan", "submitted", base_rev=2)).outcome == "applied"
    assert world.one("sam", month("ivan", "approved", base_rev=3, decided_by="sam")
                     ).outcome == "applied"
    again = world.one("ivan", month("ivan", "submitted", base_rev=4))
    assert again.reason == ("This month's mileage is approved on the server, so it cannot be "
                            "marked submitted now.")


def test_a_month_cannot_be_decided_before_it_is_submitted_or_reopened(world: World) -> None:
    early = world.one("sam", month("ivan", "approved", decided_by="sam"))
    assert rejected(early) == ("This month's mileage is open on the server, so it cannot be "
                            "marked approved now.")
    world.one("ivan", month("ivan", "submitted"))
    twice = world.one("ivan", month("ivan", "submitted", base_rev=1))
    assert twice.outcome == "rejected"
    reopen = world.one("sam", month("ivan", "open", base_rev=1, decided_by="sam"))
    assert reopen.outcome == "rejected"


def test_no_one_decides_their_own_month_or_another_teams(world: World) -> None:
    world.one("sam", month("sam", "submitted"))
    own = world.one("sam", month("sam", "approved", base_rev=1, decided_by="sam"))
    assert own.outcome == "rejected"
    assert world.one("sue", month("sam", "approved", base_rev=1, decided_by="sue")
                     ).outcome == "applied"
    world.one("ivan", month("ivan", "submitted"))
    worker = world.one("cora", month("ivan", "approved", base_rev=1, decided_by="cora"))
    assert worker.outcome == "rejected"
    world.store.add_user("stu", "Stu", Role.SUPERVISOR.value, "south", now=NOW)
    world.store.add_user("wes", "Wes", Role.INTACT_WORKER.value, None, now=NOW)
    world.one("wes", month("wes", "submitted"))
    world.one("sol", month("sol", "submitted"))
    assert world.one("stu", month("sol", "approved", base_rev=1, decided_by="stu")
                     ).outcome == "applied"
    assert world.one("stu", month("ivan", "approved", base_rev=1, decided_by="stu")
                     ).outcome == "rejected"


def test_a_submitted_month_locks_its_trips(world: World) -> None:
    assert world.one("ivan", trip("t-1", "ivan", "10")).outcome == "applied"
    world.one("ivan", month("ivan", "submitted"))
    locked = world.one("ivan", trip("t-2", "ivan", "10"))
    assert rejected(locked) == ("The mileage for 2026-11 was already submitted and is locked; ask "
                             "your supervisor to return it.")
    moved = world.one("ivan", trip("t-1", "ivan", "10", month="2026-12", day="2026-12-01",
                                   base_rev=1))
    assert moved.outcome == "rejected"
    removed = world.one("ivan", op("trips", "t-1", "ledger:ivan", {}, deleted=True, base_rev=1))
    assert removed.outcome == "rejected"
    assert world.one("ivan", trip("t-3", "ivan", "10", month="2026-12", day="2026-12-01")
                     ).outcome == "applied"


# -- mileage allocation and the quota ------------------------------------------------------------

def allocation(world: World, worker: str, when: str = "2026-11") -> dict[str, Any]:
    docs = {d.record_id: d for d in world.sync.pull(world.who(worker), 0, limit=1000).docs
            if d.table == wire.ALLOCATIONS}
    return docs[f"{worker}|{when}"].plain


def test_a_month_is_split_at_the_cap_in_trip_order(world: World) -> None:
    world.push("ivan", trip("t-late", "ivan", "70", day="2026-11-09"),
               trip("t-x-early", "ivan", "60", day="2026-11-01"),
               trip("t-bad", "ivan", "-5", day="2026-11-03"))
    plain = allocation(world, "ivan")
    assert plain["reimbursable"] == "100"
    assert json.loads(plain["trips"]) == {"t-x-early": "60", "t-late": "40", "t-bad": "0"}
    pulled = [d for d in world.sync.pull(world.who("ivan"), 0, limit=100).docs
              if d.table == wire.ALLOCATIONS]
    assert [(d.author, d.sealed) for d in pulled] == [("server", None)]
    world.one("ivan", op("trips", "t-x-early", "ledger:ivan", {}, deleted=True, base_rev=1))
    assert json.loads(allocation(world, "ivan")["trips"]) == {"t-late": "70", "t-bad": "0"}


def test_the_quota_is_full_only_beyond_its_last_byte(world: World) -> None:
    size = len("c2VhbGVk")
    assert world.one("cora", note("v-1", "cora"), quota=size).outcome == "applied"
    full = world.one("cora", note("v-2", "cora"), quota=2 * size - 1)
    assert rejected(full) == ("Your storage on the server is full (0 MB); this change is kept on "
                           "this laptop. Ask your administrator.")
    assert world.one("cora", note("v-2", "cora"), quota=2 * size).outcome == "applied"


# -- pull ----------------------------------------------------------------------------------------

def test_a_pull_pages_by_count_and_ends_at_the_top(world: World) -> None:
    for n in range(3):
        world.one("cora", note(f"v-{n}", "cora"))
    world.one("sol", note("s-note", "sol", case="s-1"))
    cora = world.who("cora")
    first = world.sync.pull(cora, 0, limit=2)
    assert ([d.record_id for d in first.docs], first.more) == (["v-0", "v-1"], True)
    assert first.next == first.docs[-1].seq
    rest = world.sync.pull(cora, first.next, limit=2)
    assert ([d.record_id for d in rest.docs], rest.more) == (["v-2"], False)
    assert rest.next == 4  # past sol's note, which cora does not see
    assert world.sync.pull(cora, 4, limit=2).docs == []
    assert world.sync.pull(cora, 7, limit=2).next == 7
    exact = world.sync.pull(cora, 0, limit=3)
    assert (len(exact.docs), exact.more) == (3, False)


def test_an_administrator_pulls_nothing(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    page = world.sync.pull(world.who("ada"), 0, limit=10)
    assert (page.docs, page.next, page.more, page.scopes) == ([], 0, False, [])
    assert world.sync.manifest(world.who("ada")) == []


def test_a_pull_page_stops_at_its_size(world: World) -> None:
    """Up to MAX_PAGE_BYTES of sealed content exactly, and not one character more."""
    full, whole = divmod(wire.MAX_PAGE_BYTES, 4 * wire.MAX_BLOB)
    sizes = [4 * wire.MAX_BLOB] * full + [whole, 1]
    for n, size in enumerate(sizes):
        world.one("cora", op("visit_notes", f"v-{n:02d}", "n-1",
                             {"case_id": "n-1", "author": "cora", "status": "draft"},
                             sealed="A" * size))
    page = world.sync.pull(world.who("cora"), 0, limit=100)
    assert (len(page.docs), page.more) == (full + 1, True)
    assert sum(len(d.sealed or "") for d in page.docs) == wire.MAX_PAGE_BYTES
    rest = world.sync.pull(world.who("cora"), page.next, limit=100)
    assert ([d.record_id for d in rest.docs], rest.more) == ([f"v-{full + 1:02d}"], False)


def test_a_case_document_carries_the_servers_assignment(world: World) -> None:
    world.one("sam", case_doc("c-1", coordinator="cora", intact=None))
    world.store.add_case("c-2", team_id="north", coordinator_id="cora", intact_worker_id=None,
                         now=NOW)
    docs = {d.record_id: d for d in world.sync.pull(world.who("cora"), 0, limit=10).docs}
    assert docs["c-1"].stamped["supervisor_ids"] == json.dumps(["sam", "sue"])
    assert docs["c-1"].stamped["referred_by"] is None
    assert "supervisor_ids" not in docs["c-1"].plain  # what the author signed stays as sent
    digest = world.sync.digest(world.who("cora"))
    assert digest == wire.digest_of([("cases", "c-1", 1)])
    assert [e.record_id for e in world.sync.manifest(world.who("cora"))] == ["c-1"]


# -- more edges: the batch's own caseload, assignment, disclosures, keys, touched cases --------

def test_a_case_set_up_with_both_workers_is_audited_with_both(world: World) -> None:
    world.one("sam", case_doc("c-1", coordinator="cora", intact="ivan"))
    assert world.details() == [{"device": "laptop-1", "team": "north", "status": "open",
                                "coordinator": "cora", "intact_worker": "ivan"}]


def test_a_case_set_up_in_a_batch_serves_the_rest_of_it(world: World) -> None:
    answers = world.push("sam", case_doc("c-1", coordinator="cora", intact=None),
                         op("random_schedules", "rs-1", "c-1", {"case_id": "c-1",
                                                                "created_by": "sam"}),
                         case_doc("c-1", coordinator="cora", intact=None, status="paused",
                                  base_rev=1))
    assert [a.outcome for a in answers] == ["applied", "applied", "rejected"]
    theirs = answers[2].theirs
    assert theirs is not None
    assert (shown(theirs)["coordinator_id"], shown(theirs)["intact_worker_id"],
            shown(theirs)["referred_by"]) == ("cora", None, None)


def test_a_case_is_assigned_only_to_its_teams_workers(world: World) -> None:
    wrong = world.one("sam", case_doc("c-1", coordinator=None, intact="sol"))
    assert rejected(wrong) == "sol is not a intact worker in team north."
    wrong = world.one("sam", case_doc("c-1", coordinator="ivan", intact=None))
    assert rejected(wrong) == "ivan is not a recovery coordinator in team north."


def test_a_referral_is_sent_with_its_referrer(world: World) -> None:
    world.one("cora", case_doc("c-1", coordinator="cora", intact=None))
    world.one("cora", note("c-1", "cora"))  # a note that happens to share the case's id
    docs = {(d.table, d.record_id): d for d in world.sync.pull(world.who("cora"), 0,
                                                                limit=10).docs}
    case = shown(docs[("cases", "c-1")])
    assert (case["coordinator_id"], case["intact_worker_id"], case["referred_by"]) == \
        ("cora", None, "cora")
    assert "coordinator_id" not in docs[("visit_notes", "c-1")].plain


def test_a_disclosure_is_corroborated_in_the_servers_audit(world: World) -> None:
    plain = {"case_id": "n-1", "disclosed_by": "cora", "disclosed_at": "2026-11-19"}
    assert world.one("cora", op("disclosures", "d-1", "n-1", plain)).outcome == "applied"
    world.one("cora", op("disclosures", "d-1", "n-1", plain, base_rev=1))
    entries = world.store.audit_entries()
    assert [(e[1], e[2], e[3], e[4]) for e in entries] == [(NOW, "cora", "disclosure", "d-1")]
    assert json.loads(entries[0][5]) == {"case": "n-1", "at": "2026-11-19"}


def test_a_month_gets_its_allocation_even_without_trips(world: World) -> None:
    world.one("ivan", month("ivan", "submitted"))
    assert allocation(world, "ivan") == {"worker_id": "ivan", "month": "2026-11", "cap": "100",
                                         "reimbursable": "0", "trips": "{}"}


def test_an_allocation_orders_by_date_then_recording_and_counts_no_bad_miles(world: World
                                                                            ) -> None:
    def at(record_id: str, miles: str, recorded: str) -> wire.Op:
        made = trip(record_id, "ivan", miles, day="2026-11-05")
        return made.model_copy(update={"plain": {**made.plain, "recorded_at": recorded}})

    world.push("ivan", at("t-a", "60", "2026-11-05T12:00"), at("t-b", "60", "2026-11-05T09:00"),
               at("t-c", "0.5", "2026-11-01T00:00"), at("t-d", "many", "2026-11-01T00:00"))
    assert json.loads(allocation(world, "ivan")["trips"]) == \
        {"t-c": "0.5", "t-d": "0", "t-b": "60", "t-a": "39.5"}
    pulled = [d for d in world.sync.pull(world.who("ivan"), 0, limit=100).docs
              if d.table == wire.ALLOCATIONS]
    assert [(d.record_id, d.rev) for d in pulled] == [("ivan|2026-11", 1)]
    world.one("ivan", trip("t-e", "ivan", "1", day="2026-11-20"))
    world.one("ivan", trip("t-f", "ivan", "1", month="2026-12", day="2026-12-01"))
    revs = {d.record_id: d.rev for d in world.sync.pull(world.who("ivan"), 0, limit=100).docs
            if d.table == wire.ALLOCATIONS}
    assert revs == {"ivan|2026-11": 2, "ivan|2026-12": 1}


def test_a_deleted_trip_reallocates_only_its_month(world: World) -> None:
    world.one("ivan", trip("t-1", "ivan", "5"))
    world.one("ivan", op("trips", "t-1", "ledger:ivan", {}, deleted=True, base_rev=1))
    ids = {d.record_id for d in world.sync.pull(world.who("ivan"), 0, limit=100).docs
           if d.table == wire.ALLOCATIONS}
    assert ids == {"ivan|2026-11"}
    assert allocation(world, "ivan")["reimbursable"] == "0"


def test_a_full_storage_names_its_size(world: World) -> None:
    size = 4 * wire.MAX_BLOB
    quota = 3 * 2**20
    for n in range(quota // size):
        assert world.one("cora", note(f"v-{n}", "cora").model_copy(
            update={"sealed": "A" * size}), quota=quota).outcome == "applied"
    full = world.one("cora", note("v-x", "cora").model_copy(update={"sealed": "A"}),
                     quota=quota)
    assert rejected(full) == ("Your storage on the server is full (3 MB); this change is kept "
                              "on this laptop. Ask your administrator.")


def enrol(world: World, *user_ids: str) -> None:
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    for user_id in user_ids:
        code = world.store.create_code(user_id, now=when)
        world.store.enrol(code, device_name=f"{user_id}'s laptop", public_key="cHVibGlj",
                          wrapped_private_key="d3JhcHBlZA==", now=when)


def test_a_pull_says_which_keys_a_member_still_lacks(world: World) -> None:
    enrol(world, "cora", "ivan", "sam")
    world.store.put_keys("ledger:ivan", [(1, "ivan", "aw==", None)], uploader="ivan")
    assert world.sync.pull(world.who("ivan"), 0, limit=10).needs_keys == ["ledger:ivan"]
    world.store.put_keys("ledger:ivan", [(1, "sam", "aw==", None)], uploader="ivan")
    assert world.sync.pull(world.who("ivan"), 0, limit=10).needs_keys == []
    world.store.put_keys("n-1", [(1, "cora", "aw==", None), (1, "sam", "aw==", None)],
                         uploader="cora")
    assert world.sync.pull(world.who("cora"), 0, limit=10).needs_keys == ["n-1"]
    assert world.sync.pull(world.who("ivan"), 0, limit=10).needs_keys == []
    world.store.put_keys("n-1", [(1, "ivan", "aw==", None)], uploader="cora")
    assert world.sync.pull(world.who("cora"), 0, limit=10).needs_keys == []
    world.store.put_keys("n-1", [(2, "cora", "aw==", None)], uploader="cora")
    assert world.sync.pull(world.who("cora"), 0, limit=10).needs_keys == ["n-1"]
    assert world.sync.pull(world.who("sam"), 0, limit=10).needs_keys == []  # not the newest


def test_a_case_key_is_wanted_only_by_its_members(world: World) -> None:
    enrol(world, "cora", "sam", "sol")
    world.store.put_keys("n-1", [(1, "cora", "aw==", None), (1, "sam", "aw==", None)],
                         uploader="cora")
    world.store.put_keys("s-1", [(1, "sol", "aw==", None)], uploader="sol")
    assert world.sync.pull(world.who("cora"), 0, limit=10).needs_keys == []
    assert world.sync.pull(world.who("sol"), 0, limit=10).needs_keys == []
    world.store.put_keys("ledger:sam", [(1, "sam", "aw==", None)], uploader="sam")
    assert world.sync.pull(world.who("sam"), 0, limit=10).needs_keys == []


def test_a_touched_case_is_sent_again(world: World) -> None:
    world.one("sam", case_doc("c-1", coordinator="cora", intact=None))
    world.one("cora", note("v-1", "cora"))
    world.sync.touch_case("c-1")
    world.sync.touch_case("n-1")  # no document yet: nothing to send
    page = world.sync.pull(world.who("cora"), 2, limit=10)
    assert [(d.table, d.record_id, d.rev, d.seq) for d in page.docs] == [("cases", "c-1", 2, 3)]
    assert page.scopes == ["c-1", "n-1", "ledger:cora"]


def test_a_first_pull_of_an_empty_server_starts_at_zero(world: World) -> None:
    assert world.sync.pull(world.who("cora"), 0, limit=10).next == 0


def test_a_case_document_without_an_assignment_gets_the_servers(world: World) -> None:
    world.one("sam", op("cases", "c-1", "c-1", {"status": "open"}))
    world.one("cora", note("v-1", "cora"))
    docs = {d.record_id: d for d in world.sync.pull(world.who("sam"), 0, limit=10).docs}
    assert (shown(docs["c-1"])["coordinator_id"], shown(docs["c-1"])["intact_worker_id"]) == \
        (None, None)
    assert (docs["v-1"].key_version, docs["v-1"].sealed) == (1, "c2VhbGVk")


def test_a_referral_refused_in_its_own_batch_comes_back_as_referred(world: World) -> None:
    answers = world.push("cora", case_doc("c-1", coordinator="cora", intact=None),
                         case_doc("c-1", coordinator="cora", intact="ivan", base_rev=1))
    theirs = answers[1].theirs
    assert theirs is not None and shown(theirs)["referred_by"] == "cora"


def test_the_manifest_marks_deletions(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", op("visit_notes", "v-1", "n-1", {}, deleted=True, base_rev=1))
    assert [(e.record_id, e.rev, e.deleted) for e in world.sync.manifest(world.who("cora"))] == \
        [("v-1", 2, True)]


def test_a_key_this_member_does_not_hold_is_skipped_not_the_rest(world: World) -> None:
    enrol(world, "cora", "sam")
    world.store.put_keys("n-1", [(1, "sam", "aw==", None)], uploader="sam")
    world.store.put_keys("ledger:cora", [(1, "cora", "aw==", None)], uploader="cora")
    assert world.sync.pull(world.who("cora"), 0, limit=10).needs_keys == ["ledger:cora"]


def test_a_conflict_copy_keeps_what_was_typed(world: World) -> None:
    world.one("cora", note("v-1", "cora"))
    world.one("cora", note("v-1", "cora", base_rev=1))
    world.one("cora", note("v-1", "cora", status="signed", base_rev=1))  # keeps the head's draft
    world.one("cora", note("v-1", "cora", base_rev=1))  # a stale edit of a signed note
    with world.store.unit() as db:
        kept = [json.loads(r[0]) for r in db.execute(
            "SELECT plain FROM conflict_copies ORDER BY id")]
    assert kept == [{"case_id": "n-1", "author": "cora", "status": "draft"}] * 2


def test_anything_else_than_a_scope_is_in_no_ones_scopes() -> None:
    assert "not a scope!" not in Scopes({}, {"not a scope!"})


def test_an_unexpected_error_undoes_the_op_and_reaches_the_caller(world: World) -> None:
    first = note("v-1", "cora")
    world.one("cora", first)
    with world.store.unit() as db:
        db.execute("UPDATE ops SET answer = 'not an answer' WHERE op_id = ?", [first.op_id])
    with pytest.raises(ValidationError):
        world.push("cora", note("v-2", "cora"), first)
    assert [e.record_id for e in world.sync.manifest(world.who("cora"))] == ["v-1"]
