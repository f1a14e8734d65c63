"""Validity readings and call-in times survive the sealed store; older bodies read without them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fieldapp.domain.people import ScreenId, new_id
from fieldapp.domain.screens import Attendance, ScreenReason
from fieldapp.domain.validity import ValidityReadings, measured_validity
from fieldapp.storage.sealed import SealedTable
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import WORKER, drug_screen, open_case, services
from tests.storage.test_record_stores import assert_ciphertext

COLLECTED = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
NOTIFIED = COLLECTED - timedelta(hours=3)
DUE_BY = NOTIFIED + timedelta(hours=8)


def test_readings_and_call_in_times_round_trip(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    screens = services(vault, clock, WORKER).screens
    readings = ValidityReadings(creatinine=Decimal("15.0"), specific_gravity=Decimal("1.0010"),
                                ph=Decimal("6.50"), oxidant=False)
    recorded = screens.record(drug_screen(case.id, readings=readings, notified_at=NOTIFIED,
                                          due_by=DUE_BY, collected_at=COLLECTED))
    back = screens.current(recorded.id)
    assert back == recorded
    assert back.readings == readings
    # As typed: 1.0010 is not 1.001, 15.0 is not 15, and "not detected" is not "not tested".
    assert back.readings is not None
    assert str(back.readings.specific_gravity) == "1.0010"
    assert str(back.readings.creatinine) == "15.0"
    assert back.readings.oxidant is False
    assert (back.notified_at, back.due_by) == (NOTIFIED, DUE_BY)

    (body,) = assert_ciphertext(vault, "drug_screen_revisions")
    assert body["readings"] == {"creatinine": "15.0", "specific_gravity": "1.0010",
                                "ph": "6.50", "oxidant": False}
    assert datetime.fromisoformat(body["due_by"]) == DUE_BY


def test_nothing_measured_is_stored_as_nothing(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    screens = services(vault, clock, WORKER).screens
    untested = ValidityReadings(oxidant=None)
    recorded = screens.record(drug_screen(case.id, readings=untested,
                                          reason=ScreenReason.SCHEDULED))
    assert screens.current(recorded.id).readings is None
    assert screens.current(recorded.id).notified_at is None
    (body,) = assert_ciphertext(vault, "drug_screen_revisions")
    assert (body["readings"], body["notified_at"], body["due_by"]) == (None, None, None)


# Exactly what FieldApp wrote before readings and call-in times were kept.
def _older_body(case_id: str) -> dict[str, Any]:
    return {
        "case_id": case_id, "person": "Alder parent", "collected_at": COLLECTED.isoformat(),
        "reason": "random", "specimen": "urine", "observed": True,
        "panel": ["cocaine", "opiates"], "results": {"cocaine": "negative",
                                                     "opiates": "positive"},
        "validity": "valid", "attendance": "collected", "method": "instant", "lab": None,
        "chain_of_custody": "", "comments": "recorded by an older FieldApp",
        "correction_reason": "",
    }


def test_a_body_written_before_reads_with_nothing_recorded(vault: Vault, clock: FakeClock
                                                            ) -> None:
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    screen_id = ScreenId(new_id())
    db, key = vault.open_parts()
    with db.atomic():  # the rows an older FieldApp left, written by hand
        db.table("drug_screens").insert({
            "id": screen_id, "case_id": case.id, "collected_at": COLLECTED.isoformat(),
            "reason": "random", "current_revision": 1, "updated_at": "2026-11-23T16:05:00"})
        SealedTable(db, key, "drug_screen_revisions").insert(
            record_id=f"{screen_id}/1", revision=1, body=_older_body(case.id),
            plain={"screen_id": screen_id, "recorded_by": WORKER.user_id,
                   "recorded_at": "2026-11-23T16:05:00"})

    older = worker.screens.current(screen_id)
    assert older.comments == "recorded by an older FieldApp"
    assert (older.readings, older.notified_at, older.due_by) == (None, None, None)
    assert not older.late_for_call_in and measured_validity(older) is None

    # A correction adds what is known now; the first revision still reads as it was written.
    readings = ValidityReadings(creatinine=Decimal(12), specific_gravity=Decimal("1.0020"),
                                ph=Decimal(7))
    corrected = worker.screens.correct(screen_id, replace(older, readings=readings),
                                       reason="readings from the cup added")
    assert measured_validity(corrected) is not None
    first, second = worker.screens.history(screen_id)
    assert first.readings is None and second.readings == readings
    bodies = assert_ciphertext(vault, "drug_screen_revisions")
    assert "readings" not in bodies[0] and bodies[1]["readings"]["creatinine"] == "12"


def test_a_no_show_keeps_its_due_by_time(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    screens = services(vault, clock, WORKER).screens
    missed = screens.record(drug_screen(case.id, attendance=Attendance.NO_SHOW, results={},
                                        panel=(), lab=None, notified_at=NOTIFIED,
                                        due_by=DUE_BY, collected_at=DUE_BY))
    back = screens.current(missed.id)
    assert back.attendance is Attendance.NO_SHOW and back.due_by == DUE_BY
