"""A malicious member, with a real device token and the public protocol, against a real server
process and real laptops: every attack of the authorization review is refused, and afterwards
the server's tables and every other member's laptop are as they were.

The program (tests/sync/conftest.py): team t1 has rc1, iw1 and sup1; team t2 has rc2 and sup2.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from decimal import Decimal
from typing import Any

from fieldapp.domain.cases import Case
from fieldapp.domain.people import CaseId
from fieldapp.domain.visits import NoteStatus
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.attention import read_attention
from tests.services.records_helpers import MONTH, make_trip, services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.insider import (
    Insider,
    audit_actions,
    laptop_records,
    plant_misplaced_note,
    server_tables,
)
from tests.sync.test_cosupervision import co_supervised
from tests.sync.test_end_to_end import family


def two_families(sync_server: SyncServer) -> tuple[Session, Session, Session, Case, Case]:
    """sup1 opens family A (rc1 and iw1) and family B (iw1 only); rc1 signs a note in A and
    iw1 one in B; rc1 logs a trip and submits the month. Everyone synced."""
    sup1 = sync_server.device("sup1-laptop", "sup1")
    rc1 = sync_server.device("rc1-laptop", "rc1")
    iw1 = sync_server.device("iw1-laptop", "iw1")
    a = services_of(sup1).cases.open_case(family(name="Alder"))
    b = services_of(sup1).cases.open_case(replace(family(name="Birch"), coordinator_id=None))
    assert sync(sup1).verified
    assert sync(rc1).verified and sync(iw1).verified
    services_of(rc1).notes.sign(services_of(rc1).notes.start_draft(a.id, visit_details()).id)
    services_of(iw1).notes.sign(services_of(iw1).notes.start_draft(b.id, visit_details()).id)
    services_of(rc1).mileage.add_trip(make_trip(case_id=a.id, miles=Decimal("12.5"),
                                                round_trip=False))
    services_of(rc1).mileage.submit(MONTH)
    for session in (rc1, iw1, sup1, rc1, iw1):
        assert sync(session).verified
    return sup1, rc1, iw1, a, b


class Untouched:
    """What an attack must leave as it was: the server's tables and the honest laptops."""

    def __init__(self, sync_server: SyncServer, *honest: Session) -> None:
        self.server, self.honest = sync_server, honest
        self.tables = server_tables(sync_server.data_dir)
        self.audit = audit_actions(sync_server.data_dir)
        self.laptops = [laptop_records(s) for s in honest]

    def check(self, attacker: str) -> None:
        assert server_tables(self.server.data_dir) == self.tables
        new = audit_actions(self.server.data_dir)[len(self.audit):]
        assert {(actor, action) for actor, action, _ in new} <= {(attacker, "records pushed")}
        for session, before in zip(self.honest, self.laptops, strict=True):
            report = sync(session)
            assert report.verified and not report.problems
            assert laptop_records(session) == before


def case_plain(case_id: str) -> dict[str, Any]:
    return {"status": "open", "coordinator_id": None, "intact_worker_id": None,
            "supervisor_ids": json.dumps(["sup2"]), "start_date": "2026-11-24",
            "visits_per_week": 2, "updated_at": "2026-11-24T09:30:00+00:00"}


def a_signed_note(session: Session, case_id: CaseId) -> str:
    return str(services_of(session).notes.for_case(case_id)[0].id)


# -- 1. a supervisor takes over another team's worker's mileage ledger -------------------------

def test_a_supervisor_cannot_make_another_teams_ledger_a_case(sync_server: SyncServer) -> None:
    sup1, rc1, _, a, _ = two_families(sync_server)
    sup2 = sync_server.device("sup2-laptop", "sup2")
    assert sync(sup2).verified
    untouched = Untouched(sync_server, rc1, sup1)
    mallory = Insider(sup2)
    ledger = "ledger:rc1"  # wire.ledger_scope, as the attacker spells it

    [answer] = mallory.push(mallory.op("cases", ledger, ledger, case_plain(ledger)))
    assert answer.outcome == "rejected", answer

    assert mallory.request("GET", f"/v1/cases/{ledger}/members").status_code == 404
    assert mallory.request("GET", f"/v1/cases/{ledger}/keys").status_code == 404
    planted = mallory.request("PUT", f"/v1/cases/{ledger}/keys", json={"keys": [
        {"version": 2, "user_id": "rc1", "wrapped_key": "QUJD"}]})
    assert planted.status_code == 404
    page = mallory.request("GET", "/v1/sync/pull", params={"since": 0}).json()
    assert ledger not in page["scopes"]
    assert not [d for d in page["docs"] if d["scope"] == ledger]

    approve = mallory.op("mileage_months", f"rc1|{MONTH}", ledger, {
        "worker_id": "rc1", "month": MONTH, "status": "approved", "submitted_at": None,
        "decided_by": "sup2", "decided_at": "2026-11-24T10:00:00+00:00"}, base_rev=1)
    cosign = mallory.op("note_reviews", "review-by-sup2", ledger, {
        "note_id": a_signed_note(rc1, a.id), "reviewer": "sup2",
        "reviewed_at": "2026-11-24T10:00:00+00:00", "cosigned": 1})
    assert {x.outcome for x in mallory.push(approve, cosign)} == {"rejected"}
    untouched.check("sup2")


def test_a_case_id_cannot_be_a_ledger_anywhere(sync_server: SyncServer) -> None:
    """Case ids and ledgers are apart at the protocol's edge: no case id holds ':'."""
    sup1 = sync_server.device("sup1-laptop", "sup1")
    mallory = Insider(sup1)
    for case_id in ("ledger:rc1", "LEDGER:rc1", "c1:x", "|rc1", ".."):
        op = mallory.op("cases", case_id, case_id, case_plain(case_id))
        response = mallory.request("POST", "/v1/sync/push", json={"ops": [op]})
        if response.status_code == 200:
            assert response.json()["answers"][0]["outcome"] == "rejected", case_id
        else:
            assert response.status_code == 422, case_id
    assert sync_server.sql("SELECT id FROM cases ORDER BY id") == [("c1",)]
    refused = sync_server.sql("SELECT count(*) FROM records")
    assert refused == [(0,)]


# -- 2. records are bound to the scope they travel under ---------------------------------------

def test_a_note_and_an_addendum_naming_a_case_off_the_caseload_are_refused(
        sync_server: SyncServer) -> None:
    sup1, rc1, iw1, a, b = two_families(sync_server)
    mallory = Insider(rc1)
    assert mallory.request("GET", f"/v1/cases/{b.id}").status_code == 404
    untouched = Untouched(sync_server, sup1, iw1)

    note = mallory.op("visit_notes", "note-for-b", a.id, {
        "case_id": b.id, "author": "rc1", "visit_date": "2026-11-23",
        "contact_type": "home visit", "status": "signed", "signed_by": "rc1",
        "signed_at": "2026-11-24T09:00:00+00:00", "late_entry": 0, "next_visit_date": None,
        "updated_at": "2026-11-24T09:00:00+00:00"})
    addendum = mallory.op("addenda", "addendum-for-b", a.id, {
        "note_id": a_signed_note(iw1, b.id), "author": "rc1",
        "created_at": "2026-11-24T09:05:00+00:00"}, {"reason": "correction",
                                                    "text": "The mother relapsed."})
    answers = mallory.push(note, addendum)
    assert [x.outcome for x in answers] == ["rejected", "rejected"], answers
    assert "another case" in str(answers[0].reason)
    untouched.check("rc1")
    assert [n.id for n in services_of(sup1).notes.for_case(b.id)] == [
        n.id for n in services_of(iw1).notes.for_case(b.id)]


def test_a_laptop_sets_aside_a_document_that_names_another_case(sync_server: SyncServer
                                                                 ) -> None:
    """As a server that lies: a note served under case A (and sealed under A's key) that names
    case B is filed nowhere on the supervisor's laptop and shows under Needs attention."""
    sup1, rc1, _, a, b = two_families(sync_server)
    plant_misplaced_note(sync_server, Insider(rc1), a.id, b.id)
    before = laptop_records(sup1)

    report = sync(sup1)
    assert laptop_records(sup1) == before, "nothing was filed"
    assert report.set_aside == 1 and report.verified
    [item] = [i for i in read_attention(sup1) if i.kind == "set aside"]
    assert item.table == "visit_notes" and "another case" in item.reason


# -- 3. co-supervision is not satisfied by one person ------------------------------------------

def test_an_intact_supervisor_cannot_co_sign_as_the_sud_supervisor(sync_server: SyncServer
                                                                     ) -> None:
    intact, worker, sud, case = co_supervised(sync_server)
    note = services_of(worker).notes.sign(
        services_of(worker).notes.start_draft(case.id, visit_details()).id)
    sync(worker)
    sync(intact)
    assert services_of(intact).notes.cosign(note.id).status is NoteStatus.SIGNED
    assert sync(intact).verified

    mallory = Insider(intact)
    claimed = {"note_id": str(note.id), "reviewer": "sup1",
               "reviewed_at": "2026-11-24T11:00:00+00:00", "cosigned": 1}
    in_body = mallory.op("note_reviews", "second-review", str(case.id), claimed,
                         {"comment": "", "capacity": "SUD"})
    in_plain = mallory.op("note_reviews", "third-review", str(case.id),
                          {**claimed, "capacity": "SUD"}, {"comment": "", "capacity": "SUD"})
    first, second = mallory.push(in_body, in_plain)
    assert first.outcome == "applied"  # a review it is, in the capacity the server gives
    assert second.outcome == "rejected"
    stamped = sync_server.sql("SELECT json_extract(plain, '$.capacity') FROM records WHERE "
                              "record_id = 'second-review'")
    assert stamped == [("intact",)]

    for session in (worker, sud, intact):
        assert sync(session).verified
        assert services_of(session).notes.get(note.id).status is NoteStatus.SIGNED
    assert services_of(sud).notes.cosign(note.id).status is NoteStatus.COSIGNED
    sync(sud)
    sync(worker)
    assert services_of(worker).notes.get(note.id).status is NoteStatus.COSIGNED


# -- 4. abuse limits in the records themselves ---------------------------------------------------

def big_draft(mallory: Insider, case_id: str, n: int) -> dict[str, Any]:
    """A draft note whose sealed body is about 230,000 characters (the most one op carries is
    262,144)."""
    return mallory.op("visit_notes", f"big-{n}", case_id, {
        "case_id": case_id, "author": mallory.user_id, "visit_date": "2026-11-23",
        "contact_type": "home visit", "status": "draft", "updated_at": "2026-11-24T09:00:00"},
        {"narrative": "x" * 170_000})


def test_a_member_cannot_fill_the_server_beyond_their_quota(sync_server: SyncServer) -> None:
    from sync.server.store import ServerStore  # noqa: PLC0415 - the administrator's tool

    store = ServerStore(sync_server.data_dir)
    try:
        store.init_program("Riverbend Family Recovery", {**store.program(),
                                                         "storage_quota_mb": 1})
    finally:
        store.close()
    _, rc1, iw1, a, _ = two_families(sync_server)
    mallory = Insider(rc1)
    answers = mallory.push(*(big_draft(mallory, a.id, n) for n in range(5)))
    assert [x.outcome for x in answers] == ["applied"] * 4 + ["rejected"], answers
    assert "storage on the server is full (1 MB)" in str(answers[-1].reason)
    assert sync_server.sql("SELECT count(*) FROM records WHERE record_id = 'big-4'") == [(0,)]
    used = sync_server.sql("SELECT bytes FROM usage WHERE user_id = 'rc1'")[0][0]
    assert used <= 2**20
    assert sync(iw1).verified, "a colleague's work still goes up and comes down"


def test_a_pull_page_stops_at_its_size_not_only_its_count(sync_server: SyncServer) -> None:
    sup1, rc1, _, a, _ = two_families(sync_server)
    mallory = Insider(rc1)
    for batch in range(3):
        mallory.push(*(big_draft(mallory, a.id, 7 * batch + n) for n in range(7)))
    supervisor = Insider(sup1)
    since, pages, seen = 0, 0, 0
    while True:
        page = supervisor.request("GET", "/v1/sync/pull", params={"since": since}).json()
        size = sum(len(d["sealed"] or "") for d in page["docs"])
        assert size <= wire.MAX_PAGE_BYTES or len(page["docs"]) == 1, size
        seen += sum(d["record_id"].startswith("big-") for d in page["docs"])
        pages, since = pages + 1, page["next"]
        if not page["more"]:
            break
    assert seen == 21 and pages >= 2
    assert sync(sup1).verified, "the laptop pulls it all, page by page"


# -- 6. the low findings ---------------------------------------------------------------------

def test_a_supervisor_without_a_team_is_refused_plainly(sync_server: SyncServer) -> None:
    store_user = sync_server.sql("SELECT count(*) FROM users WHERE team_id IS NULL")
    assert store_user == [(0,)]
    from sync.server.store import ServerStore  # noqa: PLC0415 - the administrator's tool

    store = ServerStore(sync_server.data_dir)
    try:
        store.add_user("sup0", "Tess Teamless", "supervisor", None, now="2026-11-24T09:00:00")
    finally:
        store.close()
    mallory = Insider(sync_server.device("sup0-laptop", "sup0"))
    [answer] = mallory.push(mallory.op("cases", "teamless", "teamless", case_plain("x")))
    assert answer.outcome == "rejected" and "not in a team" in str(answer.reason)


def test_case_changes_by_sync_are_audited_with_actor_device_and_subject(
        sync_server: SyncServer) -> None:
    sup1 = sync_server.device("sup1-laptop", "sup1")
    case = services_of(sup1).cases.open_case(family())
    sync(sup1)
    services_of(sup1).cases.update_case(replace(services_of(sup1).cases.get(case.id),
                                                intact_worker_id=None))
    sync(sup1)
    services_of(sup1).cases.update_case(replace(services_of(sup1).cases.get(case.id),
                                                status=type(case.status)("closed")))
    sync(sup1)
    device = sync_server.sql("SELECT id FROM devices WHERE user_id = 'sup1'")[0][0]
    rows = sync_server.sql("SELECT actor, action, subject, details FROM audit WHERE action "
                           "LIKE 'case %' OR action = 'key version added' ORDER BY seq")
    actions = [(actor, action, subject) for actor, action, subject, _ in rows]
    assert actions == [("sup1", "case created", case.id),
                       ("sup1", "key version added", case.id),
                       ("sup1", "case keys shared", case.id),
                       ("sup1", "case assigned", case.id),
                       ("sup1", "case closed", case.id)]
    assert all(json.loads(details)["device"] == device for *_, details in rows)


def test_wire_values_are_never_coerced(sync_server: SyncServer) -> None:
    sup1 = sync_server.device("sup1-laptop", "sup1")
    mallory = Insider(sup1)
    ledger = "ledger:sup1"
    for value in (True, False, 10**27, 1.5, [1], {"a": 1}):
        op = mallory.op("trips", "t-1", ledger, {"worker_id": "sup1", "total_miles": 1})
        op["plain"]["total_miles"] = value
        response = mallory.request("POST", "/v1/sync/push", json={"ops": [op]})
        assert response.status_code == 422, (value, response.text)
        assert response.json()["error"] == "invalid_request"
    for key in ("k" * 65, "Total Miles", "\u202eid", ""):
        op = mallory.op("trips", "t-1", ledger, {"worker_id": "sup1", key: "1"})
        response = mallory.request("POST", "/v1/sync/push", json={"ops": [op]})
        assert response.status_code == 422, (key, response.text)
    assert sync_server.sql("SELECT count(*) FROM records") == [(0,)]


def test_a_wrong_method_keeps_its_allow_header_and_its_name(sync_server: SyncServer) -> None:
    mallory = Insider(sync_server.device("sup1-laptop", "sup1"))
    response = mallory.request("DELETE", "/v1/sync/push")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def test_ready_says_whether_the_program_is_set_up(sync_server: SyncServer) -> None:
    import httpx  # noqa: PLC0415

    with httpx.Client(base_url=sync_server.url, trust_env=False) as client:
        assert client.get("/ready").json()["status"] == "ready"
        conn = sqlite3.connect(sync_server.data_dir / "server.sqlite3")
        with conn:
            conn.execute("DELETE FROM program")
        conn.close()
        response = client.get("/ready")
        assert response.status_code == 503 and response.json()["error"] == "not_initialised"
        assert client.get("/health").status_code == 200, "liveness is not readiness"
