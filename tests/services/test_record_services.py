"""Workflows and rules through the services: notes, screens, schedules, mileage, caseload, audit.

Several actors share one vault, as they would after a sync. Every refused action is checked to
leave the whole database unchanged (`assert_refused` compares every row of every table).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from fieldapp.domain import schedule
from fieldapp.domain.audit import Action
from fieldapp.domain.cases import Case
from fieldapp.domain.errors import NotPermitted, RecordNotFound, RuleViolation, StaleRevision
from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.people import Actor, Role
from fieldapp.domain.screens import DrugScreen, LabStatus, SubstanceResult
from fieldapp.domain.visits import ContactType, NoteStatus, VisitNote
from fieldapp.services.doctor import run_doctor
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import (
    ADMIN,
    INTACT_WORKER,
    MONTH,
    OTHER_SUPERVISOR,
    OTHER_WORKER,
    SUPERVISOR,
    TODAY,
    WORKER,
    Services,
    assert_refused,
    drug_screen,
    make_case,
    make_trip,
    open_case,
    row_counts,
    services,
    snapshot,
    visit_details,
    with_id,
)

HOUR = 3600


def _audit(vault: Vault) -> AuditStore:
    return AuditStore(*vault.open_parts())


# --- the life of a note --------------------------------------------------------------------------


def test_note_workflow_draft_to_cosigned(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)

    draft = worker.notes.start_draft(case.id, visit_details(narrative=""))
    assert (draft.revision, draft.status) == (1, NoteStatus.DRAFT)
    saved = worker.notes.save_draft(draft.id, visit_details(narrative="First pass."),
                                    expected_revision=1)
    assert saved.revision == 2
    saved = worker.notes.save_draft(draft.id, visit_details(), expected_revision=2)
    assert saved.revision == 3 and worker.notes.get(draft.id).revision == 3
    # A second window still holding revision 2 saves late: refused, nothing written.
    assert_refused(db, StaleRevision, lambda: worker.notes.save_draft(
        draft.id, visit_details(narrative="From a stale window."), expected_revision=2))
    assert worker.notes.get(draft.id).details == visit_details()
    assert _audit(vault).entries() == []  # drafts are not audited, only what is final

    signed = worker.notes.sign(draft.id)
    assert signed.status is NoteStatus.SIGNED and not signed.late_entry
    (entry,) = _audit(vault).entries()
    assert (entry.action, entry.actor, entry.subject) == (Action.SIGN, "rc-1", draft.id)
    assert entry.details == {"case": case.id, "late_entry": False}

    clock.advance(2 * HOUR)
    assert supervisor.notes.with_status(NoteStatus.SIGNED) == [signed]
    returned = supervisor.notes.return_note(draft.id, comment="Who drove the children home?")
    assert returned.status is NoteStatus.RETURNED
    assert worker.notes.with_status(NoteStatus.RETURNED) == [returned]
    assert_refused(db, RuleViolation, lambda: supervisor.notes.cosign(draft.id))

    clock.advance(HOUR)
    amended = worker.notes.add_addendum(draft.id, reason="asked by supervisor",
                                        text="Their aunt drove them at 16:00.")
    assert amended.status is NoteStatus.SIGNED and len(amended.addenda) == 1
    clock.advance(HOUR)
    cosigned = supervisor.notes.cosign(draft.id)
    assert cosigned.status is NoteStatus.COSIGNED
    assert [r.cosigned for r in cosigned.reviews] == [False, True]
    assert worker.notes.get(draft.id) == cosigned
    assert_refused(db, RuleViolation, lambda: supervisor.notes.cosign(draft.id))
    assert_refused(db, RuleViolation, lambda: supervisor.notes.return_note(draft.id,
                                                                           comment="again"))

    log = _audit(vault).entries(subject=draft.id)
    assert [(e.action, e.actor) for e in log] == [
        (Action.SIGN, "rc-1"), (Action.RETURN_NOTE, "sup-1"), (Action.ADDENDUM, "rc-1"),
        (Action.COSIGN, "sup-1")]
    assert log[2].details == {"case": case.id, "addendum": amended.addenda[0].id}
    assert _audit(vault).first_break() is None


def test_return_needs_a_comment_and_addendum_needs_reason_and_text(vault: Vault,
                                                                  clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    note = worker.notes.start_draft(case.id, visit_details())
    assert_refused(db, RuleViolation, lambda: worker.notes.add_addendum(
        note.id, reason="r", text="t"))  # a draft is edited, not amended
    worker.notes.sign(note.id)
    assert_refused(db, RuleViolation, lambda: supervisor.notes.return_note(note.id, comment=" "))
    assert_refused(db, RuleViolation, lambda: worker.notes.add_addendum(
        note.id, reason="", text="text"))
    assert_refused(db, RuleViolation, lambda: worker.notes.add_addendum(
        note.id, reason="reason", text="  "))


def test_late_entry_after_24_hours(vault: Vault, clock: FakeClock) -> None:
    """The visit ended 15:30 Chicago on 23 November (21:30 UTC); the clock says 09:30 UTC on 24."""
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    on_time, at_limit, late = (worker.notes.start_draft(case.id, visit_details())
                               for _ in range(3))
    assert not worker.notes.sign(on_time.id).late_entry
    clock.advance(12 * HOUR)  # exactly 24 hours after the visit ended
    assert not worker.notes.sign(at_limit.id).late_entry
    clock.advance(60)
    signed = worker.notes.sign(late.id)
    assert signed.late_entry
    assert worker.notes.get(late.id).late_entry
    assert db.execute("SELECT late_entry FROM visit_notes WHERE id = ?",
                      [late.id]).fetchone() == (1,)
    assert _audit(vault).entries(subject=late.id)[0].details["late_entry"] is True
    assert _audit(vault).entries(subject=at_limit.id)[0].details["late_entry"] is False


INCOMPLETE: dict[str, dict[str, Any]] = {
    "no narrative": {"narrative": "   "},
    "no time in": {"time_in": None},
    "no time out": {"time_out": None},
    "nobody present at a face-to-face visit": {"people_present": ()},
    "safety concern not described": {"safety_concerns": True, "safety_description": ""},
    "visit in the future": {"visit_date": date(2026, 11, 25), "next_visit_date": None},
}


@pytest.mark.parametrize("problem", sorted(INCOMPLETE))
def test_sign_refuses_an_incomplete_note_and_changes_nothing(vault: Vault, clock: FakeClock,
                                                            problem: str) -> None:
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    draft = worker.notes.start_draft(case.id, visit_details(**INCOMPLETE[problem]))
    assert_refused(db, RuleViolation, lambda: worker.notes.sign(draft.id))
    assert worker.notes.get(draft.id) == draft
    assert worker.notes.get(draft.id).status is NoteStatus.DRAFT


def test_delete_draft_is_audited(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    kept = worker.notes.start_draft(case.id, visit_details())
    doomed = worker.notes.start_draft(case.id, visit_details(narrative="to be deleted"))
    # Only the author deletes, even someone else on the case cannot.
    assert_refused(db, NotPermitted,
                   lambda: services(vault, clock, INTACT_WORKER).notes.delete_draft(doomed.id))
    worker.notes.delete_draft(doomed.id)
    with pytest.raises(RecordNotFound):
        worker.notes.get(doomed.id)
    assert worker.notes.for_case(case.id) == [kept]
    (entry,) = _audit(vault).entries()
    assert (entry.action, entry.actor, entry.subject, entry.details) == (
        Action.DELETE_DRAFT, "rc-1", doomed.id, {"case": case.id})
    assert_refused(db, RecordNotFound, lambda: worker.notes.delete_draft(doomed.id))


# --- who may do what -----------------------------------------------------------------------------


@dataclass
class World:
    vault: Vault
    clock: FakeClock
    case: Case
    signed: VisitNote
    draft: VisitNote
    screen: DrugScreen

    def as_(self, actor: Actor) -> Services:
        return services(self.vault, self.clock, actor)


@pytest.fixture
def world(vault: Vault, clock: FakeClock) -> World:
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    signed = worker.notes.start_draft(case.id, visit_details())
    signed = worker.notes.sign(signed.id)
    draft = worker.notes.start_draft(case.id, visit_details(narrative="draft"))
    screen = worker.screens.record(drug_screen(case.id))
    services(vault, clock, SUPERVISOR).screens.draw_schedule(
        case.id, first_day=date(2026, 12, 1), last_day=date(2026, 12, 31))
    return World(vault, clock, case, signed, draft, screen)


CASE_ACTIONS: dict[str, Callable[[Services, World], object]] = {
    "read the case": lambda s, w: s.cases.get(w.case.id),
    "start a note": lambda s, w: s.notes.start_draft(w.case.id, visit_details()),
    "read a note": lambda s, w: s.notes.get(w.signed.id),
    "read the case's notes": lambda s, w: s.notes.for_case(w.case.id),
    "save a draft": lambda s, w: s.notes.save_draft(w.draft.id, visit_details(),
                                                    expected_revision=1),
    "sign a draft": lambda s, w: s.notes.sign(w.draft.id),
    "delete a draft": lambda s, w: s.notes.delete_draft(w.draft.id),
    "add an addendum": lambda s, w: s.notes.add_addendum(w.signed.id, reason="r", text="t"),
    "co-sign": lambda s, w: s.notes.cosign(w.signed.id),
    "return a note": lambda s, w: s.notes.return_note(w.signed.id, comment="c"),
    "record a screen": lambda s, w: s.screens.record(drug_screen(w.case.id)),
    "read a screen": lambda s, w: s.screens.current(w.screen.id),
    "read a screen's history": lambda s, w: s.screens.history(w.screen.id),
    "read the case's screens": lambda s, w: s.screens.for_case(w.case.id),
    "correct a screen": lambda s, w: s.screens.correct(
        w.screen.id, replace(w.screen, comments="changed"), reason="typo"),
    "confirm a lab result": lambda s, w: s.screens.confirm_lab(
        w.screen.id, status=LabStatus.CONFIRMED_NEGATIVE, on=TODAY),
    "read the schedules": lambda s, w: s.screens.schedules(w.case.id),
    "draw a schedule": lambda s, w: s.screens.draw_schedule(
        w.case.id, first_day=date(2027, 1, 1), last_day=date(2027, 1, 31)),
    "log a trip for the case": lambda s, w: s.mileage.add_trip(make_trip(case_id=w.case.id)),
}


@pytest.mark.parametrize("action", sorted(CASE_ACTIONS))
def test_worker_not_on_the_case_is_refused_everything(world: World, action: str) -> None:
    db, _ = world.vault.open_parts()
    outsider = world.as_(OTHER_WORKER)
    assert_refused(db, NotPermitted, lambda: CASE_ACTIONS[action](outsider, world))


def test_worker_not_on_the_case_sees_nothing_of_it(world: World) -> None:
    outsider = world.as_(OTHER_WORKER)
    assert outsider.cases.caseload() == []
    for status in NoteStatus:
        assert outsider.notes.with_status(status) == []
    assert [r.case.id for r in world.as_(WORKER).cases.caseload()] == [world.case.id]


CLINICAL_READS = ("read the case", "read a note", "read the case's notes", "read a screen",
                  "read a screen's history", "read the case's screens", "read the schedules")


@pytest.mark.parametrize("action", CLINICAL_READS)
def test_admin_cannot_read_clinical_content(world: World, action: str) -> None:
    db, _ = world.vault.open_parts()
    assert_refused(db, NotPermitted, lambda: CASE_ACTIONS[action](world.as_(ADMIN), world))


def test_admin_cannot_write_clinical_content(world: World) -> None:
    db, _ = world.vault.open_parts()
    admin = world.as_(ADMIN)
    for action in ("start a note", "add an addendum", "record a screen", "correct a screen",
                   "co-sign", "draw a schedule"):
        assert_refused(db, NotPermitted, partial(CASE_ACTIONS[action], admin, world))
    assert admin.cases.caseload() == []
    # Being named on the case does not change that.
    assigned = services(world.vault, world.clock, SUPERVISOR).cases.open_case(
        make_case(supervisors=(SUPERVISOR, ADMIN)))
    assert_refused(db, NotPermitted, lambda: admin.cases.get(assigned.id))
    assert_refused(db, NotPermitted, lambda: admin.notes.for_case(assigned.id))


def _admin_named_on_a_case(world: World) -> Services:
    """An admin whose id is on a case (admins may open cases), with a signed note on it."""
    case = world.as_(ADMIN).cases.open_case(make_case(supervisors=(SUPERVISOR, ADMIN)))
    worker = world.as_(WORKER)
    worker.notes.sign(worker.notes.start_draft(case.id, visit_details()).id)
    return world.as_(ADMIN)


def test_admin_named_on_a_case_gets_no_caseload(world: World) -> None:
    admin = _admin_named_on_a_case(world)
    assert admin.cases.caseload() == []


def test_admin_named_on_a_case_gets_no_notes_by_status(world: World) -> None:
    admin = _admin_named_on_a_case(world)
    assert admin.notes.with_status(NoteStatus.SIGNED) == []


def test_only_the_cases_supervisor_updates_it(world: World) -> None:
    db, _ = world.vault.open_parts()
    current = world.as_(SUPERVISOR).cases.get(world.case.id)
    for actor in (WORKER, OTHER_WORKER, ADMIN):
        assert_refused(db, NotPermitted, partial(world.as_(actor).cases.update_case,
                                                 replace(current, address="elsewhere")))
    moved = world.as_(SUPERVISOR).cases.update_case(replace(current, address="3 Oak Lane"))
    assert moved.revision == 2
    assert world.as_(WORKER).cases.get(world.case.id).address == "3 Oak Lane"
    assert_refused(db, StaleRevision, lambda: world.as_(SUPERVISOR).cases.update_case(
        replace(current, address="stale")))


def test_a_supervisor_not_on_the_case_cannot_take_it_over(world: World) -> None:
    db, _ = world.vault.open_parts()
    outsider = world.as_(OTHER_SUPERVISOR)
    assert_refused(db, NotPermitted, lambda: outsider.cases.get(world.case.id))
    takeover = replace(world.case, supervisor_ids=(OTHER_SUPERVISOR.user_id,),
                       coordinator_id=OTHER_WORKER.user_id, revision=1)
    assert_refused(db, NotPermitted, lambda: outsider.cases.update_case(takeover))


def test_a_supervisor_cannot_cosign_their_own_note(world: World) -> None:
    """A coordinator promoted to supervisor keeps their user id; their own note needs another."""
    db, _ = world.vault.open_parts()
    promoted = world.as_(Actor(user_id=WORKER.user_id, role=Role.SUPERVISOR))
    assert_refused(db, NotPermitted, lambda: promoted.notes.cosign(world.signed.id))
    assert_refused(db, NotPermitted,
                   lambda: promoted.notes.return_note(world.signed.id, comment="fine"))
    # A supervisor who is not on the case cannot either; the case's supervisor can.
    assert_refused(db, NotPermitted, lambda: world.as_(OTHER_SUPERVISOR).notes.cosign(
        world.signed.id))
    assert world.as_(SUPERVISOR).notes.cosign(world.signed.id).status is NoteStatus.COSIGNED


def test_supervisors_do_not_write_visit_notes(world: World) -> None:
    db, _ = world.vault.open_parts()
    assert_refused(db, NotPermitted, lambda: world.as_(SUPERVISOR).notes.start_draft(
        world.case.id, visit_details()))
    assert_refused(db, NotPermitted, lambda: world.as_(SUPERVISOR).notes.sign(world.draft.id))


@pytest.mark.parametrize("actor", [WORKER, INTACT_WORKER], ids=["coordinator", "intact worker"])
def test_workers_cannot_cosign_return_or_approve(world: World, clock: FakeClock,
                                                 actor: Actor) -> None:
    db, _ = world.vault.open_parts()
    acting = world.as_(actor)
    assert_refused(db, NotPermitted, lambda: acting.notes.cosign(world.signed.id))
    assert_refused(db, NotPermitted, lambda: acting.notes.return_note(world.signed.id,
                                                                      comment="redo"))
    other = world.as_(OTHER_WORKER)
    other.mileage.add_trip(make_trip())
    other.mileage.submit(MONTH)
    assert_refused(db, NotPermitted, lambda: acting.mileage.approve(OTHER_WORKER.user_id, MONTH))
    assert_refused(db, NotPermitted, lambda: acting.mileage.return_month(
        OTHER_WORKER.user_id, MONTH, reason="no"))
    # A family a worker opens is a referral: theirs alone, until a supervisor confirms it.
    referral = acting.cases.open_case(make_case())
    assert referral.referred_by == actor.user_id and referral.awaiting_confirmation
    assert actor.user_id in (referral.coordinator_id, referral.intact_worker_id)
    assert {referral.coordinator_id, referral.intact_worker_id} - {actor.user_id} == {None}
    assert_refused(db, NotPermitted, lambda: acting.screens.draw_schedule(
        world.case.id, first_day=date(2027, 1, 1), last_day=date(2027, 1, 31)))


# --- drug screens --------------------------------------------------------------------------------


def test_screen_record_confirm_and_history(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    recorded = worker.screens.record(drug_screen(case.id))
    assert recorded.revision == 1 and recorded.lab is not None
    assert recorded.lab.status is LabStatus.PENDING
    clock.advance(2 * 86400)
    confirmed = worker.screens.confirm_lab(recorded.id, status=LabStatus.CONFIRMED_POSITIVE,
                                           on=date(2026, 11, 26))
    assert confirmed.revision == 2
    assert confirmed.lab is not None and confirmed.lab.status is LabStatus.CONFIRMED_POSITIVE
    assert "lab result" in confirmed.correction_reason
    assert worker.screens.current(recorded.id) == confirmed
    history = worker.screens.history(recorded.id)
    assert history == [recorded, confirmed]
    assert history[0].lab == recorded.lab and history[0].correction_reason == ""
    entries = _audit(vault).entries(subject=recorded.id)
    assert [(e.action, e.details.get("revision")) for e in entries] == [
        (Action.SCREEN_RECORDED, None), (Action.SCREEN_CORRECTED, 2)]
    assert entries[0].details == {"case": case.id, "reason": "random"}


def test_screen_rules_refuse_and_write_nothing(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    off_panel = dict(drug_screen(case.id).results) | {"fentanyl": SubstanceResult.NEGATIVE}
    assert_refused(db, RuleViolation, lambda: worker.screens.record(
        drug_screen(case.id, results=off_panel)))
    assert db.execute("SELECT count(*) FROM drug_screens").fetchone() == (0,)
    assert_refused(db, RuleViolation, lambda: worker.screens.record(
        drug_screen(case.id, panel=(*drug_screen(case.id).panel, "kratom"))))
    assert_refused(db, RuleViolation, lambda: worker.screens.record(drug_screen(case.id,
                                                                                person=" ")))

    recorded = worker.screens.record(drug_screen(case.id))
    assert_refused(db, RuleViolation, lambda: worker.screens.correct(
        recorded.id, replace(recorded, results=off_panel), reason="added fentanyl"))
    assert_refused(db, RuleViolation, lambda: worker.screens.correct(
        recorded.id, replace(recorded, comments="x"), reason="  "))
    assert_refused(db, RuleViolation, lambda: worker.screens.confirm_lab(
        recorded.id, status=LabStatus.CONFIRMED_NEGATIVE, on=date(2026, 11, 1)))
    assert worker.screens.history(recorded.id) == [recorded]


# --- random screen schedules ---------------------------------------------------------------------


def test_random_schedule_rules(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    case = open_case(vault, clock)
    supervisor = services(vault, clock, SUPERVISOR)
    december = {"first_day": date(2026, 12, 1), "last_day": date(2026, 12, 31)}
    assert_refused(db, NotPermitted, lambda: services(vault, clock, WORKER).screens.draw_schedule(
        case.id, **december))
    assert_refused(db, NotPermitted, lambda: services(vault, clock, OTHER_SUPERVISOR)
                   .screens.draw_schedule(case.id, **december))
    for first in (TODAY, date(2026, 11, 20)):  # the period has begun
        assert_refused(db, RuleViolation, partial(supervisor.screens.draw_schedule, case.id,
                                                  first_day=first, last_day=date(2026, 12, 31)))

    drawn = supervisor.screens.draw_schedule(case.id, first_day=date(2026, 11, 25),
                                             last_day=date(2026, 12, 24))
    (stored,) = supervisor.screens.schedules(case.id)
    assert stored == drawn and schedule.verify(stored)
    assert all(date(2026, 11, 25) <= d <= date(2026, 12, 24) for d in stored.days)
    moved = tuple(d + timedelta(days=1) for d in stored.days)
    assert not schedule.verify(replace(stored, days=moved))

    fingerprint = hashlib.sha256(drawn.seed.encode()).hexdigest()[:12]
    row = dict(next(db.query("SELECT * FROM random_schedules")))
    assert row["fingerprint"] == fingerprint == drawn.fingerprint
    for table, rows in snapshot(db).items():  # the seed is nowhere in plain sight
        for values in rows:
            assert not any(isinstance(v, str) and drawn.seed in v for v in values), table
            assert not any(isinstance(v, bytes) and drawn.seed.encode() in v for v in values)
    entry = _audit(vault).last()
    assert entry is not None and entry.action == Action.SCHEDULE_DRAWN
    assert entry.details == {"case": case.id, "fingerprint": fingerprint}


# --- mileage -------------------------------------------------------------------------------------

TRIP_DAYS = (date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23))


def _log_month(worker: Services) -> list[Any]:
    """Four round trips of 45 miles (90 each, 360 in all) against a cap of 150."""
    return [worker.mileage.add_trip(make_trip(trip_date=day)) for day in TRIP_DAYS]


def test_mileage_cap_totals_and_preview(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    worker = services(vault, clock, WORKER)
    first = make_trip(trip_date=TRIP_DAYS[0])
    before = snapshot(db)
    preview = worker.mileage.preview(first)
    assert (preview.remaining_before, preview.reimbursable, preview.over_cap,
            preview.crosses_cap) == (Decimal(150), Decimal(90), Decimal(0), False)
    assert snapshot(db) == before  # a preview writes nothing
    worker.mileage.add_trip(first)

    second = make_trip(trip_date=TRIP_DAYS[1])
    preview = worker.mileage.preview(second)
    assert (preview.remaining_before, preview.reimbursable, preview.over_cap,
            preview.crosses_cap) == (Decimal(60), Decimal(60), Decimal(30), True)
    worker.mileage.add_trip(second)
    for day in TRIP_DAYS[2:]:
        worker.mileage.add_trip(make_trip(trip_date=day))
    preview = worker.mileage.preview(make_trip(trip_date=TODAY, round_trip=False))
    assert (preview.remaining_before, preview.reimbursable, preview.over_cap) == (
        Decimal(0), Decimal(0), Decimal(45))

    month = worker.mileage.month(MONTH)
    assert len(month.allocations) == 4  # every trip is kept, over the cap or not
    assert [(a.trip.trip_date, a.reimbursable, a.over_cap) for a in month.allocations] == [
        (TRIP_DAYS[0], Decimal(90), Decimal(0)), (TRIP_DAYS[1], Decimal(60), Decimal(30)),
        (TRIP_DAYS[2], Decimal(0), Decimal(90)), (TRIP_DAYS[3], Decimal(0), Decimal(90))]
    assert (month.total, month.reimbursable, month.over_cap, month.remaining) == (
        Decimal("360.0"), Decimal(150), Decimal("210.0"), Decimal(0))
    assert month.reimbursable == month.cap
    assert month.rate == Decimal("0.725") and month.amount == Decimal("108.75")
    assert month.status is MonthStatus.OPEN
    assert db.execute("SELECT count(*), group_concat(total_miles) FROM trips").fetchone() == (
        4, "90.0,90.0,90.0,90.0")


def test_trip_rules_refuse_and_write_nothing(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    worker = services(vault, clock, WORKER)
    for bad in (make_trip(trip_date=date(2026, 11, 25)), make_trip(purpose=" "),
                make_trip(miles=Decimal(0)), make_trip(odometer_start=Decimal(100)),
                make_trip(odometer_start=Decimal(200), odometer_end=Decimal(100)),
                make_trip(miles=Decimal(600))):
        assert_refused(db, RuleViolation, partial(worker.mileage.add_trip, bad))


def test_submitted_month_is_locked_until_returned_then_approved(vault: Vault,
                                                                clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    trips = _log_month(worker)
    assert_refused(db, RuleViolation, lambda: supervisor.mileage.approve(WORKER.user_id, MONTH))
    submitted = worker.mileage.submit(MONTH)
    assert submitted.status is MonthStatus.SUBMITTED
    entry = _audit(vault).last()
    assert entry is not None and (entry.action, entry.subject, entry.details) == (
        Action.MONTH_SUBMIT, f"rc-1|{MONTH}", {"miles": "360.0"})

    def locked_out() -> None:
        assert_refused(db, RuleViolation, lambda: worker.mileage.add_trip(
            make_trip(trip_date=date(2026, 11, 20))))
        assert_refused(db, RuleViolation, lambda: worker.mileage.edit_trip(
            replace(trips[0], purpose="changed"), expected_revision=1))
        assert_refused(db, RuleViolation, lambda: worker.mileage.remove_trip(trips[1].id))
        assert_refused(db, RuleViolation, lambda: worker.mileage.submit(MONTH))
        for statement in (
                "INSERT INTO trips SELECT 'forged', revision, key_id, sealed, worker_id, "
                "trip_date, month, total_miles, case_id, recorded_at, updated_at FROM trips "
                "LIMIT 1",
                "UPDATE trips SET total_miles = '1.0'",
                "DELETE FROM trips"):
            assert_refused(db, sqlite3.IntegrityError, partial(db.execute, statement))

    locked_out()
    assert_refused(db, RuleViolation, lambda: supervisor.mileage.return_month(
        WORKER.user_id, MONTH, reason=" "))
    returned = supervisor.mileage.return_month(WORKER.user_id, MONTH,
                                               reason="Split the 9 November trip.")
    assert returned.status is MonthStatus.RETURNED
    assert worker.ws.stores().trips.return_reason(WORKER.user_id, MONTH) == \
        "Split the 9 November trip."

    # Editable again: change one trip, remove one, add one.
    worker.mileage.edit_trip(replace(trips[1], miles=Decimal(20)), expected_revision=1)
    assert_refused(db, StaleRevision, lambda: worker.mileage.edit_trip(
        replace(trips[1], miles=Decimal(25)), expected_revision=1))
    worker.mileage.remove_trip(trips[3].id)
    worker.mileage.add_trip(make_trip(trip_date=date(2026, 11, 10), round_trip=False))
    month = worker.mileage.month(MONTH)
    assert (month.total, month.reimbursable, month.over_cap) == (
        Decimal("265.0"), Decimal(150), Decimal("115.0"))

    worker.mileage.submit(MONTH)
    assert_refused(db, NotPermitted, lambda: worker.mileage.approve(WORKER.user_id, MONTH))
    approved = supervisor.mileage.approve(WORKER.user_id, MONTH)
    assert approved.status is MonthStatus.APPROVED and approved.amount == Decimal("108.75")
    locked_out()
    assert_refused(db, RuleViolation, lambda: supervisor.mileage.return_month(
        WORKER.user_id, MONTH, reason="too late"))
    actions = [e.action for e in _audit(vault).entries() if e.subject == f"rc-1|{MONTH}"]
    assert actions == [Action.MONTH_SUBMIT, Action.MONTH_RETURN, Action.MONTH_SUBMIT,
                       Action.MONTH_APPROVE]
    # Another month is not affected by this one's lock.
    worker.mileage.add_trip(make_trip(trip_date=date(2026, 10, 30)))


def test_a_worker_cannot_see_or_touch_another_workers_month(vault: Vault,
                                                            clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    worker, other = services(vault, clock, WORKER), services(vault, clock, OTHER_WORKER)
    trips = _log_month(worker)
    other.mileage.add_trip(make_trip(miles=Decimal(10)))
    assert_refused(db, NotPermitted, lambda: other.mileage.month(MONTH,
                                                                 worker_id=WORKER.user_id))
    assert_refused(db, NotPermitted, lambda: other.mileage.edit_trip(
        replace(trips[0], purpose="mine now"), expected_revision=1))
    assert_refused(db, NotPermitted, lambda: other.mileage.remove_trip(trips[0].id))
    own = other.mileage.month(MONTH)
    assert own.worker_id == OTHER_WORKER.user_id and own.total == Decimal("20.0")
    assert worker.mileage.month(MONTH).total == Decimal("360.0")
    # A supervisor may look at anyone's month.
    seen = services(vault, clock, SUPERVISOR).mileage.month(MONTH, worker_id=WORKER.user_id)
    assert seen.total == Decimal("360.0")


def test_moving_a_trip_into_a_submitted_month_is_refused(vault: Vault, clock: FakeClock) -> None:
    db, _ = vault.open_parts()
    worker = services(vault, clock, WORKER)
    _log_month(worker)
    worker.mileage.submit(MONTH)
    october = worker.mileage.add_trip(make_trip(trip_date=date(2026, 10, 30)))
    assert_refused(db, RuleViolation, lambda: worker.mileage.edit_trip(
        replace(october, trip_date=date(2026, 11, 3)), expected_revision=1))
    assert_refused(db, RuleViolation, lambda: worker.mileage.add_trip(
        with_id(replace(october, trip_date=date(2026, 11, 4)))))


# --- the caseload --------------------------------------------------------------------------------


def test_caseload_orders_behind_first_then_by_next_due(vault: Vault, clock: FakeClock) -> None:
    """Thursday 26 November: with two visits a week, one is due by today."""
    clock.now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
    worker = services(vault, clock, WORKER)
    zimmer = open_case(vault, clock, family_name="Zimmer")
    young = open_case(vault, clock, family_name="Young")
    abbott = open_case(vault, clock, family_name="Abbott")
    elsewhere = open_case(vault, clock, family_name="Aaron", coordinator=OTHER_WORKER,
                          intact_worker=None)
    f2f, attempted = ContactType.FACE_TO_FACE, ContactType.ATTEMPTED
    visits = [(zimmer, date(2026, 11, 19), f2f), (zimmer, date(2026, 11, 24), ContactType.PHONE),
              (young, date(2026, 11, 24), f2f), (young, date(2026, 11, 25), attempted),
              (abbott, date(2026, 11, 23), f2f), (abbott, date(2026, 11, 25), f2f)]
    for case, day, contact in visits:
        note = worker.notes.start_draft(case.id, visit_details(
            visit_date=day, contact_type=contact, next_visit_date=None,
            people_present=() if contact is not f2f else ("mother",)))
        worker.notes.sign(note.id)
    other = services(vault, clock, OTHER_WORKER)
    other.notes.start_draft(elsewhere.id, visit_details(visit_date=date(2026, 11, 25)))

    rows = worker.cases.caseload()
    assert [r.case.family_name for r in rows] == ["Zimmer", "Young", "Abbott"]
    due = {r.case.family_name: r.due for r in rows}
    assert (due["Zimmer"].behind, due["Zimmer"].this_week, due["Zimmer"].last_face_to_face,
            due["Zimmer"].next_due) == (True, 0, date(2026, 11, 19), date(2026, 11, 26))
    assert (due["Young"].behind, due["Young"].this_week, due["Young"].last_face_to_face,
            due["Young"].next_due) == (False, 1, date(2026, 11, 24), date(2026, 11, 27))
    assert (due["Abbott"].behind, due["Abbott"].this_week, due["Abbott"].last_face_to_face,
            due["Abbott"].next_due) == (False, 2, date(2026, 11, 25), date(2026, 11, 30))
    assert all(r.due.expected_by_today == 1 for r in rows)
    assert [r.case.family_name for r in other.cases.caseload()] == ["Aaron"]
    # Aaron's only note is a draft, which is no visit made: Aaron is behind, and first by name.
    assert [r.case.family_name for r in services(vault, clock, SUPERVISOR).cases.caseload()
            ] == ["Aaron", "Zimmer", "Young", "Abbott"]


# --- the audit chain -----------------------------------------------------------------------------


def _workflow(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    note = worker.notes.start_draft(case.id, visit_details())
    worker.notes.sign(note.id)
    clock.advance(60)
    supervisor.notes.return_note(note.id, comment="Add the aunt's name.")
    worker.notes.add_addendum(note.id, reason="asked", text="Maren.")
    supervisor.notes.cosign(note.id)
    gone = worker.notes.start_draft(case.id, visit_details())
    worker.notes.delete_draft(gone.id)
    screen = worker.screens.record(drug_screen(case.id))
    worker.screens.confirm_lab(screen.id, status=LabStatus.CONFIRMED_NEGATIVE, on=TODAY)
    supervisor.screens.draw_schedule(case.id, first_day=date(2026, 12, 1),
                                     last_day=date(2026, 12, 31))
    worker.mileage.add_trip(make_trip())
    worker.mileage.submit(MONTH)
    supervisor.mileage.approve(WORKER.user_id, MONTH)


def test_audit_chain_intact_then_tampering_is_found_by_doctor(profile: Profile,
                                                              clock: FakeClock) -> None:
    vault = profile.create(PASSPHRASE)
    try:
        _workflow(vault, clock)
        entries = _audit(vault).entries()
        assert len(entries) == 10 and [e.seq for e in entries] == list(range(1, 11))
        assert _audit(vault).first_break() is None
    finally:
        vault.lock()
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert report.healthy, report.render()
    assert "10 entries, chain intact" in report.render()

    vault = profile.unlock(PASSPHRASE)
    try:
        db, _ = vault.open_parts()
        counts = row_counts(db)
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 5",
                   ['{"case": "someone else"}'])
        assert row_counts(db) == counts
        assert _audit(vault).first_break() == 5
    finally:
        vault.lock()
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert not report.healthy
    (finding,) = [f for f in report.findings if f.check == "audit log"]
    assert not finding.ok and "breaks at entry 5" in finding.detail
    assert "[PROBLEM] audit log: the hash chain breaks at entry 5" in report.render()
