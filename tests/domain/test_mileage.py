"""Trips and the mileage month: every mile logged, the cap paid first-trips-first, and the
month's submit / approve / return steps. The ledger's invariants are checked with hypothesis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.domain.errors import KnownError, NotPermitted, RuleViolation
from fieldapp.domain.mileage import (
    Allocation,
    MileageMonth,
    MonthStatus,
    Trip,
    allocate,
    approve,
    check_trip,
    ledger,
    month_key,
    preview,
    require_editable,
    return_month,
    submit,
    trip_order,
)
from fieldapp.domain.people import Actor, CaseId, Role, TripId, UserId
from fieldapp.domain.settings import ProgramSettings

SETTINGS = ProgramSettings()
WORKER = UserId("u-worker")
WORKER_ACTOR = Actor(user_id=WORKER, role=Role.RECOVERY_COORDINATOR)
COLLEAGUE = Actor(user_id=UserId("u-colleague"), role=Role.INTACT_WORKER)
SUPERVISOR = Actor(user_id=UserId("u-supervisor"), role=Role.SUPERVISOR)
ADMIN = Actor(user_id=UserId("u-admin"), role=Role.ADMIN)
MONTH = "2026-03"
TODAY = date(2026, 4, 2)
RECORDED = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)


def trip(trip_id: str = "t1", *, day: int = 10, miles: str | Decimal = "10",
         **overrides: Any) -> Trip:
    fields: dict[str, Any] = {
        "id": TripId(trip_id),
        "worker_id": WORKER,
        "trip_date": date(2026, 3, day),
        "origin": "Office",
        "destination": "Family home",
        "purpose": "Home visit",
        "miles": Decimal(miles),
        "recorded_at": RECORDED,
        "case_id": CaseId("case-1"),
    }
    fields.update(overrides)
    return Trip(**fields)


def month_of(trips: list[Trip], *, cap: int | Decimal = 150,
             status: MonthStatus = MonthStatus.OPEN) -> MileageMonth:
    return ledger(worker_id=WORKER, month=MONTH, trips=trips,
                  settings=ProgramSettings(mileage_cap=Decimal(cap)), status=status)


def split(allocations: list[Allocation] | tuple[Allocation, ...],
          ) -> list[tuple[str, Decimal, Decimal]]:
    return [(a.trip.id, a.reimbursable, a.over_cap) for a in allocations]


def rows(*expected: tuple[str, str, str]) -> list[tuple[str, Decimal, Decimal]]:
    return [(trip_id, Decimal(paid), Decimal(over)) for trip_id, paid, over in expected]


# --- a trip -------------------------------------------------------------------------------------


def test_total_miles_are_the_entered_miles() -> None:
    assert trip(miles="12.3").total_miles == Decimal("12.3")


def test_a_round_trip_doubles_the_entered_miles() -> None:
    assert trip(miles="12.3", round_trip=True).total_miles == Decimal("24.6")


def test_the_odometer_difference_wins() -> None:
    driven = trip(miles="5", round_trip=True, odometer_start=Decimal("10450.2"),
                  odometer_end=Decimal("10487.9"))
    assert driven.total_miles == Decimal("37.7")


def test_total_miles_are_in_tenths() -> None:
    assert trip(miles="12.34").total_miles == Decimal("12.3")
    assert str(trip(miles="7").total_miles) == "7.0"


def test_month_key() -> None:
    assert month_key(date(2026, 3, 31)) == "2026-03"
    assert month_key(date(987, 12, 1)) == "0987-12"
    assert trip(day=1).month == MONTH


def test_a_complete_trip_is_accepted() -> None:
    check_trip(trip(), today=TODAY)
    check_trip(trip(miles="0.1"), today=TODAY)
    check_trip(trip(miles="1000"), today=TODAY)
    check_trip(trip(miles="500", round_trip=True), today=TODAY)
    check_trip(trip(odometer_start=Decimal(0), odometer_end=Decimal("0.1")), today=TODAY)
    check_trip(trip(trip_date=TODAY), today=TODAY)


INVALID_TRIPS: dict[str, tuple[dict[str, Any], str]] = {
    "negative miles": ({"miles": Decimal("-4")}, "Miles must be more than zero."),
    "zero miles": ({"miles": Decimal(0)}, "Miles must be more than zero."),
    "no origin": ({"origin": " "}, "Say where the trip started and where it went."),
    "no destination": ({"destination": ""}, "Say where the trip started and where it went."),
    "no purpose": ({"purpose": "\t"}, "Give the business purpose of the trip."),
    "in the future": ({"trip_date": date(2026, 4, 3)},
                      "A trip cannot be logged before it happens."),
    "only a start reading": ({"odometer_start": Decimal(100)},
                             "Give both odometer readings, or neither."),
    "only an end reading": ({"odometer_end": Decimal(100)},
                            "Give both odometer readings, or neither."),
    "odometer going backwards": ({"odometer_start": Decimal(500), "odometer_end": Decimal(450)},
                                 "The odometer at the end must be higher than at the start."),
    "odometer standing still": ({"odometer_start": Decimal(500), "odometer_end": Decimal(500)},
                                "The odometer at the end must be higher than at the start."),
    "negative odometer": ({"odometer_start": Decimal(-10), "odometer_end": Decimal(5)},
                          "The odometer at the end must be higher than at the start."),
    "1000.1 miles": ({"miles": Decimal("1000.1")},
                     "A single trip of more than 1000 miles looks like a typo."),
    "round trip of 2 x 500.1": ({"miles": Decimal("500.1"), "round_trip": True},
                                "more than 1000 miles"),
}


@pytest.mark.parametrize("case", INVALID_TRIPS.values(), ids=INVALID_TRIPS.keys())
def test_invalid_trips_are_refused(case: tuple[dict[str, Any], str]) -> None:
    overrides, message = case
    with pytest.raises(RuleViolation) as caught:
        check_trip(trip(**overrides), today=TODAY)
    assert message in caught.value.message
    assert isinstance(caught.value, KnownError)


def test_every_trip_problem_is_named_at_once() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_trip(trip(purpose="", miles=Decimal(-1), trip_date=date(2026, 5, 1)), today=TODAY)
    for sentence in ("business purpose", "before it happens", "more than zero"):
        assert sentence in caught.value.message


# --- allocation ---------------------------------------------------------------------------------


def test_a_trip_crossing_the_cap_is_split() -> None:
    trips = [trip("a", day=3, miles="100"), trip("b", day=12, miles="80"),
             trip("c", day=20, miles="30")]
    assert split(allocate(trips, cap=Decimal(150))) == rows(
        ("a", "100", "0"), ("b", "50", "30"), ("c", "0", "30"),
    )


def test_allocation_follows_trip_order_not_entry_order() -> None:
    late = trip("late", day=28, miles="100")
    early = trip("early", day=2, miles="100")
    assert split(allocate([late, early], cap=Decimal(150))) == rows(
        ("early", "100", "0"), ("late", "50", "50"),
    )


def test_trip_order_is_date_then_recorded_at_then_id() -> None:
    first = trip("z", day=5, recorded_at=RECORDED - timedelta(days=20))
    second = trip("b", day=5, recorded_at=RECORDED)
    third = trip("c", day=5, recorded_at=RECORDED)
    earlier_day = trip("y", day=4, recorded_at=RECORDED + timedelta(days=1))
    ordered = trip_order([third, second, first, earlier_day])
    assert [t.id for t in ordered] == ["y", "z", "b", "c"]


def test_a_round_trip_is_allocated_in_full() -> None:
    (only,) = allocate([trip(miles="90", round_trip=True)], cap=Decimal(150))
    assert (only.reimbursable, only.over_cap) == (Decimal(150), Decimal(30))


def test_a_zero_cap_pays_nothing() -> None:
    month = month_of([trip(miles="40")], cap=0)
    assert month.reimbursable == 0
    assert month.over_cap == Decimal(40)
    assert month.amount == Decimal("0.00")


# --- the month ----------------------------------------------------------------------------------


def test_the_month_counts_only_this_workers_trips_in_this_month() -> None:
    trips = [
        trip("mine", miles="40"),
        trip("theirs", miles="500", worker_id=UserId("u-colleague")),
        trip("april", miles="500", trip_date=date(2026, 4, 1)),
        trip("february", miles="500", trip_date=date(2026, 2, 28)),
    ]
    month = month_of(trips)
    assert [a.trip.id for a in month.allocations] == ["mine"]
    assert month.total == Decimal(40)
    assert month.remaining == Decimal(110)


def test_month_totals() -> None:
    month = month_of([trip("a", day=1, miles="120"), trip("b", day=2, miles="45.5")])
    assert month.total == Decimal("165.5")
    assert month.reimbursable == Decimal(150)
    assert month.over_cap == Decimal("15.5")
    assert month.remaining == 0
    assert month.cap == Decimal(150)
    assert month.rate == Decimal("0.725")
    assert month.status is MonthStatus.OPEN


@pytest.mark.parametrize(("miles", "amount"), [
    ("150", "108.75"),    # the cap at the IRS rate
    ("400", "108.75"),    # miles over the cap are logged, not paid
    ("0.2", "0.15"),      # 0.145 rounds half up (half-even would give 0.14)
    ("10.3", "7.47"),     # 7.4675
    ("1.4", "1.02"),      # 1.015, half up again
    ("0.1", "0.07"),      # 0.0725
])
def test_amount_is_reimbursable_miles_at_the_rate_to_the_cent(miles: str, amount: str) -> None:
    month = month_of([trip(miles=miles)])
    assert month.amount == Decimal(amount)
    assert str(month.amount) == amount


def test_amount_uses_the_programs_rate() -> None:
    month = ledger(worker_id=WORKER, month=MONTH, trips=[trip(miles="150")],
                   settings=ProgramSettings(rate_per_mile=Decimal("0.67")))
    assert month.amount == Decimal("100.50")


def test_an_empty_month() -> None:
    month = month_of([])
    assert (month.total, month.reimbursable, month.over_cap) == (Decimal(0),) * 3
    assert month.remaining == Decimal(150)
    assert month.amount == Decimal("0.00")


# --- preview ------------------------------------------------------------------------------------


def test_preview_in_an_empty_month() -> None:
    shown = preview(month_of([]), trip(miles="40"))
    assert shown.remaining_before == Decimal(150)
    assert shown.reimbursable == Decimal(40)
    assert shown.over_cap == 0
    assert not shown.crosses_cap


def test_preview_of_a_trip_that_crosses_the_cap() -> None:
    month = month_of([trip("a", day=3, miles="120")])
    shown = preview(month, trip("new", day=20, miles="50"))
    assert shown.remaining_before == Decimal(30)
    assert shown.reimbursable == Decimal(30)
    assert shown.over_cap == Decimal(20)
    assert shown.crosses_cap


def test_preview_when_the_cap_is_already_used() -> None:
    month = month_of([trip("a", day=3, miles="150")])
    shown = preview(month, trip("new", day=20, miles="5"))
    assert shown.remaining_before == 0
    assert (shown.reimbursable, shown.over_cap) == (Decimal(0), Decimal(5))
    assert shown.crosses_cap


def test_preview_of_a_trip_dated_before_the_others_reorders_the_allocation() -> None:
    month = month_of([trip("late", day=20, miles="150")])
    earlier = trip("new", day=5, miles="50")
    shown = preview(month, earlier)
    # Nothing is left in the month, but the new trip comes first and is paid in full ...
    assert shown.remaining_before == 0
    assert (shown.reimbursable, shown.over_cap) == (Decimal(50), Decimal(0))
    # ... which pushes 50 miles of the later trip over the cap: the preview says so.
    assert shown.displaced == Decimal(50)
    assert shown.crosses_cap
    # ... and once saved, the later trip is the one pushed over the cap.
    saved = month_of([month.allocations[0].trip, earlier])
    assert split(saved.allocations) == rows(("new", "50", "0"), ("late", "100", "50"))
    assert saved.reimbursable == month.reimbursable


def test_preview_of_an_earlier_trip_in_a_month_with_room_left() -> None:
    month = month_of([trip("late", day=20, miles="120")])
    shown = preview(month, trip("new", day=5, miles="50"))
    assert shown.remaining_before == Decimal(30)
    assert (shown.reimbursable, shown.over_cap) == (Decimal(50), Decimal(0))


def test_preview_of_an_edited_trip_replaces_its_old_version() -> None:
    month = month_of([trip("a", day=3, miles="100"), trip("b", day=9, miles="40")])
    shown = preview(month, trip("b", day=9, miles="70"))
    assert shown.remaining_before == Decimal(50)
    assert (shown.reimbursable, shown.over_cap) == (Decimal(50), Decimal(20))


# --- month status -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [MonthStatus.OPEN, MonthStatus.RETURNED])
def test_the_worker_submits_an_open_or_returned_month(status: MonthStatus) -> None:
    require_editable(status, MONTH)
    assert submit(status, month=MONTH, actor=WORKER_ACTOR, worker_id=WORKER) \
        is MonthStatus.SUBMITTED


@pytest.mark.parametrize("status", [MonthStatus.SUBMITTED, MonthStatus.APPROVED])
def test_a_submitted_or_approved_month_cannot_change(status: MonthStatus) -> None:
    with pytest.raises(RuleViolation) as caught:
        require_editable(status, MONTH)
    assert caught.value.message == \
        f"The mileage for 2026-03 is {status}; it can no longer be changed."
    with pytest.raises(RuleViolation, match="can no longer be changed"):
        submit(status, month=MONTH, actor=WORKER_ACTOR, worker_id=WORKER)


@pytest.mark.parametrize("actor", [COLLEAGUE, SUPERVISOR, ADMIN], ids=lambda a: a.role)
def test_only_the_worker_submits_their_mileage(actor: Actor) -> None:
    with pytest.raises(NotPermitted, match="Only the worker can submit their own mileage"):
        submit(MonthStatus.OPEN, month=MONTH, actor=actor, worker_id=WORKER)


def test_a_supervisor_approves_a_submitted_month() -> None:
    assert approve(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR, worker_id=WORKER) \
        is MonthStatus.APPROVED


def test_a_supervisor_returns_a_submitted_month_with_a_reason() -> None:
    assert return_month(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR, worker_id=WORKER,
                        reason="The 12 March trip has no purpose.") is MonthStatus.RETURNED


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_return_needs_a_reason(reason: str) -> None:
    with pytest.raises(RuleViolation, match="Say why the month is returned"):
        return_month(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR, worker_id=WORKER,
                     reason=reason)


@pytest.mark.parametrize("actor", [WORKER_ACTOR, COLLEAGUE, ADMIN], ids=lambda a: a.role)
def test_only_a_supervisor_approves_or_returns(actor: Actor) -> None:
    with pytest.raises(NotPermitted, match="Only a supervisor can approve or return mileage"):
        approve(MonthStatus.SUBMITTED, month=MONTH, actor=actor, worker_id=WORKER)
    with pytest.raises(NotPermitted, match="Only a supervisor can approve or return mileage"):
        return_month(MonthStatus.SUBMITTED, month=MONTH, actor=actor, worker_id=WORKER,
                     reason="Check it.")


def test_nobody_approves_their_own_mileage() -> None:
    own = SUPERVISOR.user_id
    with pytest.raises(NotPermitted, match="Nobody approves their own mileage"):
        approve(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR, worker_id=own)
    with pytest.raises(NotPermitted, match="Nobody approves their own mileage"):
        return_month(MonthStatus.SUBMITTED, month=MONTH, actor=SUPERVISOR, worker_id=own,
                     reason="Check it.")


@pytest.mark.parametrize("status", [MonthStatus.OPEN, MonthStatus.RETURNED,
                                    MonthStatus.APPROVED])
def test_only_a_submitted_month_is_approved_or_returned(status: MonthStatus) -> None:
    with pytest.raises(RuleViolation) as caught:
        approve(status, month=MONTH, actor=SUPERVISOR, worker_id=WORKER)
    assert caught.value.message == \
        f"Only a submitted month can be approved (2026-03 is {status})."
    with pytest.raises(RuleViolation, match=f"can be returned \\(2026-03 is {status}\\)"):
        return_month(status, month=MONTH, actor=SUPERVISOR, worker_id=WORKER,
                     reason="Check it.")


# --- properties of the ledger -------------------------------------------------------------------


MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
tenths = st.integers(min_value=1, max_value=4000).map(lambda n: Decimal(n) / 10)
caps = st.one_of(st.integers(min_value=0, max_value=2000).map(Decimal),
                 st.integers(min_value=0, max_value=20000).map(lambda n: Decimal(n) / 10))


@st.composite
def trip_specs(draw: st.DrawFn, trip_id: str) -> Trip:
    odometer = draw(st.booleans())
    start = Decimal(draw(st.integers(min_value=0, max_value=2_000_000))) / 10
    return Trip(
        id=TripId(trip_id),
        worker_id=WORKER,
        trip_date=date(2026, 3, draw(st.integers(min_value=1, max_value=31))),
        origin="Office",
        destination="Family home",
        purpose="Home visit",
        miles=draw(tenths),
        # Few distinct recording times, so ties (broken by id) are common.
        recorded_at=MONTH_START + timedelta(hours=draw(st.integers(min_value=0, max_value=6))),
        round_trip=draw(st.booleans()),
        odometer_start=start if odometer else None,
        odometer_end=start + draw(tenths) if odometer else None,
    )


@st.composite
def trip_lists(draw: st.DrawFn, *, max_size: int = 20, prefix: str = "t") -> list[Trip]:
    count = draw(st.integers(min_value=0, max_value=max_size))
    ids = draw(st.lists(st.integers(min_value=0, max_value=999), min_size=count,
                        max_size=count, unique=True))
    return [draw(trip_specs(f"{prefix}{n:03d}")) for n in ids]


def assert_invariants(month: MileageMonth) -> None:
    assert month.reimbursable <= month.cap
    assert month.reimbursable + month.over_cap == month.total
    assert month.reimbursable == min(month.cap, month.total)
    assert month.remaining == month.cap - month.reimbursable
    for allocation in month.allocations:
        assert allocation.reimbursable >= 0
        assert allocation.over_cap >= 0
        assert allocation.reimbursable + allocation.over_cap == allocation.trip.total_miles
    ordered = [a.trip for a in month.allocations]
    assert ordered == trip_order(ordered)
    # No later trip is paid while an earlier one has unpaid miles.
    unpaid_seen = False
    for allocation in month.allocations:
        if unpaid_seen:
            assert allocation.reimbursable == 0
        unpaid_seen = unpaid_seen or allocation.over_cap > 0


@settings(max_examples=100)
@given(trips=trip_lists(), cap=caps)
def test_the_month_invariants_hold(trips: list[Trip], cap: Decimal) -> None:
    month = month_of(trips, cap=cap)
    assert len(month.allocations) == len(trips)
    assert month.total == sum((t.total_miles for t in trips), Decimal(0))
    assert_invariants(month)


@settings(max_examples=60)
@given(trips=trip_lists(), cap=caps, data=st.data())
def test_the_order_trips_are_given_in_does_not_matter(trips: list[Trip], cap: Decimal,
                                                      data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(trips))
    assert split(month_of(shuffled, cap=cap).allocations) == \
        split(month_of(trips, cap=cap).allocations)


@settings(max_examples=60)
@given(trips=trip_lists(), others=trip_lists(max_size=5, prefix="o"), cap=caps)
def test_other_workers_and_months_do_not_count(trips: list[Trip], others: list[Trip],
                                               cap: Decimal) -> None:
    foreign = [replace(t, worker_id=UserId("u-colleague")) if n % 2 else
               replace(t, trip_date=t.trip_date.replace(month=4, day=min(t.trip_date.day, 30)))
               for n, t in enumerate(others)]
    assert split(month_of([*trips, *foreign], cap=cap).allocations) == \
        split(month_of(trips, cap=cap).allocations)


@settings(max_examples=100)
@given(trips=trip_lists(), new=trip_specs("new"), cap=caps)
def test_adding_a_trip_never_pays_an_earlier_trip_more(trips: list[Trip], new: Trip,
                                                       cap: Decimal) -> None:
    before = {a.trip.id: a.reimbursable for a in month_of(trips, cap=cap).allocations}
    after = month_of([*trips, new], cap=cap)
    assert_invariants(after)
    key = (new.trip_date, new.recorded_at, new.id)
    for allocation in after.allocations:
        if allocation.trip.id == new.id:
            continue
        assert allocation.reimbursable <= before[allocation.trip.id]
        trip_key = (allocation.trip.trip_date, allocation.trip.recorded_at, allocation.trip.id)
        if trip_key < key:
            assert allocation.reimbursable == before[allocation.trip.id]
    assert after.reimbursable >= sum(before.values(), Decimal(0))


@settings(max_examples=100)
@given(trips=trip_lists(), new=trip_specs("new"), cap=caps)
def test_preview_agrees_with_the_month_once_saved(trips: list[Trip], new: Trip,
                                                  cap: Decimal) -> None:
    month = month_of(trips, cap=cap)
    shown = preview(month, new)
    saved = month_of([*trips, new], cap=cap)
    (mine,) = [a for a in saved.allocations if a.trip.id == new.id]
    assert (shown.reimbursable, shown.over_cap) == (mine.reimbursable, mine.over_cap)
    assert shown.remaining_before == month.remaining
    others_before = month.reimbursable
    others_after = saved.reimbursable - mine.reimbursable
    assert shown.displaced == others_before - others_after
    assert shown.crosses_cap is (mine.over_cap > 0 or others_after < others_before)


@settings(max_examples=100)
@given(trips=trip_lists(), edited=trip_specs("t500"), cap=caps)
def test_preview_of_an_edit_agrees_with_the_month_once_saved(trips: list[Trip], edited: Trip,
                                                             cap: Decimal) -> None:
    # "t500" may or may not already be in the month: either way the preview is what saving does.
    others = [t for t in trips if t.id != edited.id]
    shown = preview(month_of(trips, cap=cap), edited)
    saved = month_of([*others, edited], cap=cap)
    (mine,) = [a for a in saved.allocations if a.trip.id == edited.id]
    assert (shown.reimbursable, shown.over_cap) == (mine.reimbursable, mine.over_cap)
    assert shown.remaining_before == month_of(others, cap=cap).remaining


@settings(max_examples=100)
@given(trips=trip_lists(), cap=caps, data=st.data())
def test_return_edit_and_resubmit_keep_the_invariants(trips: list[Trip], cap: Decimal,
                                                      data: st.DataObject) -> None:
    status = submit(MonthStatus.OPEN, month=MONTH, actor=WORKER_ACTOR, worker_id=WORKER)
    assert_invariants(month_of(trips, cap=cap, status=status))
    with pytest.raises(RuleViolation, match="can no longer be changed"):
        require_editable(status, MONTH)

    status = return_month(status, month=MONTH, actor=SUPERVISOR, worker_id=WORKER,
                          reason="Please check the odometer readings.")
    require_editable(status, MONTH)

    # Remove some trips, change some, add new ones.
    keep = data.draw(st.lists(st.booleans(), min_size=len(trips), max_size=len(trips)))
    kept = [t for t, k in zip(trips, keep, strict=True) if k]
    changed = [replace(t, miles=data.draw(tenths), round_trip=False, odometer_start=None,
                       odometer_end=None) for t in kept[:2]]
    added = data.draw(trip_lists(max_size=5, prefix="n"))
    edited = [*changed, *kept[2:], *added]
    month = month_of(edited, cap=cap, status=status)
    assert_invariants(month)
    assert {a.trip.id for a in month.allocations} == {t.id for t in edited}

    status = submit(status, month=MONTH, actor=WORKER_ACTOR, worker_id=WORKER)
    status = approve(status, month=MONTH, actor=SUPERVISOR, worker_id=WORKER)
    assert status is MonthStatus.APPROVED
    with pytest.raises(RuleViolation, match="is approved; it can no longer be changed"):
        require_editable(status, MONTH)
    final = month_of(edited, cap=cap, status=status)
    assert_invariants(final)
    assert split(final.allocations) == split(month.allocations)


def test_a_trip_that_rounds_to_no_miles_is_refused() -> None:
    with pytest.raises(RuleViolation, match="more than zero"):
        check_trip(trip(miles="0.04"), today=date(2026, 3, 31))
