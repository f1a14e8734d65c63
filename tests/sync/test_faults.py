"""Sync through a broken network: every fault our proxy can make (a dropped request, a response
lost after the server committed, an answer later than the client waits, a gateway error, a body
cut short, a request delivered twice, a 200 that is not the protocol) at every step of a sync
(the program, push, pull, digest, and fetching and sharing keys). Whatever happens, a later sync
on a sound network loses nothing and doubles nothing, both laptops converge with the server,
and the pull checkpoint never claims data this laptop does not hold.

One server, one proxy and one pair of enrolled laptops (supervisor sup1, worker rc1, both
through the proxy) serve the whole module, because enrolling a laptop costs two key derivations;
every test works on cases of its own, set up at its start on a sound network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.mileage import Trip
from fieldapp.domain.people import CaseId, UserId, new_id
from fieldapp.domain.screens import DrugScreen
from fieldapp.domain.visits import VisitNote
from fieldapp.services import enrolment
from fieldapp.services.enrolment import ServerUnreachable
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.engine import SyncReport, replica_of
from sync.client.http import Backoff
from sync.server.store import ServerStore
from tests.services.records_helpers import (
    MONTH,
    TODAY,
    drug_screen,
    make_trip,
    services_of,
    visit_details,
)
from tests.sync.conftest import SyncServer, engine, prepare, serve, sync
from tests.sync.faultproxy import Fault, FaultProxy, Rule

TIMEOUT = 0.5                 # the client's timeout while the network is bad
LATE = TIMEOUT + 0.25         # a late answer: just past it
ATTEMPTS = 2                  # tries of one request before a sync gives up
FLAKY = Backoff(attempts=ATTEMPTS, base=0.01, cap=0.02)
CAP = Decimal(150)


@dataclass(frozen=True)
class Step:
    method: str
    prefix: str
    suffix: str = ""
    who: str = "rc"           # whose request breaks: the worker's are the richest


STEPS = {
    "program": Step("GET", "/v1/program"),
    "push": Step("POST", "/v1/sync/push"),
    "pull": Step("GET", "/v1/sync/pull"),
    "digest": Step("GET", "/v1/sync/digest"),
    "get keys": Step("GET", "/v1/cases/", "/keys"),         # the worker fetches a new case's key
    "put keys": Step("PUT", "/v1/cases/", "/keys", "sup"),  # the supervisor shares it
}
FAULTS: dict[str, dict[str, Any]] = {
    "dropped request": {"fault": Fault.DROP_REQUEST},
    "dropped response": {"fault": Fault.DROP_RESPONSE},
    "late": {"fault": Fault.DELAY, "delay": LATE},
    "gateway error": {"fault": Fault.STATUS},
    "truncated": {"fault": Fault.TRUNCATE},
    "delivered twice": {"fault": Fault.TWICE},
    "malformed 200": {"fault": Fault.MALFORMED},
}
GATEWAY = (500, 502, 503)
# How many times the server gets a request the matrix breaks; after all but the first two, the
# client never had a whole answer from the server, so its retry reaches the server again.
DELIVERIES = {Fault.DROP_REQUEST: 0, Fault.STATUS: 0, Fault.DROP_RESPONSE: 1, Fault.DELAY: 1,
              Fault.TRUNCATE: 1, Fault.MALFORMED: 1, Fault.TWICE: 2}


@dataclass
class Field:
    """The module's server, proxy and laptops."""

    server: SyncServer
    proxy: FaultProxy
    sup: Session
    rc: Session
    direct: httpx.Client      # to the server itself, bypassing the proxy

    def session(self, who: str) -> Session:
        return self.sup if who == "sup" else self.rc

    def token(self, who: str) -> str:
        return token_of(self.session(who))


def token_of(session: Session) -> str:
    enrolled = enrolment.enrolment_of(session)
    assert enrolled is not None
    return str(enrolled["device_token"])


@dataclass(frozen=True)
class Work:
    """What one test typed on the two laptops while offline, to find everywhere afterwards."""

    case_a: Case
    case_b: Case
    signed: VisitNote
    draft: VisitNote
    screen: DrugScreen
    trips: tuple[Trip, ...]
    audit_from: int

    def expected(self) -> dict[str, int]:
        return {"cases": 2, "visit_notes": 2, "addenda": 1, "drug_screen_revisions": 1,
                "random_schedules": 1, "trips": len(self.trips)}


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Field]:
    tmp = tmp_path_factory.mktemp("faults")
    prepare(tmp / "server")
    with serve(tmp / "server", tmp / "logs") as (url, process), FaultProxy(url) as proxy, \
            httpx.Client(base_url=url, trust_env=False) as direct:
        server = SyncServer(url=url, data_dir=tmp / "server", tmp=tmp, process=process)
        try:
            sup = server.device("sup-laptop", "sup1", url=proxy.url)
            rc = server.device("rc-laptop", "rc1", url=proxy.url)
            # The worker's mileage ledger gets its key now, so every test meets the same steps.
            services_of(rc).mileage.add_trip(make_trip(miles=Decimal(1), round_trip=False))
            assert sync(rc).verified and sync(sup).verified
            yield Field(server, proxy, sup, rc, direct)
        finally:
            for session in server.sessions:
                if session.is_open:
                    session.lock()


@pytest.fixture
def net(field: Field) -> Iterator[Field]:
    field.proxy.clear()
    yield field
    field.proxy.clear()
    field.proxy.wait_idle()


# -- the day's work ----------------------------------------------------------------------------

def family(name: str) -> Case:
    return Case(id=CaseId(new_id()), family_name=name,
                parents=(Person(name=f"{name} parent", relationship="father",
                                details="in recovery"),),
                children=(Person(name=f"{name} child", relationship="daughter",
                                 details="age 4"),),
                address="3 Mill Lane, Springfield", coordinator_id=UserId("rc1"),
                intact_worker_id=None, supervisor_ids=(UserId("sup1"),), start_date=TODAY,
                visits_per_week=1)


def offline_day(field: Field, tag: str) -> Work:
    """On a sound network the supervisor sets up case A for the worker; then, offline, the worker
    writes two visits (one signed with an addendum, one draft saved twice), records a screen
    and two trips, while the supervisor sets up case B for the worker and draws a schedule."""
    sup, rc = field.sup, field.rc
    case_a = services_of(sup).cases.open_case(family(f"Ash {tag}"))
    assert sync(sup).verified and sync(rc).verified
    audit_from = field.server.sql("SELECT coalesce(max(seq), 0) FROM audit")[0][0]

    signed = services_of(rc).notes.start_draft(case_a.id,
                                               visit_details(narrative=f"Signed visit {tag}."))
    services_of(rc).notes.sign(signed.id)
    services_of(rc).notes.add_addendum(signed.id, reason="late detail", text=f"Addendum {tag}.")
    draft = services_of(rc).notes.start_draft(case_a.id, visit_details(narrative="First words."))
    draft = services_of(rc).notes.save_draft(
        draft.id, visit_details(narrative=f"Draft visit {tag}."), expected_revision=draft.revision)
    screen = services_of(rc).screens.record(drug_screen(case_a.id, person=f"Ash {tag} parent"))
    trips = (services_of(rc).mileage.add_trip(make_trip(case_id=case_a.id, miles=Decimal("12.5"))),
             services_of(rc).mileage.add_trip(make_trip(case_id=case_a.id, miles=Decimal("7.25"),
                                                        round_trip=False)))
    case_b = services_of(sup).cases.open_case(family(f"Birch {tag}"))
    services_of(sup).screens.draw_schedule(case_a.id, first_day=date(2026, 12, 1),
                                           last_day=date(2026, 12, 31))
    return Work(case_a, case_b, services_of(rc).notes.get(signed.id),
                services_of(rc).notes.get(draft.id), screen, trips, audit_from)


def run_into(field: Field, *rules: Rule) -> dict[str, SyncReport | ServerUnreachable]:
    """Both laptops sync while the rules hold: the supervisor first, then the worker. A sync may
    give up (the server is unreachable) but never run its checkpoint ahead."""
    field.proxy.script(*rules)
    results: dict[str, SyncReport | ServerUnreachable] = {}
    for who in ("sup", "rc"):
        try:
            results[who] = engine(field.session(who), timeout=TIMEOUT, backoff=FLAKY).sync()
        except ServerUnreachable as exc:
            results[who] = exc
        assert_checkpoint_covered(field, who)
    field.proxy.clear()
    return results


def recover(field: Field) -> None:
    """A sound network again: the worker, the supervisor, the worker; all verified."""
    for who in ("rc", "sup", "rc"):
        report = sync(field.session(who))
        assert report.verified, who
        assert (report.waiting, report.conflicts, report.problems) == (0, 0, 0), who
        assert_checkpoint_covered(field, who)
    field.proxy.wait_idle()  # a late request may still have been on its way to the server


# -- what must hold afterwards -----------------------------------------------------------------

def visible_records(field: Field, who: str, *, up_to: int) -> list[tuple[Any, ...]]:
    """The server's records the user may read, with seq <= `up_to` (the server's own rules:
    a worker reads assigned cases and their ledger, a supervisor the team's)."""
    user = "sup1" if who == "sup" else "rc1"
    return field.server.sql(
        "SELECT tbl, record_id, rev FROM records WHERE seq <= ?1 AND deleted = 0 AND ("
        "scope IN (SELECT id FROM cases WHERE ?2 IN (coordinator_id, intact_worker_id) OR "
        "team_id = (SELECT team_id FROM users WHERE id = ?2 AND role = 'supervisor')) OR "
        "scope = 'ledger:' || ?2 OR scope IN (SELECT 'ledger:' || id FROM users WHERE team_id = "
        "(SELECT team_id FROM users WHERE id = ?2 AND role = 'supervisor')))", up_to, user)


def assert_checkpoint_covered(field: Field, who: str) -> None:
    """Everything at or below the checkpoint is here, at its revision or later (or waiting)."""
    replica = replica_of(field.session(who))
    held = {(t, r): int(v) for t, r, v in replica.db.execute(
        "SELECT tbl, record_id, rev FROM synced UNION ALL "
        "SELECT tbl, record_id, rev FROM sync_inbox").fetchall()}
    waiting = {(t, r) for t, r in replica.db.execute(
        "SELECT tbl, record_id FROM outbox UNION SELECT tbl, record_id FROM sync_conflicts "
        "WHERE state = 'open'").fetchall()}
    behind = [(t, r, v) for t, r, v in visible_records(field, who, up_to=replica.checkpoint())
              if held.get((t, r), 0) < v and (t, r) not in waiting]
    assert not behind, f"{who}'s checkpoint {replica.checkpoint()} runs ahead of {behind}"


def server_digest(field: Field, who: str) -> wire.Digest:
    # Straight to the server, not through the proxy.
    response = field.direct.get("/v1/sync/digest",
                                headers={"Authorization": f"Bearer {field.token(who)}"})
    return wire.Digest.model_validate(response.json())


def assert_everything_once(field: Field, work: Work) -> None:
    server = field.server
    scopes = (work.case_a.id, work.case_b.id)
    counts = dict(server.sql("SELECT tbl, count(*) FROM records WHERE scope IN (?, ?) "
                             "GROUP BY tbl", *scopes))
    counts["trips"] = server.sql("SELECT count(*) FROM records WHERE tbl = 'trips' AND "
                                 "record_id IN (?, ?)", *(t.id for t in work.trips))[0][0]
    assert counts == work.expected()
    # An op delivered again was answered from `ops`, never applied a second time.
    assert server.sql("SELECT op_id FROM record_history GROUP BY op_id HAVING count(*) > 1") == []
    assert server.sql("SELECT count(*) FROM conflict_copies") == [(0,)]
    for (plain,) in server.sql("SELECT plain FROM records WHERE tbl = ?", wire.ALLOCATIONS):
        assert Decimal(json.loads(plain)["reimbursable"]) <= CAP


def assert_converged(field: Field, work: Work) -> None:
    for who in ("sup", "rc"):
        assert replica_of(field.session(who)).digest() == server_digest(field, who), who
    sup, rc = field.sup, field.rc
    seen = services_of(sup).notes.get(work.signed.id)
    assert seen.details.narrative == work.signed.details.narrative
    assert [a.text for a in seen.addenda] == [a.text for a in work.signed.addenda]
    assert services_of(sup).notes.get(work.draft.id).details == work.draft.details
    assert services_of(sup).screens.current(work.screen.id).results == work.screen.results
    month = services_of(sup).mileage.month(MONTH, worker_id=UserId("rc1"))
    miles = {a.trip.id: a.trip.total_miles for a in month.allocations}
    assert [miles.get(t.id) for t in work.trips] == [t.total_miles for t in work.trips]
    caseload = {row.case.id for row in services_of(rc).cases.caseload()}
    assert {work.case_a.id, work.case_b.id} <= caseload
    assert len(services_of(rc).screens.schedules(work.case_a.id)) == 1
    # The worker's own words are untouched on the worker's laptop too.
    assert services_of(rc).notes.get(work.draft.id).details == work.draft.details


def pushes_answered_as_duplicates(field: Field, work: Work) -> int:
    return sum(json.loads(details).get("duplicate", 0) for (details,) in
               field.server.sql("SELECT details FROM audit WHERE seq > ? AND action = "
                                "'records pushed'", work.audit_from))


# -- the matrix --------------------------------------------------------------------------------

MATRIX = [pytest.param(step, fault, id=f"{step}-{fault}") for step in STEPS for fault in FAULTS]


@pytest.mark.slow
@pytest.mark.parametrize(("step", "fault"), MATRIX)
def test_a_sync_broken_at_any_step_recovers(net: Field, step: str, fault: str) -> None:
    where = STEPS[step]
    options = dict(FAULTS[fault])
    if options["fault"] is Fault.STATUS:
        options["status"] = GATEWAY[list(STEPS).index(step) % len(GATEWAY)]
    rule = Rule(method=where.method, prefix=where.prefix, suffix=where.suffix,
                device=net.token(where.who), times=ATTEMPTS, **options)
    work = offline_day(net, f"{step} {fault}")

    results = run_into(net, rule)
    met = results[where.who]
    if rule.fault is Fault.TWICE:
        # A request delivered twice still gets an answer: nothing to retry, nothing doubled.
        assert net.proxy.hits[0] >= 1
        assert isinstance(met, SyncReport) and met.verified
    else:
        # Every try of the broken request failed, so the sync that met it gave up.
        assert net.proxy.hits == [ATTEMPTS]
        assert isinstance(met, ServerUnreachable)

    recover(net)
    assert {e.forwarded for e in net.proxy.faulted()} == {DELIVERIES[rule.fault]}
    assert_everything_once(net, work)
    assert_converged(net, work)
    if step == "push" and DELIVERIES[rule.fault]:
        # The server saw the push again (or twice): it answered from `ops` the second time.
        assert pushes_answered_as_duplicates(net, work) > 0


# -- one of each fault at every step, in a single sync: the retries absorb them ---------------

ONCE: dict[str, dict[str, Any]] = {
    "dropped request": {"fault": Fault.DROP_REQUEST},
    "dropped response": {"fault": Fault.DROP_RESPONSE},
    "late, never delivered": {"fault": Fault.DELAY, "delay": LATE, "forward": False},
    "gateway error": {"fault": Fault.STATUS},
    "truncated": {"fault": Fault.TRUNCATE},
    "delivered twice": {"fault": Fault.TWICE},
    "malformed 200, never delivered": {"fault": Fault.MALFORMED, "forward": False},
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", ONCE)
def test_one_fault_at_every_step_is_absorbed_by_retries(net: Field, fault: str) -> None:
    rules = [Rule(method=s.method, prefix=s.prefix, suffix=s.suffix, device=net.token(s.who),
                  **{"status": GATEWAY[i % len(GATEWAY)], **ONCE[fault]})
             for i, s in enumerate(STEPS.values())]
    work = offline_day(net, f"once {fault}")

    results = run_into(net, *rules)
    assert net.proxy.hits == [1] * len(rules), "every step met its fault once"
    for who, result in results.items():
        assert isinstance(result, SyncReport) and result.verified, who

    recover(net)
    assert_everything_once(net, work)
    assert_converged(net, work)


# -- a 200 that is not the protocol ------------------------------------------------------------

NOT_JSON = b"<html><body>Welcome to Riverside Library Wi-Fi</body></html>"
WRONG_SHAPE = b'[{"unexpected": true}]'


def local_rows(session: Session, *, frozen_ok: bool) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the profile, sorted. With `frozen_ok`, an outbox entry that
    went from waiting to in flight (frozen for sending, same op id) counts as unchanged."""
    db, _ = session.vault().open_parts()
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite_%'").fetchall()]
    rows = {}
    for name in names:
        columns = "op_id, tbl, record_id" if name == "outbox" and frozen_ok else "*"
        rows[name] = sorted(tuple(r) for r in db.execute(
            f"SELECT {columns} FROM [{name}]").fetchall())  # noqa: S608 - names from the schema
    return rows


def prepare_for(net: Field, step: str, tag: str) -> tuple[str, Case]:
    """Arrange that only `step` of the next sync has anything to do; returns whose sync it is."""
    case = services_of(net.sup).cases.open_case(family(f"Elm {tag}"))
    assert sync(net.sup).verified and sync(net.rc).verified
    if step == "get keys":  # a case set up offline: its key is asked for before the push
        services_of(net.sup).cases.open_case(family(f"Fir {tag}"))
        return "sup", case
    if step in ("program", "push"):
        services_of(net.rc).notes.start_draft(case.id, visit_details(narrative=f"Kept {tag}."))
    elif step == "pull":
        services_of(net.sup).screens.draw_schedule(case.id, first_day=date(2027, 1, 1),
                                                   last_day=date(2027, 1, 31))
        assert sync(net.sup).verified
    return "rc", case


@pytest.mark.parametrize("step", ["program", "get keys", "push", "pull", "digest"])
@pytest.mark.parametrize("body", [NOT_JSON, WRONG_SHAPE], ids=["not json", "wrong shape"])
def test_a_malformed_answer_is_refused_plainly_and_changes_nothing(net: Field, step: str,
                                                                   body: bytes) -> None:
    who, case = prepare_for(net, step, f"{step} {body[:5]!r}")
    where = replace(STEPS[step], who=who)
    session = net.session(who)
    before = local_rows(session, frozen_ok=step == "push")
    rule = Rule(Fault.MALFORMED, where.method, where.prefix, where.suffix, device=net.token(who),
                times=ATTEMPTS, forward=False, body=body,
                content_type="text/html" if body == NOT_JSON else "application/json")
    net.proxy.script(rule)

    with pytest.raises(ServerUnreachable, match="did not answer properly"):
        engine(session, timeout=TIMEOUT, backoff=FLAKY).sync()
    assert net.proxy.hits == [ATTEMPTS]
    assert local_rows(session, frozen_ok=step == "push") == before
    assert_checkpoint_covered(net, who)

    net.proxy.clear()
    for name in (who, "sup" if who == "rc" else "rc", who):
        assert sync(net.session(name)).verified
    assert net.server.sql("SELECT count(*) FROM records WHERE scope = ?", case.id)[0][0] >= 1
    assert net.server.sql("SELECT op_id FROM record_history GROUP BY op_id HAVING count(*) > 1"
                          ) == []
    for name in ("sup", "rc"):
        assert replica_of(net.session(name)).digest() == server_digest(net, name)


# -- a new worker's first mileage key, made offline, whose upload never arrives ----------------

def test_a_first_key_that_never_reached_the_server_is_shared_by_a_later_sync(net: Field
                                                                             ) -> None:
    store = ServerStore(net.server.data_dir)
    try:
        store.add_user("rc3", "Rae Coordinator", "recovery coordinator", "t1",
                       now=datetime.now(UTC).isoformat())
    finally:
        store.close()
    worker = net.server.device("rc3-laptop", "rc3", url=net.proxy.url)
    trip = services_of(worker).mileage.add_trip(make_trip(miles=Decimal(20), round_trip=False))
    net.proxy.script(Rule(Fault.DROP_REQUEST, "PUT", "/v1/cases/ledger:rc3", "/keys",
                          device=token_of(worker), times=ATTEMPTS))
    with pytest.raises(ServerUnreachable):
        engine(worker, timeout=TIMEOUT, backoff=FLAKY).sync()
    assert net.proxy.hits == [ATTEMPTS]
    assert net.server.sql("SELECT count(*) FROM case_keys WHERE case_id = 'ledger:rc3'") == [(0,)]

    net.proxy.clear()
    assert sync(worker).verified and sync(net.sup).verified
    # The supervisor can read the trip: the key made on the worker's laptop reached the server.
    month = services_of(net.sup).mileage.month(MONTH, worker_id=UserId("rc3"))
    assert [(a.trip.id, a.trip.total_miles) for a in month.allocations] == [(trip.id, Decimal(20))]
    assert net.server.sql("SELECT user_id FROM case_keys WHERE case_id = 'ledger:rc3' ORDER BY "
                          "user_id") == [("rc3",), ("sup1",)]
    assert net.server.sql("SELECT count(*) FROM records WHERE tbl = 'trips' AND record_id = ?",
                          trip.id) == [(1,)]
