"""Drug screens: a plain head row per screen and every revision sealed beside it.

A correction adds a revision; the head moves to it; earlier revisions stay readable for good.
Validity readings and call-in times joined the sealed body later: a body written before has
no such keys and reads as "not recorded".
Random screen schedules live here too, with the seed and the days sealed (knowing them early
would defeat the point) and a fingerprint of the seed in plain sight.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from fieldapp.domain.errors import RecordNotFound
from fieldapp.domain.people import CaseId, ScreenId, UserId, new_id
from fieldapp.domain.schedule import SAMPLE, DrawnSchedule, RandomSchedule
from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    LabConfirmation,
    LabStatus,
    Method,
    ScreenReason,
    Specimen,
    SubstanceResult,
    Validity,
)
from fieldapp.domain.validity import ValidityReadings
from fieldapp.storage import codec
from fieldapp.storage.sealed import Body, SealedTable


class ScreenStore:
    """Thread rule: the database worker, inside the caller's transaction."""

    def __init__(self, revisions: SealedTable, schedules: SealedTable, *, now: str) -> None:
        self._revisions, self._schedules, self._now = revisions, schedules, now
        self._db = revisions.db

    def add(self, screen: DrugScreen) -> None:
        self._db.table("drug_screens").insert({
            "id": screen.id, "case_id": screen.case_id,
            "collected_at": codec.moment(screen.collected_at), "reason": str(screen.reason),
            "current_revision": screen.revision, "updated_at": self._now})
        self._add_revision(screen)

    def add_revision(self, screen: DrugScreen) -> None:
        """Record a correction: a new sealed revision, and the head moved to it."""
        self._add_revision(screen)
        self._db.execute(
            "UPDATE drug_screens SET collected_at = ?, reason = ?, current_revision = ?, "
            "updated_at = ? WHERE id = ? AND current_revision = ?",
            [codec.moment(screen.collected_at), str(screen.reason), screen.revision, self._now,
             screen.id, screen.revision - 1])

    def current(self, screen_id: ScreenId) -> DrugScreen:
        head = self._head(screen_id)
        return self._revision(screen_id, int(head["current_revision"]))

    def history(self, screen_id: ScreenId) -> list[DrugScreen]:
        """Every revision, oldest first."""
        opened = self._revisions.select("screen_id = ?", [screen_id], order="revision")
        return [_screen(o.row, o.body) for o in opened if o.body is not None]

    def for_cases(self, case_ids: Sequence[CaseId]) -> tuple[list[DrugScreen], list[datetime]]:
        """The current revision of every screen of `case_ids`, by collection time, and when
        each one that could not be opened was collected (its plain head row), so the caller
        can say how many of its period are left out."""
        marks = ", ".join("?" * len(case_ids))
        current = self._revisions.select(
            f"id IN (SELECT id || '/' || current_revision FROM drug_screens "  # noqa: S608
            f"WHERE case_id IN ({marks}))", list(case_ids), order="rowid")
        found = [_screen(o.row, o.body) for o in current if o.body is not None]
        found.sort(key=lambda s: (s.collected_at, s.id))
        damaged = [codec.to_moment(self._head(ScreenId(o.row["screen_id"]))["collected_at"])
                   for o in current if o.body is None]
        return found, [at for at in damaged if at is not None]

    def for_case(self, case_id: CaseId) -> list[DrugScreen]:
        heads = self._db.query("SELECT id, current_revision FROM drug_screens WHERE case_id = ? "
                               "ORDER BY collected_at, id", [case_id])
        return [self._revision(ScreenId(h["id"]), int(h["current_revision"])) for h in heads]

    def add_schedule(self, schedule: RandomSchedule, *, created_by: UserId) -> str:
        schedule_id = new_id()
        self._schedules.insert(
            record_id=schedule_id,
            body={"seed": schedule.seed, "days": [codec.day(d) for d in schedule.days],
                  "method": schedule.method},
            plain={"case_id": schedule.case_id, "first_day": codec.day(schedule.first_day),
                   "last_day": codec.day(schedule.last_day), "per_month": schedule.per_month,
                   "fingerprint": schedule.fingerprint, "created_by": created_by,
                   "created_at": self._now})
        return schedule_id

    def drawn(self, case_ids: Sequence[CaseId]) -> list[DrawnSchedule]:
        """The schedules of `case_ids` with who drew them and when, by period."""
        marks = ", ".join("?" * len(case_ids))
        opened = self._schedules.select(f"case_id IN ({marks})", list(case_ids),
                                        order="first_day, id")
        return [DrawnSchedule(schedule=_schedule(o.row, o.body),
                              drawn_by=UserId(o.row["created_by"]),
                              drawn_at=datetime.fromisoformat(o.row["created_at"]))
                for o in opened if o.body is not None]

    def schedules(self, case_id: CaseId) -> list[RandomSchedule]:
        opened = self._schedules.select("case_id = ?", [case_id], order="first_day, id")
        return [_schedule(o.row, o.body) for o in opened if o.body is not None]

    def _add_revision(self, screen: DrugScreen) -> None:
        self._revisions.insert(
            record_id=f"{screen.id}/{screen.revision}", revision=screen.revision,
            body=_body(screen),
            plain={"screen_id": screen.id, "recorded_by": screen.recorded_by,
                   "recorded_at": self._now})

    def _revision(self, screen_id: ScreenId, revision: int) -> DrugScreen:
        row, body = self._revisions.get(f"{screen_id}/{revision}")
        return _screen(row, body)

    def _head(self, screen_id: ScreenId) -> dict[str, Any]:
        rows = list(self._db.query("SELECT * FROM drug_screens WHERE id = ?", [screen_id]))
        if not rows:
            raise RecordNotFound(f"No drug screen {screen_id} exists in this profile.")
        return rows[0]


def land_screen_head(db: sqlite_utils.Database, *, screen_id: str, case_id: str, revision: int,
                     body: Body, now: str, same_revision: bool = False) -> None:
    """A screen's head as a revision from elsewhere brings it (sync): made for a screen new to
    this laptop, moved on by a later revision, or by the same one when it replaces this
    laptop's (`same_revision`). Thread rule: the database worker, in the caller's
    transaction."""
    head = db.execute("SELECT current_revision FROM drug_screens WHERE id = ?",
                      [screen_id]).fetchone()
    if head is None:
        db.execute("INSERT INTO drug_screens VALUES (?, ?, ?, ?, ?, ?)",
                   [screen_id, case_id, body["collected_at"], body["reason"], revision, now])
    elif revision > int(head[0]) or (same_revision and revision == int(head[0])):
        db.execute("UPDATE drug_screens SET collected_at = ?, reason = ?, current_revision = ?, "
                   "updated_at = ? WHERE id = ?",
                   [body["collected_at"], body["reason"], revision, now, screen_id])


def _body(s: DrugScreen) -> Body:
    return {
        "case_id": s.case_id, "person": s.person, "collected_at": codec.moment(s.collected_at),
        "reason": str(s.reason), "specimen": str(s.specimen), "observed": s.observed,
        "panel": list(s.panel), "results": {k: str(v) for k, v in s.results.items()},
        "validity": str(s.validity), "attendance": str(s.attendance), "method": str(s.method),
        "lab": ({"status": str(s.lab.status), "on": codec.day(s.lab.on)} if s.lab else None),
        "chain_of_custody": s.chain_of_custody, "comments": s.comments,
        "correction_reason": s.correction_reason, "readings": _readings_body(s.readings),
        "notified_at": codec.moment(s.notified_at), "due_by": codec.moment(s.due_by),
    }


def _readings_body(readings: ValidityReadings | None) -> Body | None:
    if readings is None or readings.empty:
        return None
    return {"creatinine": codec.number(readings.creatinine),
            "specific_gravity": codec.number(readings.specific_gravity),
            "ph": codec.number(readings.ph), "oxidant": readings.oxidant}


def _readings(body: Body | None) -> ValidityReadings | None:
    if not body:
        return None
    oxidant = body.get("oxidant")
    return ValidityReadings(creatinine=codec.to_number(body.get("creatinine")),
                            specific_gravity=codec.to_number(body.get("specific_gravity")),
                            ph=codec.to_number(body.get("ph")),
                            oxidant=None if oxidant is None else bool(oxidant))


def _screen(row: dict[str, Any], body: Body) -> DrugScreen:
    collected = codec.to_moment(body["collected_at"])
    assert collected is not None
    lab = body["lab"]
    return DrugScreen(
        id=ScreenId(row["screen_id"]), case_id=CaseId(body["case_id"]), person=body["person"],
        collected_at=collected, reason=ScreenReason(body["reason"]),
        specimen=Specimen(body["specimen"]), observed=bool(body["observed"]),
        panel=tuple(body["panel"]),
        results={k: SubstanceResult(v) for k, v in body["results"].items()},
        validity=Validity(body["validity"]), attendance=Attendance(body["attendance"]),
        method=Method(body["method"]),
        lab=LabConfirmation(status=LabStatus(lab["status"]), on=codec.to_day(lab["on"]))
        if lab else None,
        chain_of_custody=body["chain_of_custody"], comments=body["comments"],
        recorded_by=UserId(row["recorded_by"]), revision=int(row["revision"]),
        correction_reason=body["correction_reason"], readings=_readings(body.get("readings")),
        notified_at=codec.to_moment(body.get("notified_at")),
        due_by=codec.to_moment(body.get("due_by")))


def _schedule(row: dict[str, Any], body: Body) -> RandomSchedule:
    first, last = codec.to_day(row["first_day"]), codec.to_day(row["last_day"])
    assert first is not None and last is not None
    return RandomSchedule(case_id=CaseId(row["case_id"]), first_day=first, last_day=last,
                          per_month=int(row["per_month"]), seed=body["seed"],
                          # Drawn before the method was recorded: Python's sample.
                          method=str(body.get("method", SAMPLE)),
                          days=tuple(d for d in map(codec.to_day, body["days"]) if d))
