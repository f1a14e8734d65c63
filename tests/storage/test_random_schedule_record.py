"""A random schedule as a court would check it: from the rows on disk, without FieldApp's code.

The supervisor draws a schedule through the service; the profile is locked and opened again; the
seed, the days, the method and the period are read back from SQLite; and the days are drawn
again by a separate implementation of the procedure `fieldapp/domain/schedule.py` documents
(each day ranked by the SHA-256 of the seed, case and day; the smallest hashes chosen). The
fingerprint noted in advance must be the seed's, and it must be in the hash-chained audit log
from before the period began.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from fieldapp.domain import schedule
from fieldapp.domain.audit import Action
from fieldapp.domain.people import CaseId
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.sealed import SealedTable, open_row
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import SUPERVISOR, open_case, services

FIRST, LAST = date(2026, 12, 1), date(2027, 2, 28)  # 90 days, weekends and a new year


def redraw(*, seed: str, case_id: str, first: date, last: date, per_month: int) -> list[date]:
    """The days again, from the written procedure alone."""
    span = (last - first).days + 1
    count = min(span, round(per_month * span / (365.25 / 12)))
    ranked = sorted((hashlib.sha256(f"fieldapp/schedule/v2|{seed}|{case_id}|{day}".encode())
                     .hexdigest(), day)
                    for day in (first + timedelta(days=n) for n in range(span)))
    return sorted(day for _, day in ranked[:count])


def test_a_stored_schedule_is_re_derived_from_its_recorded_seed(
        vault: Vault, profile: Profile, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    drawn = services(vault, clock, SUPERVISOR).screens.draw_schedule(
        case.id, first_day=FIRST, last_day=LAST)
    fingerprint_noted = drawn.fingerprint  # what the supervisor wrote in the case file
    vault.lock()

    vault = profile.unlock(PASSPHRASE)
    try:
        db, key = vault.open_parts()
        (row,) = db.query("SELECT * FROM random_schedules")
        body = open_row(key, table="random_schedules", row=row)
        (logged,) = [e for e in AuditStore(db, key).entries()
                     if e.action == Action.SCHEDULE_DRAWN]
        (stored,) = services(vault, clock, SUPERVISOR).screens.schedules(case.id)
    finally:
        vault.lock()

    days = [date.fromisoformat(d) for d in body["days"]]
    assert body["method"] == "sha256-rank/v2"
    assert days == redraw(seed=body["seed"], case_id=row["case_id"],
                          first=date.fromisoformat(row["first_day"]),
                          last=date.fromisoformat(row["last_day"]),
                          per_month=row["per_month"])
    assert len(days) == 6 and len(set(days)) == 6  # 2 a month over 90 days: 5.9
    assert hashlib.sha256(body["seed"].encode()).hexdigest()[:12] == row["fingerprint"] \
        == fingerprint_noted
    # The fingerprint was in the audit log, hash-chained, before the period began.
    assert logged.details["fingerprint"] == fingerprint_noted
    assert datetime.fromisoformat(logged.at).date() < FIRST
    # FieldApp's own check agrees, and refuses the same days claimed from another seed.
    assert stored.days == tuple(days) and schedule.verify(stored)
    assert not schedule.verify(schedule.RandomSchedule(
        case_id=CaseId(row["case_id"]), first_day=FIRST, last_day=LAST, per_month=2,
        seed=body["seed"] + "0", days=tuple(days)))


def test_a_schedule_drawn_before_methods_were_recorded_is_checked_as_it_was_drawn(
        vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    old = schedule.make_schedule(case_id=case.id, first_day=FIRST, last_day=LAST, per_month=2,
                                 seed="drawn-in-2026", method=schedule.SAMPLE)
    db, key = vault.open_parts()
    with db.atomic():  # the body as the earlier version wrote it: seed and days, no method
        SealedTable(db, key, "random_schedules").insert(
            record_id="old-schedule", body={"seed": old.seed,
                                            "days": [d.isoformat() for d in old.days]},
            plain={"case_id": case.id, "first_day": FIRST.isoformat(),
                   "last_day": LAST.isoformat(), "per_month": 2,
                   "fingerprint": old.fingerprint, "created_by": SUPERVISOR.user_id,
                   "created_at": "2026-11-01T12:00:00+00:00"})
    (stored,) = services(vault, clock, SUPERVISOR).screens.schedules(case.id)
    assert stored.method == schedule.SAMPLE and stored.days == old.days
    assert schedule.verify(stored)
