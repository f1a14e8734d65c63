"""A coordinator taken off a case by the administrator (`case-assign`) while a change of theirs is
refused: the laptop keeps the case for the grace period, then forgets it and its keys, and the
refused change is kept, sealed, for its author to export or discard; nothing is dropped silently.
Without unsettled work the case goes at the first sync, as before.

Real server on 127.0.0.1, real vault files, the laptop's clock moved by hand.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fieldapp.domain.people import CaseId
from fieldapp.domain.visits import VisitNote
from fieldapp.services import case_keys, kept
from fieldapp.services.session import Session
from sync.client.engine import replica_of
from sync.client.forget import GRACE
from tests.conftest import PASSPHRASE, FakeClock
from tests.real_server import run_cli
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import ROOT, SyncServer, sync
from tests.sync.test_end_to_end import family

CASE = "fam-1"
REFUSED = "Typed on the bus after the case was moved: the mother's new address."


def coordinator_with_a_case(sync_server: SyncServer, clock: FakeClock) -> tuple[Session, VisitNote]:
    """rc1 holds the family and its key, with a draft already on the server."""
    coordinator = sync_server.device("rc", "rc1", clock=clock)
    supervisor = sync_server.device("sup", "sup1")
    services_of(supervisor).cases.open_case(family(CASE))
    sync(supervisor)
    sync(coordinator)
    note = services_of(coordinator).notes.start_draft(CaseId(CASE),
                                                      visit_details(narrative="Sent."))
    assert sync(coordinator).outcomes == {"applied": 1}
    return coordinator, note


def take_off_the_case(sync_server: SyncServer) -> None:
    """The administrator leaves the family with its intact worker only."""
    run_cli(sync_server.data_dir, "case-assign", CASE, "--intact-worker", "iw1")


def refused_edit(sync_server: SyncServer, clock: FakeClock) -> tuple[Session, VisitNote]:
    """Taken off the case, the coordinator edits the draft offline; the server refuses it."""
    coordinator, note = coordinator_with_a_case(sync_server, clock)
    take_off_the_case(sync_server)
    notes = services_of(coordinator).notes
    notes.save_draft(note.id, visit_details(narrative=REFUSED),
                     expected_revision=notes.get(note.id).revision)
    report = sync(coordinator)
    assert report.outcomes == {"rejected": 1} and report.forgotten == []
    return coordinator, note


def holds_the_case(session: Session) -> bool:
    return [r.case.id for r in services_of(session).cases.caseload()] == [CASE]


def keys_of_the_case(session: Session) -> list[int]:
    return sorted(v for (scope, v) in case_keys.case_keys(session) if scope == CASE)


def fieldapp(session: Session, *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    """`fieldapp ARGS` on the (locked) profile, as a person runs it."""
    root = session.profile.paths.root
    if session.is_open:
        session.lock()
    return subprocess.run([sys.executable, "-m", "fieldapp", "--data-dir", str(root), *args,
                           "--passphrase-stdin"], input=f"{PASSPHRASE}\n{answer}",
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def test_a_refused_change_holds_the_case_for_the_grace_period_then_is_kept_for_its_author(
        sync_server: SyncServer, tmp_path: Path) -> None:
    """Until `GRACE` has passed since the first sync that found the case gone, the case, its key
    and the refusal stay; at `GRACE` exactly the case and its keys leave the laptop, and the
    refused change is readable only through the kept place and `fieldapp kept --export`."""
    clock = FakeClock()
    coordinator, note = refused_edit(sync_server, clock)
    clock.advance((GRACE - timedelta(seconds=1)).total_seconds())
    within = sync(coordinator)
    assert within.forgotten == [] and holds_the_case(coordinator)
    assert keys_of_the_case(coordinator) == [1]
    [problem] = replica_of(coordinator).problems()
    assert problem["record_id"] == note.id, "the refusal is still shown"
    assert kept.kept_of(coordinator).items() == []

    clock.advance(1)
    after = sync(coordinator)
    assert after.forgotten == [CASE]
    assert not holds_the_case(coordinator) and keys_of_the_case(coordinator) == []
    assert replica_of(coordinator).problems() == [] and replica_of(coordinator).waiting() == 0
    [item] = kept.kept_of(coordinator).items()
    assert (item.scope, item.table, item.record_id, item.thing) == (
        CASE, "visit_notes", note.id, "visit note")
    assert item.record is not None and item.record["body"]["narrative"] == REFUSED
    assert item.why.startswith("The server refused it: ")
    assert [c["state"] for c in item.changes] == ["rejected"]
    assert kept.sentence([item]) == \
        "1 change to a case no longer yours was kept for you to export"
    assert sync(coordinator).forgotten == [], "forgotten once, not at every sync"
    assert len(kept.kept_of(coordinator).items()) == 1

    coordinator.lock()
    profile = coordinator.profile.paths.root
    assert not [p for p in profile.rglob("*") if p.is_file()
                and REFUSED.encode() in p.read_bytes()], "kept sealed, never in clear"

    out = tmp_path / "kept.json"
    done = fieldapp(coordinator, "kept", "--export", str(out))
    assert done.returncode == 0, done.stderr
    [written] = json.loads(out.read_text(encoding="utf-8"))["kept"]
    assert written["record"]["body"]["narrative"] == REFUSED
    assert written["scope"] == CASE and written["why"] == item.why
    assert out.stat().st_mode & 0o077 == 0, "readable by its owner only"


def test_without_unsettled_work_the_case_goes_at_the_first_sync(sync_server: SyncServer) -> None:
    """Nothing waiting, refused or in conflict: no grace period, nothing kept."""
    coordinator, _ = coordinator_with_a_case(sync_server, FakeClock())
    take_off_the_case(sync_server)
    assert sync(coordinator).forgotten == [CASE]
    assert not holds_the_case(coordinator) and keys_of_the_case(coordinator) == []
    assert kept.kept_of(coordinator).items() == []
    db, _ = coordinator.vault().open_parts()
    assert db.execute("SELECT count(*) FROM leaving_scopes").fetchone()[0] == 0


def test_a_case_given_back_within_the_grace_period_starts_a_new_one_if_taken_again(
        sync_server: SyncServer) -> None:
    """The grace period counts from the last time the case was taken away, not the first."""
    clock = FakeClock()
    coordinator, _ = refused_edit(sync_server, clock)
    clock.advance(timedelta(days=10).total_seconds())
    run_cli(sync_server.data_dir, "case-assign", CASE, "--coordinator", "rc1",
            "--intact-worker", "iw1")
    assert sync(coordinator).forgotten == [] and holds_the_case(coordinator)
    clock.advance(timedelta(days=10).total_seconds())
    take_off_the_case(sync_server)
    assert sync(coordinator).forgotten == [], "20 days since the first removal, 0 since this"
    clock.advance((GRACE - timedelta(seconds=1)).total_seconds())
    assert sync(coordinator).forgotten == []
    clock.advance(1)
    assert sync(coordinator).forgotten == [CASE]


def test_kept_changes_go_to_csv_and_are_discarded_only_when_the_person_confirms(
        sync_server: SyncServer, tmp_path: Path) -> None:
    clock = FakeClock()
    coordinator, note = refused_edit(sync_server, clock)
    clock.advance(GRACE.total_seconds())
    assert sync(coordinator).forgotten == [CASE]
    synced = fieldapp(coordinator, "sync")
    assert synced.returncode == 1, "kept changes need the person until exported or discarded"
    assert "Needs attention: 1 change to a case no longer yours was kept for you to export" \
        in synced.stdout
    listed = fieldapp(coordinator, "kept")
    assert listed.returncode == 0, listed.stderr
    assert "1 change to a case no longer yours was kept for you to export" in listed.stdout
    assert REFUSED not in listed.stdout, "the list names the record, not its content"

    out = tmp_path / "kept.csv"
    assert fieldapp(coordinator, "kept", "--export", str(out)).returncode == 0
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    header = rows.index(list(kept.CSV_COLUMNS))
    [row] = rows[header + 1:]
    assert row[1:4] == [CASE, "visit note", note.id]
    assert json.loads(row[5])["body"]["narrative"] == REFUSED
    again = fieldapp(coordinator, "kept", "--export", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr

    kept_back = fieldapp(coordinator, "kept", "--discard", answer="n\n")
    assert kept_back.returncode == 1 and "Nothing was changed" in kept_back.stdout
    removed = fieldapp(coordinator, "kept", "--discard", answer="y\n")
    assert removed.returncode == 0 and "Removed 1 kept change(s)" in removed.stdout
    reopened = sync_server.reopen("rc", clock=clock)
    assert kept.kept_of(reopened).items() == []
    actions = [(e.action, e.subject) for e in reopened.workspace().stores().audit.entries()]
    assert ("export", kept.SUBJECT) in actions
    assert ("records removed from this laptop", kept.SUBJECT) in actions
