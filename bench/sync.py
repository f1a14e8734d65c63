"""Sync figures: a first sync of 10,000 records, a sync with nothing to do, and a baseline.

Against a real `fieldapp-server serve` process on 127.0.0.1 (its data folder prepared in-process
and the process run by tests/real_server.py, as for tests/sync) and real profiles enrolled with
one-time codes. A supervisor sets up 30 cases and syncs; the worker takes them down, then writes
10,000 records offline through the services (in big transactions, the real record types, in the
proportions of bench/records.py: 60% visit notes, mostly signed, 2% addenda, 19% drug-screen
revisions with a tenth of them corrections, 19% trips, and each past month's mileage submitted).
Measured:
1. the worker's first sync of them (push + pull + verify), and a new supervisor device pulling
   everything (restoring a laptop);
2. a sync with nothing to do, median and p95 over 20 runs;
3. the baseline: every row of the worker's record tables read from its vault file and inserted
   into a fresh SQLite file with the same columns, in one transaction, WAL and synchronous=FULL
   like the vault.
4. what signatures cost (issue 19): every change of the worker's on the server signed again
   (one core) and checked against the worker's registered key (one core, then every core as the
   server and a new laptop check them), and that time's share of the first sync (target < 20 %).
Targets (DESIGN.md): first sync < 3 s and within 5x of the baseline; empty sync < 100 ms.
Prints a table of wall times and of the CPU seconds each side used (those hold up when other work
shares the machine, which stretches wall times), and how many records each device holds.
Asserts only that the syncs with nothing to do did nothing and that every change on the
server carries its author's signature.
Run: `.venv/bin/python bench/sync.py [--records N] [--profile client|server]`.
`--profile client` prints where the worker's first sync spends its time on this side (cProfile);
`--profile server` runs the server in this process (uvicorn in a thread) and profiles it instead.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
from _results import report

from fieldapp.crypto.identity import Identity
from fieldapp.crypto.signing import on_every_core, verifies
from fieldapp.domain.cases import Case, Person
from fieldapp.domain.mileage import Trip
from fieldapp.domain.people import CaseId, NoteId, ScreenId, TripId, UserId, new_id
from fieldapp.domain.screens import DrugScreen, ScreenReason, SubstanceResult
from fieldapp.services.casework import CaseService
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync import protocol as wire
from sync.client.engine import SyncEngine, SyncReport
from sync.client.enrol import enrol
from tests import real_server

PASSPHRASE = "benchmark passphrase of some length"
NOW = datetime(2026, 11, 24, 18, tzinfo=UTC)  # noon in the program's zone (America/Chicago)
TODAY = date(2026, 11, 24)
CASES, EMPTY_RUNS = 30, 20
PROGRAM = real_server.Program(teams={"t1": "North team"}, settings={"mileage_cap": "150"}, people={
    "rc1": ("Rosa Coordinator", "recovery coordinator", "t1"),
    "iw1": ("Ian Worker", "intact worker", "t1"),
    "sup1": ("Sam Supervisor", "supervisor", "t1")})


def clock() -> datetime:
    return NOW


def _records_bench() -> ModuleType:
    """bench/records.py, for its visit details (the same realistic notes)."""
    spec = importlib.util.spec_from_file_location("bench_records", ROOT / "bench" / "records.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the server ------------------------------------------------------------------------------

def prepare(data_dir: Path) -> None:
    PROGRAM.set_up_in_process(data_dir)


def installed() -> tuple[str, ...]:
    """The venv's `fieldapp-server` script, as a program runs it; the source if there is none."""
    script = Path(sys.executable).parent / "fieldapp-server"
    return (str(script),) if script.exists() else real_server.FROM_SOURCE


@contextmanager
def server_process(data_dir: Path, log: Path) -> Iterator[tuple[str, int]]:
    """`fieldapp-server --data DIR serve` on a free loopback port: its URL and process id."""
    with real_server.serving(real_server.RealServer, data_dir, stdout=log, timeout=30,
                             command=installed(), extra_args=("--enrol-limit", "1000")) as server:
        yield server.base_url, server.process.pid


@contextmanager
def server_in_process(data_dir: Path, profiles: list[cProfile.Profile]
                      ) -> Iterator[tuple[str, int]]:
    """The same app served by uvicorn in a thread of this process, for profiling only: every
    thread started while it runs (the event loop's and the request pool's) gets its own
    profiler, appended to `profiles`."""
    import uvicorn  # noqa: PLC0415 - only when profiling the server

    from sync.server.app import create_app  # noqa: PLC0415

    def start_profiling(*_: object) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile()
        profiles.append(profiler)
        profiler.enable()

    port = real_server.free_port()
    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(
        create_app(data_dir, enrol_limit=1000), host="127.0.0.1", port=port,
        log_level="warning", access_log=False))
    threading.setprofile(start_profiling)  # request threads start lazily, so left on
    thread = threading.Thread(target=server.run, name="bench-server")
    thread.start()
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            real_server.wait_for_health(
                client, exited=lambda: None if thread.is_alive() else "stopped",
                logs=lambda: "see the output above", timeout=30)
        yield url, 0
    finally:
        threading.setprofile(None)
        server.should_exit = True
        thread.join(timeout=10)


# -- the devices -----------------------------------------------------------------------------

@dataclass
class Program:
    url: str
    data_dir: Path
    tmp: Path
    recovery_codes: dict[str, str] = field(default_factory=dict)

    def device(self, name: str, user_id: str) -> Session:
        """A new laptop of `user_id`; a later one recovers their keys with the recovery code
        shown at the first, as a person does."""
        code = real_server.enrolment_code(self.data_dir, user_id)
        session = Session(ProfilePaths(self.tmp / name), clock=clock)
        session.create(PASSPHRASE)
        done = enrol(session, server_url=self.url, code=code, device_name=name,
                     recovery_code=self.recovery_codes.get(user_id, ""))
        if done.recovery_code:
            self.recovery_codes[user_id] = done.recovery_code
        return session


def open_cases(supervisor: Session) -> list[CaseId]:
    cases = []
    for i in range(CASES):
        case = Case(id=CaseId(new_id()), family_name=f"Family {i}",
                    parents=(Person(name=f"Parent {i}A", relationship="mother",
                                    details="in outpatient treatment"),),
                    children=(Person(name=f"Child {i}C", relationship="son", details="age 6"),),
                    address=f"{100 + i} Elm Street, Springfield", coordinator_id=UserId("rc1"),
                    intact_worker_id=UserId("iw1"), supervisor_ids=(UserId("sup1"),),
                    start_date=TODAY - timedelta(days=760), visits_per_week=2)
        cases.append(CaseService(supervisor.workspace()).open_case(case).id)
    return cases


def fill(worker: Session, cases: list[CaseId], records: int, rng: random.Random) -> int:
    """Write `records` records through the worker's services; returns the outbox size."""
    details = _records_bench().details
    # Every month before last is submitted (after its trips); this month and last stay open.
    months = sorted({(TODAY - timedelta(days=d)).strftime("%Y-%m") for d in range(62, 730)})
    n_notes, n_addenda, n_revisions = int(records * 0.60), int(records * 0.02), \
        int(records * 0.19)
    n_trips = records - n_notes - n_addenda - n_revisions - len(months)
    ws = worker.workspace()
    notes, screens, mileage = NoteService(ws), ScreenService(ws), MileageService(ws)
    panel = ws.settings.panel
    db, _ = worker.vault().open_parts()
    with db.atomic():  # one transaction; each service call inside is its own savepoint
        signed: list[NoteId] = []
        for i in range(n_notes):
            age = rng.randrange(0, 730)
            note = notes.start_draft(cases[i % CASES], details(rng, TODAY - timedelta(days=age)))
            if age > 3 or (age > 0 and rng.random() < 0.5):  # recent notes are often drafts
                signed.append(notes.sign(note.id).id)
        for note_id in rng.sample(signed, min(n_addenda, len(signed))):
            notes.add_addendum(note_id, reason="Late information", text="The parent called "
                               "afterwards to confirm the treatment appointment time.")
        n_screens = round(n_revisions / 1.1)
        recorded = []
        for i in range(n_screens):
            recorded.append(screens.record(DrugScreen(
                id=ScreenId(new_id()), case_id=cases[i % CASES], person=f"Parent {i % CASES}A",
                collected_at=NOW - timedelta(days=rng.randrange(1, 730)),
                reason=rng.choice(list(ScreenReason)), panel=panel,
                results={s: SubstanceResult.NEGATIVE for s in panel},
                recorded_by=UserId("rc1"))))
        for screen in rng.sample(recorded, n_revisions - n_screens):
            screens.correct(screen.id, replace(screen, results={
                **screen.results, panel[0]: SubstanceResult.POSITIVE}),
                reason="Wrong substance ticked")
        for i in range(n_trips):
            day = TODAY - timedelta(days=rng.randrange(0, 730))
            mileage.add_trip(Trip(
                id=TripId(new_id()), worker_id=UserId("rc1"), trip_date=day,
                origin="Office", destination=f"{100 + i % CASES} Elm Street",
                purpose="Home visit", miles=Decimal(rng.randrange(20, 400)) / 10,
                round_trip=True, case_id=cases[i % CASES],
                recorded_at=datetime.combine(day, clock_time(23), tzinfo=UTC)))
        for month in months:
            mileage.submit(month)
    return int(db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])


# -- the baseline ----------------------------------------------------------------------------

def copy_rows(vault_file: Path, target: Path) -> tuple[int, float]:
    """Every row of the record tables into a fresh file with the same columns; rows, seconds."""
    started = time.perf_counter()
    source = sqlite3.connect(f"file:{vault_file}?mode=ro", uri=True)
    copy = sqlite3.connect(target, isolation_level=None)
    rows = 0
    try:
        copy.execute("PRAGMA journal_mode = WAL")
        copy.execute("PRAGMA synchronous = FULL")
        copy.execute("BEGIN")
        for table in wire.SYNCED_TABLES:
            columns = [(r[1], r[2]) for r in source.execute(f"PRAGMA table_info([{table}])")]
            names = ", ".join(f"[{name}]" for name, _ in columns)
            copy.execute(f"CREATE TABLE [{table}] ("
                         f"{', '.join(f'[{name}] {kind}' for name, kind in columns)})")
            found = source.execute(f"SELECT {names} FROM [{table}]").fetchall()  # noqa: S608
            copy.executemany(f"INSERT INTO [{table}] VALUES "  # noqa: S608
                             f"({', '.join('?' for _ in columns)})", found)
            rows += len(found)
        copy.execute("COMMIT")
    finally:
        copy.close()
        source.close()
    return rows, time.perf_counter() - started


# -- the run ---------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """CPU time used so far by another process (Linux); 0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Timed:
    """One sync: its report, wall seconds, and CPU seconds on each side (robust to other work
    on the machine, which stretches the wall time of both)."""

    report: SyncReport
    seconds: float
    client_cpu: float
    server_cpu: float

    @property
    def cpu(self) -> float:
        return self.client_cpu + self.server_cpu


def timed_sync(engine: SyncEngine, server_pid: int) -> Timed:
    cpu, server_cpu = time.process_time(), cpu_seconds(server_pid)
    started = time.perf_counter()
    report = engine.sync()
    seconds = time.perf_counter() - started
    return Timed(report, seconds, time.process_time() - cpu,
                 cpu_seconds(server_pid) - server_cpu)


@dataclass
class Figures:
    load: float
    outbox: int = 0
    fill_s: float = 0.0
    first: Timed | None = None
    restore: Timed | None = None
    empty: list[Timed] = field(default_factory=list)
    baseline_rows: int = 0
    baseline_s: float = 0.0
    server_records: int = 0
    held: dict[str, tuple[int, int]] = field(default_factory=dict)  # rows, inbox, by device
    signatures: Signatures | None = None


@dataclass(frozen=True)
class Signatures:
    """What the worker's changes cost to sign and to check, measured on what the server holds."""

    count: int
    sign_s: float        # one core, as a laptop signed them before the batch was threaded
    check_s: float       # one core
    check_all_s: float   # every core, as the server and a new laptop check them now


def signature_costs(data_dir: Path, author: str) -> Signatures:
    """Sign again (with a new key) and check (with the author's key) every change `author` has
    on the server, over the very statements `wire.op_statement` builds."""
    store = real_server.read_only(data_dir)
    try:
        key = str(store.execute("SELECT signing_key FROM users WHERE id = ?",
                                [author]).fetchone()[0])
        rows = store.execute(
            "SELECT op_id, tbl, record_id, scope, base_rev, deleted, plain, stamp, key_version, "
            "sealed, payload_hash, signature FROM records WHERE author = ?", [author]).fetchall()
    finally:
        store.close()
    signed = []
    for op_id, tbl, record_id, scope, base, deleted, plain, stamp, version, sealed, hashed, \
            signature in rows:
        stamped = json.loads(stamp)
        own = {k: v for k, v in json.loads(plain).items() if k not in stamped}
        statement = wire.op_statement(author, op_id=op_id, table=tbl, record_id=record_id,
                                      scope=scope, base_rev=base, deleted=bool(deleted),
                                      plain=own, key_version=version, sealed=sealed,
                                      payload_hash=hashed)
        signed.append((statement, signature))
    identity = Identity.generate()
    started = time.perf_counter()
    for statement, _ in signed:
        identity.sign(statement)
    sign_s = time.perf_counter() - started

    def check(chunk: Sequence[tuple[bytes, str]]) -> list[bool]:
        return [verifies(key, statement, signature) for statement, signature in chunk]

    started = time.perf_counter()
    one = check(signed)
    check_s = time.perf_counter() - started
    started = time.perf_counter()
    every = on_every_core(check, signed)
    check_all_s = time.perf_counter() - started
    assert all(one) and all(every), "a change on the server does not carry its signature"
    return Signatures(len(signed), sign_s, check_s, check_all_s)


def run(args: argparse.Namespace, tmp: Path) -> Figures:
    figures = Figures(load=os.getloadavg()[0])  # other work on the machine skews the timings
    data_dir = tmp / "server"
    prepare(data_dir)
    server_profiles: list[cProfile.Profile] = []
    serving = server_in_process(data_dir, server_profiles) if args.profile == "server" else \
        server_process(data_dir, tmp / "server.log")
    with serving as (url, server_pid):
        program = Program(url=url, data_dir=data_dir, tmp=tmp)
        supervisor = program.device("sup-laptop", "sup1")
        worker = program.device("rc-laptop", "rc1")
        cases = open_cases(supervisor)
        SyncEngine(supervisor).sync()
        SyncEngine(worker).sync()  # the cases and their keys come down before the day's work
        started = time.perf_counter()
        figures.outbox = fill(worker, cases, args.records, random.Random(20261124))
        figures.fill_s = time.perf_counter() - started
        for profiler in server_profiles:  # only the first sync is profiled
            profiler.clear()
        client_profile = cProfile.Profile() if args.profile == "client" else None
        if client_profile is not None:
            client_profile.enable()
        figures.first = timed_sync(SyncEngine(worker), server_pid)
        if client_profile is not None:
            client_profile.disable()
            report_profile("client (the worker's process)", [client_profile])
        if server_profiles:
            for profiler in server_profiles:
                profiler.disable()
            report_profile("server (all its threads)", server_profiles)
        restoring = program.device("sup-new-laptop", "sup1")
        figures.restore = timed_sync(SyncEngine(restoring), server_pid)
        for _ in range(args.empty_runs):  # a new engine each time, as the app makes one
            figures.empty.append(timed_sync(SyncEngine(worker), server_pid))
            assert figures.empty[-1].report.pushed == 0, figures.empty[-1].report
            assert figures.empty[-1].report.pulled == 0, figures.empty[-1].report
        store = real_server.read_only(data_dir)
        try:
            figures.server_records = int(store.execute(
                "SELECT count(*) FROM records WHERE author = 'rc1'").fetchone()[0])
        finally:
            store.close()
        db, _ = worker.vault().open_parts()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures.signatures = signature_costs(data_dir, "rc1")
        figures.baseline_rows, figures.baseline_s = copy_rows(
            worker.profile.paths.database, tmp / "baseline.sqlite3")
        for name, session in (("worker", worker), ("new device", restoring)):
            figures.held[name] = held(session)
        for session in (worker, supervisor, restoring):
            session.vault().lock(backup=False)
    return figures


def held(session: Session) -> tuple[int, int]:
    """Rows of the record tables, and documents waiting in the inbox (the digest counts those
    as held, so a verified sync alone does not show that everything landed)."""
    db, _ = session.vault().open_parts()
    rows = sum(int(db.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0])  # noqa: S608
               for t in wire.SYNCED_TABLES)
    return rows, int(db.execute("SELECT count(*) FROM sync_inbox").fetchone()[0])


def report_profile(title: str, profiles: list[cProfile.Profile], top: int = 30) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=out)
    for profiler in profiles[1:]:
        stats.add(profiler)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\n==== profile: {title} ====")
    print(out.getvalue())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def print_table(figures: Figures) -> None:
    first, restore, empty = figures.first, figures.restore, figures.empty
    assert first is not None and restore is not None and empty
    ratio = first.seconds / figures.baseline_s
    walls = [t.seconds * 1000 for t in empty]
    cpus = [t.cpu * 1000 for t in empty]
    median, p95 = statistics.median(walls), percentile(walls, 0.95)

    def met(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    rows: list[tuple[str, ...]] = [
        (f"first sync, worker: {first.report.pushed:,} pushed, {first.report.pulled:,} pulled "
         "(push+pull+verify)", f"{first.seconds:.2f} s", "< 3 s", met(first.seconds < 3),
         f"{first.client_cpu:.2f} + {first.server_cpu:.2f} s"),
        ("  records per second", f"{figures.outbox / first.seconds:,.0f} /s", "", "", ""),
        (f"baseline: {figures.baseline_rows:,} rows copied between two SQLite files",
         f"{figures.baseline_s:.3f} s", "", "", ""),
        ("  first sync / baseline", f"{ratio:.1f}x", "<= 5x", met(ratio <= 5),
         f"{first.cpu / figures.baseline_s:.1f}x"),
        (f"first pull, new supervisor device: {restore.report.pulled:,} documents",
         f"{restore.seconds:.2f} s", "", "",
         f"{restore.client_cpu:.2f} + {restore.server_cpu:.2f} s"),
        (f"sync with nothing to do, {len(empty)} runs: median", f"{median:.0f} ms",
         "< 100 ms", met(median < 100), f"{statistics.median(cpus):.0f} ms"),
        ("  p95", f"{p95:.0f} ms", "< 100 ms", met(p95 < 100), f"{percentile(cpus, 0.95):.0f} ms"),
    ]
    costs = figures.signatures
    if costs is not None:
        share = (costs.sign_s + costs.check_all_s) / first.seconds * 100
        rows += [
            (f"signatures: the worker's {costs.count:,} changes signed, one core",
             f"{costs.sign_s:.2f} s", "", "", ""),
            ("  checked, one core", f"{costs.check_s:.2f} s", "", "", ""),
            ("  checked, every core (server and laptop, as they run)",
             f"{costs.check_all_s:.2f} s", "", "", ""),
            ("  signing + checking, share of the first sync", f"{share:.0f} %", "< 20 %",
             met(share < 20), ""),
        ]
    report(f"first sync of {figures.outbox:,} records (push+pull+verify)", first.seconds, "s",
           target=3)
    report("first sync: its ratio to copying the same rows between two SQLite files", ratio, "x",
           target=5, at_most=True)
    report(f"first pull of {restore.report.pulled:,} documents on a new device", restore.seconds,
           "s")
    report(f"sync with nothing to do: median of {len(empty)}", median, "ms", target=100)
    report(f"sync with nothing to do: p95 of {len(empty)}", p95, "ms", target=100)
    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{platform.platform(terse=True)}; load average before the run {figures.load:.1f}")
    print(f"records written by the worker: {figures.outbox:,} (outbox entries) in "
          f"{figures.fill_s:.1f} s through the services; on the server afterwards: "
          f"{figures.server_records:,} of theirs; verified: worker {first.report.verified}, "
          f"new device {restore.report.verified}; outcomes {first.report.outcomes}")
    print("record rows held (waiting in the inbox): " + ", ".join(
        f"{name} {rows:,} ({waiting})" for name, (rows, waiting) in figures.held.items()))
    header = ("figure", "wall", "target", "", "CPU client + server")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(f"{cell:>{widths[i]}}" if i in (1, 4) else f"{cell:<{widths[i]}}"
                        for i, cell in enumerate(row)).rstrip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--empty-runs", type=int, default=EMPTY_RUNS)
    parser.add_argument("--profile", choices=("client", "server"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args, Path(tmp))
    print_table(figures)


if __name__ == "__main__":
    main()
