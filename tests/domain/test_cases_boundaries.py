"""Cases at the edges of their rules: a phone with exactly 7 digits and one with 6, a referral
dated today and tomorrow, and the exact sentence of every refusal, alone and several at once
(the person typing in the family's details acts on it)."""

from __future__ import annotations

from datetime import date

import pytest

from fieldapp.domain.cases import (
    PHONE_PROBLEM,
    Person,
    check_referral_date,
    phone_looks_right,
)
from fieldapp.domain.errors import RuleViolation
from tests.domain.test_cases import make_case

TODAY = date(2026, 11, 24)


def test_the_phone_refusal_says_what_a_number_may_hold() -> None:
    assert PHONE_PROBLEM == ("A phone number has at least 7 digits and only spaces, + - ( ) . or "
                             "x (for an extension) besides.")


@pytest.mark.parametrize(("phone", "right"), [
    ("555-0142", True),      # exactly 7 digits
    (" 555-0142 ", True),    # spaces around it are not counted against it
    ("555-014", False),      # 6 digits
    ("(815) 55", False),     # 5 digits and brackets
])
def test_a_phone_needs_at_least_seven_digits(phone: str, right: bool) -> None:
    assert phone_looks_right(phone) is right


def test_every_problem_is_named_at_once_in_order() -> None:
    with pytest.raises(RuleViolation) as refused:
        make_case(family_name=" ", parents=(), visits_per_week=15, phone="555-014")
    assert refused.value.message == (
        "Give the family a name. Name at least one parent in recovery. Expected visits per week "
        f"must be between 0 and 14. {PHONE_PROBLEM}")


def test_a_referral_dated_today_is_accepted() -> None:
    check_referral_date(make_case(referral_date=TODAY), today=TODAY)


def test_a_referral_dated_tomorrow_is_refused_in_these_words() -> None:
    with pytest.raises(RuleViolation) as refused:
        check_referral_date(make_case(referral_date=date(2026, 11, 25)), today=TODAY)
    assert refused.value.message == "The referral date cannot be in the future."


def test_someone_named_alone_has_no_relationship_or_details_recorded() -> None:
    assert Person(name="Ada Okafor") == Person(name="Ada Okafor", relationship="", details="")
