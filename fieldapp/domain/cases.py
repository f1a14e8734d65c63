"""A case: one family, its parents in recovery and children, and who works with them."""

from __future__ import annotations

import re
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

    Sealed: `family_name`, `parents`, `children`, `address`, `phone`, `referral_source`,
    `referral_date`. Plain (routing and rules): the id, assignments, status, start date and
    visit frequency. The referral's date is sealed too: with the source it says who sent the
    family, which is as identifying as their name.
    """

    id: CaseId
    family_name: str
    parents: tuple[Person, ...]
    children: tuple[Person, ...] = ()
    address: str = ""
    phone: str = ""
    referral_source: str = ""  # who sent the family, e.g. "DCFS caseworker Maria Ortiz"
    referral_date: date | None = None
    coordinator_id: UserId | None = None
    intact_worker_id: UserId | None = None
    supervisor_ids: tuple[UserId, ...] = ()
    status: CaseStatus = CaseStatus.OPEN
    # The worker who started this family in the field, until a supervisor confirms it (None:
    # opened or confirmed by a supervisor). Plain: the server decides it, not the laptop.
    referred_by: UserId | None = None
    start_date: date
    visits_per_week: int = 2
    revision: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        validate_case(self)

    def assigned_to(self, user_id: UserId) -> bool:
        return user_id in (self.coordinator_id, self.intact_worker_id, *self.supervisor_ids)

    @property
    def awaiting_confirmation(self) -> bool:
        """A family a worker started in the field that no supervisor has confirmed yet."""
        return self.referred_by is not None

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
    if case.phone.strip() and not phone_looks_right(case.phone):
        problems.append(PHONE_PROBLEM)
    if problems:
        raise RuleViolation(" ".join(problems))


# Loose on purpose: families give numbers in every local style ("(815) 555-0142 x12",
# "+1 815.555.0142"); the rule only catches a note or a name typed into the wrong box.
_PHONE_CHARACTERS = re.compile(r"[0-9 +\-().xX]+")
PHONE_PROBLEM = ("A phone number has at least 7 digits and only spaces, + - ( ) . or x (for an "
                 "extension) besides.")


def phone_looks_right(phone: str) -> bool:
    text = phone.strip()
    return bool(_PHONE_CHARACTERS.fullmatch(text)) and sum(c.isdigit() for c in text) >= 7


def check_referral_date(case: Case, *, today: date) -> None:
    """Refuse a referral dated after `today` (the profile's clock, which the case cannot know,
    so the service asks when a case is written; a stored case is never refused on opening)."""
    if case.referral_date is not None and case.referral_date > today:
        raise RuleViolation("The referral date cannot be in the future.")
