"""Shared builders for the record tests: actors, services, cases, notes, screens, trips.

Every builder returns a complete, valid record by default; keyword overrides change single fields.
`snapshot` captures every row of every table so a refused action can be shown to change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
import sqlite_utils

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.mileage import Trip
from fieldapp.domain.people import Actor, CaseId, Role, ScreenId, TripId, UserId, new_id
from fieldapp.domain.screens import (
    DrugScreen,
    LabConfirmation,
    LabStatus,
    Method,
    ScreenReason,
    Specimen,
    SubstanceResult,
)
from fieldapp.domain.visits import ContactType, Place, VisitDetails
from fieldapp.services.casework import CaseService
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock

WORKER = Actor(user_id=UserId("rc-1"), role=Role.RECOVERY_COORDINATOR)
INTACT_WORKER = Actor(user_id=UserId("iw-1"), role=Role.INTACT_WORKER)
OTHER_WORKER = Actor(user_id=UserId("rc-2"), role=Role.RECOVERY_COORDINATOR)
SUPERVISOR = Actor(user_id=UserId("sup-1"), role=Role.SUPERVISOR)
OTHER_SUPERVISOR = Actor(user_id=UserId("sup-2"), role=Role.SUPERVISOR)
ADMIN = Actor(user_id=UserId("admin-1"), role=Role.ADMIN)

# The FakeClock starts on Tuesday 2026-11-24 09:30 UTC, which is 03:30 that day in Chicago.
TODAY = date(2026, 11, 24)
YESTERDAY = date(2026, 11, 23)
MONTH = "2026-11"
PANEL = ("cocaine", "opiates", "marijuana (THC)")


@dataclass(frozen=True)
class Services:
    """Every service, as seen by one actor of a shared vault."""

    ws: Workspace
    cases: CaseService
    notes: NoteService
    screens: ScreenService
    mileage: MileageService


def services(vault: Vault, clock: FakeClock, actor: Actor) -> Services:
    return _over(Workspace(vault, actor=actor, clock=clock))


def services_of(session: Session) -> Services:
    """Every service over an open profile's workspace, as its owner: a fresh workspace at each
    call, so who the profile belongs to and the program's rules are read again (after joining
    a server or a sync, for instance)."""
    return _over(session.workspace())


def _over(ws: Workspace) -> Services:
    return Services(ws=ws, cases=CaseService(ws), notes=NoteService(ws),
                    screens=ScreenService(ws), mileage=MileageService(ws))


def make_case(*, family_name: str = "Alder", coordinator: Actor | None = WORKER,
              intact_worker: Actor | None = INTACT_WORKER,
              supervisors: tuple[Actor, ...] = (SUPERVISOR,), visits_per_week: int = 2,
              **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": CaseId(new_id()), "family_name": family_name,
        "parents": (Person(name=f"{family_name} parent", relationship="mother",
                           details="in outpatient treatment"),),
        "children": (Person(name=f"{family_name} child", relationship="son", details="age 6"),),
        "address": "12 Elm Street, Springfield",
        "coordinator_id": coordinator.user_id if coordinator else None,
        "intact_worker_id": intact_worker.user_id if intact_worker else None,
        "supervisor_ids": tuple(s.user_id for s in supervisors),
        "start_date": date(2026, 9, 1), "visits_per_week": visits_per_week,
    }
    fields.update(overrides)
    return Case(**fields)


def open_case(vault: Vault, clock: FakeClock, **kwargs: Any) -> Case:
    """A case opened by the supervisor, with the worker as coordinator unless told otherwise."""
    return services(vault, clock, SUPERVISOR).cases.open_case(make_case(**kwargs))


def visit_details(**overrides: Any) -> VisitDetails:
    """A complete face-to-face visit yesterday afternoon (Chicago), ready to sign."""
    fields: dict[str, Any] = {
        "visit_date": YESTERDAY, "time_in": time(14, 0), "time_out": time(15, 30),
        "place": Place.HOME, "contact_type": ContactType.FACE_TO_FACE,
        "people_present": ("mother", "son"), "services": ("recovery coaching", "safety check"),
        "safety_concerns": True, "safety_description": "loose railing on the porch",
        "narrative": "Talked through the week; mother attended two meetings.",
        "next_steps": "Bring the meeting list next time.",
        "next_visit_date": date(2026, 11, 26),
    }
    fields.update(overrides)
    return VisitDetails(**fields)


def drug_screen(case_id: CaseId, **overrides: Any) -> DrugScreen:
    """A collected instant urine screen with a result for each substance on a small panel."""
    fields: dict[str, Any] = {
        "id": ScreenId(new_id()), "case_id": case_id, "person": "Alder parent",
        "collected_at": datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
        "reason": ScreenReason.RANDOM, "specimen": Specimen.URINE, "observed": True,
        "panel": PANEL,
        "results": {"cocaine": SubstanceResult.NEGATIVE, "opiates": SubstanceResult.NEGATIVE,
                    "marijuana (THC)": SubstanceResult.POSITIVE},
        "method": Method.INSTANT, "lab": LabConfirmation(status=LabStatus.PENDING),
        "chain_of_custody": "", "comments": "sample warm, observed",
        "recorded_by": UserId("placeholder"),
    }
    fields.update(overrides)
    return DrugScreen(**fields)


def make_trip(**overrides: Any) -> Trip:
    """A 45-mile round trip (90 miles) on 2 November; the service fills worker and time."""
    fields: dict[str, Any] = {
        "id": TripId(new_id()), "worker_id": UserId("placeholder"),
        "trip_date": date(2026, 11, 2), "origin": "county office",
        "destination": "family home", "purpose": "home visit", "miles": Decimal(45),
        "round_trip": True, "recorded_at": datetime(2000, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return Trip(**fields)


def with_id(trip: Trip) -> Trip:
    """The same trip under a fresh id."""
    return replace(trip, id=TripId(new_id()))


Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(db: sqlite_utils.Database) -> Snapshot:
    """Every row of every table, in storage order: equal snapshots mean nothing was written."""
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()]
    return {name: [tuple(row) for row in db.execute(
        f"SELECT * FROM [{name}] ORDER BY rowid").fetchall()]  # noqa: S608 - names from schema
            for name in names}


def row_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(db).items()}


def assert_refused(db: sqlite_utils.Database, errors: type[BaseException] |
                   tuple[type[BaseException], ...], action: Callable[[], object]) -> None:
    """`action` raises one of `errors` and leaves every table exactly as it was."""
    before = snapshot(db)
    with pytest.raises(errors):
        action()
    assert snapshot(db) == before
