"""Co-supervision through the services, on a real profile: co-signing takes the supervisor's
capacity from the staff directory, an unknown capacity is refused plainly and writes nothing, the
capacity is kept in the review's sealed body, and Today lists a note for co-signature only to the
supervisor whose co-signature it still needs; the compliance radar escalates a late one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from fieldapp.domain.audit import Action
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import Actor, NoteId, Role, UserId
from fieldapp.domain.radar import RadarKind
from fieldapp.domain.visits import COSUPERVISION_UNKNOWN, NoteStatus, SupervisorCapacity
from fieldapp.services.directory import StaffMember, directory, remember_staff
from fieldapp.services.today import today_summary
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    SUPERVISOR,
    WORKER,
    assert_refused,
    open_case,
    services,
    snapshot,
    visit_details,
)

SUD_SUPERVISOR = Actor(user_id=UserId("sup-sud"), role=Role.SUPERVISOR)
INTACT, SUD = SupervisorCapacity.INTACT, SupervisorCapacity.SUD


def co_supervise(vault: Vault, *, required: bool = True) -> None:
    db, _ = vault.open_parts()
    with db.atomic():
        save_settings(db, replace(load_settings(db), cosupervision_required=required),
                      now="2026-11-24T09:30:00+00:00")


def name_staff(vault: Vault, clock: FakeClock, *, sud: SupervisorCapacity | None = SUD) -> None:
    remember_staff(services(vault, clock, WORKER).ws, [
        StaffMember(user_id=WORKER.user_id, name="Rosa", role=Role.RECOVERY_COORDINATOR),
        StaffMember(user_id=SUPERVISOR.user_id, name="Ida", role=Role.SUPERVISOR,
                    supervises=INTACT),
        StaffMember(user_id=SUD_SUPERVISOR.user_id, name="Sid", role=Role.SUPERVISOR,
                    supervises=sud)])


def signed_note(vault: Vault, clock: FakeClock) -> NoteId:
    case = open_case(vault, clock, supervisors=(SUPERVISOR, SUD_SUPERVISOR))
    worker = services(vault, clock, WORKER).notes
    note = worker.start_draft(case.id, visit_details())
    return worker.sign(note.id).id


def test_the_directory_keeps_each_supervisors_capacity(vault: Vault, clock: FakeClock) -> None:
    name_staff(vault, clock, sud=None)
    found = directory(services(vault, clock, WORKER).ws)
    assert (found.capacity(SUPERVISOR.user_id), found.capacity(SUD_SUPERVISOR.user_id)) == (
        INTACT, None)
    assert found.capacity(WORKER.user_id) is None
    name_staff(vault, clock)
    assert directory(services(vault, clock, WORKER).ws).capacity(SUD_SUPERVISOR.user_id) is SUD


def test_both_supervisors_co_sign_in_their_capacities(vault: Vault, clock: FakeClock) -> None:
    co_supervise(vault)
    name_staff(vault, clock)
    note_id = signed_note(vault, clock)
    intact = services(vault, clock, SUPERVISOR).notes
    sud = services(vault, clock, SUD_SUPERVISOR).notes

    clock.advance(3600)
    once = intact.cosign(note_id)
    assert once.status is NoteStatus.SIGNED
    assert intact.get(note_id).reviews[-1].capacity is INTACT  # read back from the sealed body
    db, _ = vault.open_parts()
    assert_refused(db, RuleViolation, lambda: intact.cosign(note_id))

    clock.advance(3600)
    both = sud.cosign(note_id)
    assert both.status is NoteStatus.COSIGNED
    stored = services(vault, clock, WORKER).notes.get(note_id)
    assert stored.status is NoteStatus.COSIGNED
    assert [r.capacity for r in stored.reviews] == [INTACT, SUD]
    entries = AuditStore(*vault.open_parts()).entries(subject=note_id)
    assert [(e.action, e.details.get("capacity")) for e in entries] == [
        (Action.SIGN, None), (Action.COSIGN, "intact"), (Action.COSIGN, "SUD")]


def test_an_unknown_capacity_is_refused_and_writes_nothing(vault: Vault,
                                                          clock: FakeClock) -> None:
    co_supervise(vault)
    name_staff(vault, clock, sud=None)
    note_id = signed_note(vault, clock)
    db, _ = vault.open_parts()
    sud = services(vault, clock, SUD_SUPERVISOR).notes
    before = snapshot(db)
    with pytest.raises(RuleViolation) as refused:
        sud.cosign(note_id)
    assert refused.value.message == COSUPERVISION_UNKNOWN
    assert snapshot(db) == before
    # Without co-supervision the same supervisor co-signs alone, as before.
    co_supervise(vault, required=False)
    assert services(vault, clock, SUD_SUPERVISOR).notes.cosign(note_id).status \
        is NoteStatus.COSIGNED


def test_today_lists_a_note_to_the_supervisor_whose_co_signature_it_needs(
        vault: Vault, clock: FakeClock) -> None:
    co_supervise(vault)
    name_staff(vault, clock)
    note_id = signed_note(vault, clock)

    def waiting(actor: Actor) -> list[str]:
        return [n.id for n in today_summary(services(vault, clock, actor).ws).awaiting_cosign]

    assert waiting(SUPERVISOR) == waiting(SUD_SUPERVISOR) == [note_id]
    services(vault, clock, SUPERVISOR).notes.cosign(note_id)
    assert waiting(SUPERVISOR) == []
    assert waiting(SUD_SUPERVISOR) == [note_id]


def test_a_late_co_signature_is_on_the_radar_of_the_author_and_both_supervisors(
        vault: Vault, clock: FakeClock) -> None:
    co_supervise(vault)
    name_staff(vault, clock)
    note_id = signed_note(vault, clock)
    services(vault, clock, SUPERVISOR).notes.cosign(note_id)
    clock.advance(timedelta(days=5, seconds=1).total_seconds())
    for actor in (WORKER, SUPERVISOR, SUD_SUPERVISOR):
        radar = today_summary(services(vault, clock, actor).ws).radar
        (late,) = [i for i in radar if i.kind is RadarKind.COSIGNATURE_OVERDUE]
        assert late.note_id == note_id
        assert late.sentence.endswith("; the SUD supervisor's co-signature is missing.")
        whose = "Your" if actor is WORKER else "Rosa's"
        assert late.sentence.startswith(f"{whose} note of 23 Nov 2026 has waited 5 days")
