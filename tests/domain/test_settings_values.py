"""Program settings read from JSON (a profile's copy, the server's rules): a value of the wrong
kind is refused with the setting's name, and each limit holds on the way in from JSON as well."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.settings import ProgramSettings

WHOLE = ("visits_per_week", "late_entry_hours", "random_screens_per_month",
         "cosign_deadline_days", "draft_stale_days", "mileage_submit_days",
         "consent_warning_days")


@pytest.mark.parametrize("key", WHOLE)
@pytest.mark.parametrize("value", ["two", None, True, 2.5, [2], "2.0", float("nan")], ids=repr)
def test_a_whole_number_of_the_wrong_kind_is_named(key: str, value: Any) -> None:
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({key: value})
    assert refused.value.message == f"The program setting {key} must be a whole number."


@pytest.mark.parametrize("key", ["mileage_cap", "rate_per_mile"])
@pytest.mark.parametrize("value", ["lots", None, True, [1, 2], {"miles": 5}], ids=repr)
def test_an_amount_of_the_wrong_kind_is_named(key: str, value: Any) -> None:
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({key: value})
    assert refused.value.message == f"The program setting {key} must be a number."


@pytest.mark.parametrize("key", ["panel", "services"])
@pytest.mark.parametrize("value", ["cocaine", None, [1, 2], ["referral", None], 5], ids=repr)
def test_a_list_of_the_wrong_kind_is_named(key: str, value: Any) -> None:
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({key: value})
    assert refused.value.message == f"The program setting {key} must be a list of names."


@pytest.mark.parametrize("value", ["true", "yes", 1, None])
def test_co_supervision_of_the_wrong_kind_is_named(value: Any) -> None:
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({"cosupervision_required": value})
    assert refused.value.message == (
        "The program setting cosupervision_required must be true or false.")


@pytest.mark.parametrize(("key", "value", "read"), [
    ("visits_per_week", 3, 3),
    ("visits_per_week", "3", 3),  # as older servers may have stored it
    ("visits_per_week", 3.0, 3),
    ("mileage_cap", 150, Decimal(150)),
    ("mileage_cap", "150.5", Decimal("150.5")),
    ("rate_per_mile", 0.67, Decimal("0.67")),
    ("panel", ("cocaine",), ("cocaine",)),
    ("services", ["referral"], ("referral",)),
])
def test_values_of_the_right_kind_are_read(key: str, value: Any, read: Any) -> None:
    assert getattr(ProgramSettings.from_json({key: value}), key) == read


# Each limit, just inside and just outside, as JSON carries it (the server's `init` and a
# laptop adopting the server's rules both come this way).
LIMITS = [
    ("mileage_cap", "0", "-0.01", "The mileage cap cannot be negative."),
    ("rate_per_mile", "0", "-0.01", "The rate per mile cannot be negative."),
    ("visits_per_week", 0, -1, "Visits per week must be between 0 and 14."),
    ("visits_per_week", 14, 15, "Visits per week must be between 0 and 14."),
    ("late_entry_hours", 1, 0, "between 1 hour and 30 days"),
    ("late_entry_hours", 720, 721, "between 1 hour and 30 days"),
    ("random_screens_per_month", 0, -1, "between 0 and 31"),
    ("random_screens_per_month", 31, 32, "between 0 and 31"),
    ("cosign_deadline_days", 1, 0, "between 1 and 60 days"),
    ("cosign_deadline_days", 60, 61, "between 1 and 60 days"),
    ("draft_stale_days", 1, 0, "between 1 and 60 days"),
    ("draft_stale_days", 60, 61, "between 1 and 60 days"),
    ("mileage_submit_days", 1, 0, "between 1 and 365 days"),
    ("mileage_submit_days", 365, 366, "between 1 and 365 days"),
    ("consent_warning_days", 1, 0, "between 1 and 365 days"),
    ("consent_warning_days", 365, 366, "between 1 and 365 days"),
]


@pytest.mark.parametrize(("key", "inside", "outside", "message"), LIMITS,
                         ids=[f"{k} {o}" for k, _, o, _ in LIMITS])
def test_each_limit_holds_from_json(key: str, inside: Any, outside: Any, message: str) -> None:
    ProgramSettings.from_json({key: inside})
    with pytest.raises(RuleViolation) as refused:
        ProgramSettings.from_json({key: outside})
    assert message in refused.value.message
