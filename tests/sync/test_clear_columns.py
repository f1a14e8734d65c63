"""The server keeps in clear only the fields its rules read: after a real sync through a real
server its files hold no kind of contact, next visit date or screens per month, and the laptop
that receives the records has every column as the author's laptop wrote it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from fieldapp.domain.kinds import BY_TABLE
from fieldapp.domain.visits import ContactType
from fieldapp.services.session import Session
from fieldapp.storage.sealed import SEALED_COLUMNS
from sync import protocol as wire
from tests.scanning import found_in
from tests.services.records_helpers import make_trip, services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_end_to_end import family

CONTACT = ContactType.ATTEMPTED  # "attempted, nobody home": found nowhere else
NEXT_VISIT = date(2027, 3, 17)


def row(session: Session, table: str, record_id: str) -> dict[str, Any]:
    """A record's plain columns on a laptop (not its revision there, nor its local sealing)."""
    db, _ = session.vault().open_parts()
    cursor = db.execute(f"SELECT * FROM [{table}] WHERE id = ?", [record_id])  # noqa: S608
    found = cursor.fetchone()
    assert found is not None, (table, record_id)
    names = [d[0] for d in cursor.description]
    return {k: v for k, v in zip(names, found, strict=True) if k not in SEALED_COLUMNS}


def server_files(sync_server: SyncServer) -> list[Any]:
    return [p for p in (sync_server.data_dir).rglob("*") if p.is_file()]


def test_the_server_keeps_none_of_the_moved_values_and_a_colleague_gets_them_all(
        sync_server: SyncServer) -> None:
    """A signed note's kind of contact and next visit, a schedule's screens per month and a
    trip's case reach the supervisor's laptop into their columns, and are nowhere in the
    server's database, its WAL or its logs; every field the server keeps in clear is one its
    rules read (`RecordKind.clear`)."""
    supervisor = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    case = services_of(supervisor).cases.open_case(family(name="Quennell"))
    sync(supervisor)
    sync(supervisor)  # the case's key for its members
    sync(worker)
    note = services_of(worker).notes.start_draft(case.id, visit_details(
        contact_type=CONTACT, next_visit_date=NEXT_VISIT))
    services_of(worker).notes.sign(note.id)
    trip = services_of(worker).mileage.add_trip(make_trip(case_id=case.id, miles=Decimal(9),
                                                          round_trip=False))
    drawn = services_of(supervisor).screens.draw_schedule(
        case.id, first_day=date(2026, 12, 1), last_day=date(2026, 12, 31))
    assert sync(worker).verified and sync(supervisor).verified and sync(worker).verified

    # The colleague's laptop holds every column as its author's laptop wrote it.
    for table, record_id, author, reader in (
            ("visit_notes", note.id, worker, supervisor), ("trips", trip.id, worker, supervisor),
            ("cases", case.id, supervisor, worker)):
        assert row(reader, table, record_id) == row(author, table, record_id), table
    (schedule_id,) = [r[0] for r in services_of(worker).ws.db.execute(
        "SELECT id FROM random_schedules").fetchall()]
    assert row(worker, "random_schedules", schedule_id) == row(
        supervisor, "random_schedules", schedule_id)
    seen = row(supervisor, "visit_notes", note.id)
    assert (seen["contact_type"], seen["next_visit_date"]) == (CONTACT, NEXT_VISIT.isoformat())
    assert row(supervisor, "trips", trip.id)["case_id"] == case.id
    assert row(worker, "random_schedules", schedule_id)["per_month"] == drawn.per_month

    # The server keeps in clear only the fields its rules read...
    for source in ("records", "record_history", "conflict_copies"):
        for table, plain in sync_server.sql(f"SELECT tbl, plain FROM {source}"):  # noqa: S608
            if table != wire.ALLOCATIONS:
                assert set(json.loads(plain)) <= BY_TABLE[table].clear, (source, table)
    # ...and none of the moved values is anywhere in its files (a control first: the scan
    # finds what the server does keep in clear).
    files = server_files(sync_server)
    assert found_in(files, "Riverbend Family Recovery")
    assert found_in(files, f'"author":"{worker.actor().user_id}"') or found_in(
        files, f'"author": "{worker.actor().user_id}"')
    for moved in (CONTACT.value, NEXT_VISIT.isoformat(), '"contact_type"', '"next_visit_date"',
                  '"per_month"', '"visits_per_week"', drawn.fingerprint):
        assert found_in(files, moved) == [], moved
