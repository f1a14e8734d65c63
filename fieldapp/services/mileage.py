"""Logging trips and settling a month's mileage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from fieldapp.domain import mileage
from fieldapp.domain.audit import Action
from fieldapp.domain.errors import KnownError, NotPermitted
from fieldapp.domain.mileage import MileageMonth, Preview, Trip
from fieldapp.domain.people import CaseId, TripId, UserId
from fieldapp.services.workspace import Stores, Workspace


@dataclass(frozen=True, kw_only=True)
class MonthRefused:
    """A month `approve_each` did not approve, and the rule's words for why."""

    worker_id: UserId
    month: str
    reason: str


class MileageService:
    """Thread rule: the database worker."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def month(self, month: str, *, worker_id: UserId | None = None) -> MileageMonth:
        """A worker's month (the actor's own unless a supervisor asks for someone else's)."""
        worker = worker_id or self._ws.actor.user_id
        if worker != self._ws.actor.user_id and not self._ws.actor.is_supervisor:
            raise NotPermitted("You can see only your own mileage.")
        stores = self._ws.stores()
        server, provisional = stores.trips.server_allocation(worker, month)
        return mileage.ledger(worker_id=worker, month=month,
                              trips=stores.trips.month(worker, month),
                              settings=self._ws.settings,
                              status=stores.trips.status(worker, month),
                              server=server, provisional=provisional)

    def trip(self, trip_id: TripId) -> tuple[Trip, int]:
        """One of the actor's trips and its revision (what `edit_trip` expects back)."""
        trip, revision = self._ws.stores().trips.get(trip_id)
        self._own(trip)
        return trip, revision

    def return_reason(self, month: str, *, worker_id: UserId | None = None) -> str:
        """Why a supervisor last returned this month ('' if never)."""
        worker = worker_id or self._ws.actor.user_id
        if worker != self._ws.actor.user_id and not self._ws.actor.is_supervisor:
            raise NotPermitted("You can see only your own mileage.")
        return self._ws.stores().trips.return_reason(worker, month)

    def trips_for_case(self, case_id: CaseId) -> list[Trip]:
        """The actor's own trips linked to a case, oldest first."""
        stores = self._ws.stores()
        self._ws.require_case(stores.cases.get(case_id))
        return stores.trips.for_case(self._ws.actor.user_id, case_id)

    def preview(self, trip: Trip) -> Preview:
        """What saving `trip` would leave of the month's allowance; nothing is written."""
        return mileage.preview(self.month(trip.month), trip)

    def add_trip(self, trip: Trip) -> Trip:
        trip = replace(trip, worker_id=self._ws.actor.user_id, recorded_at=self._ws.now())
        mileage.check_trip(trip, today=self._ws.today())
        with self._ws.unit() as stores:
            self._check_case(stores, trip)
            mileage.require_editable(stores.trips.status(trip.worker_id, trip.month), trip.month)
            stores.trips.add(trip)
        return trip

    def edit_trip(self, trip: Trip, *, expected_revision: int) -> Trip:
        with self._ws.unit() as stores:
            old, _ = stores.trips.get(trip.id)
            self._own(old)
            trip = replace(trip, worker_id=old.worker_id, recorded_at=old.recorded_at)
            mileage.check_trip(trip, today=self._ws.today())
            self._check_case(stores, trip)
            for month in {old.month, trip.month}:
                mileage.require_editable(stores.trips.status(old.worker_id, month), month)
            stores.trips.replace(trip, expected_revision=expected_revision)
        return trip

    def remove_trip(self, trip_id: TripId) -> None:
        with self._ws.unit() as stores:
            trip, _ = stores.trips.get(trip_id)
            self._own(trip)
            mileage.require_editable(stores.trips.status(trip.worker_id, trip.month), trip.month)
            stores.trips.remove(trip_id)

    def submit(self, month: str) -> MileageMonth:
        worker = self._ws.actor.user_id
        with self._ws.unit() as stores:
            status = mileage.submit(stores.trips.status(worker, month), month=month,
                                    actor=self._ws.actor, worker_id=worker)
            stores.trips.set_status(worker, month, status)
            self._ws.audit(stores, Action.MONTH_SUBMIT, f"{worker}|{month}",
                           miles=str(self.month(month).total))
        return self.month(month)

    def approve(self, worker_id: UserId, month: str) -> MileageMonth:
        with self._ws.unit() as stores:
            status = mileage.approve(stores.trips.status(worker_id, month), month=month,
                                     actor=self._ws.actor, worker_id=worker_id)
            stores.trips.set_status(worker_id, month, status, decided_by=self._ws.actor.user_id)
            self._ws.audit(stores, Action.MONTH_APPROVE, f"{worker_id}|{month}")
        return self.month(month, worker_id=worker_id)

    def approve_each(self, months: Iterable[tuple[UserId, str]]) -> list[MonthRefused]:
        """Approve each (worker, month) through `approve`, one unit of work apiece, so a month
        refused (returned or reopened since it was listed) leaves the others approved.
        Returns the refusals; a bug is not one of them and goes on up."""
        refused = []
        for worker_id, month in months:
            try:
                self.approve(worker_id, month)
            except KnownError as error:
                refused.append(MonthRefused(worker_id=worker_id, month=month,
                                            reason=error.message))
        return refused

    def return_month(self, worker_id: UserId, month: str, *, reason: str) -> MileageMonth:
        with self._ws.unit() as stores:
            status = mileage.return_month(stores.trips.status(worker_id, month), month=month,
                                          actor=self._ws.actor, worker_id=worker_id,
                                          reason=reason)
            stores.trips.set_status(worker_id, month, status, decided_by=self._ws.actor.user_id,
                                    reason=reason)
            self._ws.audit(stores, Action.MONTH_RETURN, f"{worker_id}|{month}")
        return self.month(month, worker_id=worker_id)

    def _own(self, trip: Trip) -> None:
        if trip.worker_id != self._ws.actor.user_id:
            raise NotPermitted("You can change only your own trips.")

    def _check_case(self, stores: Stores, trip: Trip) -> None:
        if trip.case_id is not None:
            self._ws.require_case(stores.cases.get(trip.case_id))
