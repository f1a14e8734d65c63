"""Trips and the status of each worker's month.

Plain: worker, date, month, total miles, case, when recorded (the server needs these to allocate
the cap). Sealed: from, to, purpose, entered miles, odometer readings, a return reason.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fieldapp.domain.errors import RecordNotFound
from fieldapp.domain.mileage import MonthStatus, Trip
from fieldapp.domain.people import CaseId, TripId, UserId
from fieldapp.storage import codec
from fieldapp.storage.sealed import Body, SealedTable


class TripStore:
    """Thread rule: the database worker, inside the caller's transaction."""

    def __init__(self, trips: SealedTable, months: SealedTable, *, now: str) -> None:
        self._trips, self._months, self._now = trips, months, now

    def add(self, trip: Trip) -> int:
        self._trips.insert(record_id=trip.id, body=_body(trip), plain=self._plain(trip))
        return 1

    def replace(self, trip: Trip, *, expected_revision: int) -> int:
        return self._trips.replace(record_id=trip.id, body=_body(trip), plain=self._plain(trip),
                                   expected_revision=expected_revision)

    def remove(self, trip_id: TripId) -> None:
        self._trips.db.execute("DELETE FROM trips WHERE id = ?", [trip_id])

    def get(self, trip_id: TripId) -> tuple[Trip, int]:
        row, body = self._trips.get(trip_id)
        return _trip(row, body), int(row["revision"])

    def month(self, worker_id: UserId, month: str) -> list[Trip]:
        return self.month_opened(worker_id, month)[0]

    def month_opened(self, worker_id: UserId, month: str) -> tuple[list[Trip], int]:
        """The month's trips, and how many of its rows could not be opened (left out)."""
        opened = self._trips.select("worker_id = ? AND month = ?", [worker_id, month],
                                    order="trip_date, recorded_at, id")
        return ([_trip(o.row, o.body) for o in opened if o.body is not None],
                sum(o.body is None for o in opened))

    def decision(self, worker_id: UserId, month: str) -> tuple[UserId | None, str | None]:
        """Who last approved or returned the month, and when (plain columns)."""
        row = self._months.row(_month_id(worker_id, month))
        if row is None or not row["decided_by"]:
            return None, None
        return UserId(row["decided_by"]), row["decided_at"]

    def for_case(self, worker_id: UserId, case_id: CaseId) -> list[Trip]:
        opened = self._trips.select("worker_id = ? AND case_id = ?", [worker_id, case_id],
                                    order="trip_date, recorded_at, id")
        return [_trip(o.row, o.body) for o in opened if o.body is not None]

    def months(self, worker_id: UserId) -> list[str]:
        rows = self._trips.db.execute(
            "SELECT DISTINCT month FROM trips WHERE worker_id = ? ORDER BY month", [worker_id])
        return [r[0] for r in rows.fetchall()]

    def status(self, worker_id: UserId, month: str) -> MonthStatus:
        row = self._months.row(_month_id(worker_id, month))
        return MonthStatus(row["status"]) if row else MonthStatus.OPEN

    def return_reason(self, worker_id: UserId, month: str) -> str:
        try:
            _, body = self._months.get(_month_id(worker_id, month))
        except RecordNotFound:
            return ""
        return str(body.get("return_reason", ""))

    def set_status(self, worker_id: UserId, month: str, status: MonthStatus, *,
                   decided_by: UserId | None = None, reason: str = "") -> None:
        record_id = _month_id(worker_id, month)
        plain: dict[str, Any] = {"worker_id": worker_id, "month": month, "status": str(status)}
        if status is MonthStatus.SUBMITTED:
            plain["submitted_at"] = self._now
        else:
            plain.update(decided_by=decided_by, decided_at=self._now)
        existing = self._months.row(record_id)
        if not reason and existing is not None:
            reason = self.return_reason(worker_id, month)  # the last return reason is kept
        if existing is None:
            self._months.insert(record_id=record_id, body={"return_reason": reason}, plain=plain)
        else:
            self._months.replace(record_id=record_id, body={"return_reason": reason},
                                 plain=plain, expected_revision=int(existing["revision"]))

    def server_allocation(self, worker_id: UserId, month: str
                          ) -> tuple[dict[str, Decimal] | None, bool]:
        """The server's reimbursable miles by trip for the month (None if this profile does
        not sync), and whether they are provisional: trips changed here since, or not yet
        allocated by the server."""
        db = self._trips.db
        enrolled = db.execute("SELECT 1 FROM records WHERE kind = 'enrolment'").fetchone()
        if enrolled is None:
            return None, False
        server = {str(t): Decimal(str(m)) for t, m in db.execute(
            "SELECT trip_id, reimbursable FROM mileage_allocations WHERE worker_id = ? AND "
            "month = ?", [worker_id, month]).fetchall()}
        ids = {str(r[0]) for r in db.execute(
            "SELECT id FROM trips WHERE worker_id = ? AND month = ?", [worker_id, month])}
        unsent = db.execute(
            "SELECT 1 FROM outbox o WHERE o.tbl = 'trips' AND (o.record_id IN (SELECT id FROM "
            "trips WHERE worker_id = ? AND month = ?) OR o.record_id NOT IN (SELECT id FROM "
            "trips)) LIMIT 1", [worker_id, month]).fetchone()
        return server, bool(unsent) or not ids <= set(server)

    def _plain(self, trip: Trip) -> dict[str, Any]:
        return {"worker_id": trip.worker_id, "trip_date": codec.day(trip.trip_date),
                "month": trip.month, "total_miles": str(trip.total_miles),
                "case_id": trip.case_id, "recorded_at": codec.moment(trip.recorded_at),
                "updated_at": self._now}


def _month_id(worker_id: UserId, month: str) -> str:
    return f"{worker_id}|{month}"


def _body(trip: Trip) -> Body:
    return {"origin": trip.origin, "destination": trip.destination, "purpose": trip.purpose,
            "miles": str(trip.miles), "round_trip": trip.round_trip,
            "odometer_start": codec.number(trip.odometer_start),
            "odometer_end": codec.number(trip.odometer_end)}


def _trip(row: dict[str, Any], body: Body) -> Trip:
    day = codec.to_day(row["trip_date"])
    recorded = codec.to_moment(row["recorded_at"])
    miles = codec.to_number(body["miles"])
    assert day is not None and isinstance(recorded, datetime) and miles is not None
    return Trip(id=TripId(row["id"]), worker_id=UserId(row["worker_id"]), trip_date=day,
                origin=body["origin"], destination=body["destination"], purpose=body["purpose"],
                miles=miles, recorded_at=recorded,
                case_id=CaseId(row["case_id"]) if row["case_id"] else None,
                round_trip=bool(body["round_trip"]),
                odometer_start=codec.to_number(body["odometer_start"]),
                odometer_end=codec.to_number(body["odometer_end"]))
