"""The child process of the sync crash test: writes records and syncs them until it is killed.

Run as `python -m tests.sync.sync_crash_child PROFILE_DIR CASE_ID ROUND SEED BATCH MAX_OPS PAGE`
from the repository root, with the passphrase on the first line of standard input. It unlocks the
profile, writes BATCH records on the case (notes, edits, signatures, addenda, trips, screens, as
SEED draws them; ids and texts name the ROUND), then syncs in a loop with a few more writes before
each sync, pushing at most MAX_OPS ops per request and pulling at most PAGE documents per page.
Its clock reads 2 * ROUND minutes after the test clock's start, so what the supervisor does
between rounds (at odd minutes) falls between the rounds' writes.

Every line goes to standard output with a single `os.write`, so the parent reads each line whole
and in order and a kill never leaves a line it has not seen except the one being written:

    ready
    begin note <text>          ->  note <id> <text>
    begin edit <id> <text>     ->  edited <id> <text>
    begin sign <id>            ->  signed <id>
    begin addendum <note id>   ->  addendum <note id> <id>
    begin trip <id>            ->  trip <id>
    begin screen <id>          ->  screen <id>
    sync <n>                   (a sync starts)
    > <METHOD> <path>          (a request is about to go out)
    < <METHOD> <path> <status> (its whole answer has arrived, before the engine sees it)
    sending <done> <total> | receiving <done> | checking     (the engine's progress)
    synced <pushed> <pulled> <verified> <repaired>

A write is announced before its transaction and confirmed after it commits, so after a kill the
profile holds what the confirmed lines say, plus at most the one announced write.

The parent's side is here too: `start` and `run_and_kill` run a child and kill it at the moment a
`Plan` aims at, `replay` reads its lines back.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from fieldapp.domain.people import CaseId, NoteId, ScreenId, TripId
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync.client.engine import Progress, SyncEngine
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import drug_screen, make_trip, services_of, visit_details
from tests.sync.conftest import FAST, ROOT

# Writes before each sync after the first: every sync of the loop has something to push.
WRITES_BETWEEN_SYNCS = 4


def say(line: str) -> None:
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


class AnnouncingTransport(httpx.HTTPTransport):
    """The real HTTP transport, saying when a request leaves and when its answer has arrived,
    so the parent can aim a kill between the server's commit and the engine's settlement."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        say(f"> {request.method} {request.url.path}")
        response = super().handle_request(request)
        response.read()
        say(f"< {request.method} {request.url.path} {response.status_code}")
        return response


class Writer:
    """One worker's writes on one case, each announced and confirmed (see the module)."""

    def __init__(self, session: Session, case_id: CaseId, rng: random.Random, tag: str) -> None:
        self.session, self.case_id, self.rng, self.tag = session, case_id, rng, tag
        db, _ = session.vault().open_parts()
        me = session.actor().user_id
        rows = db.execute("SELECT id, status, revision FROM visit_notes WHERE author = ?",
                          [me]).fetchall()
        self.drafts = {str(i): int(rev) for i, status, rev in rows if status == "draft"}
        self.signed = [str(i) for i, status, _ in rows if status != "draft"]
        self.count = 0

    def text(self) -> str:
        self.count += 1
        return f"{self.tag}-{self.count}"

    def write(self) -> None:
        roll = self.rng.random()
        if roll < 0.3 or (roll < 0.55 and not self.drafts) or (
                roll < 0.7 and not self.signed):
            self.note()
        elif roll < 0.45:
            self.edit()
        elif roll < 0.55:
            self.sign(self.rng.choice(sorted(self.drafts)))
        elif roll < 0.7:
            self.addendum()
        elif roll < 0.85:
            self.trip()
        else:
            self.screen()

    def note(self) -> None:
        text = self.text()
        say(f"begin note {text}")
        note = services_of(self.session).notes.start_draft(self.case_id,
                                                           visit_details(narrative=text))
        self.drafts[note.id] = note.revision
        say(f"note {note.id} {text}")
        if self.rng.random() < 0.5:
            self.sign(note.id)

    def edit(self) -> None:
        note_id, text = self.rng.choice(sorted(self.drafts)), self.text()
        say(f"begin edit {note_id} {text}")
        note = services_of(self.session).notes.save_draft(
            NoteId(note_id), visit_details(narrative=text), expected_revision=self.drafts[note_id])
        self.drafts[note_id] = note.revision
        say(f"edited {note_id} {text}")

    def sign(self, note_id: str) -> None:
        say(f"begin sign {note_id}")
        services_of(self.session).notes.sign(NoteId(note_id))
        del self.drafts[note_id]
        self.signed.append(note_id)
        say(f"signed {note_id}")

    def addendum(self) -> None:
        note_id = self.rng.choice(self.signed)
        say(f"begin addendum {note_id}")
        note = services_of(self.session).notes.add_addendum(NoteId(note_id), reason="late detail",
                                                            text=f"Addendum {self.text()}.")
        say(f"addendum {note_id} {note.addenda[-1].id}")

    def trip(self) -> None:
        trip_id = f"{self.tag}-trip-{self.count}"
        self.count += 1
        say(f"begin trip {trip_id}")
        services_of(self.session).mileage.add_trip(make_trip(
            id=TripId(trip_id), case_id=self.case_id, round_trip=False,
            trip_date=date(2026, 11, self.rng.randint(1, 23)),
            miles=Decimal(self.rng.randint(1, 40))))
        say(f"trip {trip_id}")

    def screen(self) -> None:
        screen_id = f"{self.tag}-screen-{self.count}"
        self.count += 1
        say(f"begin screen {screen_id}")
        services_of(self.session).screens.record(drug_screen(self.case_id, id=ScreenId(screen_id)))
        say(f"screen {screen_id}")


def progress(step: Progress) -> None:
    if step.phase == "sending":
        say(f"sending {step.done} {step.total}")
    elif step.phase == "receiving":
        say(f"receiving {step.done}")
    else:
        say(step.phase)


def main(argv: list[str]) -> None:
    profile_dir, case_id, round_, seed, batch, max_ops, page = argv
    passphrase = sys.stdin.readline().rstrip("\n")
    clock = FakeClock()
    clock.advance(timedelta(minutes=2 * int(round_)).total_seconds())
    session = Session(ProfilePaths(Path(profile_dir)), clock=clock)
    session.unlock(passphrase)
    writer = Writer(session, CaseId(case_id), random.Random(int(seed)), f"r{round_}")
    engine = SyncEngine(session, transport=AnnouncingTransport(), backoff=FAST,
                        max_ops=int(max_ops), page=int(page))
    say("ready")
    for _ in range(int(batch)):
        writer.write()
    syncs = 0
    while True:
        syncs += 1
        say(f"sync {syncs}")
        report = engine.sync(progress=progress)
        say(f"synced {report.pushed} {report.pulled} {report.verified} {report.repaired}")
        for _ in range(WRITES_BETWEEN_SYNCS):
            writer.write()


# -- the parent's side: starting a child and killing it ---------------------------------------

STARTUP_LIMIT = 20.0  # seconds a child may take to unlock before the parent gives up
AIM_LIMIT = 20.0      # seconds a child may take to reach the moment aimed at


@dataclass(frozen=True)
class Aim:
    """Kill a random time within `delays` (seconds) after the child's line starting with
    `marker` appears for the n-th time, n drawn from 1 to `nth`."""

    name: str
    marker: str
    nth: int
    delays: tuple[float, float]


@dataclass(frozen=True)
class Plan:
    """One round, drawn from the seed: the child's arguments and where to kill it."""

    round: int
    seed: int
    batch: int
    max_ops: int
    page: int
    aim: Aim
    nth: int
    delay: float


def start(plan: Plan, root: Path, case_id: str, log: Path) -> subprocess.Popen[bytes]:
    """A child that imports now and waits for the passphrase before it touches the profile,
    so its start overlaps the parent's look at the previous round."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.sync.sync_crash_child", str(root), case_id,
             str(plan.round), str(plan.seed), str(plan.batch), str(plan.max_ops), str(plan.page)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env)


def run_and_kill(child: subprocess.Popen[bytes], plan: Plan, log: Path) -> str:
    """Let the child unlock; kill it `plan.delay` seconds after the `plan.nth` line starting
    with the aim's marker; everything it said."""
    assert child.stdin is not None and child.stdout is not None
    out, text = child.stdout.fileno(), b""
    try:
        child.stdin.write(f"{PASSPHRASE}\n".encode())
        child.stdin.close()
        marker = f"\n{plan.aim.marker}".encode()
        give_up, fire_at = time.monotonic() + STARTUP_LIMIT + AIM_LIMIT, None
        while fire_at is None or time.monotonic() < fire_at:
            wait = 0.05 if fire_at is None else max(0.0, fire_at - time.monotonic())
            if select.select([out], [], [], wait)[0]:
                chunk = os.read(out, 65536)
                assert chunk, f"the child exited by itself: {log.read_text()[-3000:]}"
                text += chunk
            if fire_at is None and (b"\n" + text).count(marker) >= plan.nth:
                fire_at = time.monotonic() + plan.delay
            assert time.monotonic() < give_up, f"no {marker!r} #{plan.nth}: {text[-500:]!r}"
        child.send_signal(signal.SIGKILL)
    finally:
        stop(child)
        while chunk := os.read(out, 65536):
            text += chunk
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL, f"the child exited: {log.read_text()[-3000:]}"
    return text.decode()


def stop(child: subprocess.Popen[bytes], *, drained: bool = False) -> None:
    """Kill a child (if still alive) and close its pipes; standard output only once drained."""
    child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout if drained else None):
        if pipe is not None and not pipe.closed:
            pipe.close()


# -- the parent's side: the lines read back ------------------------------------------------------

@dataclass
class Model:
    """The worker's records as the child confirmed them."""

    notes: dict[str, tuple[bool, str]] = field(default_factory=dict)  # id -> (signed, text)
    addenda: dict[str, str] = field(default_factory=dict)             # id -> note id
    trips: set[str] = field(default_factory=set)
    screens: set[str] = field(default_factory=set)

    def copy(self) -> Model:
        return Model(dict(self.notes), dict(self.addenda), set(self.trips), set(self.screens))

    def server_ids(self) -> dict[str, set[str]]:
        """The ids these records have on the server, by table."""
        return {"visit_notes": set(self.notes), "addenda": set(self.addenda),
                "trips": set(self.trips),
                "drug_screen_revisions": {f"{s}/1" for s in self.screens}}


@dataclass
class Transcript:
    """The child's lines replayed: confirmed writes, the write in flight, where it was killed."""

    model: Model
    in_flight: tuple[str, ...] | None = None
    stage: str = "writing"           # writing | push | pull | verify
    last_request: str = ""           # the last "> ..." or "< ..." line
    touched: set[str] = field(default_factory=set)               # notes written
    syncs: list[tuple[str, str]] = field(default_factory=list)   # (verified, repaired)


WRITES = ("note", "edited", "signed", "addendum", "trip", "screen")
STAGES = {"sync": "push", "checking": "verify", "synced": "writing"}


def confirm(model: Model, words: tuple[str, ...]) -> None:
    """Apply one confirmed write to `model`."""
    kind, record_id = words[0], words[1]
    if kind in ("note", "edited"):
        model.notes[record_id] = (False, words[2])
    elif kind == "signed":
        model.notes[record_id] = (True, model.notes[record_id][1])
    elif kind == "addendum":
        model.addenda[words[2]] = record_id
    elif kind == "trip":
        model.trips.add(record_id)
    else:
        model.screens.add(record_id)


def replay(model: Model, text: str) -> Transcript:
    """What the child said, applied to `model` (left as it was)."""
    lines = text.split("\n")[:-1]  # a line cut short by the kill confirms nothing
    if lines[:1] != ["ready"]:
        raise ValueError(f"the child never got ready: {text[:300]!r}")
    told = Transcript(model.copy())
    for line in lines[1:]:
        words = tuple(line.split())
        if words[0] == "begin":
            told.in_flight = words[1:]
        elif words[0] in WRITES:
            confirm(told.model, words)
            told.in_flight = None
            if words[0] in ("note", "edited", "signed"):
                told.touched.add(words[1])
        elif words[0] in (">", "<"):
            told.last_request = line
            if words[1:3] == ("GET", "/v1/sync/pull"):
                told.stage = "pull"
        told.stage = STAGES.get(words[0], told.stage)
        if words[0] == "synced":
            told.syncs.append((words[3], words[4]))
    return told


if __name__ == "__main__":
    main(sys.argv[1:])
