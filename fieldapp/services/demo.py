"""A demo profile: a realistic, entirely invented program, so a newcomer sees a working app.

Every name, address and story here is made up. The demo team is a recovery coordinator,
"Jordan Demo", and an intact worker, "Rowan Ellery", who share the families, and their intact
and SUD supervisors; each of the coordinator, the intact worker and the intact supervisor has a
demo profile of their own, holding the same program as if it had arrived by sync (each sees
what is theirs: their caseload, their own drafts and mileage). The passphrase is printed on the
unlock screen: a demo holds nothing worth protecting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
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
from fieldapp.domain.visits import SupervisorCapacity
from fieldapp.services.casework import CaseService
from fieldapp.services.demo_compliance import fill_compliance
from fieldapp.services.demo_visits import PlannedVisit, VisitStyle, plan_visits, visit_details
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.storage.vault import Vault

DEMO_PASSPHRASE = "open the demo caseload please"  # noqa: S105 - shown on screen by design
WORKER = UserId("demo-coordinator")
INTACT_WORKER = UserId("demo-intact-worker")
SUPERVISOR = UserId("demo-supervisor")  # the intact supervisor
SUD_SUPERVISOR = UserId("demo-sud-supervisor")
PROGRAM = "Millbrook Family Recovery Program (demo)"
AFTERCARE = 11  # the family in aftercare: seen weekly by the coordinator, its intact case closed


@dataclass(frozen=True, kw_only=True)
class DemoPerson:
    """Someone of the demo team whose demo profile can be explored; `folder` is added to the
    demo folder's name (the coordinator's demo is the demo folder itself)."""

    user_id: UserId
    name: str
    role: Role
    folder: str


DEMO_PEOPLE = {person.role: person for person in (
    DemoPerson(user_id=WORKER, name="Jordan Demo", role=Role.RECOVERY_COORDINATOR, folder=""),
    DemoPerson(user_id=INTACT_WORKER, name="Rowan Ellery", role=Role.INTACT_WORKER,
               folder="-intact-worker"),
    DemoPerson(user_id=SUPERVISOR, name="Avery Lindgren", role=Role.SUPERVISOR,
               folder="-supervisor"),
)}
STAFF = (
    *(StaffMember(user_id=p.user_id, name=p.name, role=p.role,
                  supervises=SupervisorCapacity.INTACT if p.role is Role.SUPERVISOR else None)
      for p in DEMO_PEOPLE.values()),
    StaffMember(user_id=SUD_SUPERVISOR, name="Morgan Achebe", role=Role.SUPERVISOR,
                supervises=SupervisorCapacity.SUD),
)

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

_COORDINATOR_NARRATIVES = (
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
)

_INTACT_NARRATIVES = (
    "Home visit with {parent} and the children. Walked through the home together: smoke "
    "detectors work, medicines are locked away, the youngest has a safe place to sleep. "
    "Reviewed the safety plan; {parent} named the aunt who steps in if a relapse happens.",
    "Met {parent} after the school pick-up. The children were in school every day this week. "
    "Talked about the teacher's note on homework and set a daily homework time together.",
    "Parenting session: practised calm limit-setting at bedtime with {parent}. The children "
    "played nearby and came to show their drawings; warm, easy interaction throughout.",
    "Reviewed the family's service plan with {parent}: parenting class attendance is on track "
    "and the housing application is filed. Set the agenda for the child and family team "
    "meeting.",
    "Checked on the children's well-being: the youngest's check-up is booked and the eldest "
    "joined an after-school club. Helped {parent} fill in the childcare assistance form.",
)
_STYLES = {
    WORKER: VisitStyle(gaps=(2, 3, 4), per_day=5, narratives=_COORDINATOR_NARRATIVES,
                       services=("recovery coaching", "safety check")),
    INTACT_WORKER: VisitStyle(gaps=(5, 6, 7, 8), per_day=4, narratives=_INTACT_NARRATIVES,
                              services=("safety check", "parenting support")),
}
_ROLE_OF = {person.user_id: person.role for person in DEMO_PEOPLE.values()}


def demo_person(role: Role) -> DemoPerson:
    """Whose demo `role` explores (the coordinator's for a role without a demo of its own)."""
    return DEMO_PEOPLE.get(role, DEMO_PEOPLE[Role.RECOVERY_COORDINATOR])


def demo_paths(base: ProfilePaths, role: Role) -> ProfilePaths:
    """Each role's demo in a folder of its own beside `base`, the coordinator's: exploring one
    never changes what another shows."""
    folder = demo_person(role).folder
    return ProfilePaths(base.root.with_name(base.root.name + folder)) if folder else base


def open_or_make(session: Session, *, role: Role, clock: Clock) -> None:
    """Unlock the demo profile of `role`, or make and fill it on first use.

    Thread rule: the database worker."""
    if session.profile.exists():
        session.unlock(DEMO_PASSPHRASE)
        return
    person = demo_person(role)
    session.create(DEMO_PASSPHRASE, user_id=person.user_id, role=person.role, name=person.name)
    fill_demo(session, clock=clock)


def fill_demo(session: Session, *, clock: Clock, seed: int = 7) -> None:
    """Fill an open, empty profile of the demo team with the whole demo program (whoever owns
    the profile: a worker's own pages show only what is theirs). One transaction: one commit
    to disk rather than a thousand, so the demo opens in a second."""
    vault = session.vault()
    worker = _ws(vault, clock, WORKER, Role.RECOVERY_COORDINATOR)
    with worker.db.atomic():
        _fill(vault, clock, worker, seed)


def _fill(vault: Vault, clock: Clock, worker: Workspace, seed: int) -> None:
    """The demo written by each of its people in turn: a workspace each, over one vault."""
    rng = random.Random(seed)
    intact = _ws(vault, clock, INTACT_WORKER, Role.INTACT_WORKER)
    now = clock()
    today = worker.today()
    # First, so the supervisor's co-signatures record which supervisor gave them.
    remember_staff(worker, STAFF)
    cases = [_open_case(vault, clock, i, family, today) for i, family in enumerate(_FAMILIES)]
    behind = frozenset(case.id for index, case in enumerate(cases) if index % 4 == 0)
    for user, style in _STYLES.items():
        theirs = [case for case in cases if case.assigned_to(user)]
        visits = plan_visits(theirs, style=style, rng=random.Random(f"{seed}:visits:{user}"),
                             today=today, behind=behind)
        _write_visits(vault, clock, user, visits, style=style, rng=rng, today=today)
    for index, case in enumerate(cases):  # the intact worker collects every other random one
        _screens((worker, intact if index % 2 and case.assigned_to(INTACT_WORKER) else worker),
                 case, rng, now)
    _trips(worker, cases, random.Random(f"{seed}:trips:{WORKER}"), today, every=3,
           tenths=(40, 140))
    _trips(intact, [c for c in cases if c.assigned_to(INTACT_WORKER)],
           random.Random(f"{seed}:trips:{INTACT_WORKER}"), today, every=4, tenths=(50, 170))
    _schedule_randoms(vault, clock, cases[:4], today)
    db = worker.db
    save_settings(db, replace(load_settings(db), program_name=PROGRAM), now=iso(now))
    fill_compliance(vault, clock=clock, worker=WORKER, cases=cases, program=PROGRAM)


def _ws(vault: Vault, clock: Clock, user: UserId, role: Role, at: datetime | None = None
        ) -> Workspace:
    fixed = at
    return Workspace(vault, actor=Actor(user_id=user, role=role),
                     clock=(lambda: fixed) if fixed else clock)


def _open_case(vault: Vault, clock: Clock, index: int,
               family: tuple[str, str, list[str], str], today: date) -> Case:
    name, parent, children, address = family
    case = Case(id=CaseId(new_id()), family_name=name,
                parents=(Person(name=parent, relationship="parent in recovery"),),
                children=tuple(Person(name=c.split(" (")[0], relationship="child",
                                      details=f"age {c.split('(')[1].rstrip(')')}")
                               for c in children),
                address=address, coordinator_id=WORKER,
                intact_worker_id=None if index == AFTERCARE else INTACT_WORKER,
                supervisor_ids=(SUPERVISOR, SUD_SUPERVISOR),
                status=CaseStatus.AFTERCARE if index == AFTERCARE else CaseStatus.OPEN,
                start_date=today - timedelta(days=40 + 19 * index),
                visits_per_week=1 if index == AFTERCARE else 2)
    return CaseService(_ws(vault, clock, SUPERVISOR, Role.SUPERVISOR)).open_case(case)


def _write_visits(vault: Vault, clock: Clock, user: UserId, visits: list[PlannedVisit], *,
                  style: VisitStyle, rng: random.Random, today: date) -> None:
    """Each day's notes, written and signed that evening after the last visit; the last three
    days' are still drafts, and the supervisor has not yet reviewed those of the two before."""
    zone = _ws(vault, clock, user, _ROLE_OF[user]).settings.zone
    last_out = {day: max(v.time_out for v in visits if v.day == day)
                for day in {v.day for v in visits}}
    for visit in visits:
        signed = datetime.combine(visit.day, last_out[visit.day], tzinfo=zone)
        at = (signed + timedelta(minutes=40)).astimezone(UTC)
        notes = NoteService(_ws(vault, clock, user, _ROLE_OF[user], at))
        note = notes.start_draft(visit.case.id, visit_details(visit, style=style, rng=rng))
        if visit.day < today - timedelta(days=3):
            notes.sign(note.id)
            if visit.day < today - timedelta(days=5):
                _review(vault, clock, note.id, rng, at)


def _review(vault: Vault, clock: Clock, note_id: NoteId, rng: random.Random,
            at: datetime) -> None:
    roll = rng.random()
    # Most notes are co-signed the next day; a few are returned, a few wait.
    if roll < 0.9:
        reviewer = NoteService(_ws(vault, clock, SUPERVISOR, Role.SUPERVISOR,
                                   at + timedelta(days=1)))
        reviewer.cosign(note_id)
    elif roll < 0.95:
        NoteService(_ws(vault, clock, SUPERVISOR, Role.SUPERVISOR, at + timedelta(days=1))
                    ).return_note(note_id, comment="Please add who else was in the home.")


def _screens(collectors: tuple[Workspace, Workspace], case: Case, rng: random.Random,
             now: datetime) -> None:
    """A scheduled screen four weeks ago and a random one two weeks ago, collected by the
    first and the second of `collectors`."""
    for weeks_ago, collector in zip((4, 2), collectors, strict=True):
        service = ScreenService(collector)
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
            recorded_by=collector.actor.user_id)
        recorded = service.record(screen)
        if positive and weeks_ago == 4:
            service.confirm_lab(recorded.id, status=LabStatus.CONFIRMED_POSITIVE,
                                on=(now - timedelta(weeks=3)).date())


def _trips(worker: Workspace, cases: list[Case], rng: random.Random, today: date, *,
           every: int, tenths: tuple[int, int]) -> None:
    """A trip every `every` days for eleven months, of `tenths` tenths of a mile each way;
    every month but this one submitted."""
    service = MileageService(worker)
    for days_ago in range(1, 330, every):
        day = today - timedelta(days=days_ago)
        case = rng.choice(cases)
        trip = Trip(id=TripId(new_id()), worker_id=worker.actor.user_id, trip_date=day,
                    origin="Office", destination=f"{case.family_name} home",
                    purpose="Home visit", miles=Decimal(rng.randint(*tenths)) / 10,
                    round_trip=True,
                    recorded_at=worker.now(), case_id=case.id)
        service.add_trip(trip)
    for days_ago in range(32, 330, 30):
        month = month_key(today - timedelta(days=days_ago))
        if service.month(month).status.value == "open" and month != month_key(today):
            service.submit(month)


def _schedule_randoms(vault: Vault, clock: Clock, cases: list[Case], today: date) -> None:
    # Drawn by the supervisor in advance: yesterday, for a period that starts today.
    supervisor = ScreenService(_ws(vault, clock, SUPERVISOR, Role.SUPERVISOR,
                                   clock() - timedelta(days=1)))
    for case in cases:
        supervisor.draw_schedule(case.id, first_day=today, last_day=today + timedelta(days=27))
