"""A note's review status and a month's return reason cannot be faked or lost."""

from __future__ import annotations

import sqlite3

import pytest

from fieldapp.domain.errors import NotPermitted
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    MONTH,
    SUPERVISOR,
    WORKER,
    make_trip,
    open_case,
    services,
    visit_details,
)


def _signed_note(vault: Vault, clock: FakeClock) -> str:
    case = open_case(vault, clock)
    notes = services(vault, clock, WORKER).notes
    note = notes.start_draft(case.id, visit_details())
    notes.sign(note.id)
    return note.id


@pytest.mark.parametrize("status", ["cosigned", "returned"])
def test_no_review_status_without_its_review(vault: Vault, clock: FakeClock, status: str) -> None:
    note_id = _signed_note(vault, clock)
    db, _ = vault.open_parts()
    with pytest.raises(sqlite3.IntegrityError, match="only by a review"):
        db.execute("UPDATE visit_notes SET status = ? WHERE id = ?", [status, note_id])
    assert db.execute("SELECT status FROM visit_notes WHERE id = ?", [note_id]).fetchone()[0] \
        == "signed"


def test_a_return_cannot_pass_for_a_cosignature(vault: Vault, clock: FakeClock) -> None:
    note_id = _signed_note(vault, clock)
    services(vault, clock, SUPERVISOR).notes.return_note(note_id, comment="Who was present?")
    db, _ = vault.open_parts()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE visit_notes SET status = 'cosigned' WHERE id = ?", [note_id])


def test_the_return_reason_survives_resubmission(vault: Vault, clock: FakeClock) -> None:
    worker = services(vault, clock, WORKER)
    worker.mileage.add_trip(make_trip())
    worker.mileage.submit(MONTH)
    services(vault, clock, SUPERVISOR).mileage.return_month(
        WORKER.user_id, MONTH, reason="Trip on the 3rd has no purpose")
    worker.mileage.submit(MONTH)
    stores = worker.ws.stores()
    assert stores.trips.return_reason(WORKER.user_id, MONTH) == "Trip on the 3rd has no purpose"


def test_mileage_trip_and_reason_read_through_the_service(vault: Vault, clock: FakeClock) -> None:
    worker = services(vault, clock, WORKER)
    saved = worker.mileage.add_trip(make_trip())
    trip, revision = worker.mileage.trip(saved.id)
    assert (trip.id, revision) == (saved.id, 1)
    assert worker.mileage.return_reason(MONTH) == ""
    with pytest.raises(NotPermitted):
        services(vault, clock, SUPERVISOR).mileage.trip(saved.id)
