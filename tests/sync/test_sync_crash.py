"""Sync survives the laptop dying: the client process is killed with SIGKILL at random moments of
its writes and syncs against the real server process, again and again, on one profile.

A child process (`sync_crash_child`) unlocks coordinator rc1's profile, writes a batch of notes,
edits, signatures, addenda, trips and screens, then syncs in a loop with a few writes before each
sync. It announces each write before it starts and confirms it after its transaction commits, and
says when each request leaves and when its answer has arrived. The parent aims every kill at one
moment of a sync (a seeded choice: among the writes, while a push is on the wire, between a push's
answer and its settlement, during a pull, or anywhere within a second) and kills after a random
delay from it. After every other round the supervisor's laptop co-signs or returns some signed
notes, adds addenda and draws screen schedules, so the worker's pulls have someone else's
documents to apply. After each kill the parent unlocks the profile as the app does and checks:

- SQLite's integrity check passes;
- the profile holds exactly the confirmed records (plus at most the one write in flight);
- every local record is either synced or waiting in the outbox, nothing was refused or set aside,
  no synced revision runs ahead of the server's;
- the pull checkpoint never runs ahead of the data: every document the server holds for this
  user at or below the checkpoint is here (applied, or in the inbox) at that revision or newer;
- the server holds nothing the laptop does not, and applied no op twice.

At the end one clean sync must verify without repair; the server then holds every confirmed record
exactly once, the digests agree, and the supervisor's laptop pulls everything, readable and equal
(the notes' statuses included), as the worker's holds everything the supervisor did.

The seed fixes the aims and the child's writes; the exact moments of the kills cannot repeat. Set
`FIELDAPP_SYNC_CRASH_SEED` to explore other sequences; every failure message names the seed.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from fieldapp.domain.people import CaseId, NoteId, UserId
from fieldapp.domain.visits import NoteStatus
from fieldapp.services import enrolment
from fieldapp.services.session import Session
from fieldapp.storage import database
from fieldapp.storage.schema_sync import CAPTURED
from sync import protocol as wire
from sync.client.engine import replica_of
from tests.conftest import FakeClock
from tests.services.records_helpers import services_of
from tests.sync.conftest import SyncServer, sync
from tests.sync.sync_crash_child import (
    Aim,
    Model,
    Plan,
    Transcript,
    replay,
    run_and_kill,
    start,
    stop,
)
from tests.sync.test_end_to_end import family

ROUNDS = 30
SEED = int(os.environ.get("FIELDAPP_SYNC_CRASH_SEED", "20261206"))
WORKER = "rc1"
SUPERVISOR = "sup1"
DEVICE = "rc-laptop"
MONTH = "2026-11"
CAP = Decimal(150)  # the program's mileage cap (tests/sync/conftest.py)


AIMS = (
    Aim("among the writes", "begin ", 20, (0.0, 0.003)),
    Aim("push on the wire", "> POST /v1/sync/push", 3, (0.0, 0.03)),
    # The window between a push's answer and its settlement is a few milliseconds wide.
    Aim("push answered", "< POST /v1/sync/push", 3, (0.0, 0.004)),
    Aim("pull on the wire", "> GET /v1/sync/pull", 3, (0.0, 0.03)),
    Aim("pull answered", "< GET /v1/sync/pull", 3, (0.0, 0.004)),
    Aim("anywhere", "ready", 1, (0.002, 1.0)),
)
# The first round kills the first sync with a trip right after it made the worker's mileage
# key, before the server has a copy: the key must still reach the supervisor later.
FIRST_AIM = Aim("key made, not shared", f"> GET /v1/cases/ledger:{WORKER}/members", 1,
                (0.0, 0.002))


@dataclass
class Local:
    """The worker's records as the profile holds them after a kill."""

    notes: dict[str, bool]      # id -> signed
    addenda: dict[str, str]
    trips: set[str]
    screens: set[str]


def local_records(db: sqlite_utils.Database) -> Local:
    return Local(
        notes={str(i): s != "draft" for i, s in db.execute(
            "SELECT id, status FROM visit_notes WHERE author = ?", [WORKER]).fetchall()},
        addenda={str(i): str(n) for i, n in db.execute(
            "SELECT id, note_id FROM addenda WHERE author = ?", [WORKER]).fetchall()},
        trips={str(r[0]) for r in db.execute("SELECT id FROM trips WHERE worker_id = ?",
                                             [WORKER]).fetchall()},
        screens={str(r[0]) for r in db.execute("SELECT id FROM drug_screens").fetchall()})


def text_of(session: Session, note_id: str) -> str:
    return services_of(session).notes.get(NoteId(note_id)).details.narrative


def reconcile(session: Session, told: Transcript, local: Local, where: str) -> Model:
    """Check the profile holds exactly what the child confirmed, give or take the one write in
    flight; return the model as it now stands (the write in flight landed or not)."""
    confirmed, flight = told.model, told.in_flight or ("",)
    kind = flight[0]
    model = confirmed.copy()
    lost = confirmed.notes.keys() - local.notes.keys()
    assert not lost, f"{where}: confirmed notes lost: {sorted(lost)}"
    extra = local.notes.keys() - confirmed.notes.keys()
    assert not extra or (kind == "note" and len(extra) == 1), (
        f"{where}: notes nobody confirmed: {sorted(extra)}; in flight: {flight}")
    for note_id in extra:
        assert text_of(session, note_id) == flight[1], where
        model.notes[note_id] = (local.notes[note_id], flight[1])
    for note_id, (signed, text) in confirmed.notes.items():
        if local.notes[note_id] != signed:
            assert flight == ("sign", note_id) and local.notes[note_id], (
                f"{where}: note {note_id} signed={local.notes[note_id]}, confirmed {signed}")
            model.notes[note_id] = (True, text)
    for note_id in told.touched | ({flight[1]} if kind == "edit" else set()):
        found, text = text_of(session, note_id), model.notes[note_id][1]
        assert found == text or flight == ("edit", note_id, found), (
            f"{where}: note {note_id} says {found!r}, confirmed {text!r}")
        model.notes[note_id] = (model.notes[note_id][0], found)

    lost_addenda = confirmed.addenda.keys() - local.addenda.keys()
    assert not lost_addenda, f"{where}: confirmed addenda lost: {sorted(lost_addenda)}"
    extra_addenda = {a: n for a, n in local.addenda.items() if a not in confirmed.addenda}
    assert not extra_addenda or (kind == "addendum" and list(extra_addenda.values()) == [
        flight[1]]), f"{where}: addenda nobody confirmed: {extra_addenda}; in flight: {flight}"
    model.addenda.update(extra_addenda)

    for name, mine, theirs in (("trip", confirmed.trips, local.trips),
                               ("screen", confirmed.screens, local.screens)):
        assert mine <= theirs, f"{where}: confirmed {name}s lost: {sorted(mine - theirs)}"
        assert theirs - mine <= ({flight[1]} if kind == name else set()), (
            f"{where}: {name}s nobody confirmed: {sorted(theirs - mine)}; in flight: {flight}")
    model.trips, model.screens = set(local.trips), set(local.screens)
    return model


def server_docs(server: SyncServer, case_id: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Every document the worker may pull: (table, record) -> (rev, seq, deleted)."""
    return {(t, r): (int(v), int(s), int(d)) for t, r, v, s, d in server.sql(
        "SELECT tbl, record_id, rev, seq, deleted FROM records WHERE scope IN (?, ?)",
        case_id, f"ledger:{WORKER}")}


def check_bookkeeping(db: sqlite_utils.Database, server: SyncServer, case_id: str,
                      where: str) -> dict[str, int]:
    """The sync tables agree with the records and with the server; what was in flight."""
    problems = db.execute("SELECT op_id, tbl, record_id, state, reason FROM outbox WHERE state "
                          "NOT IN ('pending', 'sending')").fetchall()
    assert problems == [], f"{where}: changes refused or set aside: {problems}"
    assert db.execute("SELECT count(*) FROM sync_conflicts").fetchone()[0] == 0, where
    for tbl in CAPTURED:
        untracked = db.execute(
            f"SELECT id FROM [{tbl}] WHERE id NOT IN (SELECT record_id FROM synced WHERE "  # noqa: S608
            "tbl = ?) AND id NOT IN (SELECT record_id FROM outbox WHERE tbl = ?)",
            [tbl, tbl]).fetchall()
        assert untracked == [], f"{where}: {tbl} rows neither synced nor waiting: {untracked}"
    docs = server_docs(server, case_id)
    held = {(t, r): int(v) for t, r, v in db.execute(
        "SELECT tbl, record_id, rev FROM synced").fetchall()}
    ahead = {k: (v, docs.get(k)) for k, v in held.items() if k not in docs or docs[k][0] < v}
    assert not ahead, f"{where}: synced revisions the server does not have: {ahead}"
    for t, r, v in db.execute("SELECT tbl, record_id, rev FROM sync_inbox").fetchall():
        held[(t, r)] = max(held.get((t, r), 0), int(v))
    row = db.execute("SELECT value FROM sync_state WHERE name = 'checkpoint'").fetchone()
    checkpoint = int(row[0]) if row else 0
    behind = {k: (rev, seq, held.get(k)) for k, (rev, seq, _) in docs.items()
              if seq <= checkpoint and held.get(k, 0) < rev}
    assert not behind, (f"{where}: checkpoint {checkpoint} runs ahead of the data: "
                        f"(rev, seq, held here) {dict(list(behind.items())[:5])}")
    sending = [str(r[0]) for r in db.execute(
        "SELECT op_id FROM outbox WHERE state = 'sending'").fetchall()]
    marks = ", ".join("?" for _ in sending)
    answered = server.sql(f"SELECT count(*) FROM ops WHERE op_id IN ({marks})",  # noqa: S608
                          *sending)[0][0] if sending else 0
    return {"sending": len(sending), "answered": int(answered), "checkpoint": checkpoint}


def check_server(server: SyncServer, model: Model, where: str) -> None:
    """The server applied no op twice, set nothing aside, and holds nothing the laptop lacks."""
    twice = server.sql("SELECT op_id, count(*) FROM record_history GROUP BY op_id "
                       "HAVING count(*) > 1")
    assert twice == [], f"{where}: ops applied twice: {twice}"
    assert server.sql("SELECT count(*) FROM conflict_copies") == [(0,)], where
    verdicts = Counter(json.loads(a)["outcome"] for (a,) in server.sql("SELECT answer FROM ops"))
    assert set(verdicts) <= {"applied"}, f"{where}: verdicts {verdicts}"
    for tbl, ids in model.server_ids().items():
        there = {str(r[0]) for r in server.sql(
            "SELECT record_id FROM records WHERE tbl = ? AND author = ?", tbl, WORKER)}
        assert there <= ids, f"{where}: {tbl} on the server, not here: {sorted(there - ids)}"


def phase_of(told: Transcript, evidence: dict[str, int]) -> str:
    """Where the kill landed, from the child's last words and the outbox it left."""
    if evidence["answered"]:
        # The server committed ops the laptop has not settled: its answer was lost with the
        # process, or it arrived and the settlement had not committed yet.
        lost = told.last_request.startswith("> POST")
        return "push committed, answer lost" if lost else "push answered, not settled"
    if told.stage == "push" and evidence["sending"]:
        return "push frozen, no answer"
    if told.stage == "push":
        return "push: keys" if "/v1/cases/" in told.last_request else "push: between batches"
    return {"writing": "writing", "pull": "pull", "verify": "verify"}[told.stage]


def plans(rng: random.Random) -> list[Plan]:
    found = []
    for round_ in range(ROUNDS):
        aim = AIMS[(round_ - 1) % len(AIMS)] if round_ else FIRST_AIM
        found.append(Plan(round=round_, seed=rng.getrandbits(32), batch=rng.randint(20, 120),
                          max_ops=rng.choice((25, 50, 100, 200)),
                          page=rng.choice((40, 150, 1000)), aim=aim,
                          nth=rng.randint(1, aim.nth), delay=rng.uniform(*aim.delays)))
    return found


@dataclass
class Supervisor:
    """The supervisor's laptop between rounds; `made` counts what it sent, by table."""

    session: Session
    clock: FakeClock
    case_id: CaseId
    rng: random.Random
    made: Counter[str] = field(default_factory=Counter)

    def act(self, round_: int) -> None:
        """Pull, then co-sign, return or add to a few signed notes, and push: the worker's
        next pulls bring these (each child's clock is 2 * round minutes on; this is 1 more)."""
        self.clock.now = FakeClock().now + timedelta(minutes=2 * round_ + 1)
        sync(self.session)
        notes = services_of(self.session).notes
        waiting = notes.with_status(NoteStatus.SIGNED)
        for note in self.rng.sample(waiting, min(3, len(waiting))):
            roll = self.rng.random()
            if roll < 0.5:
                notes.cosign(note.id)
            elif roll < 0.75:
                notes.return_note(note.id, comment="Say who else was present.")
            else:
                notes.add_addendum(note.id, reason="supervision", text="Discussed in review.")
            self.made["addenda" if roll >= 0.75 else "note_reviews"] += 1
        if round_ % 6 == 0:
            day = FakeClock().now.date() + timedelta(days=7 + round_)
            services_of(self.session).screens.draw_schedule(self.case_id, first_day=day,
                                                            last_day=day + timedelta(days=27))
            self.made["random_schedules"] += 1
        report = sync(self.session)
        assert report.verified and report.problems == 0 and report.conflicts == 0, report


def server_digest(session: Session) -> wire.Digest:
    enrolled = enrolment.enrolment_of(session)
    assert enrolled is not None
    response = httpx.get(f"{enrolled['server_url']}/v1/sync/digest", trust_env=False,
                         headers={"Authorization": f"Bearer {enrolled['device_token']}"})
    return wire.Digest.model_validate(response.raise_for_status().json())


def check_everything_arrived(server: SyncServer, worker: Session, supervisor: Supervisor,
                             model: Model) -> None:
    where = f"seed={SEED} after the last clean sync"
    for tbl, ids in model.server_ids().items():
        rows = server.sql("SELECT record_id FROM records WHERE tbl = ? AND author = ?",
                          tbl, WORKER)
        assert sorted(r[0] for r in rows) == sorted(ids), f"{where}: {tbl}"
    theirs_made = dict(server.sql("SELECT tbl, count(*) FROM records WHERE author = ? AND "
                                  "tbl != 'cases' GROUP BY tbl", SUPERVISOR))
    assert theirs_made == dict(supervisor.made), where
    db, _ = worker.vault().open_parts()
    for tbl, count in supervisor.made.items():
        assert db.execute(f"SELECT count(*) FROM [{tbl}]").fetchone()[0] == (  # noqa: S608
            count + (len(model.addenda) if tbl == "addenda" else 0)), f"{where}: {tbl}"
    assert replica_of(worker).digest() == server_digest(worker), where
    for note_id, (signed, text) in model.notes.items():
        mine = services_of(worker).notes.get(NoteId(note_id))
        assert (mine.locked, mine.details.narrative) == (signed, text), f"{where}: {note_id}"
    report = sync(supervisor.session)
    assert report.verified and report.repaired == -1 and report.problems == 0, report
    assert replica_of(supervisor.session).digest() == server_digest(supervisor.session), where
    case_id, addenda = supervisor.case_id, {}
    for note_id in model.notes:
        mine, theirs = (services_of(worker).notes.get(NoteId(note_id)),
                        services_of(supervisor.session).notes.get(NoteId(note_id)))
        assert (theirs.details, theirs.status) == (mine.details, mine.status), (where, note_id)
        assert {a.id: a for a in theirs.addenda} == {a.id: a for a in mine.addenda}, (
            where, note_id)
        addenda.update({a.id: note_id for a in theirs.addenda if a.author == WORKER})
    assert addenda == model.addenda, where
    screens = {s.id: s for s in services_of(supervisor.session).screens.for_case(case_id)}
    assert screens == {s.id: s for s in services_of(worker).screens.for_case(case_id)}, where
    assert set(screens) == model.screens, where
    assert services_of(supervisor.session).screens.schedules(case_id) \
        == services_of(worker).screens.schedules(case_id), where
    month = services_of(supervisor.session).mileage.month(MONTH, worker_id=UserId(WORKER))
    assert {a.trip.id for a in month.allocations} == model.trips, where
    assert month.total == services_of(worker).mileage.month(MONTH).total, where
    for (plain,) in server.sql("SELECT plain FROM records WHERE tbl = ?", wire.ALLOCATIONS):
        assert Decimal(json.loads(plain)["reimbursable"]) <= CAP, plain


def check_round(server: SyncServer, told: Transcript, case_id: str, where: str
            ) -> tuple[Model, dict[str, int]]:
    """Unlock the profile the child left as the app does, and check it and the server."""
    reopened = server.reopen(DEVICE)
    try:
        db, _ = reopened.vault().open_parts()
        assert database.integrity_problems(db) == [], where
        model = reconcile(reopened, told, local_records(db), where)
        evidence = check_bookkeeping(db, server, case_id, where)
    finally:
        reopened.lock()
    check_server(server, model, where)
    return model, evidence


@pytest.mark.slow
def test_client_killed_mid_sync_loses_nothing_and_doubles_nothing(sync_server: SyncServer,
                                                                  tmp_path: Path) -> None:
    started = time.monotonic()
    clock = FakeClock()
    laptop = sync_server.device("sup-laptop", SUPERVISOR, clock=clock)
    worker = sync_server.device(DEVICE, WORKER)
    case = services_of(laptop).cases.open_case(family())
    sync(laptop)
    sync(worker)
    supervisor = Supervisor(laptop, clock, case.id, random.Random(f"{SEED}/supervisor"))
    worker.lock()  # one process at a time: the child takes the profile's lock
    root, logs = worker.profile.paths.root, tmp_path
    model, phases, landed_writes, completed, checkpoint = Model(), Counter[str](), 0, 0, 0
    rounds = plans(random.Random(SEED))
    child = start(rounds[0], root, case.id, logs / "child-0.err")
    try:
        for plan in rounds:
            where = f"seed={SEED} round={plan.round} aim={plan.aim.name!r}"
            text = run_and_kill(child, plan, logs / f"child-{plan.round}.err")
            if plan.round + 1 < ROUNDS:
                child = start(rounds[plan.round + 1], root, case.id,
                              logs / f"child-{plan.round + 1}.err")
            assert text.startswith("ready\n"), f"{where}: {text[:300]!r}"
            told = replay(model, text)
            where += f" in_flight={told.in_flight}"
            assert all(s == ("True", "-1") for s in told.syncs), f"{where}: {told.syncs}"
            model, evidence = check_round(sync_server, told, case.id, where)
            # Only a repair (after digests disagreed) may take the checkpoint back; none is due.
            assert evidence["checkpoint"] >= checkpoint, f"{where}: checkpoint went back"
            checkpoint = evidence["checkpoint"]
            if plan.round % 2 == 0:
                supervisor.act(plan.round)
            phases[phase_of(told, evidence)] += 1
            landed_writes += told.in_flight is not None
            completed += len(told.syncs)
    finally:
        stop(child, drained=True)

    worker = sync_server.reopen(DEVICE)
    report = sync(worker)
    assert report.verified and report.repaired == -1, report
    assert (report.problems, report.conflicts, report.waiting) == (0, 0, 0), report
    db, _ = worker.vault().open_parts()
    check_bookkeeping(db, sync_server, case.id, f"seed={SEED} final")
    check_server(sync_server, model, f"seed={SEED} final")
    check_everything_arrived(sync_server, worker, supervisor, model)
    print(f"\nsync crash: seed {SEED}, {ROUNDS} kills in {time.monotonic() - started:.1f} s; "
          f"landed {dict(phases)}; {landed_writes} mid-write; {completed} syncs completed; "
          f"{len(model.notes)} notes, {len(model.addenda)} addenda, {len(model.trips)} trips, "
          f"{len(model.screens)} screens; the supervisor's {dict(supervisor.made)}")
    # The kills must land in every part of a sync, not only among the writes.
    unsettled = phases["push committed, answer lost"] + phases["push answered, not settled"]
    assert phases["writing"] and unsettled and phases["pull"], (SEED, dict(phases))
