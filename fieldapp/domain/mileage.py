"""Trips and the monthly mileage ledger: every mile logged, only the cap reimbursed.

Each trip is its own record; a month's totals are computed from its trips, never stored.
Reimbursable miles are allocated in trip order (date, then when it was recorded, then id), so
the trips that come first are paid first and a trip that crosses the cap is split: the part
under the cap is reimbursable, the rest is logged as over the cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import Actor, CaseId, TripId, UserId
from fieldapp.domain.settings import ProgramSettings

TENTH = Decimal("0.1")
CENT = Decimal("0.01")
MAX_TRIP_MILES = Decimal(1000)


class MonthStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


EDITABLE = frozenset({MonthStatus.OPEN, MonthStatus.RETURNED})


@dataclass(frozen=True, kw_only=True, order=False)
class Trip:
    """One drive. Sealed: from, to, purpose, odometer readings. Plain: date, miles, case."""

    id: TripId
    worker_id: UserId
    trip_date: date
    origin: str
    destination: str
    purpose: str
    miles: Decimal
    recorded_at: datetime
    case_id: CaseId | None = None
    round_trip: bool = False
    odometer_start: Decimal | None = None
    odometer_end: Decimal | None = None

    @property
    def month(self) -> str:
        return month_key(self.trip_date)

    @property
    def total_miles(self) -> Decimal:
        """Miles driven: odometer difference, else the entered miles (doubled for a round trip)."""
        if self.odometer_start is not None and self.odometer_end is not None:
            return (self.odometer_end - self.odometer_start).quantize(TENTH)
        return (self.miles * (2 if self.round_trip else 1)).quantize(TENTH)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def check_trip(trip: Trip, *, today: date) -> None:
    problems = []
    if not trip.origin.strip() or not trip.destination.strip():
        problems.append("Say where the trip started and where it went.")
    if not trip.purpose.strip():
        problems.append("Give the business purpose of the trip.")
    if trip.trip_date > today:
        problems.append("A trip cannot be logged before it happens.")
    if (trip.odometer_start is None) != (trip.odometer_end is None):
        problems.append("Give both odometer readings, or neither.")
    elif trip.odometer_start is not None and trip.odometer_end is not None:
        if trip.odometer_start < 0 or trip.odometer_end <= trip.odometer_start:
            problems.append("The odometer at the end must be higher than at the start.")
    elif trip.miles <= 0 or trip.total_miles <= 0:
        problems.append("Miles must be more than zero.")
    if not problems and trip.total_miles > MAX_TRIP_MILES:
        problems.append(f"A single trip of more than {MAX_TRIP_MILES} miles looks like a typo.")
    if problems:
        raise RuleViolation(" ".join(problems))


@dataclass(frozen=True, kw_only=True)
class Allocation:
    trip: Trip
    reimbursable: Decimal
    over_cap: Decimal


def trip_order(trips: Iterable[Trip]) -> list[Trip]:
    return sorted(trips, key=lambda t: (t.trip_date, t.recorded_at, t.id))


def split_at_cap(ordered: Iterable[tuple[str, Decimal]], *, cap: Decimal) -> dict[str, Decimal]:
    """Reimbursable miles of each (id, miles), in the order given, until the cap is used up.

    The one rule for the laptop's provisional figures and the server's authoritative ones.
    """
    remaining = cap
    paid = {}
    for key, miles in ordered:
        paid[key] = min(miles, max(remaining, Decimal(0)))
        remaining -= paid[key]
    return paid


def allocate(trips: Iterable[Trip], *, cap: Decimal,
             server: Mapping[str, Decimal] | None = None) -> list[Allocation]:
    """Split each trip's miles into reimbursable and over the cap, first trips first; with the
    server's allocation (`server`, by trip id) its figure stands for every trip it names."""
    ordered = trip_order(trips)
    paid = split_at_cap([(t.id, t.total_miles) for t in ordered], cap=cap)
    if server is not None:
        paid = {k: server.get(k, v) for k, v in paid.items()}
    return [Allocation(trip=t, reimbursable=paid[t.id], over_cap=t.total_miles - paid[t.id])
            for t in ordered]


@dataclass(frozen=True, kw_only=True)
class MileageMonth:
    """A worker's month: computed from its trips, never stored."""

    worker_id: UserId
    month: str
    allocations: tuple[Allocation, ...]
    cap: Decimal
    rate: Decimal
    status: MonthStatus
    # True when the program's server has not yet confirmed these figures (changes not synced).
    provisional: bool = False

    @property
    def total(self) -> Decimal:
        return sum((a.trip.total_miles for a in self.allocations), Decimal(0))

    @property
    def reimbursable(self) -> Decimal:
        return sum((a.reimbursable for a in self.allocations), Decimal(0))

    @property
    def over_cap(self) -> Decimal:
        return sum((a.over_cap for a in self.allocations), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        return max(self.cap - self.reimbursable, Decimal(0))

    @property
    def amount(self) -> Decimal:
        """Dollars owed: reimbursable miles at the program's rate, to the cent."""
        return (self.reimbursable * self.rate).quantize(CENT, rounding=ROUND_HALF_UP)


def ledger(*, worker_id: UserId, month: str, trips: Sequence[Trip], settings: ProgramSettings,
           status: MonthStatus = MonthStatus.OPEN, server: Mapping[str, Decimal] | None = None,
           provisional: bool = False) -> MileageMonth:
    """A worker's month; with `server` (the server's reimbursable miles by trip id, after a
    sync) its allocation stands for the trips it names."""
    mine = [t for t in trips if t.worker_id == worker_id and t.month == month]
    return MileageMonth(worker_id=worker_id, month=month,
                        allocations=tuple(allocate(mine, cap=settings.mileage_cap,
                                                   server=server)),
                        cap=settings.mileage_cap, rate=settings.rate_per_mile, status=status,
                        provisional=provisional)


@dataclass(frozen=True, kw_only=True)
class Preview:
    """What a trip would do to the month, shown before it is saved.

    Attributes:
        displaced: miles of later trips that would stop being reimbursable because this trip,
            dated before them, is paid first.
    """

    remaining_before: Decimal
    reimbursable: Decimal
    over_cap: Decimal
    displaced: Decimal = Decimal(0)

    @property
    def crosses_cap(self) -> bool:
        return self.over_cap > 0 or self.displaced > 0


def preview(month: MileageMonth, trip: Trip) -> Preview:
    """The allowance left, and how much of `trip` would be paid, if it were saved now."""
    others = [a.trip for a in month.allocations if a.trip.id != trip.id]
    paid_before = sum((a.reimbursable for a in allocate(others, cap=month.cap)), Decimal(0))
    after = allocate([*others, trip], cap=month.cap)
    mine = next(a for a in after if a.trip.id == trip.id)
    paid_others_after = sum((a.reimbursable for a in after if a.trip.id != trip.id), Decimal(0))
    return Preview(remaining_before=max(month.cap - paid_before, Decimal(0)),
                   reimbursable=mine.reimbursable, over_cap=mine.over_cap,
                   displaced=paid_before - paid_others_after)


def require_editable(status: MonthStatus, month: str) -> None:
    if status not in EDITABLE:
        raise RuleViolation(f"The mileage for {month} is {status}; it can no longer be changed.")


def submit(status: MonthStatus, *, month: str, actor: Actor, worker_id: UserId) -> MonthStatus:
    if actor.user_id != worker_id:
        raise NotPermitted("Only the worker can submit their own mileage.")
    require_editable(status, month)
    return MonthStatus.SUBMITTED


def approve(status: MonthStatus, *, month: str, actor: Actor, worker_id: UserId) -> MonthStatus:
    _check_supervisor(actor, worker_id)
    if status is not MonthStatus.SUBMITTED:
        raise RuleViolation(f"Only a submitted month can be approved ({month} is {status}).")
    return MonthStatus.APPROVED


def return_month(status: MonthStatus, *, month: str, actor: Actor, worker_id: UserId,
                 reason: str) -> MonthStatus:
    _check_supervisor(actor, worker_id)
    if status is not MonthStatus.SUBMITTED:
        raise RuleViolation(f"Only a submitted month can be returned ({month} is {status}).")
    if not reason.strip():
        raise RuleViolation("Say why the month is returned.")
    return MonthStatus.RETURNED


def _check_supervisor(actor: Actor, worker_id: UserId) -> None:
    if not actor.is_supervisor:
        raise NotPermitted("Only a supervisor can approve or return mileage.")
    if actor.user_id == worker_id:
        raise NotPermitted("Nobody approves their own mileage.")
