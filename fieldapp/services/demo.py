"""A demo profile: a realistic, entirely invented caseload, so a newcomer sees a working app.

Every name, address and story here is made up. The demo belongs to a recovery coordinator,
"Jordan Demo"; a supervisor's co-signatures and returns are included as if they had arrived by
sync. The passphrase is printed on the unlock screen: a demo holds nothing worth protecting.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from fieldapp.domain.cases import Case, CaseStatus, Person
from fieldapp.domain.clock import Clock, iso
from fieldapp.domain.mileage import Trip, month_key
from fieldapp.domain.people import Actor, CaseId, NoteId, Role, ScreenId, TripId, UserId, new_id
from fieldapp.domain.screens import (
    DrugScreen,
    LabConfirmation,
    LabStatus,
    Method,
    ScreenReason,
    SubstanceResult,
)
from fieldapp.domain.settings import DEFAULT_PANEL
from fieldapp.domain.visits import ContactType, Place, SupervisorCapacity, VisitDetails
from fieldapp.services.casework import CaseService
from fieldapp.services.demo_compliance import fill_compliance
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.storage.settings_store import load_settings, save_settings

DEMO_PASSPHRASE = "open the demo caseload please"  # noqa: S105 - shown on screen by design
WORKER = UserId("demo-coordinator")
SUPERVISOR = UserId("demo-supervisor")  # the intact supervisor
SUD_SUPERVISOR = UserId("demo-sud-supervisor")
PROGRAM = "Millbrook Family Recovery Program (demo)"

_FAMILIES = [
    ("Alder", "Robin Alder", ["Mika Alder (6)", "Sam Alder (3)"], "412 Birch Lane, Millbrook"),
    ("Brennan", "Casey Brennan", ["Noor Brennan (9)"], "88 Quarry Road, Apt 2, Millbrook"),
    ("Castillo", "Dana Castillo", ["Eli Castillo (4)", "Rosa Castillo (1)"],
     "17 Mill St, Eastfield"),
    ("Dovey", "Frankie Dovey", ["Jules Dovey (11)"], "5 Orchard Court, Eastfield"),
    ("Esterly", "Harper Esterly", ["Ava Esterly (2)"], "230 Prairie Ave, Linton"),
    ("Farrow", "Jesse Farrow", ["Kit Farrow (7)", "Lee Farrow (5)"], "9 Canal Row, Linton"),
    ("Gallo", "Kendall Gallo", ["Milo Gallo (8)"], "61 Summit Drive, Millbrook"),
    ("Hale", "Logan Hale", ["Ivy Hale (10)", "Ben Hale (6)"], "1402 County Road 9, Ashby"),
    ("Iverson", "Morgan Iverson", ["Tess Iverson (3)"], "33 Station St, Ashby"),
    ("Jolley", "Parker Jolley", ["Ray Jolley (12)"], "710 Elm Street, Eastfield"),
    ("Kettering", "Quinn Kettering", ["Lou Kettering (5)"], "24 Riverside Way, Linton"),
    ("Lindqvist", "Reese Lindqvist", ["Ola Lindqvist (4)", "Finn Lindqvist (2)"],
     "3 Hilltop Road, Ashby"),
]

_NARRATIVES = [
    "Met {parent} at home. Reviewed the recovery plan and this week's meetings; {parent} attended "
    "three and has a sponsor meeting on Thursday. Children were present and appeared well cared "
    "for. Discussed the upcoming family court date.",
    "Home visit. {parent} reported cravings after a difficult call with a relative and used the "
    "coping plan (called the sponsor, went for a walk). Practised a relapse-prevention exercise "
    "together. Home was tidy; food in the fridge.",
    "Transported {parent} to the outpatient treatment appointment and back. Talked about the "
    "parenting class schedule and childcare during sessions.",
    "Visit focused on parenting support: bedtime routine and school mornings. {parent} is proud "
    "of getting the children to school on time all week.",
    "Safety check and recovery coaching. {parent} has started the job search and asked for help "
    "with a résumé; referred to the workforce centre.",
]


def fill_demo(session: Session, *, clock: Clock, seed: int = 7) -> None:
    """Fill an open, empty profile owned by `WORKER` with the demo caseload."""
    rng = random.Random(seed)
    worker = Workspace(session.vault(), actor=Actor(user_id=WORKER,
                                                    role=Role.RECOVERY_COORDINATOR), clock=clock)
    now = clock()
    today = worker.today()
    # First, so the supervisor's co-signatures record which supervisor gave them.
    remember_staff(worker, [
        StaffMember(user_id=WORKER, name="Jordan Demo", role=Role.RECOVERY_COORDINATOR),
        StaffMember(user_id=SUPERVISOR, name="Avery Lindgren", role=Role.SUPERVISOR,
                    supervises=SupervisorCapacity.INTACT),
        StaffMember(user_id=SUD_SUPERVISOR, name="Morgan Achebe", role=Role.SUPERVISOR,
                    supervises=SupervisorCapacity.SUD)])
    cases = [_open_case(session, clock, i, family, today) for i, family in enumerate(_FAMILIES)]
    for index, case in enumerate(cases):
        _visits(session, clock, case, rng, today, behind=index % 4 == 0)
        _screens(worker, case, rng, now)
    _trips(worker, cases, rng, today)
    _schedule_randoms(session, clock, cases[:4], today)
    db = worker.db
    with db.atomic():
        save_settings(db, replace(load_settings(db), program_name=PROGRAM), now=iso(now))
    fill_compliance(session, clock=clock, worker=WORKER, cases=cases, program=PROGRAM)


def _ws(session: Session, clock: Clock, user: UserId, role: Role, at: datetime | None = None
        ) -> Workspace:
    fixed = at
    return Workspace(session.vault(), actor=Actor(user_id=user, role=role),
                     clock=(lambda: fixed) if fixed else clock)


def _open_case(session: Session, clock: Clock, index: int,
               family: tuple[str, str, list[str], str], today: date) -> Case:
    name, parent, children, address = family
    case = Case(id=CaseId(new_id()), family_name=name,
                parents=(Person(name=parent, relationship="parent in recovery"),),
                children=tuple(Person(name=c.split(" (")[0], relationship="child",
                                      details=f"age {c.split('(')[1].rstrip(')')}")
                               for c in children),
                address=address, coordinator_id=WORKER,
                supervisor_ids=(SUPERVISOR, SUD_SUPERVISOR),
                status=CaseStatus.AFTERCARE if index == 11 else CaseStatus.OPEN,
                start_date=today - timedelta(days=40 + 19 * index),
                visits_per_week=1 if index == 11 else 2)
    return CaseService(_ws(session, clock, SUPERVISOR, Role.SUPERVISOR)).open_case(case)


def _visits(session: Session, clock: Clock, case: Case, rng: random.Random, today: date, *,
            behind: bool) -> None:
    parent = case.parents[0].name.split()[0]
    start = today - timedelta(days=34)
    day = start
    while day < today - timedelta(days=6 if behind else 1):
        at = datetime.combine(day, time(18, 30), tzinfo=UTC) + timedelta(hours=5)
        notes = NoteService(_ws(session, clock, WORKER, Role.RECOVERY_COORDINATOR, at))
        contact = ContactType.ATTEMPTED if rng.random() < 0.1 else ContactType.FACE_TO_FACE
        details = VisitDetails(
            visit_date=day, time_in=time(16, 0), time_out=time(17, 15), place=Place.HOME,
            contact_type=contact,
            people_present=(case.parents[0].name, *(c.name for c in case.children))
            if contact is ContactType.FACE_TO_FACE else (),
            services=("recovery coaching", "safety check")
            if contact is ContactType.FACE_TO_FACE else (),
            narrative=rng.choice(_NARRATIVES).format(parent=parent)
            if contact is ContactType.FACE_TO_FACE else "Knocked twice; nobody home. Left a card.",
            next_steps="Next home visit as planned.", next_visit_date=day + timedelta(days=3))
        note = notes.start_draft(case.id, details)
        if day < today - timedelta(days=3):
            notes.sign(note.id)
            _review(session, clock, note.id, rng, at)
        day += timedelta(days=rng.choice((2, 3, 4)))


def _review(session: Session, clock: Clock, note_id: NoteId, rng: random.Random,
            at: datetime) -> None:
    roll = rng.random()
    # Most notes are co-signed the next day; a few are returned, a few wait.
    if roll < 0.9:
        reviewer = NoteService(_ws(session, clock, SUPERVISOR, Role.SUPERVISOR,
                                   at + timedelta(days=1)))
        reviewer.cosign(note_id)
    elif roll < 0.95:
        NoteService(_ws(session, clock, SUPERVISOR, Role.SUPERVISOR, at + timedelta(days=1))
                    ).return_note(note_id, comment="Please add who else was in the home.")


def _screens(worker: Workspace, case: Case, rng: random.Random, now: datetime) -> None:
    service = ScreenService(worker)
    for weeks_ago in (4, 2):
        positive = rng.random() < 0.2
        screen = DrugScreen(
            id=ScreenId(new_id()), case_id=case.id, person=case.parents[0].name,
            collected_at=now - timedelta(weeks=weeks_ago, hours=rng.randint(1, 8)),
            reason=ScreenReason.RANDOM if weeks_ago == 2 else ScreenReason.SCHEDULED,
            observed=True, panel=DEFAULT_PANEL,
            results={s: (SubstanceResult.POSITIVE if positive and s == "opiates"
                         else SubstanceResult.NEGATIVE) for s in DEFAULT_PANEL},
            method=Method.LAB if positive else Method.INSTANT,
            lab=LabConfirmation(status=LabStatus.PENDING) if positive else None,
            chain_of_custody=f"CC-{rng.randint(100000, 999999)}" if positive else "",
            recorded_by=WORKER)
        recorded = service.record(screen)
        if positive and weeks_ago == 4:
            service.confirm_lab(recorded.id, status=LabStatus.CONFIRMED_POSITIVE,
                                on=(now - timedelta(weeks=3)).date())


def _trips(worker: Workspace, cases: list[Case], rng: random.Random, today: date) -> None:
    service = MileageService(worker)
    for days_ago in range(1, 330, 3):
        day = today - timedelta(days=days_ago)
        case = rng.choice(cases)
        trip = Trip(id=TripId(new_id()), worker_id=WORKER, trip_date=day, origin="Office",
                    destination=f"{case.family_name} home", purpose="Home visit",
                    miles=Decimal(rng.randint(40, 140)) / 10, round_trip=True,
                    recorded_at=worker.now(), case_id=case.id)
        service.add_trip(trip)
    for days_ago in range(32, 330, 30):
        month = month_key(today - timedelta(days=days_ago))
        if service.month(month).status.value == "open" and month != month_key(today):
            service.submit(month)


def _schedule_randoms(session: Session, clock: Clock, cases: list[Case], today: date) -> None:
    # Drawn by the supervisor in advance: yesterday, for a period that starts today.
    supervisor = ScreenService(_ws(session, clock, SUPERVISOR, Role.SUPERVISOR,
                                   clock() - timedelta(days=1)))
    for case in cases:
        supervisor.draw_schedule(case.id, first_day=today, last_day=today + timedelta(days=27))
