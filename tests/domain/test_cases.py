"""Cases: a family needs a name and a parent in recovery, and a sane visit frequency."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from fieldapp.domain.cases import PHONE_PROBLEM, Case, CaseStatus, Person, check_referral_date
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
    "phone with letters": ({"phone": "call the aunt"}, PHONE_PROBLEM),
    "phone with a slash": ({"phone": "815/555-0142"}, PHONE_PROBLEM),
    "phone too short": ({"phone": "555-014"}, PHONE_PROBLEM),
    "phone of punctuation": ({"phone": "+() -. x"}, PHONE_PROBLEM),
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


def test_a_case_without_contact_or_referral_is_fine() -> None:
    case = make_case()
    assert (case.phone, case.referral_source, case.referral_date) == ("", "", None)


@pytest.mark.parametrize("phone", [
    "(815) 555-0142", "+1 815.555.0142", "815-555-0142 x12", "555 0142 X3", "5550142", "   ",
])
def test_phone_numbers_in_local_styles_are_accepted(phone: str) -> None:
    assert make_case(phone=phone).phone == phone


def test_a_referral_is_free_text() -> None:
    case = make_case(referral_source="DCFS caseworker Maria Ortiz (hotline #4471)",
                     referral_date=date(2025, 12, 30))
    assert case.referral_source.startswith("DCFS")


@pytest.mark.parametrize(("referred", "refused"), [
    (None, False), (date(2026, 11, 23), False), (date(2026, 11, 24), False),
    (date(2026, 11, 25), True),
])
def test_a_referral_cannot_be_dated_after_today(referred: date | None, refused: bool) -> None:
    case = make_case(referral_date=referred)
    if refused:
        with pytest.raises(RuleViolation, match="cannot be in the future"):
            check_referral_date(case, today=date(2026, 11, 24))
    else:
        check_referral_date(case, today=date(2026, 11, 24))


def test_a_referral_may_come_after_the_start_date() -> None:
    """Programs sometimes open a case on a phone call and get the written referral later."""
    check_referral_date(make_case(start_date=date(2026, 1, 5), referral_date=date(2026, 2, 1)),
                   today=date(2026, 11, 24))
