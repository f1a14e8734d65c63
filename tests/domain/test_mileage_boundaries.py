"""The mileage rules at their edges: the server's figure when it differs from the local split,
the month's identity and provisional flag, and the exact words a worker or supervisor acts on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.mileage import (
    MileageMonth,
    MonthStatus,
    Preview,
    Trip,
    allocate,
    approve,
    check_trip,
    ledger,
    preview,
    return_month,
    submit,
)
from fieldapp.domain.settings import ProgramSettings
from tests.domain.test_mileage import (
    COLLEAGUE,
    MONTH,
    SUPERVISOR,
    TODAY,
    WORKER,
    WORKER_ACTOR,
    month_of,
    rows,
    split,
    trip,
)

# Locally, 100 + 80 miles against a cap of 150 splits as 100 / 50.
TRIPS = [trip("a", day=3, miles="100"), trip("b", day=12, miles="80")]


# --- the server's figure stands -----------------------------------------------------------------


def test_the_servers_figure_stands_when_it_differs_from_the_local_split() -> None:
    # The server knows of a trip this laptop has not seen, so it pays "a" less and "b" in full.
    server = {"a": Decimal(70), "b": Decimal(80)}
    assert split(allocate(TRIPS, cap=Decimal(150), server=server)) == rows(
        ("a", "70", "30"), ("b", "80", "0"),
    )


def test_a_trip_the_server_has_not_seen_keeps_the_local_figure() -> None:
    assert split(allocate(TRIPS, cap=Decimal(150), server={"a": Decimal(60)})) == rows(
        ("a", "60", "40"), ("b", "50", "30"),
    )


def test_an_empty_server_allocation_changes_nothing() -> None:
    assert split(allocate(TRIPS, cap=Decimal(150), server={})) == \
        split(allocate(TRIPS, cap=Decimal(150)))


def test_nothing_is_left_when_the_server_paid_more_than_the_cap_here() -> None:
    # The cap was lowered here after the server paid: the month shows no allowance left, never a
    # negative one.
    month = ledger(worker_id=WORKER, month=MONTH, trips=TRIPS,
                   settings=ProgramSettings(mileage_cap=Decimal(120)),
                   server={"a": Decimal(100), "b": Decimal(50)})
    assert month.reimbursable == Decimal(150)
    assert month.remaining == Decimal(0)


def test_the_month_uses_the_servers_figures() -> None:
    month = ledger(worker_id=WORKER, month=MONTH, trips=TRIPS, settings=ProgramSettings(),
                   server={"a": Decimal(70), "b": Decimal(80)})
    assert split(month.allocations) == rows(("a", "70", "30"), ("b", "80", "0"))
    assert (month.reimbursable, month.over_cap) == (Decimal(150), Decimal(30))


# --- the month says whose, which, and whether confirmed -----------------------------------------


def test_the_month_names_its_worker_and_month() -> None:
    month = month_of(TRIPS)
    assert month.worker_id == WORKER
    assert month.month == MONTH


def test_figures_are_confirmed_unless_said_otherwise() -> None:
    assert month_of(TRIPS).provisional is False
    built = MileageMonth(worker_id=WORKER, month=MONTH, allocations=(), cap=Decimal(150),
                         rate=Decimal("0.725"), status=MonthStatus.OPEN)
    assert built.provisional is False


def test_unsynced_figures_are_provisional() -> None:
    month = ledger(worker_id=WORKER, month=MONTH, trips=TRIPS, settings=ProgramSettings(),
                   provisional=True)
    assert month.provisional is True


def test_a_trip_needs_no_case() -> None:
    plain = Trip(id=TRIPS[0].id, worker_id=WORKER, trip_date=date(2026, 3, 3), origin="Office",
                 destination="Training", purpose="Training day", miles=Decimal(12),
                 recorded_at=TRIPS[0].recorded_at)
    assert plain.case_id is None
    assert plain.total_miles == Decimal(12)
    check_trip(plain, today=TODAY)


@pytest.mark.parametrize("reading", ["odometer_start", "odometer_end"])
def test_a_single_odometer_reading_leaves_the_entered_miles(reading: str) -> None:
    # Refused when saved ("give both, or neither"), but a preview while typing must not break.
    one_reading: dict[str, Any] = {reading: Decimal(500)}
    assert trip(miles="12", **one_reading).total_miles == Decimal(12)


def test_a_preview_with_nothing_displaced_crosses_the_cap_only_by_its_own_miles() -> None:
    assert not Preview(remaining_before=Decimal(40), reimbursable=Decimal(40),
                       over_cap=Decimal(0)).crosses_cap
    assert Preview(remaining_before=Decimal(40), reimbursable=Decimal(40),
                   over_cap=Decimal("0.1")).crosses_cap


def test_preview_of_the_only_trip_displaces_nothing() -> None:
    shown = preview(month_of([]), trip(miles="150"))
    assert (shown.remaining_before, shown.reimbursable, shown.over_cap, shown.displaced) == \
        (Decimal(150), Decimal(150), Decimal(0), Decimal(0))
    assert not shown.crosses_cap


# --- the exact words a person acts on -----------------------------------------------------------


def refusal(**overrides: Any) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_trip(trip(**overrides), today=TODAY)
    return caught.value.message


@pytest.mark.parametrize(("overrides", "message"), [
    ({"origin": ""}, "Say where the trip started and where it went."),
    ({"purpose": " "}, "Give the business purpose of the trip."),
    ({"trip_date": date(2026, 4, 3)}, "A trip cannot be logged before it happens."),
    ({"odometer_end": Decimal(9)}, "Give both odometer readings, or neither."),
    ({"odometer_start": Decimal(9), "odometer_end": Decimal(9)},
     "The odometer at the end must be higher than at the start."),
    ({"miles": Decimal(0)}, "Miles must be more than zero."),
    ({"miles": Decimal("1000.1")}, "A single trip of more than 1000 miles looks like a typo."),
], ids=["place", "purpose", "future", "one reading", "odometer", "zero", "typo"])
def test_each_trip_problem_is_said_exactly(overrides: dict[str, Any], message: str) -> None:
    assert refusal(**overrides) == message


def test_several_trip_problems_are_sentences_in_one_message() -> None:
    assert refusal(purpose="", miles=Decimal(0)) == \
        "Give the business purpose of the trip. Miles must be more than zero."


def test_a_submitted_month_says_which_month_cannot_change() -> None:
    with pytest.raises(RuleViolation) as caught:
        submit(MonthStatus.SUBMITTED, month=MONTH, actor=WORKER_ACTOR, worker_id=WORKER)
    assert caught.value.message == \
        "The mileage for 2026-03 is submitted; it can no longer be changed."


def test_the_month_status_refusals_are_said_exactly() -> None:
    with pytest.raises(NotPermitted) as caught:
        submit(MonthStatus.OPEN, month=MONTH, actor=COLLEAGUE, worker_id=WORKER)
    assert caught.value.message == "Only the worker can submit their own mileage."
    with pytest.raises(NotPermitted) as caught:
        approve(MonthStatus.SUBMITTED, month=MONTH, actor=COLLEAGUE, worker_id=WORKER)
    assert caught.value.message == "Only a supervisor can approve or return mileage."
    with pytest.raises(NotPermitted) as caught:
        approve(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR,
                worker_id=SUPERVISOR.user_id)
    assert caught.value.message == "Nobody approves their own mileage."
    with pytest.raises(RuleViolation) as refused:
        return_month(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR, worker_id=WORKER,
                     reason=" ")
    assert refused.value.message == "Say why the month is returned."

