"""Cases: a family needs a name and a parent in recovery, and a sane visit frequency."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from fieldapp.domain.cases import Case, CaseStatus, Person
from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.people import CaseId, UserId

COORDINATOR = UserId("u-coordinator")
WORKER = UserId("u-intact")
SUPERVISOR = UserId("u-supervisor")
STRANGER = UserId("u-stranger")


def make_case(**overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": CaseId("case-1"),
        "family_name": "Okafor",
        "parents": (Person(name="Ada Okafor", relationship="mother"),),
        "children": (Person(name="Tobi Okafor", relationship="son"),),
        "coordinator_id": COORDINATOR,
        "intact_worker_id": WORKER,
        "supervisor_ids": (SUPERVISOR,),
        "start_date": date(2026, 1, 5),
    }
    fields.update(overrides)
    return Case(**fields)


def test_a_complete_case_is_accepted() -> None:
    case = make_case()
    assert case.family_name == "Okafor"
    assert case.status is CaseStatus.OPEN
    assert case.visits_per_week == 2


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "no family name": ({"family_name": ""}, "Give the family a name."),
    "blank family name": ({"family_name": "   \t"}, "Give the family a name."),
    "no parent": ({"parents": ()}, "Name at least one parent in recovery."),
    "parent without a name": ({"parents": (Person(name=" "),)},
                              "Every parent and child needs a name."),
    "second parent without a name": (
        {"parents": (Person(name="Ada Okafor"), Person(name=""))},
        "Every parent and child needs a name."),
    "child without a name": ({"children": (Person(name="Tobi"), Person(name="\n"))},
                             "Every parent and child needs a name."),
    "visits -1": ({"visits_per_week": -1}, "Expected visits per week must be between 0 and 14."),
    "visits 15": ({"visits_per_week": 15}, "Expected visits per week must be between 0 and 14."),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_cases_are_refused(case: tuple[dict[str, Any], str]) -> None:
    overrides, message = case
    with pytest.raises(RuleViolation) as caught:
        make_case(**overrides)
    assert caught.value.message == message
    assert isinstance(caught.value, KnownError)


@pytest.mark.parametrize("visits", [0, 1, 14])
def test_visit_frequency_bounds_are_inclusive(visits: int) -> None:
    assert make_case(visits_per_week=visits).visits_per_week == visits


def test_a_case_without_children_is_fine() -> None:
    assert make_case(children=()).children == ()


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(RuleViolation) as caught:
        make_case(family_name="", parents=(), visits_per_week=20)
    message = caught.value.message
    assert "Give the family a name." in message
    assert "Name at least one parent in recovery." in message
    assert "between 0 and 14" in message


def test_replace_validates_again() -> None:
    # A frozen case is changed by `replace`, which must not slip past the rules.
    with pytest.raises(RuleViolation, match="Give the family a name"):
        replace(make_case(), family_name=" ")


@pytest.mark.parametrize(("user", "assigned"), [
    (COORDINATOR, True), (WORKER, True), (SUPERVISOR, True), (STRANGER, False),
])
def test_assigned_to(user: UserId, assigned: bool) -> None:
    assert make_case().assigned_to(user) is assigned


def test_an_unassigned_slot_does_not_match_anyone() -> None:
    case = make_case(coordinator_id=None, intact_worker_id=None, supervisor_ids=())
    assert not case.assigned_to(COORDINATOR)
    assert not case.assigned_to(UserId(""))


@pytest.mark.parametrize(("status", "needs"), [
    (CaseStatus.OPEN, True), (CaseStatus.AFTERCARE, True), (CaseStatus.CLOSED, False),
])
def test_only_closed_cases_need_no_visits(status: CaseStatus, needs: bool) -> None:
    assert make_case(status=status).needs_visits is needs


def test_revision_does_not_make_cases_differ() -> None:
    assert make_case(revision=3) == make_case(revision=0)
    assert make_case(family_name="Other") != make_case()
