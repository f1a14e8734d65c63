"""Every field record type survives a round trip through its store, and is stored as ciphertext.

Each test writes one record type through the services (and so the stores), reads it back and
compares the whole record. Then it looks at the rows themselves: the plain columns are exactly the
routing columns the schema intends, no value of the sealed body appears in any plain column, and
the `sealed` blob holds no field name or value in the clear (it opens, with the key, to the body).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain import schedule
from fieldapp.domain.audit import Action, first_break
from fieldapp.domain.cases import CaseStatus, Person
from fieldapp.domain.clock import iso
from fieldapp.domain.consent import EndKind
from fieldapp.domain.disclosure import Basis
from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.screens import (
    Attendance,
    LabStatus,
    Method,
    ScreenReason,
    Specimen,
    SubstanceResult,
    Validity,
)
from fieldapp.domain.settings import VERSION, ProgramSettings
from fieldapp.domain.visits import ATTESTATION, ContactType, NoteStatus, Place
from fieldapp.services.consents import ConsentService, record_disclosures
from fieldapp.storage.sealed import open_row, sealed_tables
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.domain.consent_helpers import make_consent, make_disclosure
from tests.services.records_helpers import (
    MONTH,
    SUPERVISOR,
    WORKER,
    drug_screen,
    make_case,
    make_trip,
    open_case,
    services,
    visit_details,
)

# The plain (routing) columns each sealed table is meant to have; anything else is sealed.
ROUTING = {
    "cases": {"status", "coordinator_id", "intact_worker_id", "supervisor_ids", "referred_by",
              "start_date", "visits_per_week", "updated_at"},
    "visit_notes": {"case_id", "author", "visit_date", "contact_type", "status", "signed_by",
                    "signed_at", "late_entry", "next_visit_date", "updated_at"},
    "addenda": {"note_id", "author", "created_at"},
    "note_reviews": {"note_id", "reviewer", "reviewed_at", "cosigned"},
    "drug_screen_revisions": {"screen_id", "recorded_by", "recorded_at"},
    "random_schedules": {"case_id", "first_day", "last_day", "per_month", "fingerprint",
                         "created_by", "created_at"},
    "trips": {"worker_id", "trip_date", "month", "total_miles", "case_id", "recorded_at",
              "updated_at"},
    "mileage_months": {"worker_id", "month", "status", "submitted_at", "decided_by",
                       "decided_at"},
    "consents": {"case_id", "recorded_by", "recorded_at"},
    "consent_ends": {"consent_id", "case_id", "recorded_by", "recorded_at"},
    "disclosures": {"case_id", "disclosed_by", "disclosed_at"},
}
# Routing ids a body repeats on purpose, so its seal vouches for the plain column beside it.
SEALED_ROUTING = {"consents": ("case_id",), "consent_ends": ("case_id", "consent_id"),
                  "disclosures": ("id", "case_id", "by")}
BASE = {"id", "revision", "key_id", "sealed"}
# Shorter strings could turn up in random ciphertext by chance; real field values are longer.
MIN_NEEDLE = 4


def _parts(vault: Vault) -> tuple[sqlite_utils.Database, DataKey]:
    return vault.open_parts()


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, str, bool]]:
    """(top-level field, text, is_key) for every key and string value in a body."""
    if isinstance(value, dict):
        for k, v in value.items():
            top = key or k
            yield top, k, True
            yield from _leaves(v, top)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    elif isinstance(value, str):
        yield key, value, False


def _is_moment(text: str) -> bool:
    """Dates and times: a lab date may well fall on the day a row was recorded."""
    for parse in (date.fromisoformat, datetime.fromisoformat, time.fromisoformat):
        try:
            parse(text)
        except ValueError:
            continue
        return True
    return False


def readable_in(blob: bytes, body: dict[str, Any]) -> list[str]:
    """Field names and values of `body` that can be read in `blob` (UTF-8 or UTF-16)."""
    compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    found = [compact] if compact.encode() in blob else []
    for _, text, _ in _leaves(body):
        if len(text) >= MIN_NEEDLE and any(
                text.encode(codec) in blob for codec in ("utf-8", "utf-16-le", "utf-16-be")):
            found.append(text)
    return found


def assert_ciphertext(vault: Vault, table: str, *, plain_may_repeat: Collection[str] = ()
                      ) -> list[dict[str, Any]]:
    """Check every row of `table`; return the opened bodies.

    `plain_may_repeat`: body fields whose value may coincide with a routing column by design
    (a trip's entered miles are its total when it is one way). Dates and times are not
    compared with the plain columns: a lab date may well be the day the row was recorded.
    """
    db, key = _parts(vault)
    columns = {c.name for c in db.table(table).columns}
    assert columns == BASE | ROUTING[table], f"{table} has unexpected plain columns"
    rows = list(db.query(f"SELECT * FROM [{table}]"))  # noqa: S608 - fixed names
    assert rows, f"nothing written to {table}"
    bodies = []
    for row in rows:
        blob = bytes(row["sealed"])
        body = open_row(key, table=table, row=row)
        plain = {k: str(v) for k, v in row.items() if k != "sealed" and v is not None}
        assert blob[0] == 1 and len(blob) >= 1 + 12 + 16
        readable = readable_in(blob, body)
        assert not readable, f"{table}: {readable} readable in the sealed blob"
        for field, text, is_key in _leaves(body):
            if len(text) >= MIN_NEEDLE and not is_key and field not in plain_may_repeat \
                    and not _is_moment(text):
                leaked = [c for c, v in plain.items() if text in v]
                assert not leaked, f"{table}.{field} value {text!r} in plain column {leaked}"
        bodies.append(body)
    return bodies


# --- cases ---------------------------------------------------------------------------------------


def test_case_round_trip(vault: Vault, clock: FakeClock) -> None:
    case = make_case(
        family_name="Halvorsen",
        parents=(Person(name="Ingrid Halvorsen", relationship="mother",
                        details="methadone clinic Tuesdays"),
                 Person(name="Tor Halvorsen", relationship="father", details="sober since June")),
        children=(Person(name="Liv Halvorsen", relationship="daughter", details="age 4"),
                  Person(name="Erik Halvorsen", relationship="son", details="age 9")),
        address="88 Lakeshore Drive, Apt 3B", status=CaseStatus.AFTERCARE,
        visits_per_week=3, start_date=date(2026, 10, 5))
    opened = services(vault, clock, SUPERVISOR).cases.open_case(case)
    assert opened.revision == 1

    read = services(vault, clock, WORKER).cases.get(case.id)
    assert read == case and read.revision == 1
    assert (read.parents, read.children, read.address) == (case.parents, case.children,
                                                           case.address)

    moved = services(vault, clock, SUPERVISOR).cases.update_case(
        replace(opened, address="5 Birch Court"))
    assert moved.revision == 2
    again = services(vault, clock, WORKER).cases.get(case.id)
    assert again.address == "5 Birch Court" and again.revision == 2
    assert again.parents == case.parents

    (body,) = assert_ciphertext(vault, "cases")
    assert body["family_name"] == "Halvorsen" and body["address"] == "5 Birch Court"
    db, _ = _parts(vault)
    row = db.execute("SELECT status, coordinator_id, supervisor_ids, visits_per_week "
                     "FROM cases").fetchone()
    assert row == ("aftercare", "rc-1", '["sup-1"]', 3)


# --- visit notes, addenda, reviews ---------------------------------------------------------------


def test_visit_note_round_trip_with_every_field(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    notes = services(vault, clock, WORKER).notes
    details = visit_details(
        time_in=time(13, 5), time_out=time(14, 50), place=Place.TREATMENT_PROVIDER,
        people_present=("Ingrid (mother)", "Liv (daughter)", "clinic counselor"),
        services=("recovery coaching", "transport to treatment", "safety check"),
        safety_concerns=True, safety_description="space heater beside the crib",
        narrative="Drove Ingrid to her intake; Liv stayed with her aunt.",
        next_steps="Follow up on the intake paperwork.", next_visit_date=date(2026, 11, 27))
    draft = notes.start_draft(case.id, details)
    assert draft.revision == 1 and draft.status is NoteStatus.DRAFT
    assert notes.get(draft.id) == draft

    changed = visit_details(narrative="Corrected: Liv stayed with her grandmother.",
                            contact_type=ContactType.FACE_TO_FACE, place=Place.COMMUNITY)
    saved = notes.save_draft(draft.id, changed, expected_revision=1)
    assert saved.revision == 2
    assert notes.get(draft.id) == saved
    assert notes.get(draft.id).details == changed

    signed = notes.sign(draft.id)
    read = notes.get(draft.id)
    assert read == signed
    assert read.signature is not None
    assert read.signature.by == WORKER.user_id and read.signature.at == clock.now
    assert read.signature.attestation == ATTESTATION
    assert read.status is NoteStatus.SIGNED and read.late_entry is False
    assert notes.for_case(case.id) == [signed]

    (body,) = assert_ciphertext(vault, "visit_notes")
    assert body["narrative"] == changed.narrative
    db, _ = _parts(vault)
    row = dict(next(db.query("SELECT * FROM visit_notes")))
    assert (row["visit_date"], row["contact_type"], row["status"], row["next_visit_date"]) == (
        "2026-11-23", "face to face", "signed", "2026-11-26")


def test_addendum_and_reviews_round_trip(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    note = worker.notes.start_draft(case.id, visit_details())
    worker.notes.sign(note.id)
    clock.advance(3600)
    returned = supervisor.notes.return_note(note.id, comment="Say who drove the children home.")
    assert worker.notes.get(note.id) == returned
    clock.advance(3600)
    amended = worker.notes.add_addendum(note.id, reason="supervisor asked who drove",
                                        text="The aunt drove both children home at 16:00.")
    assert worker.notes.get(note.id) == amended
    clock.advance(3600)
    cosigned = supervisor.notes.cosign(note.id)

    read = worker.notes.get(note.id)
    assert read == cosigned and read.status is NoteStatus.COSIGNED
    (addendum,) = read.addenda
    assert (addendum.author, addendum.reason, addendum.text) == (
        WORKER.user_id, "supervisor asked who drove",
        "The aunt drove both children home at 16:00.")
    assert addendum.at == datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
    first, second = read.reviews
    assert (first.reviewer, first.cosigned, first.comment) == (
        SUPERVISOR.user_id, False, "Say who drove the children home.")
    assert (second.reviewer, second.cosigned, second.comment) == (SUPERVISOR.user_id, True, "")
    assert first.at < addendum.at < second.at

    (addendum_body,) = assert_ciphertext(vault, "addenda")
    assert addendum_body == {"reason": addendum.reason, "text": addendum.text}
    review_bodies = assert_ciphertext(vault, "note_reviews")
    assert sorted(b["comment"] for b in review_bodies) == ["", first.comment]


# --- drug screens and random schedules -----------------------------------------------------------


def test_drug_screen_round_trip_with_lab_and_corrections(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    screens = services(vault, clock, WORKER).screens
    first = screens.record(drug_screen(
        case.id, person="Tor Halvorsen", reason=ScreenReason.FOR_CAUSE,
        specimen=Specimen.ORAL_FLUID, observed=True, method=Method.LAB,
        chain_of_custody="COC-2026-118842", comments="collected at the kitchen table",
        validity=Validity.DILUTE, attendance=Attendance.COLLECTED))
    assert first.revision == 1 and first.recorded_by == WORKER.user_id
    assert screens.current(first.id) == first
    assert dict(screens.current(first.id).results) == {
        "cocaine": SubstanceResult.NEGATIVE, "opiates": SubstanceResult.NEGATIVE,
        "marijuana (THC)": SubstanceResult.POSITIVE}

    clock.advance(86400)
    confirmed = screens.confirm_lab(first.id, status=LabStatus.CONFIRMED_POSITIVE,
                                    on=date(2026, 11, 25))
    assert confirmed.revision == 2
    assert confirmed.correction_reason == "lab result recorded: confirmed positive"
    corrected = screens.correct(
        first.id, replace(confirmed, comments="collected in the bathroom, observed"),
        reason="wrong location written at first")
    assert corrected.revision == 3

    history = screens.history(first.id)
    assert history == [first, confirmed, corrected]
    assert history[0].lab is not None and history[0].lab.status is LabStatus.PENDING
    assert history[1].lab is not None and history[1].lab.on == date(2026, 11, 25)
    assert history[2].comments == "collected in the bathroom, observed"
    assert screens.current(first.id) == corrected
    assert screens.for_case(case.id) == [corrected]

    bodies = assert_ciphertext(vault, "drug_screen_revisions")
    assert [b["correction_reason"] for b in bodies] == [
        "", "lab result recorded: confirmed positive", "wrong location written at first"]
    db, _ = _parts(vault)
    head = {k: str(v) for k, v in next(db.query("SELECT * FROM drug_screens")).items()}
    assert head["current_revision"] == "3"
    for secret in ("Tor Halvorsen", "COC-2026-118842", "kitchen table", "bathroom",
                   "marijuana", "positive", "oral fluid"):
        assert not [c for c, v in head.items() if secret in v], secret


def test_random_schedule_round_trip(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    supervisor = services(vault, clock, SUPERVISOR).screens
    drawn = supervisor.draw_schedule(case.id, first_day=date(2026, 12, 1),
                                     last_day=date(2026, 12, 31))
    assert len(drawn.days) == 2
    assert supervisor.schedules(case.id) == [drawn]
    assert services(vault, clock, WORKER).screens.schedules(case.id) == [drawn]
    assert schedule.verify(supervisor.schedules(case.id)[0])

    (body,) = assert_ciphertext(vault, "random_schedules")
    assert body["seed"] == drawn.seed
    db, _ = _parts(vault)
    row = dict(next(db.query("SELECT * FROM random_schedules")))
    assert row["fingerprint"] == drawn.fingerprint
    assert (row["first_day"], row["last_day"], row["per_month"]) == ("2026-12-01",
                                                                     "2026-12-31", 2)


# --- trips and months ----------------------------------------------------------------------------


def test_trip_round_trip_odometer_and_round_trip(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    mileage = services(vault, clock, WORKER).mileage
    there_and_back = mileage.add_trip(make_trip(
        origin="county office, 1 Main St", destination="Halvorsen home",
        purpose="home visit and transport", case_id=case.id, miles=Decimal("12.4")))
    clock.advance(60)
    odometer = mileage.add_trip(make_trip(
        trip_date=date(2026, 11, 3), origin="Halvorsen home",
        destination="Riverside treatment center", purpose="drive to intake", round_trip=False,
        miles=Decimal("31.5"), odometer_start=Decimal("48210.3"),
        odometer_end=Decimal("48241.8")))
    assert there_and_back.total_miles == Decimal("24.8")
    assert odometer.total_miles == Decimal("31.5")

    ws = services(vault, clock, WORKER).ws
    stores = ws.stores()
    assert stores.trips.get(there_and_back.id) == (there_and_back, 1)
    assert stores.trips.get(odometer.id) == (odometer, 1)
    month = mileage.month(MONTH)
    assert [a.trip for a in month.allocations] == [there_and_back, odometer]
    assert month.total == Decimal("56.3")

    bodies = assert_ciphertext(vault, "trips", plain_may_repeat={"miles"})
    assert {b["destination"] for b in bodies} == {"Halvorsen home",
                                                  "Riverside treatment center"}
    db, _ = _parts(vault)
    plain = [tuple(r) for r in db.execute(
        "SELECT trip_date, month, total_miles, case_id FROM trips ORDER BY trip_date")]
    assert plain == [("2026-11-02", MONTH, "24.8", case.id), ("2026-11-03", MONTH, "31.5", None)]


def test_month_status_with_return_reason_round_trip(vault: Vault, clock: FakeClock) -> None:
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    worker.mileage.add_trip(make_trip())
    worker.mileage.submit(MONTH)
    reason = "The 2 November trip needs the family's address as the destination."
    returned = supervisor.mileage.return_month(WORKER.user_id, MONTH, reason=reason)
    assert returned.status is MonthStatus.RETURNED

    stores = worker.ws.stores()
    assert stores.trips.status(WORKER.user_id, MONTH) is MonthStatus.RETURNED
    assert stores.trips.return_reason(WORKER.user_id, MONTH) == reason
    assert worker.mileage.month(MONTH).status is MonthStatus.RETURNED
    assert stores.trips.return_reason(WORKER.user_id, "2026-10") == ""

    (body,) = assert_ciphertext(vault, "mileage_months")
    assert body == {"return_reason": reason}
    db, _ = _parts(vault)
    row = dict(next(db.query("SELECT * FROM mileage_months")))
    assert (row["worker_id"], row["month"], row["status"], row["decided_by"]) == (
        "rc-1", MONTH, "returned", "sup-1")


# --- audit log and settings ----------------------------------------------------------------------


def test_audit_entries_round_trip(vault: Vault, clock: FakeClock) -> None:
    ws = services(vault, clock, WORKER).ws
    written = []
    with ws.unit() as stores:
        written.append(stores.audit.append(at=iso(clock()), actor="rc-1", action=Action.EXPORT,
                                           subject="case-1", details={"count": 3, "ok": True}))
        clock.advance(5)
        written.append(stores.audit.append(at=iso(clock()), actor="sup-1",
                                           action=Action.SETTINGS_CHANGED, subject="program",
                                           details={"fields": ["mileage_cap"], "note": "ü"}))
        written.append(stores.audit.append(at=iso(clock()), actor="rc-1", action="custom",
                                           subject="case-1"))
    store = ws.stores().audit
    assert store.entries() == written
    assert store.last() == written[-1]
    assert store.entries(subject="case-1") == [written[0], written[2]]
    assert [e.seq for e in written] == [1, 2, 3]
    assert written[1].prev_hash == written[0].hash and written[2].prev_hash == written[1].hash
    assert written[1].details == {"fields": ["mileage_cap"], "note": "ü"}
    assert first_break(store.entries()) is None and store.first_break() is None


def test_program_settings_save_and_load(vault: Vault, clock: FakeClock) -> None:
    db, _ = _parts(vault)
    assert load_settings(db) == ProgramSettings()
    custom = ProgramSettings(mileage_cap=Decimal("200.5"), rate_per_mile=Decimal("0.67"),
                             visits_per_week=3, late_entry_hours=48, random_screens_per_month=4,
                             panel=("cocaine", "fentanyl"),
                             services=("recovery coaching", "peer support"),
                             timezone="America/Denver")
    save_settings(db, custom, now=iso(clock()))
    assert load_settings(db) == custom
    assert services(vault, clock, WORKER).ws.settings == custom
    assert services(vault, clock, WORKER).mileage.month(MONTH).cap == Decimal("200.5")

    changed = ProgramSettings(mileage_cap=Decimal(120))
    save_settings(db, changed, now=iso(clock()))  # a second save replaces the first
    assert load_settings(db) == changed
    assert db.execute("SELECT count(*), max(version) FROM settings").fetchone() == (1, VERSION)


# --- every sealed table at once ------------------------------------------------------------------


def test_every_sealed_table_holds_only_ciphertext(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    note = worker.notes.start_draft(case.id, visit_details())
    worker.notes.sign(note.id)
    supervisor.notes.return_note(note.id, comment="Add who was present at the start.")
    worker.notes.add_addendum(note.id, reason="asked", text="The grandmother was present too.")
    screen = worker.screens.record(drug_screen(case.id))
    worker.screens.confirm_lab(screen.id, status=LabStatus.CONFIRMED_NEGATIVE,
                               on=date(2026, 11, 24))
    supervisor.screens.draw_schedule(case.id, first_day=date(2026, 12, 1),
                                     last_day=date(2026, 12, 31))
    worker.mileage.add_trip(make_trip(case_id=case.id))
    worker.mileage.submit(MONTH)
    supervisor.mileage.return_month(WORKER.user_id, MONTH, reason="Missing the odometer.")
    consent = ConsentService(worker.ws).record(make_consent(case_id=case.id,
                                                            patient="Alder parent"))
    ConsentService(worker.ws).end(consent.id, kind=EndKind.REVOKED, on=date(2026, 11, 24),
                                  how="Signed note")
    with worker.ws.unit() as stores:
        record_disclosures(worker.ws, stores, [make_disclosure(
            case_id=case.id, basis=Basis(consents={"Alder parent": consent.id}))])

    db, _ = _parts(vault)
    # Conflict copies and changes kept for their author appear only when sync meets them:
    # tests/sync checks them (test_kept_for_you.py, the kept table).
    tables = set(sealed_tables(db)) - {"records", "sync_conflicts", "kept_for_you"}
    assert tables == set(ROUTING)
    for table in sorted(tables):
        assert_ciphertext(vault, table, plain_may_repeat={"miles"} if table == "trips" else
                          SEALED_ROUTING.get(table, ()))


def test_the_check_itself_catches_plaintext(vault: Vault, clock: FakeClock) -> None:
    """A blob holding its body in the clear, or a sealed value copied to a plain column, fails."""
    case = open_case(vault, clock)
    db, key = _parts(vault)
    row = dict(next(db.query("SELECT * FROM cases")))
    body = open_row(key, table="cases", row=row)
    clear = json.dumps(body, ensure_ascii=False).encode("utf-16-le")
    assert "12 Elm Street, Springfield" in readable_in(b"\x01" + clear, body)
    assert readable_in(bytes(row["sealed"]), body) == []
    db.execute("UPDATE cases SET updated_at = 'Alder parent' WHERE id = ?", [case.id])
    with pytest.raises(AssertionError, match="plain column"):
        assert_ciphertext(vault, "cases")
