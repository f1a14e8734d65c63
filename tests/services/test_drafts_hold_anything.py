"""A draft is stored whatever it holds; what stops a note from being signed is checked on signing
(a half-typed time must never cost the narrative typed around it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.visits import NoteStatus
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    TODAY,
    WORKER,
    assert_refused,
    open_case,
    services,
    visit_details,
)

UNSIGNABLE = {
    "time out before time in": visit_details(time_in=time(16, 0), time_out=time(15, 0)),
    "a service no longer offered": visit_details(services=("acupuncture",)),
    "next visit before this one": visit_details(next_visit_date=date(2026, 11, 1)),
}


@pytest.mark.parametrize("problem", sorted(UNSIGNABLE))
def test_a_draft_is_stored_as_typed_and_refused_only_on_signing(
        vault: Vault, clock: FakeClock, problem: str) -> None:
    db, _ = vault.open_parts()
    worker = services(vault, clock, WORKER)
    case = open_case(vault, clock)
    started = worker.notes.start_draft(case.id, UNSIGNABLE[problem])
    assert worker.notes.get(started.id).details == UNSIGNABLE[problem]
    fine = worker.notes.start_draft(case.id, visit_details())
    saved = worker.notes.save_draft(fine.id, UNSIGNABLE[problem], expected_revision=1)
    assert worker.notes.get(fine.id) == saved
    assert_refused(db, RuleViolation, lambda: worker.notes.sign(fine.id))
    assert worker.notes.get(fine.id).status is NoteStatus.DRAFT


def test_a_visit_today_is_signed_from_the_moment_it_ends(vault: Vault, clock: FakeClock
                                                           ) -> None:
    db, _ = vault.open_parts()
    worker = services(vault, clock, WORKER)
    note = worker.notes.start_draft(open_case(vault, clock).id, visit_details(
        visit_date=TODAY, time_in=time(15, 0), time_out=time(16, 1)))
    clock.now = datetime(2026, 11, 24, 13, 17, tzinfo=UTC)  # 07:17 in Chicago
    with pytest.raises(RuleViolation, match="This visit ends at 16:01; it can be signed after"):
        worker.notes.sign(note.id)
    assert_refused(db, RuleViolation, lambda: worker.notes.sign(note.id))
    clock.now = datetime(2026, 11, 24, 22, 1, tzinfo=UTC)  # 16:01 in Chicago
    signed = worker.notes.sign(note.id)
    assert signed.status is NoteStatus.SIGNED and signed.signature is not None
    assert signed.signature.at == clock.now
