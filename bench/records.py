"""Record figures: saving a visit note and listing a caseload, with 100,000 records stored.

On a real profile (Argon2id key, WAL, sealed rows) in a temp dir, measures:
- saving a visit note with 100,000 records already stored, p50/p95/max in ms, through the
  service path (one transaction each, sealing included): a new draft (`NoteService.start_draft`)
  and an autosave of an existing draft (`NoteService.save_draft`). Target (issue): p95 < 10 ms.
- listing a caseload of 30 cases with their due-visit status (`CaseService.caseload`), p50/p95
  (no target set); plus the fill time and the database size.
The fill uses the stores, not the services, in one transaction (real sealed rows; notes signed
with `visits.sign` and `NoteStore.mark_signed`): 300 cases, then about 60% visit notes (mostly
signed), 2% addenda, 19% drug-screen revisions (a tenth corrections) and 19% trips over the two
years before a fixed clock. Prints a table; asserts nothing.
Run: `.venv/bin/python bench/records.py [--records N] [--saves N]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import report

from fieldapp.domain import visits
from fieldapp.domain.cases import Case, Person
from fieldapp.domain.mileage import Trip
from fieldapp.domain.people import Actor, CaseId, NoteId, Role, ScreenId, TripId, UserId, new_id
from fieldapp.domain.screens import DrugScreen, ScreenReason, SubstanceResult
from fieldapp.domain.settings import DEFAULT_PANEL, DEFAULT_SERVICES, ProgramSettings
from fieldapp.domain.visits import Addendum, ContactType, Place, VisitDetails, VisitNote
from fieldapp.services.casework import CaseService
from fieldapp.services.notes import NoteService
from fieldapp.services.workspace import Stores, Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile

PASSPHRASE = "benchmark passphrase of some length"
NOW = datetime(2026, 11, 24, 18, tzinfo=UTC)  # noon in the program's zone (America/Chicago)
TODAY = date(2026, 11, 24)
CASES, WORKERS, CASELOAD_RUNS = 300, 10, 20  # 10 coordinators with 30 cases each
SUPERVISOR = UserId("sup-01")
SETTINGS = ProgramSettings()  # the defaults a new profile uses
ME = Actor(user_id=UserId("rc-00"), role=Role.RECOVERY_COORDINATOR)
SENTENCES = (
    "Met both parents at home; the children were at school.",
    "Mother reports attending every group session this week and is proud of it.",
    "Discussed the relapse-prevention plan and who to call on a hard evening.",
    "Father is looking for work; we went through two applications together.",
    "The home was clean and stocked with food; no safety concerns observed.",
    "Reviewed the court dates and transport to the next treatment appointment.",
    "Talked through the upcoming random screen and the chain-of-custody steps.",
)


def clock() -> datetime:
    return NOW


def coordinator(i: int) -> UserId:
    """Whose the i-th record is: case i and every record of case i (mod 300) share it."""
    return UserId(f"rc-{i % WORKERS:02d}")


def details(rng: random.Random, visit_date: date) -> VisitDetails:
    start = rng.randrange(8, 17)
    return VisitDetails(
        visit_date=visit_date, time_in=clock_time(start), time_out=clock_time(start + 1, 15),
        place=Place.HOME, contact_type=rng.choices(list(ContactType), (80, 8, 8, 4))[0],
        people_present=("Parent A", "Parent B", "Child C"),
        services=tuple(rng.sample(DEFAULT_SERVICES, 2)),
        narrative=" ".join(rng.choices(SENTENCES, k=8)),
        next_steps="Visit again Thursday; bring the treatment referral forms.",
        next_visit_date=visit_date + timedelta(days=3))



def sign(stores: Stores, note: VisitNote, rng: random.Random) -> VisitNote:
    """Sign `note` in the evening after the visit, one in twenty a day late (a late entry)."""
    author = Actor(user_id=note.author, role=Role.RECOVERY_COORDINATOR)
    evening = datetime.combine(note.details.visit_date, clock_time(23, 30), tzinfo=UTC)
    hours = 30 if rng.random() < 0.05 else rng.randrange(0, 6)
    note = visits.sign(note, signer=author, at=min(evening + timedelta(hours=hours), NOW),
                       settings=SETTINGS)
    stores.notes.mark_signed(note)
    return note

def fill(stores: Stores, records: int, rng: random.Random) -> list[CaseId]:
    """Fill the vault through the stores; returns the ids of ME's 30 cases."""
    rest = records - CASES
    n_notes, n_addenda, n_revisions = int(rest * 0.60), int(rest * 0.02), int(rest * 0.19)
    n_trips = rest - n_notes - n_addenda - n_revisions
    cases = []
    for i in range(CASES):
        case = Case(id=CaseId(new_id()), family_name=f"Family {i}",
                    parents=(Person(name=f"Parent {i}A", relationship="mother"),),
                    children=(Person(name=f"Child {i}C", relationship="son"),),
                    address=f"{100 + i} Elm Street", coordinator_id=coordinator(i),
                    intact_worker_id=UserId(f"iw-{i % WORKERS:02d}"), supervisor_ids=(SUPERVISOR,),
                    start_date=TODAY - timedelta(days=760))
        stores.cases.add(case)
        cases.append(case)
    signed: list[VisitNote] = []
    for i in range(n_notes):
        age = rng.randrange(0, 730)
        note = VisitNote(id=NoteId(new_id()), case_id=cases[i % CASES].id, author=coordinator(i),
                         details=details(rng, TODAY - timedelta(days=age)), revision=1)
        stores.notes.add_draft(note)
        if age > 3 or (age > 0 and rng.random() < 0.5):  # recent notes are often drafts
            signed.append(sign(stores, note, rng))
    for note in rng.sample(signed, min(n_addenda, len(signed))):
        assert note.signature is not None
        stores.notes.add_addendum(Addendum(
            id=new_id(), note_id=note.id, author=note.author,
            at=note.signature.at + timedelta(days=1), reason="Late information",
            text="The parent called afterwards to confirm the treatment appointment time."))
    n_screens = round(n_revisions / 1.1)
    screens = []
    for i in range(n_screens):
        results = {s: SubstanceResult.NEGATIVE for s in DEFAULT_PANEL}
        screen = DrugScreen(id=ScreenId(new_id()), case_id=cases[i % CASES].id,
                            person=cases[i % CASES].parents[0].name,
                            collected_at=NOW - timedelta(days=rng.randrange(1, 730)),
                            reason=rng.choice(list(ScreenReason)), panel=DEFAULT_PANEL,
                            results=results, recorded_by=coordinator(i))
        stores.screens.add(screen)
        screens.append(screen)
    for screen in rng.sample(screens, n_revisions - n_screens):
        stores.screens.add_revision(replace(
            screen, revision=2, correction_reason="Wrong substance ticked",
            results={**screen.results, "marijuana (THC)": SubstanceResult.POSITIVE}))
    for i in range(n_trips):
        case, day = cases[i % CASES], TODAY - timedelta(days=rng.randrange(0, 730))
        stores.trips.add(Trip(
            id=TripId(new_id()), worker_id=coordinator(i), trip_date=day,
            origin="Office", destination=case.address, purpose="Home visit",
            miles=Decimal(rng.randrange(20, 400)) / 10, round_trip=True, case_id=case.id,
            recorded_at=datetime.combine(day, clock_time(23), tzinfo=UTC)))
    return [c.id for c in cases if c.coordinator_id == ME.user_id]


def timed(action: Callable[[int], object], runs: int) -> list[float]:
    """Milliseconds per call of `action(i)`, sorted."""
    timings = []
    for i in range(runs):
        started = time.perf_counter()
        action(i)
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def summary(name: str, timings: list[float]) -> list[tuple[str, str]]:
    return [(f"{name}: p50", f"{statistics.median(timings):.2f} ms"),
            ("  p95", f"{timings[int(len(timings) * 0.95)]:.2f} ms"),
            ("  max", f"{timings[-1]:.2f} ms")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(20261124)
    with tempfile.TemporaryDirectory() as tmp:
        profile = Profile(ProfilePaths(Path(tmp) / "p"), clock=clock)
        vault = profile.create(PASSPHRASE)
        ws = Workspace(vault, actor=ME, clock=clock)
        started = time.perf_counter()
        with ws.unit() as stores:  # one transaction; the timed saves below are one each
            mine = fill(stores, args.records, rng)
        ws.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        fill_s = time.perf_counter() - started
        size_mb = profile.paths.database.stat().st_size / 1e6
        notes = NoteService(ws)
        drafts: list[VisitNote] = []
        start = timed(lambda i: drafts.append(
            notes.start_draft(mine[i % len(mine)], details(rng, TODAY))), args.saves)
        edits = [replace(d.details, narrative=d.details.narrative + " Added a line.")
                 for d in drafts]
        autosave = timed(lambda i: notes.save_draft(
            drafts[i].id, edits[i], expected_revision=drafts[i].revision), args.saves)
        caseload = CaseService(ws)
        listed = len(caseload.caseload())
        listing = timed(lambda i: caseload.caseload(), CASELOAD_RUNS)
        vault.lock(backup=False)
    rows = [
        (f"fill {args.records:,} sealed records (one transaction)", f"{fill_s:.1f} s"),
        ("database size", f"{size_mb:.1f} MB"),
        *summary(f"new draft (start_draft), {args.saves} saves", start),
        *summary(f"autosave (save_draft), {args.saves} saves", autosave),
        *summary(f"caseload of {listed} cases, {CASELOAD_RUNS} runs", listing)[:2],
    ]
    for name, timings in (("new draft (start_draft)", start), ("autosave (save_draft)", autosave)):
        report(f"save a note, {name}: p95, {args.records:,} stored",
               timings[int(len(timings) * 0.95)], "ms", target=10)
    report(f"caseload of {listed} cases: p95, {args.records:,} stored",
           listing[int(len(listing) * 0.95)], "ms")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
