"""Every answer the server can give an op, met by real devices: conflicts of drafts, a signature
against a draft, a return against an addendum, a deletion against an edit, a refused change, a
payload mismatch, the mileage cap across two laptops, the wipe order, a server that lost data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from fieldapp.domain.errors import KnownError
from fieldapp.domain.visits import NoteStatus, VisitNote
from fieldapp.services import enrolment
from fieldapp.services.enrolment import DeviceRevoked, ServerRefused
from fieldapp.services.session import Session
from fieldapp.storage.settings_store import load_settings
from sync.client.engine import replica_of
from sync.server.store import ServerStore
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import drug_screen, make_trip, services_of, visit_details
from tests.sync.conftest import ROOT, SyncServer, serve, sync
from tests.sync.test_end_to_end import family

MONTH = "2026-11"


def laptops(sync_server: SyncServer) -> tuple[Session, Session, Session]:
    """The supervisor (with case set up and synced) and two laptops of coordinator rc1.

    A case key can be given only by someone who holds it, so the supervisor syncs after the
    coordinator has enrolled (in the app, the supervisor's next automatic sync does it)."""
    supervisor = sync_server.device("sup", "sup1")
    first, second = sync_server.device("rc-a", "rc1"), sync_server.device("rc-b", "rc1")
    services_of(supervisor).cases.open_case(family("fam-1"))
    sync(supervisor)
    sync(first)
    sync(second)
    return supervisor, first, second


def shared_draft(first: Session, second: Session) -> tuple[VisitNote, int]:
    """A draft started on the first laptop and synced to both; its revision on the second."""
    note = services_of(first).notes.start_draft("fam-1", visit_details(narrative="Base."))
    sync(first)
    sync(second)
    return note, services_of(second).notes.get(note.id).revision


def conflicts(session: Session, *states: str) -> list[dict[str, object]]:
    return replica_of(session).conflicts(states=states or ("open", "kept"))


def test_a_draft_edited_on_two_laptops_keeps_both_until_the_author_chooses(
        sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    note = services_of(first).notes.start_draft(
        "fam-1", visit_details(narrative="Started at the office."))
    sync(first)
    sync(second)
    here = services_of(second).notes.get(note.id)
    services_of(first).notes.save_draft(note.id, visit_details(narrative="Version from laptop A."),
                                        expected_revision=services_of(first).notes.get(note.id).revision)
    services_of(second).notes.save_draft(note.id, visit_details(narrative="Version from laptop B."),
                                         expected_revision=here.revision)
    sync(first)
    report = sync(second)
    assert report.outcomes == {"conflict": 1} and report.conflicts == 1
    [conflict] = conflicts(second, "open")
    sides = replica_of(second).conflict_sides(str(conflict["id"]))
    assert sides["mine"]["body"]["narrative"] == "Version from laptop B."
    assert sides["theirs"]["body"]["narrative"] == "Version from laptop A."
    # The server kept both: the head, and the losing side as a conflict copy.
    assert sync_server.sql("SELECT count(*) FROM conflict_copies") == [(1,)]
    assert services_of(second).notes.get(note.id).details.narrative == "Version from laptop B."

    replica_of(second).resolve(str(conflict["id"]), "mine")
    assert sync(second).outcomes == {"applied": 1}
    sync(first)
    for laptop in (first, second):
        assert services_of(laptop).notes.get(note.id).details.narrative == "Version from laptop B."
        assert not conflicts(laptop, "open")


def test_keep_theirs_takes_the_other_version_and_sends_nothing(sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    note, revision = shared_draft(first, second)
    services_of(first).notes.save_draft(note.id, visit_details(narrative="A."),
                                        expected_revision=services_of(first).notes.get(note.id).revision)
    services_of(second).notes.save_draft(note.id, visit_details(narrative="B."),
                                         expected_revision=revision)
    sync(first)
    sync(second)
    [conflict] = conflicts(second, "open")
    replica_of(second).resolve(str(conflict["id"]), "theirs")
    assert services_of(second).notes.get(note.id).details.narrative == "A."
    assert sync(second).pushed == 0
    assert conflicts(second, "resolved")[0]["resolution"] == "theirs"


def test_a_signature_stands_and_the_concurrent_draft_is_kept_for_the_author(
        sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    note, revision = shared_draft(first, second)
    services_of(first).notes.sign(note.id)
    services_of(second).notes.save_draft(
        note.id, visit_details(narrative="Typed on B after lunch."), expected_revision=revision)
    sync(first)
    sync(second)
    signed = services_of(second).notes.get(note.id)
    assert signed.status is NoteStatus.SIGNED and signed.details.narrative == "Base."
    [kept] = conflicts(second, "kept")
    sides = replica_of(second).conflict_sides(str(kept["id"]))
    assert sides["mine"]["body"]["narrative"] == "Typed on B after lunch."


def test_signing_over_a_changed_draft_keeps_the_draft_it_replaced(
        sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    note, revision = shared_draft(first, second)
    services_of(second).notes.save_draft(note.id, visit_details(narrative="Changed on B."),
                                         expected_revision=revision)
    sync(second)
    services_of(first).notes.sign(note.id)  # signed offline over the base version
    report = sync(first)
    assert report.outcomes == {"conflict": 1}
    assert services_of(first).notes.get(note.id).status is NoteStatus.SIGNED
    [kept] = conflicts(first, "kept")
    assert replica_of(first).conflict_sides(str(kept["id"]))["theirs"]["body"][
        "narrative"] == "Changed on B."
    sync(second)
    assert services_of(second).notes.get(note.id).status is NoteStatus.SIGNED
    assert services_of(second).notes.get(note.id).details.narrative == "Base."


def test_a_return_and_an_addendum_both_survive(sync_server: SyncServer) -> None:
    sup_clock, rc_clock = FakeClock(), FakeClock()
    supervisor = sync_server.device("sup", "sup1", clock=sup_clock)
    worker = sync_server.device("rc", "rc1", clock=rc_clock)
    services_of(supervisor).cases.open_case(family("fam-1"))
    sync(supervisor)
    sync(worker)
    note = services_of(worker).notes.start_draft("fam-1", visit_details())
    services_of(worker).notes.sign(note.id)
    sync(worker)
    sync(supervisor)
    sup_clock.advance(60)
    services_of(supervisor).notes.return_note(note.id, comment="Who else was present?")
    rc_clock.advance(120)
    services_of(worker).notes.add_addendum(note.id, reason="late detail",
                                           text="The aunt arrived at 3.")
    sync(supervisor)
    sync(worker)
    sync(supervisor)
    for session in (worker, supervisor):
        seen = services_of(session).notes.get(note.id)
        assert [a.text for a in seen.addenda] == ["The aunt arrived at 3."]
        assert [r.comment for r in seen.reviews] == ["Who else was present?"]
        # The author's addendum came after the return: the note waits for co-signature again.
        assert seen.status is NoteStatus.SIGNED


def test_a_deleted_draft_is_not_revived_and_the_edit_is_kept(sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    note, revision = shared_draft(first, second)
    services_of(first).notes.delete_draft(note.id)
    sync(first)
    services_of(second).notes.save_draft(note.id, visit_details(narrative="Edited on B."),
                                         expected_revision=revision)
    report = sync(second)
    assert report.outcomes == {"gone": 1}
    with pytest.raises(KnownError):
        services_of(second).notes.get(note.id)
    [kept] = conflicts(second, "kept")
    assert "deleted" in str(kept["reason"])
    assert sync_server.sql("SELECT deleted FROM records WHERE record_id = ?", note.id) == [(1,)]


def test_a_trip_in_a_month_submitted_elsewhere_is_refused_and_shown(
        sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    services_of(first).mileage.add_trip(make_trip(miles=Decimal(10), round_trip=False))
    sync(first)
    sync(second)
    services_of(first).mileage.submit(MONTH)
    sync(first)
    trip = services_of(second).mileage.add_trip(make_trip(miles=Decimal(7), round_trip=False))
    report = sync(second)
    assert report.outcomes.get("rejected") == 1 and report.problems == 1
    [problem] = replica_of(second).problems()
    assert problem["record_id"] == trip.id and "submitted" in str(problem["reason"])
    assert sync(second).pushed == 0, "a refused change is not retried by itself"
    replica_of(second).dismiss_problem(str(problem["op_id"]))
    assert not replica_of(second).problems()
    assert services_of(second).mileage.trip(trip.id)[0].miles == Decimal(7), "kept on the laptop"


def test_a_reused_op_id_with_another_payload_is_quarantined(sync_server: SyncServer) -> None:
    _, first, _ = laptops(sync_server)
    services_of(first).notes.start_draft("fam-1", visit_details(narrative="Original."))
    sync(first)
    [(op_id, payload)] = sync_server.sql(
        "SELECT op_id, plain FROM records WHERE tbl = 'visit_notes'")
    token = enrolment.enrolment_of(first)["device_token"]  # type: ignore[index]
    head = sync_server.sql("SELECT rev, sealed FROM records WHERE tbl = 'visit_notes'")
    forged = {"op_id": op_id, "table": "visit_notes", "record_id": "other-note",
              "scope": "fam-1", "base_rev": 0, "plain": json.loads(payload),
              "key_version": 1, "sealed": head[0][1], "payload_hash": "0" * 64}
    answer = httpx.post(f"{sync_server.url}/v1/sync/push", json={"ops": [forged]},
                        headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert answer.json()["answers"][0]["outcome"] == "mismatch"
    assert sync_server.sql("SELECT rev, sealed FROM records WHERE tbl = 'visit_notes'") == head
    assert sync_server.sql("SELECT count(*) FROM records WHERE record_id = 'other-note'") == [
        (0,)]


def test_two_laptops_never_claim_more_than_the_cap_between_them(sync_server: SyncServer
                                                                 ) -> None:
    _, first, second = laptops(sync_server)
    services_of(first).mileage.add_trip(make_trip(miles=Decimal(100), round_trip=False))
    services_of(second).mileage.add_trip(make_trip(miles=Decimal(90), round_trip=False))
    before = services_of(second).mileage.month(MONTH)
    assert before.provisional and before.reimbursable == Decimal(90)
    sync(first)
    sync(second)
    sync(first)
    for laptop in (first, second):
        month = services_of(laptop).mileage.month(MONTH)
        assert not month.provisional
        assert month.total == Decimal(190) and month.reimbursable == Decimal(150)
    [(plain,)] = sync_server.sql(
        "SELECT plain FROM records WHERE tbl = 'mileage_allocations'")
    assert Decimal(json.loads(plain)["reimbursable"]) == Decimal(150)


def test_a_revoked_laptop_carries_out_the_wipe_order(sync_server: SyncServer) -> None:
    worker = sync_server.device("rc", "rc1")
    services_of(worker)  # the profile is open and holds its records
    device_id = enrolment.enrolment_of(worker)["device_id"]  # type: ignore[index]
    store = ServerStore(sync_server.data_dir)
    try:
        store.revoke_device(device_id, now=datetime.now(UTC))
    finally:
        store.close()
    root = worker.profile.paths.root
    with pytest.raises(DeviceRevoked):
        sync(worker)
    assert not root.exists()


def test_a_server_restored_from_an_old_backup_gets_the_laptops_records_again(
        sync_server: SyncServer) -> None:
    supervisor, first, _ = laptops(sync_server)
    backup = sync_server.tmp / "server-backup"
    note = services_of(first).notes.start_draft("fam-1",
                                                visit_details(narrative="Before the backup."))
    sync(first)
    sync_server.process.terminate()
    sync_server.process.wait(timeout=10)
    shutil.copytree(sync_server.data_dir, backup)
    later = services_of(first).notes.start_draft("fam-1",
                                                 visit_details(narrative="After the backup."))
    with serve(sync_server.data_dir, sync_server.tmp / "logs") as (url, _):
        sync_server.url = url
        _point_at(first, url)
        sync(first)
    shutil.rmtree(sync_server.data_dir)
    shutil.copytree(backup, sync_server.data_dir)  # the server loses `later`
    with serve(sync_server.data_dir, sync_server.tmp / "logs") as (url, _):
        _point_at(first, url)
        _point_at(supervisor, url)
        report = sync(first)
        assert report.repaired >= 1 and report.verified
        sync(supervisor)
        assert services_of(supervisor).notes.get(later.id).details.narrative == "After the backup."
        assert services_of(supervisor).notes.get(note.id).details.narrative == "Before the backup."


def _point_at(session: Session, url: str) -> None:
    """The server moved to another port (a restart in the test): update the stored address."""
    records = session.records()
    for opened in records.all():
        if opened.row["kind"] == enrolment.ENROLMENT_KIND and opened.body is not None:
            records.replace(str(opened.row["id"]), body={**opened.body, "server_url": url},
                            expected_revision=int(opened.row["revision"]))


def test_fieldapp_sync_from_the_command_line(sync_server: SyncServer) -> None:
    worker = sync_server.device("rc-cli", "rc1")
    services_of(worker).mileage.add_trip(make_trip(miles=Decimal(12), round_trip=False))
    root = worker.profile.paths.root
    worker.lock()
    result = subprocess.run([sys.executable, "-m", "fieldapp", "--data-dir", str(root), "sync",
                             "--passphrase-stdin"], input=PASSPHRASE + "\n", capture_output=True,
                            text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Sent 1 change(s)" in result.stdout and "everything matches" in result.stdout
    assert sync_server.sql("SELECT count(*) FROM records WHERE tbl = 'trips'") == [(1,)]


def test_a_member_who_enrols_later_gets_the_key_at_the_next_sync_of_a_holder(
        sync_server: SyncServer) -> None:
    supervisor = sync_server.device("sup", "sup1")
    services_of(supervisor).cases.open_case(family("fam-1"))
    sync(supervisor)
    worker = sync_server.device("rc", "rc1")
    sync(worker)
    assert services_of(worker).cases.caseload() == [], \
        "no key yet: the case waits, sealed, in the inbox"
    sync(supervisor)  # the server tells a holder that a member lacks the key
    sync(worker)
    assert [r.case.id for r in services_of(worker).cases.caseload()] == ["fam-1"]


def test_a_case_reassigned_away_leaves_the_laptop_and_the_newcomer_gets_it(
        sync_server: SyncServer) -> None:
    supervisor = sync_server.device("sup", "sup1")
    leaving, arriving = sync_server.device("iw", "iw1"), sync_server.device("rc", "rc1")
    case = family("fam-9")
    services_of(supervisor).cases.open_case(case)
    sync(supervisor)
    sync(leaving)
    note = services_of(leaving).notes.start_draft(
        "fam-9", visit_details(narrative="By the intact worker."))
    services_of(leaving).notes.sign(note.id)
    kept = services_of(leaving).notes.start_draft("fam-9", visit_details(narrative="Not sent yet."))
    sync(leaving)
    services_of(leaving).notes.save_draft(
        kept.id, visit_details(narrative="Typed after the last sync."),
        expected_revision=services_of(leaving).notes.get(kept.id).revision)
    # The supervisor moves the family to another intact worker: none (rc1 stays coordinator).
    services_of(supervisor).cases.update_case(replace(services_of(supervisor).cases.get(case.id),
                                                      intact_worker_id=None))
    sync(supervisor)
    first = sync(leaving)
    assert first.forgotten == [], "a change not on the server yet keeps the case here"
    assert services_of(leaving).notes.get(kept.id).details.narrative == "Typed after the last sync."
    assert first.outcomes.get("rejected") == 1  # no longer on the caseload: refused, shown
    [problem] = replica_of(leaving).problems()
    replica_of(leaving).dismiss_problem(str(problem["op_id"]))
    second = sync(leaving)
    assert second.forgotten == ["fam-9"]
    assert services_of(leaving).cases.caseload() == []
    db, _ = leaving.vault().open_parts()
    for table in ("cases", "visit_notes", "synced"):
        assert db.execute(f"SELECT count(*) FROM [{table}] WHERE "  # noqa: S608
                          + ("id" if table == "cases" else "case_id" if table == "visit_notes"
                             else "scope") + " = 'fam-9'").fetchone()[0] == 0
    sync(arriving)
    assert services_of(arriving).notes.get(note.id).details.narrative == "By the intact worker."


def test_one_record_that_cannot_be_sent_does_not_hold_back_the_others(
        sync_server: SyncServer) -> None:
    _, first, _ = laptops(sync_server)
    damaged = services_of(first).notes.start_draft("fam-1",
                                                   visit_details(narrative="Damaged on disk."))
    fine = services_of(first).notes.start_draft("fam-1", visit_details(narrative="Fine."))
    db, _ = first.vault().open_parts()
    with db.atomic():  # a flipped byte in one sealed blob, as a failing disk would leave it
        blob = bytearray(db.execute("SELECT sealed FROM visit_notes WHERE id = ?",
                                    [damaged.id]).fetchone()[0])
        blob[-1] ^= 1
        db.execute("UPDATE visit_notes SET sealed = ? WHERE id = ?", [bytes(blob), damaged.id])
    report = sync(first)
    assert report.outcomes == {"applied": 1} and report.problems == 1
    [problem] = replica_of(first).problems()
    assert problem["record_id"] == damaged.id and "could not be prepared" in str(
        problem["reason"])
    assert sync_server.sql("SELECT record_id FROM records WHERE tbl = 'visit_notes'") == [
        (fine.id,)]


def test_one_screen_corrected_on_two_laptops_keeps_the_second_correction_aside(
        sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    screen = services_of(first).screens.record(drug_screen("fam-1"))
    sync(first)
    sync(second)
    services_of(first).screens.correct(screen.id, replace(screen, comments="Corrected on A."),
                                       reason="typo")
    services_of(second).screens.correct(screen.id, replace(screen, comments="Corrected on B."),
                                        reason="typo")
    sync(first)
    report = sync(second)
    assert report.outcomes == {"conflict": 1}
    for laptop in (first, second):
        assert services_of(laptop).screens.current(screen.id).comments == "Corrected on A."
    [kept] = conflicts(second, "kept")
    assert replica_of(second).conflict_sides(str(kept["id"]))["mine"]["body"][
        "comments"] == "Corrected on B."
    assert sync_server.sql("SELECT count(*) FROM conflict_copies") == [(1,)]


def test_dismissing_a_refused_edit_returns_the_laptop_to_the_servers_version(
        sync_server: SyncServer) -> None:
    _, first, second = laptops(sync_server)
    trip = services_of(first).mileage.add_trip(make_trip(miles=Decimal(10), round_trip=False))
    sync(first)
    sync(second)
    _, revision = services_of(second).mileage.trip(trip.id)
    services_of(first).mileage.submit(MONTH)
    sync(first)
    services_of(second).mileage.edit_trip(replace(trip, miles=Decimal(12)),
                                          expected_revision=revision)
    assert sync(second).outcomes == {"rejected": 1}
    assert services_of(second).mileage.trip(trip.id)[0].miles == Decimal(12), "kept while shown"
    [problem] = replica_of(second).problems()
    replica_of(second).dismiss_problem(str(problem["op_id"]))
    report = sync(second)
    assert report.verified and report.pushed == 0
    assert services_of(second).mileage.trip(trip.id)[0].miles == Decimal(10)
    assert services_of(second).mileage.month(MONTH).status \
        == services_of(first).mileage.month(MONTH).status
    assert not services_of(second).mileage.month(MONTH).provisional


def test_program_rules_the_laptop_cannot_use_change_nothing(sync_server: SyncServer) -> None:
    worker = sync_server.device("rc", "rc1")
    before = worker.workspace().settings
    store = ServerStore(sync_server.data_dir)
    try:
        store.init_program("Riverbend Family Recovery", {"mileage_cap": "lots"})
    finally:
        store.close()
    with pytest.raises(ServerRefused, match="rules sent by the server"):
        sync(worker)
    db, _ = worker.vault().open_parts()
    assert load_settings(db) == before
