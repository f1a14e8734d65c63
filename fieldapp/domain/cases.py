"""A case: one family, its parents in recovery and children, and who works with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, UserId


class CaseStatus(StrEnum):
    OPEN = "open"
    AFTERCARE = "aftercare"
    CLOSED = "closed"


@dataclass(frozen=True, kw_only=True)
class Person:
    """Someone in the family. Sealed: every field here is identifying."""

    name: str
    relationship: str = ""
    details: str = ""


@dataclass(frozen=True, kw_only=True)
class Case:
    """A family's case.

    Sealed: `family_name`, `parents`, `children`, `address`. Plain (routing and rules): the id,
    assignments, status, start date and visit frequency.
    """

    id: CaseId
    family_name: str
    parents: tuple[Person, ...]
    children: tuple[Person, ...] = ()
    address: str = ""
    coordinator_id: UserId | None = None
    intact_worker_id: UserId | None = None
    supervisor_ids: tuple[UserId, ...] = ()
    status: CaseStatus = CaseStatus.OPEN
    start_date: date
    visits_per_week: int = 2
    revision: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        validate_case(self)

    def assigned_to(self, user_id: UserId) -> bool:
        return user_id in (self.coordinator_id, self.intact_worker_id, *self.supervisor_ids)

    @property
    def needs_visits(self) -> bool:
        return self.status is not CaseStatus.CLOSED


def validate_case(case: Case) -> None:
    problems = []
    if not case.family_name.strip():
        problems.append("Give the family a name.")
    if not case.parents:
        problems.append("Name at least one parent in recovery.")
    if any(not p.name.strip() for p in (*case.parents, *case.children)):
        problems.append("Every parent and child needs a name.")
    if not 0 <= case.visits_per_week <= 14:
        problems.append("Expected visits per week must be between 0 and 14.")
    if problems:
        raise RuleViolation(" ".join(problems))
