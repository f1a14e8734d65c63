"""Only a signed note of a face-to-face visit is a visit made: a draft does not make a family
seen this week, on the caseload or on Today; and a worker's signed notes of a day, which a note
about to be signed may overlap (real SQLite, the services)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from fieldapp.domain.cases import Case
from fieldapp.domain.visits import VisitNote
from fieldapp.services.today import today_summary
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    OTHER_WORKER,
    TODAY,
    WORKER,
    YESTERDAY,
    Services,
    open_case,
    services,
    visit_details,
)


def test_a_draft_is_not_a_visit_until_it_is_signed(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)  # two visits a week; today is Tuesday 24 November
    worker = services(vault, clock, WORKER)
    draft = worker.notes.start_draft(case.id, visit_details(visit_date=YESTERDAY))

    (row,) = worker.cases.caseload()
    assert (row.due.this_week, row.due.last_face_to_face, row.due.next_due) == (0, None, TODAY)
    assert [r.case.id for r in today_summary(worker.ws).due] == [case.id]

    worker.notes.sign(draft.id)
    (row,) = worker.cases.caseload()
    assert (row.due.this_week, row.due.last_face_to_face) == (1, YESTERDAY)
    assert row.due.next_due > TODAY
    assert today_summary(worker.ws).due == []


def test_my_signed_notes_on_a_day_are_those_a_new_note_may_overlap(
        vault: Vault, clock: FakeClock) -> None:
    alder = open_case(vault, clock)
    brennan = open_case(vault, clock, family_name="Brennan", intact_worker=OTHER_WORKER)
    worker, other = services(vault, clock, WORKER), services(vault, clock, OTHER_WORKER)

    def signed(who: Services, case: Case, start: int, **overrides: Any) -> VisitNote:
        details = visit_details(time_in=time(start), time_out=time(start + 1), **overrides)
        return who.notes.sign(who.notes.start_draft(case.id, details).id)

    late = signed(worker, alder, 16)
    early = signed(worker, brennan, 9)
    signed(worker, alder, 11, visit_date=TODAY - timedelta(days=2))  # another day
    signed(other, brennan, 16)  # the intact worker's
    worker.notes.start_draft(alder.id, visit_details(time_in=time(16), time_out=time(17)))

    assert [n.id for n in worker.notes.my_signed_notes_on(YESTERDAY)] == [early.id, late.id]
    assert worker.notes.my_signed_notes_on(TODAY) == []
