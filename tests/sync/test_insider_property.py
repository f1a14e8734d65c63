"""A malicious member against honest ones, chosen by hypothesis: rc1, with a real device token,
pushes ops of every record kind under every scope, naming every id, parent and person it can
think of, interleaved with the honest members' (sup1's and iw1's) syncs. Afterwards:

- the server holds no record outside the scope its own rule assigns (`wire.misplaced`);
- no honest member's laptop holds a record under another scope than the server's;
- no record an honest member wrote changed, on the server or on their laptops;
- no key version appeared that an honest member did not make, and no key copy changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.engine import replica_of
from tests.services.records_helpers import drug_screen, services_of
from tests.sync.conftest import SyncServer, sync
from tests.sync.insider import Insider, laptop_records
from tests.sync.test_insider import two_families

HONEST = ("sup1", "iw1")
PEOPLE = ("rc1", "iw1", "sup1", "rc2", "sup2")
STATUSES = ("draft", "signed", "cosigned", "returned", "open", "submitted", "approved",
            "closed")
WRITERS = ("author", "reviewer", "recorded_by", "created_by", "worker_id", "disclosed_by")
AT = "2026-12-02T10:00:00+00:00"
# What the attacker changes in an op it could honestly send: where it goes, what it names.
MUTATIONS = ("scope", "case_id", "parent", "series", "writer", "record_id", "status",
             "worker", "capacity")


class World:
    """The program as the attack found it, set up once for all the examples: sup1's families A
    (rc1, iw1) and B (iw1 only) with a signed note each, iw1's drug screen in B, rc1's trip and
    submitted month; rc1 is the attacker, sup1 and iw1 are honest."""

    def __init__(self, sync_server: SyncServer) -> None:
        self.server = sync_server
        self.sup1, rc1, self.iw1, a, b = two_families(sync_server)
        services_of(self.iw1).screens.record(drug_screen(b.id))
        for session in (self.iw1, self.sup1, rc1):
            assert sync(session).verified
        self.mallory = Insider(rc1)
        self.a, self.b = str(a.id), str(b.id)
        self.cases = [self.a, self.b, "c1", "c404"]
        self.scopes = [*self.cases[:3], *(wire.ledger_scope(p) for p in PEOPLE)]
        self.ids = [r for (r,) in self.sql("SELECT record_id FROM records ORDER BY record_id")]
        self.screens = [s for (s,) in self.sql(
            "SELECT json_extract(plain, '$.screen_id') FROM records WHERE "
            "tbl = 'drug_screen_revisions'")]
        self.own_note = str(services_of(rc1).notes.for_case(a.id)[0].id)
        self.honest_rows = self.honest_on_server()
        self.keys = self.sql("SELECT * FROM case_keys ORDER BY case_id, version, user_id")
        self.laptops = {name: self.honest_on_laptop(s) for name, s in self.honest.items()}

    @property
    def honest(self) -> dict[str, Session]:
        return {"sup1": self.sup1, "iw1": self.iw1}

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.server.sql(query, *params)

    def honest_on_server(self) -> list[tuple[Any, ...]]:
        marks = ", ".join("?" for _ in HONEST)
        return self.sql(f"SELECT * FROM records WHERE author IN ({marks}) ORDER BY tbl, "  # noqa: S608
                        "record_id", *HONEST)

    def honest_on_laptop(self, session: Session) -> dict[str, list[tuple[Any, ...]]]:
        """The laptop's rows of the records honest members wrote (by the server's word)."""
        written = {r for (r,) in self.sql(
            f"SELECT record_id FROM records WHERE author IN ({', '.join('?' for _ in HONEST)})",  # noqa: S608
            *HONEST)}
        return {table: [row for row in rows if row[0] in written]
                for table, rows in laptop_records(session).items()}

    def template(self, table: str, n: int) -> tuple[str, str, dict[str, Any]]:
        """(record id, scope, plain) of an op rc1 could honestly send for `table`."""
        a, ledger = self.a, wire.ledger_scope("rc1")
        screen = f"screen-{n}"
        honest: dict[str, tuple[str, str, dict[str, Any]]] = {
            "cases": (f"case-{n}", f"case-{n}", {"status": "open", "coordinator_id": "rc1",
                                                 "intact_worker_id": None}),
            "visit_notes": (f"note-{n}", a, {"case_id": a, "author": "rc1", "status": "draft",
                                             "visit_date": "2026-12-01", "updated_at": AT}),
            "addenda": (f"addendum-{n}", a, {"note_id": self.own_note, "author": "rc1",
                                             "created_at": AT}),
            "note_reviews": (f"review-{n}", a, {"note_id": self.own_note, "reviewer": "rc1",
                                                "reviewed_at": AT, "cosigned": 1}),
            "drug_screen_revisions": (f"{screen}/1", a, {"screen_id": screen, "revision": 1,
                                                         "recorded_by": "rc1",
                                                         "recorded_at": AT}),
            "random_schedules": (f"schedule-{n}", a, {"case_id": a, "created_by": "rc1"}),
            "trips": (f"trip-{n}", ledger, {"worker_id": "rc1", "month": "2026-12",
                                            "trip_date": "2026-12-02", "total_miles": "5",
                                            "recorded_at": AT, "case_id": a}),
            "mileage_months": ("rc1|2026-12", ledger, {"worker_id": "rc1", "month": "2026-12",
                                                       "status": "submitted"}),
            "consents": (f"consent-{n}", a, {"case_id": a, "recorded_by": "rc1",
                                             "recorded_at": AT}),
            "consent_ends": (f"end-{n}", a, {"case_id": a, "consent_id": f"consent-{n - 1}",
                                             "recorded_by": "rc1", "recorded_at": AT}),
            "disclosures": (f"disclosure-{n}", a, {"case_id": a, "disclosed_by": "rc1",
                                                   "disclosed_at": AT}),
        }
        return honest[table]

    def mutate(self, kind: str, pick: int, record_id: str, scope: str, plain: dict[str, Any]
               ) -> tuple[str, str]:
        """Change one thing of an honest op, as an attacker would; returns (record id, scope)."""
        person = PEOPLE[pick % len(PEOPLE)]
        if kind == "scope":
            scope = self.scopes[pick % len(self.scopes)]
        elif kind == "case_id":
            plain["case_id"] = self.cases[pick % len(self.cases)]
        elif kind == "parent":
            plain["note_id" if "note_id" in plain else "consent_id"] = self.ids[pick % len(
                self.ids)]
        elif kind == "series" and self.screens:
            plain["screen_id"] = self.screens[pick % len(self.screens)]
            record_id = f"{plain['screen_id']}/{plain.get('revision')}"
        elif kind == "record_id":
            record_id = self.ids[pick % len(self.ids)]
        elif kind == "status":
            plain["status"] = STATUSES[pick % len(STATUSES)]
        elif kind == "capacity":
            plain["capacity"] = ("intact", "SUD")[pick % 2]
        else:  # the writer, or the worker whose ledger it is
            for name in (WRITERS if kind == "writer" else ("worker_id",)):
                if name in plain:
                    plain[name] = person
        return record_id, scope


def ops() -> st.SearchStrategy[list[dict[str, Any]]]:
    op = st.fixed_dictionaries({
        "table": st.sampled_from(wire.SYNCED_TABLES),
        "mutations": st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 99)),
                              max_size=2),
        "base_rev": st.sampled_from([0, 0, 1]), "own_key": st.booleans()})
    return st.lists(op, min_size=1, max_size=6)


def realise(world: World, choice: dict[str, Any], n: int) -> dict[str, Any]:
    """An op from a choice: an honest op of the attacker's, then its mutations."""
    record_id, scope, plain = world.template(choice["table"], n)
    plain = dict(plain)
    for kind, pick in choice["mutations"]:
        record_id, scope = world.mutate(kind, pick, record_id, scope, plain)
    key = None if choice["own_key"] else (1, bytes(32))
    return world.mallory.op(choice["table"], record_id, scope, plain,
                            base_rev=choice["base_rev"], key=key)


def test_a_malicious_member_cannot_reach_beyond_their_scopes(sync_server: SyncServer) -> None:
    world = World(sync_server)
    counter = iter(range(10**6))
    outcomes: dict[str, int] = {}

    @settings(max_examples=100, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(batches=st.lists(ops(), min_size=1, max_size=2))
    def attack(batches: list[list[dict[str, Any]]]) -> None:
        for batch in batches:
            sent = [realise(world, choice, next(counter)) for choice in batch]
            response = world.mallory.request("POST", "/v1/sync/push", json={"ops": sent})
            assert response.status_code in (200, 422), response.text
            for answer in response.json().get("answers", []):
                outcomes[answer["outcome"]] = outcomes.get(answer["outcome"], 0) + 1
            for session in world.honest.values():
                report = sync(session)
                assert report.verified
        check(world)

    attack()
    # The attack did reach the server's judgement, both ways (its own scopes are open to it).
    assert outcomes.get("rejected", 0) > 50 and outcomes.get("applied", 0) > 0, outcomes


def check(world: World) -> None:
    assert not list(misplaced_on_server(world))
    assert world.honest_on_server() == world.honest_rows
    assert world.sql("SELECT * FROM case_keys ORDER BY case_id, version, user_id") == world.keys
    for name, session in world.honest.items():
        assert world.honest_on_laptop(session) == world.laptops[name], name
        assert not list(misfiled_on_laptop(world, session)), name


def misplaced_on_server(world: World) -> Iterator[tuple[str, str, str]]:
    """Records the server holds under another scope than its rule assigns."""
    rows = world.sql("SELECT tbl, record_id, scope, plain FROM records WHERE tbl != ? AND "
                     "deleted = 0", wire.ALLOCATIONS)
    heads = {(t, r): s for t, r, s, _ in rows}
    screens: dict[str, set[str]] = {}
    for table, record_id, scope, plain_text in rows:
        plain = json.loads(plain_text)
        if table == "drug_screen_revisions":
            screens.setdefault(str(plain.get("screen_id")), set()).add(scope)
        why = wire.misplaced(table, record_id, plain, scope,
                             parent_scope=lambda t, r: heads.get((t, r)),
                             series_scope=lambda *_: None, parent_required=True)
        if why is not None:
            yield table, record_id, why
    for screen, scopes in screens.items():
        if len(scopes) > 1:
            yield "drug_screen_revisions", screen, "one screen in several cases"


def misfiled_on_laptop(world: World, session: Session) -> Iterator[tuple[str, str, str]]:
    """Records a laptop files under another scope than the server holds them under."""
    on_server = {(t, r): s for t, r, s in world.sql("SELECT tbl, record_id, scope FROM records")}
    db, _ = session.vault().open_parts()
    replica = replica_of(session)
    for table in wire.SYNCED_TABLES:
        for (record_id,) in db.execute(f"SELECT id FROM [{table}]").fetchall():  # noqa: S608
            here = replica._scope(table, record_id)
            there = on_server.get((table, record_id))
            if there is not None and here != there:
                yield table, record_id, f"{here} here, {there} on the server"
