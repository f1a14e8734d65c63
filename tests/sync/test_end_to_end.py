"""A worker's offline visits reach the supervisor, the co-sign comes back, a second device of the
worker gets everything: real server process, real profiles, real HTTP on 127.0.0.1."""

from __future__ import annotations

from decimal import Decimal

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.people import CaseId, UserId, new_id
from fieldapp.domain.visits import NoteStatus
from fieldapp.services.session import Session
from tests.scanning import found_in
from tests.services.records_helpers import TODAY, drug_screen, make_trip, services_of, visit_details
from tests.sync.conftest import SyncServer, sync


def family(case_id: str | None = None, *, name: str = "Alder") -> Case:
    return Case(id=CaseId(case_id or new_id()), family_name=name,
                parents=(Person(name=f"{name} parent", relationship="mother",
                                details="in outpatient treatment"),),
                children=(Person(name=f"{name} child", relationship="son", details="age 6"),),
                address="12 Elm Street, Springfield", coordinator_id=UserId("rc1"),
                intact_worker_id=UserId("iw1"), supervisor_ids=(UserId("sup1"),),
                start_date=TODAY, visits_per_week=2)


def table_count(session: Session, table: str) -> int:
    db, _ = session.vault().open_parts()
    return int(db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])  # noqa: S608


def test_visits_reach_the_supervisor_and_the_cosign_comes_back(sync_server: SyncServer
                                                                ) -> None:
    supervisor = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    case = services_of(supervisor).cases.open_case(family())
    first = sync(supervisor)
    assert first.outcomes == {"applied": 1} and first.verified

    report = sync(worker)
    assert report.verified
    assert [r.case.family_name for r in services_of(worker).cases.caseload()] == ["Alder"]

    # Offline all day: two visits, one signed, a trip.
    signed = services_of(worker).notes.start_draft(case.id, visit_details())
    services_of(worker).notes.sign(signed.id)
    draft = services_of(worker).notes.start_draft(case.id, visit_details(narrative="Second visit."))
    services_of(worker).mileage.add_trip(make_trip(case_id=case.id, miles=Decimal("12.5"),
                                                   round_trip=False))
    assert sync(worker).verified

    sync(supervisor)
    seen = services_of(supervisor).notes.get(signed.id)
    assert seen.status is NoteStatus.SIGNED and seen.details == services_of(worker).notes.get(
        signed.id).details
    services_of(supervisor).notes.cosign(signed.id)
    assert sync(supervisor).verified

    sync(worker)
    assert services_of(worker).notes.get(signed.id).status is NoteStatus.COSIGNED
    assert services_of(worker).notes.get(draft.id).status is NoteStatus.DRAFT

    # A replacement laptop gets everything after enrolment.
    spare = sync_server.device("rc-spare", "rc1")
    assert sync(spare).verified
    assert services_of(spare).notes.get(signed.id).status is NoteStatus.COSIGNED
    assert services_of(spare).notes.get(draft.id).details.narrative == "Second visit."
    month = services_of(spare).mileage.month(TODAY.strftime("%Y-%m"))
    assert month.total == Decimal("12.5")
    for session in (worker, supervisor, spare):
        assert table_count(session, "visit_notes") == 2
    # Nothing doubled on the server either.
    assert sync_server.sql("SELECT count(*) FROM records WHERE tbl = 'visit_notes'") == [(2,)]


def test_the_server_holds_no_family_content_in_any_file(sync_server: SyncServer) -> None:
    """After a full round of sync, nothing a person typed is readable in the server's database,
    its WAL, or its logs: the bodies travelled sealed under case keys it does not hold."""
    supervisor = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    case = services_of(supervisor).cases.open_case(family(name="Quennell"))
    sync(supervisor)
    sync(supervisor)
    sync(worker)
    secrets = ["Quennell parent", "12 Elm Street, Springfield",
               "Talked through the relapse plan with Quennell",
               "Riverside methadone clinic", "pharmacy pickup for the new prescription",
               "sample warm, observed by the aunt"]
    note = services_of(worker).notes.start_draft(case.id, visit_details(narrative=secrets[2]))
    services_of(worker).notes.sign(note.id)
    services_of(worker).notes.add_addendum(note.id, reason="detail", text=secrets[4])
    services_of(worker).mileage.add_trip(make_trip(case_id=case.id, destination=secrets[3]))
    services_of(worker).screens.record(drug_screen(case.id, comments=secrets[5]))
    sync(worker)
    sync(supervisor)
    assert services_of(supervisor).notes.get(note.id).details.narrative == secrets[2]
    files = [p for p in sync_server.tmp.rglob("*") if p.is_file() and (
        sync_server.tmp / "server" in p.parents or p.parent == sync_server.tmp / "logs")]
    assert any(p.name == "server.sqlite3" for p in files)
    # The scan sees what the server does keep in the clear (a control for the scan itself).
    assert found_in(files, "Riverbend Family Recovery")
    for secret in secrets:
        assert found_in(files, secret) == [], secret
