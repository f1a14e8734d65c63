"""An export as a file and an audit entry: refused exports write nothing; a written one is
recorded once, with its digest and never its name; a cancel, a bad target or a failed audit
entry leaves no file, no temporary file and no entry behind."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from fieldapp.domain.audit import Action, AuditEntry
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KnownError, NotPermitted, VaultLocked
from fieldapp.domain.exports import (
    ExportCancelled,
    ExportFormat,
    ExportRequest,
    ReportKind,
    ScopeKind,
)
from fieldapp.domain.people import Actor, CaseId, NoteId, new_id
from fieldapp.domain.visits import VisitNote
from fieldapp.services.exports import job
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.export_helpers import (
    OFF_TEAM,
    PAYROLL,
    Team,
    add_trips,
    add_visits,
    ask,
    counting,
    make_team,
    pdf_renderer,
    read_csv,
)
from tests.services.records_helpers import (
    ADMIN,
    OTHER_WORKER,
    SUPERVISOR,
    WORKER,
    assert_refused,
    snapshot,
    visit_details,
)

PDF, CSV = ExportFormat.PDF, ExportFormat.CSV
VISITS, MILEAGE, SCREENS = ReportKind.VISIT_LOG, ReportKind.MILEAGE, ReportKind.SCREENS


@pytest.fixture
def team(vault: Vault, clock: FakeClock) -> Team:
    made = make_team(vault, clock)
    add_visits(made)
    add_trips(made)
    return made


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """One program for the refusal tests, which must change nothing in it."""
    clock = FakeClock()
    paths = ProfilePaths(tmp_path_factory.mktemp("refusals") / "profile")
    vault = Profile(paths, clock=clock).create(PASSPHRASE)
    made = make_team(vault, clock)
    add_visits(made)
    add_trips(made)
    yield made
    vault.lock()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def export(team: Team, request: ExportRequest, target: Path, *, actor: Actor = SUPERVISOR,
           **kwargs: Any) -> job.Exported:
    pdf = pdf_renderer() if request.fmt is PDF else None
    return job.export(team.ws(actor), request, target, pdf=pdf, **kwargs)


def audit(team: Team) -> AuditStore:
    return AuditStore(*team.vault.open_parts())


# --- refused -----------------------------------------------------------------------------------


REFUSED: dict[str, tuple[Actor, ExportRequest]] = {
    "supervisor: a case unknown here": (
        SUPERVISOR, ExportRequest(kind=VISITS, scope=ScopeKind.CASES, first_day=date(2026, 10, 1),
                                  last_day=date(2026, 10, 31), fmt=PDF,
                                  case_ids=(CaseId("no-such-case"),), terms=PAYROLL)),
    "supervisor: a worker not on the team (mileage)": (
        SUPERVISOR, ask(MILEAGE, CSV, ScopeKind.WORKER, worker=OFF_TEAM)),
    "supervisor: a worker not on the team (visit log)": (
        SUPERVISOR, ask(VISITS, PDF, ScopeKind.WORKER, worker=OFF_TEAM)),
    "worker: another worker's work": (WORKER, ask(MILEAGE, CSV, ScopeKind.WORKER,
                                                  worker=OTHER_WORKER)),
    "worker: another worker's visits": (WORKER, ask(VISITS, PDF, ScopeKind.WORKER,
                                                    worker=OTHER_WORKER)),
    "worker: the team": (WORKER, ask(SCREENS, CSV)),
    "admin: the team": (ADMIN, ask(VISITS, CSV)),
}


@pytest.mark.parametrize(("actor", "request_"), REFUSED.values(), ids=REFUSED.keys())
def test_an_export_beyond_the_actor_is_refused_and_writes_nothing(
        shared: Team, out: Path, qapp: QApplication, actor: Actor,
        request_: ExportRequest) -> None:
    db, _ = shared.vault.open_parts()
    assert_refused(db, NotPermitted,
                   lambda: export(shared, request_, out / request_.file_name(), actor=actor))
    assert list(out.iterdir()) == []


def test_cases_of_another_team_are_refused_by_id(shared: Team, out: Path) -> None:
    db, _ = shared.vault.open_parts()
    for actor, cases in ((SUPERVISOR, (shared.castillo,)),
                         (SUPERVISOR, (shared.alder, shared.dovey)),
                         (WORKER, (shared.brennan,)), (OTHER_WORKER, (shared.alder,))):
        assert_refused(db, NotPermitted, partial(
            export, shared, ask(SCREENS, CSV, ScopeKind.CASES, cases=cases), out / "x.csv",
            actor=actor))
    assert list(out.iterdir()) == []


# --- audited -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [CSV, PDF])
def test_an_export_is_audited_once_with_its_digest(team: Team, out: Path, qapp: QApplication,
                                                   fmt: ExportFormat) -> None:
    db, _ = team.vault.open_parts()
    before = audit(team).entries()
    request = ask(VISITS, fmt)
    target = out / request.file_name()
    done = export(team, request, target)

    data = target.read_bytes()
    assert done == job.Exported(path=target, size=len(data),
                                sha256=hashlib.sha256(data).hexdigest(), records=5)
    entries = audit(team).entries()
    assert entries[:len(before)] == before
    # One export entry, then one accounting-of-disclosures entry per family in the file.
    (entry, *disclosed) = entries[len(before):]
    assert (entry.action, entry.actor, entry.subject, entry.at) == \
        (Action.EXPORT, "sup-1", "visit-log", iso(team.clock()))
    assert entry.details == {
        "format": str(fmt), "scope": "team", "worker": "",
        "cases": sorted([team.alder.id, team.brennan.id]), "first_day": "2026-10-01",
        "last_day": "2026-10-31", "records": 5, "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "recipient_kind": "program staff",
        "basis": "within the program"}
    assert sorted(d.details["case"] for d in disclosed) == entry.details["cases"]
    assert {(d.action, d.details["sha256"]) for d in disclosed} == \
        {(Action.DISCLOSURE, hashlib.sha256(data).hexdigest())}
    # Where the file went is the person's business: it is nowhere in the database.
    everything = repr(snapshot(db))
    assert target.name not in everything and str(out) not in everything
    assert audit(team).first_break() is None
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in out.iterdir()] == [target.name]


def exports_audited(team: Team) -> list[AuditEntry]:
    return [e for e in audit(team).entries() if e.action == Action.EXPORT]


def test_a_workers_mileage_export_is_audited_with_the_worker(team: Team, out: Path) -> None:
    request = ask(MILEAGE, CSV, ScopeKind.WORKER, worker=WORKER)
    done = export(team, request, out / request.file_name(), actor=WORKER)
    entry = exports_audited(team)[-1]
    assert (entry.action, entry.actor, entry.subject) == (Action.EXPORT, "rc-1", "mileage")
    assert (entry.details["scope"], entry.details["worker"], entry.details["records"]) == \
        ("worker", "rc-1", 3)
    assert entry.details["sha256"] == done.sha256 == \
        hashlib.sha256(done.path.read_bytes()).hexdigest()
    assert audit(team).first_break() is None


# --- nothing partial ---------------------------------------------------------------------------


def many_visits(team: Team, count: int) -> None:
    """`count` draft visits on Alder in October, straight into the store (fast)."""
    ws = team.ws(WORKER)
    with ws.unit() as stores:
        for i in range(count):
            stores.notes.add_draft(VisitNote(
                id=NoteId(new_id()), case_id=team.alder.id, author=WORKER.user_id, revision=1,
                details=visit_details(visit_date=date(2026, 10, 1 + i % 31),
                                      narrative=f"Visit number {i}.")))


def test_cancel_during_csv_leaves_nothing(team: Team, out: Path) -> None:
    many_visits(team, 1100)
    db, _ = team.vault.open_parts()
    request = ask(VISITS, CSV)
    progress, cancelled, calls = counting(1)
    assert_refused(db, ExportCancelled, lambda: export(
        team, request, out / request.file_name(), progress=progress, cancelled=cancelled))
    assert calls == [500], "cancelled after the first 500 rows, before the end"
    assert list(out.iterdir()) == []
    # Without the cancel the same export goes through: the cancel, not the data, stopped it.
    progress, _, calls = counting(1)
    export(team, request, out / request.file_name(), progress=progress)
    assert calls == [500, 1000, 1105]
    assert len(read_csv((out / request.file_name()).read_bytes()).rows) == 1105


@pytest.mark.parametrize("limit", [0, 1])
def test_cancel_during_pdf_leaves_nothing(team: Team, out: Path, qapp: QApplication,
                                          limit: int) -> None:
    db, _ = team.vault.open_parts()
    request = ask(VISITS, PDF)
    progress, cancelled, calls = counting(limit)
    assert_refused(db, ExportCancelled, lambda: export(
        team, request, out / request.file_name(), progress=progress, cancelled=cancelled))
    assert calls == list(range(1, limit + 1))
    assert list(out.iterdir()) == []


def test_cancel_during_the_pdf_layout_leaves_nothing(team: Team, out: Path,
                                                     qapp: QApplication) -> None:
    db, _ = team.vault.open_parts()
    request = ask(VISITS, PDF)
    progress, cancelled, calls = counting(1, layout=True)
    assert_refused(db, ExportCancelled, lambda: export(
        team, request, out / request.file_name(), progress=progress, cancelled=cancelled))
    assert calls == [0]
    assert list(out.iterdir()) == []


def test_cancel_keeps_the_file_it_would_have_replaced(team: Team, out: Path,
                                                      qapp: QApplication) -> None:
    target = out / "report.pdf"
    target.write_bytes(b"last month's report")
    progress, cancelled, _ = counting(1)
    with pytest.raises(ExportCancelled):
        export(team, ask(VISITS, PDF), target, progress=progress, cancelled=cancelled,
               overwrite=True)
    assert target.read_bytes() == b"last month's report"
    assert [p.name for p in out.iterdir()] == ["report.pdf"]


@pytest.mark.parametrize(("where", "words"), [
    (lambda out: out / "missing" / "report.csv", "does not exist"),
    (lambda out: out, "is a folder; choose a file name."),
])
def test_a_bad_target_is_a_known_error_with_nothing_written(
        team: Team, out: Path, where: Any, words: str) -> None:
    db, _ = team.vault.open_parts()
    before = snapshot(db)
    with pytest.raises(KnownError) as refused:
        export(team, ask(VISITS, CSV), where(out))
    assert words in refused.value.message
    assert snapshot(db) == before
    assert list(out.iterdir()) == []


def test_an_existing_file_is_kept_unless_overwrite(team: Team, out: Path) -> None:
    db, _ = team.vault.open_parts()
    target = out / "report.csv"
    target.write_bytes(b"keep me")
    assert_refused(db, KnownError, lambda: export(team, ask(VISITS, CSV), target))
    assert target.read_bytes() == b"keep me"
    entries = len(exports_audited(team))
    done = export(team, ask(VISITS, CSV), target, overwrite=True)
    assert read_csv(target.read_bytes()).head["Report"] == "Visit log"
    assert len(exports_audited(team)) == entries + 1
    assert exports_audited(team)[-1].details["sha256"] == done.sha256
    assert [p.name for p in out.iterdir()] == ["report.csv"]


def test_a_failed_audit_entry_withdraws_the_file(team: Team, out: Path) -> None:
    db, _ = team.vault.open_parts()
    with db.atomic():
        db.execute("CREATE TRIGGER no_more_audit BEFORE INSERT ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'the audit log is full'); END")
    assert_refused(db, sqlite3.IntegrityError,
                   lambda: export(team, ask(VISITS, CSV), out / "report.csv"))
    assert list(out.iterdir()) == []


def test_a_vault_locked_before_the_audit_entry_withdraws_the_file(
        team: Team, out: Path, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    real_record = job.record
    written: list[bool] = []

    def lock_first(*args: Any, **kwargs: Any) -> None:
        written.append((out / "report.csv").exists())
        team.vault.lock()   # the laptop locked itself while the file was being written
        real_record(*args, **kwargs)

    monkeypatch.setattr(job, "record", lock_first)
    entries = len(audit(team).entries())
    with pytest.raises(VaultLocked):
        export(team, ask(VISITS, CSV), out / "report.csv")
    assert written == [True], "the file was there before the audit step"
    assert list(out.iterdir()) == []
    reopened = profile.unlock(PASSPHRASE)
    try:
        assert len(AuditStore(*reopened.open_parts()).entries()) == entries
    finally:
        reopened.lock()
