"""A supervisor's Today: their own work (cases, notes or trips of their own) decides whether a
worker's sections are theirs too; the program's name comes with it (real SQLite, the
services)."""

from __future__ import annotations

from fieldapp.domain.mileage import MonthStatus
from fieldapp.services.today import today_summary
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    SUPERVISOR,
    WORKER,
    make_trip,
    open_case,
    services,
    visit_details,
)


def test_a_supervisor_has_a_workers_sections_only_with_work_of_their_own(
        vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    worker.notes.sign(worker.notes.start_draft(case.id, visit_details()).id)
    worker.mileage.add_trip(make_trip())
    worker.mileage.submit("2026-11")

    coordinator = today_summary(worker.ws)
    assert (coordinator.supervisor, coordinator.own_work) == (False, True)
    supervisor = services(vault, clock, SUPERVISOR)
    summary = today_summary(supervisor.ws)
    assert (summary.supervisor, summary.own_work) == (True, False)
    assert len(summary.awaiting_cosign) == 1
    assert [(m.worker_id, m.month, m.ledger.status) for m in summary.months_awaiting] == [
        (WORKER.user_id, "2026-11", MonthStatus.SUBMITTED)]
    assert summary.program == supervisor.ws.settings.program_name

    trip = supervisor.mileage.add_trip(make_trip())  # the supervisor drives to a family too
    assert today_summary(supervisor.ws).own_work
    supervisor.mileage.remove_trip(trip.id)
    assert not today_summary(supervisor.ws).own_work
    open_case(vault, clock, family_name="Brennan", coordinator=SUPERVISOR)
    assert today_summary(supervisor.ws).own_work, "a case the supervisor coordinates"
