"""No sealed field of any record type reaches any file of the profile in plaintext.

Every sealed text field of every record type (case, visit note, addendum, review, drug screen,
random schedule, trip, month) is written with its own distinctive phrase; some records are then
updated, corrected, removed or deleted. While the vault is open its live files are scanned; after
locking, every file under the profile (database, WAL, backups, logs, key file) is scanned for
every phrase in UTF-8, UTF-16 LE/BE, hex and base64, using the scanner of
`tests/storage/test_plaintext_scan.py`. The scanner is checked against planted phrases first, and
the surviving phrases are shown to be really in the vault, sealed, by reading them back.
Consents, their ends and disclosures are written with phrases of their own too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fieldapp.domain.cases import Person
from fieldapp.domain.consent import EndKind, Recipient, RecipientKind
from fieldapp.domain.disclosure import Basis, Exception_
from fieldapp.domain.people import CaseId
from fieldapp.domain.screens import LabStatus, Method
from fieldapp.services.consents import AccountingService, ConsentService, record_disclosures
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Vault
from tests.conftest import PASSPHRASE, FakeClock
from tests.domain.consent_helpers import make_consent, make_disclosure
from tests.scanning import encodings_of
from tests.services.records_helpers import (
    MONTH,
    SUPERVISOR,
    WORKER,
    drug_screen,
    make_case,
    make_trip,
    services,
    visit_details,
)
from tests.storage.test_plaintext_scan import files_under, scan


def _phrase(label: str) -> str:
    return f"Quillon {label} Vasterbrook 6029"


# Still in the vault at the end (sealed): readable after unlocking.
KEPT = {name: _phrase(name) for name in (
    "family-name", "parent-name", "parent-relationship", "parent-details", "child-name",
    "child-relationship", "child-details", "moved-address", "narrative", "people-present",
    "safety-description", "next-steps", "addendum-reason", "addendum-text", "review-comment",
    "screen-person", "screen-comments", "chain-of-custody", "corrected-comments",
    "correction-reason", "trip-origin", "trip-destination", "edited-purpose",
    "month-return-reason", "consent-disclosing-party", "consent-description", "consent-recipient",
    "consent-purpose", "consent-revocation-statement", "consent-expiry-event",
    "consent-signed-by", "consent-signer-authority", "end-how", "disclosure-what",
    "disclosure-reference")}
# Overwritten, or removed with their record: in no file at all, and not in the vault either.
GONE = {name: _phrase(name) for name in (
    "first-address", "draft-narrative", "deleted-draft-narrative", "deleted-draft-people",
    "first-purpose", "removed-trip-origin")}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "hex", "base64"])
def test_the_scanner_finds_planted_phrases(tmp_path: Path, encoding: str) -> None:
    phrase = KEPT["narrative"]
    planted = tmp_path / "planted.bin"
    needles = sorted(encodings_of(phrase)[encoding])
    planted.write_bytes(b"\x00before\xff" + needles[-1] + b"\x01after")
    assert scan([planted], phrase) == [(str(planted), encoding)]
    assert scan([planted], KEPT["family-name"]) == []


def _write_everything(session: Session, clock: FakeClock) -> str:
    """Write every record type with the phrases; return the random schedule's seed."""
    vault = session.vault()
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    p = KEPT | GONE

    case = supervisor.cases.open_case(make_case(
        family_name=p["family-name"],
        parents=(Person(name=p["parent-name"], relationship=p["parent-relationship"],
                        details=p["parent-details"]),),
        children=(Person(name=p["child-name"], relationship=p["child-relationship"],
                         details=p["child-details"]),),
        address=p["first-address"]))
    supervisor.cases.update_case(replace(case, address=p["moved-address"], revision=1))

    details = visit_details(people_present=(p["people-present"], "son"),
                            safety_concerns=True, safety_description=p["safety-description"],
                            narrative=p["draft-narrative"], next_steps=p["next-steps"])
    note = worker.notes.start_draft(case.id, details)
    worker.notes.save_draft(note.id, replace(details, narrative=p["narrative"]),
                            expected_revision=1)
    worker.notes.sign(note.id)
    doomed = worker.notes.start_draft(case.id, visit_details(
        narrative=p["deleted-draft-narrative"], people_present=(p["deleted-draft-people"],)))
    session.backup_now()  # a backup holding everything written so far, the doomed draft too
    worker.notes.delete_draft(doomed.id)
    clock.advance(3600)
    supervisor.notes.return_note(note.id, comment=p["review-comment"])
    worker.notes.add_addendum(note.id, reason=p["addendum-reason"], text=p["addendum-text"])
    supervisor.notes.cosign(note.id)

    screen = worker.screens.record(drug_screen(
        case.id, person=p["screen-person"], comments=p["screen-comments"], method=Method.LAB,
        chain_of_custody=p["chain-of-custody"]))
    corrected = worker.screens.correct(
        screen.id, replace(screen, comments=p["corrected-comments"]),
        reason=p["correction-reason"])
    worker.screens.confirm_lab(corrected.id, status=LabStatus.CONFIRMED_NEGATIVE,
                               on=date(2026, 11, 24))
    drawn = supervisor.screens.draw_schedule(case.id, first_day=date(2026, 12, 1),
                                             last_day=date(2026, 12, 31))

    kept = worker.mileage.add_trip(make_trip(
        origin=p["trip-origin"], destination=p["trip-destination"], purpose=p["first-purpose"],
        case_id=case.id))
    worker.mileage.edit_trip(replace(kept, purpose=p["edited-purpose"]), expected_revision=1)
    removed = worker.mileage.add_trip(make_trip(
        trip_date=date(2026, 11, 3), origin=p["removed-trip-origin"], miles=Decimal(12)))
    worker.mileage.remove_trip(removed.id)
    worker.mileage.submit(MONTH)
    supervisor.mileage.return_month(WORKER.user_id, MONTH, reason=p["month-return-reason"])
    _consent_and_disclosure(worker.ws, case.id, p)
    return drawn.seed


def _consent_and_disclosure(ws: Workspace, case_id: CaseId, p: dict[str, str]) -> None:
    recipient = Recipient(name=p["consent-recipient"], kind=RecipientKind.TREATMENT_PROVIDER)
    consent = ConsentService(ws).record(make_consent(
        case_id=case_id, patient=p["parent-name"], disclosing_party=p["consent-disclosing-party"],
        description=p["consent-description"], recipients=(recipient,),
        purpose=p["consent-purpose"], revocation_statement=p["consent-revocation-statement"],
        expiry_event=p["consent-expiry-event"], signed_by=p["consent-signed-by"],
        signer_authority=p["consent-signer-authority"]))
    ConsentService(ws).end(consent.id, kind=EndKind.REVOKED, on=date(2026, 11, 24),
                           how=p["end-how"])
    with ws.unit() as stores:
        record_disclosures(ws, stores, [make_disclosure(
            case_id=case_id, people=(p["parent-name"],), recipient=recipient,
            purpose=p["consent-purpose"], what=p["disclosure-what"], by=ws.actor.user_id,
            basis=Basis(exception=Exception_.MEDICAL_EMERGENCY,
                        reference=p["disclosure-reference"]))])


def _readable(vault: Vault, clock: FakeClock) -> str:
    """Everything the services give back about the one case and the worker's month, as text."""
    worker = services(vault, clock, WORKER)
    (row,) = worker.cases.caseload()
    case_id = row.case.id
    screens = worker.screens.for_case(case_id)
    parts = [row.case, worker.notes.for_case(case_id), worker.screens.schedules(case_id),
             [worker.screens.history(s.id) for s in screens], worker.mileage.month(MONTH),
             worker.ws.stores().trips.return_reason(WORKER.user_id, MONTH),
             ConsentService(worker.ws).for_case(case_id),
             AccountingService(worker.ws).for_case(case_id)]
    return repr(parts)


def test_no_record_field_reaches_any_file(paths: ProfilePaths, clock: FakeClock,
                                          app_logging: None) -> None:
    clock.now = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE, role=WORKER.role, user_id=WORKER.user_id)
    seed = _write_everything(session, clock)
    phrases = {**KEPT, **GONE, "schedule-seed": seed}

    live = [paths.database, *paths.sidecars()]
    assert paths.sidecars()[0].stat().st_size > 0, "the WAL should hold the recent writes"
    assert [hit for phrase in phrases.values() for hit in scan(live, phrase)] == []
    session.lock()

    files = files_under(paths.root)
    assert paths.database in files and paths.key_file in files
    assert len(session.profile.backups()) >= 2, "the midway backup and the one at lock"
    log_file = paths.logs / "fieldapp.log"
    assert log_file in files and b"backup written" in log_file.read_bytes()
    hits = {name: scan(files, phrase) for name, phrase in phrases.items()}
    assert {name: found for name, found in hits.items() if found} == {}

    # The phrases were really written: the vault, opened, gives back each one still kept.
    session.unlock(PASSPHRASE)
    try:
        text = _readable(session.vault(), clock)
        assert [name for name, phrase in KEPT.items() if phrase not in text] == []
        assert [name for name, phrase in GONE.items() if phrase in text] == []
        db, _ = session.vault().open_parts()
        assert db.execute("SELECT count(*) FROM visit_notes").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM trips").fetchone() == (1,)
    finally:
        session.lock()
