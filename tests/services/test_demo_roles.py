"""The demo of every role, as each is opened: the coordinator's, the intact worker's and the
supervisor's, each in a folder of its own, each the same invented program; no demo worker is at
two visits at once; the supervisor has both workers' notes and months to review, by name. Built
on real profiles, read back through the services."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from itertools import combinations
from pathlib import Path

import pytest

from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.people import Actor, Role, UserId
from fieldapp.domain.visits import VisitNote
from fieldapp.services import demo
from fieldapp.services.directory import directory
from fieldapp.services.notes import NoteService
from fieldapp.services.session import Session
from fieldapp.services.today import today_summary
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from tests.conftest import FakeClock
from tests.services.records_helpers import services_of

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ROLES = (Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER, Role.SUPERVISOR)
Visit = tuple[str, UserId, date, time | None, time | None]


def open_demo(tmp_path: Path, role: Role) -> Session:
    clock = FakeClock(NOW)
    session = Session(demo.demo_paths(ProfilePaths(tmp_path / "fieldapp-demo"), role),
                      clock=clock)
    demo.open_or_make(session, role=role, clock=clock)
    return session


def every_note(session: Session) -> list[VisitNote]:
    """All the program's notes, drafts included, read as the supervisor (on every case)."""
    ws = Workspace(session.vault(), actor=Actor(user_id=demo.SUPERVISOR, role=Role.SUPERVISOR),
                   clock=FakeClock(NOW))
    notes = NoteService(ws)
    cases = sorted(row[0] for row in ws.db.execute("SELECT id FROM cases").fetchall())
    return [note for case_id in cases for note in notes.for_case(case_id)]


def visits(session: Session) -> list[Visit]:
    """(family, worker, day, time in, time out) of every visit; the family's name where it is
    on the profile owner's caseload."""
    families = {row.case.id: row.case.family_name for row in services_of(session).cases.caseload()}
    return sorted((families.get(n.case_id, ""), n.author, n.details.visit_date,
                   n.details.time_in, n.details.time_out) for n in every_note(session))


@pytest.mark.parametrize("role", ROLES)
def test_no_demo_worker_is_at_two_visits_at_once(tmp_path: Path, role: Role) -> None:
    """Every visit was 16:00-17:15, several a day: signing one asked about overlapping visits."""
    days: dict[tuple[UserId, date], list[Visit]] = defaultdict(list)
    for visit in visits(open_demo(tmp_path, role)):
        days[(visit[1], visit[2])].append(visit)
    assert {author for author, _ in days} == {demo.WORKER, demo.INTACT_WORKER}
    assert max(len(day) for day in days.values()) >= 3, "several visits on some days"
    for (author, day), seen in days.items():
        for _, _, _, start, end in seen:
            assert start is not None and end is not None
            assert time(8, 30) <= start < end <= time(18, 0), (author, day)
        for one, other in combinations(seen, 2):
            assert one[4] <= other[3] or other[4] <= one[3], (author, day, one, other)  # type: ignore[operator]
    assert len({visit[3] for day in days.values() for visit in day}) > 10, \
        "visits begin at many times of day"


def test_the_demo_is_the_same_at_every_build(tmp_path: Path) -> None:
    """Seeded: the samples and screenshots made from it do not change between runs."""
    one = visits(open_demo(tmp_path / "one", Role.SUPERVISOR))
    assert one == visits(open_demo(tmp_path / "two", Role.SUPERVISOR))


def test_the_intact_worker_demo_is_their_own_work_on_the_shared_families(tmp_path: Path
                                                                         ) -> None:
    session = open_demo(tmp_path, Role.INTACT_WORKER)
    assert session.profile.paths.root.name == "fieldapp-demo-intact-worker"
    ws = session.workspace()
    assert ws.actor == Actor(user_id=demo.INTACT_WORKER, role=Role.INTACT_WORKER)
    caseload = [row.case for row in services_of(session).cases.caseload()]
    assert len(caseload) == 11, "every family but the one in aftercare"
    assert all(c.intact_worker_id == demo.INTACT_WORKER and c.coordinator_id == demo.WORKER
               for c in caseload)
    summary = today_summary(ws)
    assert summary.drafts and all(n.author == demo.INTACT_WORKER for n in summary.drafts)
    assert summary.returned and all(n.author == demo.INTACT_WORKER for n in summary.returned)
    mine = [n for n in every_note(session) if n.author == demo.INTACT_WORKER]
    assert len(mine) > 30
    assert {s for n in mine for s in n.details.services} == {"safety check", "parenting support"}
    shared = {n.case_id for n in every_note(session) if n.author == demo.WORKER}
    assert {n.case_id for n in mine} <= shared, "the coordinator's families too"
    screens = [s for c in caseload for s in services_of(session).screens.for_case(c.id)]
    assert {s.recorded_by for s in screens} == {demo.WORKER, demo.INTACT_WORKER}
    mileage = services_of(session).mileage
    assert summary.mileage.allocations, "trips this month"
    october = mileage.month("2026-10")
    assert october.status is MonthStatus.SUBMITTED
    assert {a.trip.worker_id for a in october.allocations} == {demo.INTACT_WORKER}
    assert directory(ws).name(demo.INTACT_WORKER) == "Rowan Ellery (demo-intact-worker)"


def test_the_supervisor_reviews_both_workers_by_name(tmp_path: Path) -> None:
    """Both the coordinator's and the intact worker's notes wait for a co-signature, and both
    their months for approval, each named."""
    session = open_demo(tmp_path, Role.SUPERVISOR)
    assert session.profile.paths.root.name == "fieldapp-demo-supervisor"
    summary = today_summary(session.workspace())
    people = directory(session.workspace())
    waiting = {people.name(n.author) for n in summary.awaiting_cosign}
    months = {people.name(m.worker_id) for m in summary.months_awaiting}
    expected = {"Jordan Demo (demo-coordinator)", "Rowan Ellery (demo-intact-worker)"}
    assert waiting == months == expected


def test_each_role_opens_its_own_demo_again(tmp_path: Path) -> None:
    """Made on first use, unlocked after: the three demos never share a folder."""
    owners = {}
    for role in ROLES:
        session = open_demo(tmp_path, role)
        owners[session.profile.paths.root.name] = session.workspace().actor.user_id
        session.lock()
        again = open_demo(tmp_path, role)
        assert again.workspace().actor.user_id == owners[again.profile.paths.root.name]
    assert owners == {"fieldapp-demo": demo.WORKER,
                      "fieldapp-demo-intact-worker": demo.INTACT_WORKER,
                      "fieldapp-demo-supervisor": demo.SUPERVISOR}
