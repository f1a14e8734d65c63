"""Work done before joining a server, and families started in the field: a real server, real
profiles, the real protocol.

A profile made offline names its user by a random id; when it joins, its records become the
user's as the server names them, and go up at the next sync, where the server judges each
against the caseload: what does not fit is refused and shown, never dropped. A family a
recovery coordinator starts in the field is a referral: the coordinator's alone, open, until a
supervisor of their team confirms it (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from fieldapp.domain.cases import Case
from fieldapp.domain.errors import NotPermitted
from fieldapp.domain.people import Role
from fieldapp.domain.visits import NoteStatus
from fieldapp.services.enrolment import Enrolment
from fieldapp.services.session import Session
from fieldapp.services.today import today_summary
from fieldapp.storage.paths import ProfilePaths
from sync.client.attention import read_attention
from sync.client.enrol import enrol
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import MONTH, make_trip, services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.insider import Insider, audit_actions
from tests.sync.test_end_to_end import family


def offline_profile(sync_server: SyncServer, name: str, role: Role = Role.RECOVERY_COORDINATOR
                    ) -> Session:
    """A profile made on a laptop that has never seen a server."""
    session = Session(ProfilePaths(sync_server.tmp / name), clock=FakeClock())
    session.create(PASSPHRASE, role=role)
    sync_server.sessions.append(session)
    return session


def join(sync_server: SyncServer, session: Session, user_id: str) -> Enrolment:
    return enrol(session, server_url=sync_server.url, code=sync_server.code(user_id),
                 device_name=f"{user_id}-laptop")


def offline_work(session: Session) -> tuple[Case, str]:
    """A family met in the field, a signed note, trips over the cap and the month submitted."""
    case = services_of(session).cases.open_case(family("field-family", name="Hazel"))
    note = services_of(session).notes.start_draft(case.id, visit_details())
    services_of(session).notes.sign(note.id)
    for day in (3, 4):
        services_of(session).mileage.add_trip(make_trip(trip_date=make_trip().trip_date.replace(day=day),
                                                        miles=Decimal(45), case_id=case.id))
    services_of(session).mileage.submit(MONTH)
    return case, note.id


def rows(session: Session, query: str, *params: Any) -> list[tuple[Any, ...]]:
    db, _ = session.vault().open_parts()
    return [tuple(r) for r in db.execute(query, params).fetchall()]


def test_work_done_before_joining_becomes_the_users_and_reaches_the_server(
        sync_server: SyncServer) -> None:
    sup1 = sync_server.device("sup1-laptop", "sup1")
    rosa = offline_profile(sync_server, "rosa")
    local_id = rosa.actor().user_id
    case, note_id = offline_work(rosa)

    joined = join(sync_server, rosa, "rc1")

    assert joined.adopted == 5  # the case, the note, two trips, the month (its id moves too)
    assert rosa.actor().user_id == "rc1"
    assert rows(rosa, "SELECT author, signed_by, status FROM visit_notes") == [
        ("rc1", "rc1", "signed")]
    assert rows(rosa, "SELECT DISTINCT worker_id FROM trips") == [("rc1",)]
    assert rows(rosa, "SELECT id, worker_id, status FROM mileage_months") == [
        (f"rc1|{MONTH}", "rc1", "submitted")]
    assert rows(rosa, "SELECT coordinator_id, referred_by FROM cases") == [("rc1", "rc1")]
    # The random id is left only in the audit log, which says what became of it.
    db, _ = rosa.vault().open_parts()
    assert {line[:24] for line in db.iterdump() if local_id in line} == {
        'INSERT INTO "audit_log" '}
    assert rows(rosa, "SELECT actor, details FROM audit_log WHERE action LIKE 'records%'")[0][
        0] == "rc1"
    assert services_of(rosa).notes.get(note_id).details.narrative  # still opens: sealed as it was

    assert sync(rosa).verified
    assert read_attention(rosa) == []
    assert sync_server.sql("SELECT coordinator_id, intact_worker_id, referred_by, team_id FROM "
                           "cases WHERE id = ?", case.id) == [("rc1", None, "rc1", "t1")]
    assert sync_server.sql("SELECT count(*) FROM records WHERE author = 'rc1'") == [(5,)]
    assert ("rc1", "case referred", case.id) in audit_actions(sync_server.data_dir)

    # The supervisor receives the family (its key from Rosa's laptop), the note and the month.
    assert sync(sup1).verified
    seen = services_of(sup1).cases.get(case.id)
    assert seen.awaiting_confirmation and seen.referred_by == "rc1"
    assert services_of(sup1).notes.get(note_id).status is NoteStatus.SIGNED
    assert [(m.worker_id, m.month) for m in today_summary(sup1.workspace()).months_awaiting] \
        == [("rc1", MONTH)]


def test_a_supervisor_confirms_a_referral_and_assigns_the_intact_worker(
        sync_server: SyncServer) -> None:
    sup1 = sync_server.device("sup1-laptop", "sup1")
    rc1 = sync_server.device("rc1-laptop", "rc1")
    iw1 = sync_server.device("iw1-laptop", "iw1")
    case = services_of(rc1).cases.open_case(family("walk-in", name="Juniper"))
    assert case.referred_by == "rc1" and case.intact_worker_id is None
    assert sync(rc1).verified and sync(sup1).verified

    # An edit that is not a decision leaves it waiting; confirming ends the wait.
    held = services_of(sup1).cases.get(case.id)
    edited = services_of(sup1).cases.update_case(replace(held, address="14 Elm Street"))
    assert edited.awaiting_confirmation
    assert sync(sup1).verified
    assert sync_server.sql("SELECT referred_by FROM cases WHERE id = ?", case.id) == [("rc1",)]
    confirmed = services_of(sup1).cases.update_case(
        replace(services_of(sup1).cases.get(case.id), intact_worker_id="iw1"), confirm=True)
    assert not confirmed.awaiting_confirmation
    assert sync(sup1).verified
    assert sync_server.sql("SELECT referred_by, intact_worker_id FROM cases WHERE id = ?",
                           case.id) == [(None, "iw1")]
    assert ("sup1", "case confirmed", case.id) in audit_actions(sync_server.data_dir)

    assert sync(rc1).verified and sync(sup1).verified and sync(iw1).verified
    assert not services_of(rc1).cases.get(case.id).awaiting_confirmation
    assert services_of(iw1).cases.get(case.id).family_name == "Juniper"


def test_a_worker_can_no_longer_change_a_confirmed_family(sync_server: SyncServer) -> None:
    sup1 = sync_server.device("sup1-laptop", "sup1")
    rc1 = sync_server.device("rc1-laptop", "rc1")
    case = services_of(rc1).cases.open_case(family("walk-in", name="Juniper"))
    assert sync(rc1).verified and sync(sup1).verified
    services_of(sup1).cases.update_case(services_of(sup1).cases.get(case.id), confirm=True)
    assert sync(sup1).verified and sync(rc1).verified
    with pytest.raises(NotPermitted):
        services_of(rc1).cases.update_case(replace(services_of(rc1).cases.get(case.id),
                                                   address="elsewhere"))


def case_plain(user: str, *, coordinator: str | None, intact: str | None = None,
               status: str = "open", referred_by: str | None = None) -> dict[str, Any]:
    return {"status": status, "coordinator_id": coordinator, "intact_worker_id": intact,
            "supervisor_ids": "[]", "start_date": "2026-11-24", "visits_per_week": 2,
            "updated_at": "2026-11-24T09:30:00+00:00", "referred_by": referred_by}


@pytest.mark.parametrize(("who", "plain", "why"), [
    ("rc1", case_plain("rc1", coordinator="rc1", intact="iw1"), "yours alone"),
    ("rc1", case_plain("rc1", coordinator="rc2"), "yours alone"),
    ("rc1", case_plain("rc1", coordinator="rc1", status="aftercare"), "yours alone"),
    ("iw1", case_plain("iw1", coordinator="rc1"), "yours alone"),
    ("rc2", case_plain("rc2", coordinator="rc2"), None),  # another team: its own referral
])
def test_a_worker_refers_a_family_only_as_their_own(sync_server: SyncServer, who: str,
                                                    plain: dict[str, Any], why: str | None
                                                    ) -> None:
    """Performed through the protocol: what a worker's laptop may send as a new case."""
    mallory = Insider(sync_server.device(f"{who}-laptop", who))
    [answer] = mallory.push(mallory.op("cases", "forged-case", "forged-case", plain,
                                       {"family_name": "X"}))
    if why is None:
        assert answer.outcome == "applied"
        assert sync_server.sql("SELECT referred_by, team_id FROM cases WHERE id = "
                               "'forged-case'") == [(who, "t2")]
    else:
        assert answer.outcome == "rejected" and why in (answer.reason or "")
        assert sync_server.sql("SELECT * FROM cases WHERE id = 'forged-case'") == []


def test_a_referral_stays_a_referral_whatever_the_laptop_says(sync_server: SyncServer
                                                              ) -> None:
    """A coordinator cannot pass a family off as confirmed, nor another worker take it."""
    sup1 = sync_server.device("sup1-laptop", "sup1")
    mallory = Insider(sync_server.device("rc1-laptop", "rc1"))
    [answer] = mallory.push(mallory.op("cases", "sly", "sly", case_plain("rc1",
                                                                          coordinator="rc1")))
    assert answer.outcome == "applied"
    assert sync_server.sql("SELECT referred_by FROM cases WHERE id = 'sly'") == [("rc1",)]
    supervisor = Insider(sup1)
    pulled = supervisor.request("GET", "/v1/sync/pull", params={"since": 0}).json()
    assert [d["stamped"]["referred_by"] for d in pulled["docs"]
            if d["record_id"] == "sly"] == ["rc1"]

    iw1 = Insider(sync_server.device("iw1-laptop", "iw1"))
    [taken] = iw1.push(iw1.op("cases", "sly", "sly", case_plain("iw1", coordinator=None,
                                                                intact="iw1"), base_rev=1))
    assert taken.outcome == "rejected"
    assert sync_server.sql("SELECT coordinator_id, intact_worker_id FROM cases WHERE id = "
                           "'sly'") == [("rc1", None)]


def test_what_does_not_fit_the_caseload_is_shown_and_kept(sync_server: SyncServer) -> None:
    """A family id the server already holds in another team: refused, shown under Needs
    attention with the note that depends on it, and kept on the laptop."""
    sup2 = sync_server.device("sup2-laptop", "sup2")
    theirs = services_of(sup2).cases.open_case(replace(family("taken-id", name="Other"),
                                                       coordinator_id=None, intact_worker_id=None,
                                                       supervisor_ids=()))
    assert sync(sup2).verified
    rosa = offline_profile(sync_server, "rosa")
    mine = services_of(rosa).cases.open_case(family(theirs.id, name="Hazel"))
    services_of(rosa).notes.sign(services_of(rosa).notes.start_draft(mine.id, visit_details()).id)
    join(sync_server, rosa, "rc1")

    sync(rosa)
    refused = {(item.kind, item.table) for item in read_attention(rosa)}
    assert {("refused", "cases"), ("refused", "visit_notes")} <= refused
    assert sync_server.sql("SELECT team_id FROM cases WHERE id = ?", theirs.id) == [("t2",)]
    sync(rosa)  # a second sync does not forget them either
    assert rows(rosa, "SELECT count(*) FROM visit_notes") == [(1,)]
    assert services_of(rosa).cases.get(mine.id).family_name == "Hazel"


def test_a_profile_enrols_only_once(sync_server: SyncServer) -> None:
    rosa = offline_profile(sync_server, "rosa")
    join(sync_server, rosa, "rc1")
    with pytest.raises(Exception, match="already enrolled"):
        join(sync_server, rosa, "rc1")
