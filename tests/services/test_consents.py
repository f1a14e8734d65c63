"""The consent registry and the accounting of disclosures, on a real vault."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from fieldapp.domain.audit import Action
from fieldapp.domain.cases import Case, Person
from fieldapp.domain.consent import ConsentState, EndKind
from fieldapp.domain.disclosure import Basis, Exception_
from fieldapp.domain.errors import NotPermitted, RecordNotFound, RuleViolation
from fieldapp.domain.people import Actor, ConsentId
from fieldapp.services.consents import (
    AccountingService,
    ConsentService,
    expiring,
    record_disclosures,
)
from fieldapp.services.workspace import Workspace
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.consent_store import canonical_json
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.domain.consent_helpers import make_consent, make_disclosure
from tests.services.records_helpers import (
    ADMIN,
    INTACT_WORKER,
    OTHER_SUPERVISOR,
    OTHER_WORKER,
    SUPERVISOR,
    TODAY,
    WORKER,
    assert_refused,
    open_case,
)

NAMES = ("Alder parent", "Birch parent", "Sangamon", "permanency", "Signed note")


def consents(vault: Vault, clock: FakeClock, actor: Actor = WORKER) -> ConsentService:
    return ConsentService(Workspace(vault, actor=actor, clock=clock))


@pytest.fixture
def case(vault: Vault, clock: FakeClock) -> Case:
    return open_case(vault, clock, parents=(
        Person(name="Alder parent", relationship="mother"),
        Person(name="Birch parent", relationship="father")))


def audit_rows(vault: Vault) -> list[tuple[str, str, str]]:
    """(action, subject, details as JSON) of each entry, its details opened (they are sealed)."""
    return [(e.action, e.subject, json.dumps(dict(e.details), sort_keys=True))
            for e in AuditStore(*vault.open_parts()).entries()]


def test_record_sets_recorder_and_spelling_and_reads_back(vault: Vault, clock: FakeClock,
                                                          case: Case) -> None:
    service = consents(vault, clock)
    stored = service.record(make_consent(case_id=case.id, patient="  alder   PARENT "))
    assert stored.recorded_by == WORKER.user_id and stored.recorded_at == clock.now
    assert stored.patient == "Alder parent"  # the case's spelling, so basis_for finds it
    [view] = service.for_case(case.id)
    assert view.consent == stored and view.ends == () and view.state is ConsentState.IN_FORCE
    entries = [e for e in audit_rows(vault) if e[0] == Action.CONSENT_RECORDED]
    assert entries == [(Action.CONSENT_RECORDED, stored.id, json.dumps({"case": case.id}))]


def test_record_refuses_someone_who_is_not_a_parent_of_the_case(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    db, _ = vault.open_parts()
    assert_refused(db, RuleViolation, lambda: consents(vault, clock).record(
        make_consent(case_id=case.id, patient="Alder child")))
    with pytest.raises(RuleViolation, match="one of the case's parents in recovery"):
        consents(vault, clock).record(make_consent(case_id=case.id, patient="Cedar parent"))


def test_record_refuses_an_incomplete_consent_and_writes_nothing(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    db, _ = vault.open_parts()
    assert_refused(db, RuleViolation, lambda: consents(vault, clock).record(
        make_consent(case_id=case.id, purpose=" ")))


@pytest.mark.parametrize("actor", [OTHER_WORKER, OTHER_SUPERVISOR, ADMIN])
def test_only_people_on_the_case_record_or_read_consents(
        vault: Vault, clock: FakeClock, case: Case, actor: Actor) -> None:
    db, _ = vault.open_parts()
    stored = consents(vault, clock).record(make_consent(case_id=case.id))
    outsider = consents(vault, clock, actor)
    assert_refused(db, NotPermitted, lambda: outsider.record(make_consent(case_id=case.id)))
    assert_refused(db, NotPermitted, lambda: outsider.end(
        stored.id, kind=EndKind.REVOKED, on=TODAY, how="letter"))
    for read in (outsider.for_case, outsider.people, lambda c: outsider.consents_and_ends([c]),
                 AccountingService(Workspace(vault, actor=actor, clock=clock)).for_case):
        with pytest.raises(NotPermitted):
            read(case.id)
    assert expiring(Workspace(vault, actor=actor, clock=clock), within_days=365) == []


def test_people_are_the_parents_in_recovery(vault: Vault, clock: FakeClock, case: Case) -> None:
    assert consents(vault, clock, INTACT_WORKER).people(case.id) == ["Alder parent",
                                                                     "Birch parent"]


def test_revocation_is_recorded_once_and_shows_as_revoked(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    db, _ = vault.open_parts()
    stored = consents(vault, clock).record(make_consent(case_id=case.id))
    end = consents(vault, clock, SUPERVISOR).end(
        stored.id, kind=EndKind.REVOKED, on=date(2026, 11, 20), how="Signed note by mail")
    assert end.recorded_by == SUPERVISOR.user_id and end.case_id == case.id
    [view] = consents(vault, clock).for_case(case.id)
    assert view.state is ConsentState.REVOKED and view.ends == (end,)
    with pytest.raises(RuleViolation, match="already revoked on 2026-11-20"):
        consents(vault, clock).end(stored.id, kind=EndKind.REVOKED, on=TODAY, how="again")
    assert_refused(db, RuleViolation, lambda: consents(vault, clock).end(
        stored.id, kind=EndKind.EVENT, on=TODAY, how="case closed"))
    assert [e for e in audit_rows(vault) if e[0] == Action.CONSENT_ENDED] == [
        (Action.CONSENT_ENDED, stored.id, json.dumps({"case": case.id, "kind": "REVOKED"},
                                                     sort_keys=True))]


def test_end_refuses_a_future_date_an_expired_consent_and_an_unknown_one(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    db, _ = vault.open_parts()
    service = consents(vault, clock)
    stored = service.record(make_consent(case_id=case.id))
    assert_refused(db, RuleViolation, lambda: service.end(
        stored.id, kind=EndKind.REVOKED, on=TODAY + timedelta(days=1), how="letter"))
    assert_refused(db, RuleViolation, lambda: service.end(
        stored.id, kind=EndKind.REVOKED, on=TODAY, how=" "))
    assert_refused(db, RecordNotFound, lambda: service.end(
        ConsentId("nope"), kind=EndKind.REVOKED, on=TODAY, how="letter"))
    short = service.record(make_consent(case_id=case.id, expires_on=date(2026, 11, 10)))
    with pytest.raises(RuleViolation, match="its last day was 2026-11-10"):
        service.end(short.id, kind=EndKind.REVOKED, on=TODAY, how="letter")


def test_the_expiry_event_ends_a_consent(vault: Vault, clock: FakeClock, case: Case) -> None:
    service = consents(vault, clock)
    stored = service.record(make_consent(case_id=case.id, expires_on=None,
                                         expiry_event="when the juvenile case closes"))
    service.end(stored.id, kind=EndKind.EVENT, on=TODAY, how="Court closed the case")
    assert [v.state for v in service.for_case(case.id)] == [ConsentState.ENDED]


def test_for_case_lists_newest_signed_first_with_each_state(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    service = consents(vault, clock)
    old = service.record(make_consent(case_id=case.id, signed_on=date(2026, 1, 5),
                                      expires_on=date(2026, 6, 30)))
    new = service.record(make_consent(case_id=case.id, signed_on=date(2026, 11, 1)))
    other = service.record(make_consent(case_id=open_case(vault, clock).id))
    views = service.for_case(case.id)
    assert [(v.consent.id, v.state) for v in views] == [
        (new.id, ConsentState.IN_FORCE), (old.id, ConsentState.EXPIRED)]
    assert other.id not in {c.id for c in service.consents_and_ends([case.id])[0]}


def test_expiring_lists_the_caseloads_consents_in_force_soonest_first(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    service = consents(vault, clock)

    def consent(expires: date, case_id: str = case.id, patient: str = "Alder parent"
                ) -> ConsentId:
        return service.record(make_consent(case_id=case_id, patient=patient,
                                           expires_on=expires)).id

    today_ = consent(TODAY)
    last = consent(TODAY + timedelta(days=30), patient="Birch parent")
    consent(TODAY + timedelta(days=31))
    revoked = consent(TODAY + timedelta(days=3))
    service.end(revoked, kind=EndKind.REVOKED, on=TODAY, how="letter")
    expired_ = service.record(make_consent(case_id=case.id, signed_on=date(2026, 10, 1),
                                           expires_on=TODAY - timedelta(days=1))).id
    elsewhere = open_case(vault, clock, coordinator=OTHER_WORKER, intact_worker=None)
    ConsentService(Workspace(vault, actor=OTHER_WORKER, clock=clock)).record(
        make_consent(case_id=elsewhere.id, expires_on=TODAY + timedelta(days=1)))
    found = expiring(Workspace(vault, actor=WORKER, clock=clock), within_days=30)
    assert [(e.consent_id, e.expires_on, e.patient) for e in found] == [
        (today_, TODAY, "Alder parent"),
        (last, TODAY + timedelta(days=30), "Birch parent")]
    assert expired_ not in {e.consent_id for e in found}
    # A supervisor of both cases sees both (their caseload), soonest first.
    mine = expiring(Workspace(vault, actor=SUPERVISOR, clock=clock), within_days=1)
    assert [e.case_id for e in mine] == [case.id, elsewhere.id]


def _exception_basis() -> Basis:
    return Basis(exception=Exception_.CHILD_ABUSE_REPORT, reference="Hotline 4471, 2026-11-23")


def test_record_disclosures_keeps_each_with_an_audit_entry_that_names_no_one(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    ws = Workspace(vault, actor=WORKER, clock=clock)
    consent = consents(vault, clock).record(make_consent(case_id=case.id))
    by_consent = make_disclosure(case_id=case.id,
                                 basis=Basis(consents={"Alder parent": consent.id}))
    by_exception = make_disclosure(case_id=case.id, basis=_exception_basis(),
                                   people=("Alder parent", "Birch parent"),
                                   at=datetime(2026, 11, 24, 10, tzinfo=UTC))
    with ws.unit() as stores:
        record_disclosures(ws, stores, [by_consent, by_exception])
    entries = [(s, json.loads(d)) for a, s, d in audit_rows(vault) if a == Action.DISCLOSURE]
    assert entries == [
        (by_consent.id, {"case": case.id, "recipient": "COURT", "basis": [consent.id],
                         "information": "VISIT_NOTES", "sha256": "ab" * 32,
                         "entry": hashlib.sha256(canonical_json(by_consent).encode()).hexdigest()}),
        (by_exception.id, {"case": case.id, "recipient": "COURT",
                           "basis": "CHILD_ABUSE_REPORT", "information": "VISIT_NOTES",
                           "sha256": "ab" * 32, "entry": hashlib.sha256(
                               canonical_json(by_exception).encode()).hexdigest()})]
    for _, _, details in audit_rows(vault):
        assert not any(name.casefold() in details.casefold() for name in NAMES), details
    accounting = AccountingService(Workspace(vault, actor=SUPERVISOR, clock=clock))
    assert accounting.for_case(case.id) == [by_exception, by_consent]  # newest first
    assert accounting.for_case(case.id, person=" birch PARENT") == [by_exception]
    assert accounting.for_case(case.id, person="Someone else") == []


def test_record_disclosures_rolls_back_with_the_export(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    ws = Workspace(vault, actor=WORKER, clock=clock)
    db, _ = vault.open_parts()

    def export_that_fails() -> None:
        with ws.unit() as stores:
            record_disclosures(ws, stores, [make_disclosure(case_id=case.id,
                                                            basis=_exception_basis())])
            raise OSError("disk full")

    assert_refused(db, OSError, export_that_fails)


def test_record_disclosures_refuses_a_case_off_the_caseload(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    ws = Workspace(vault, actor=OTHER_WORKER, clock=clock)
    db, _ = vault.open_parts()

    def record() -> None:
        with ws.unit() as stores:
            record_disclosures(ws, stores, [make_disclosure(case_id=case.id,
                                                            basis=_exception_basis())])

    assert_refused(db, NotPermitted, record)


def test_the_consent_tables_are_append_only(vault: Vault, clock: FakeClock, case: Case) -> None:
    consent = consents(vault, clock).record(make_consent(case_id=case.id))
    end = consents(vault, clock).end(consent.id, kind=EndKind.REVOKED, on=TODAY, how="letter")
    ws = Workspace(vault, actor=WORKER, clock=clock)
    disclosure = make_disclosure(case_id=case.id, basis=_exception_basis())
    with ws.unit() as stores:
        record_disclosures(ws, stores, [disclosure])
    db, _ = vault.open_parts()
    for table, record_id in (("consents", consent.id), ("consent_ends", end.id),
                             ("disclosures", disclosure.id)):
        for statement in (f"UPDATE {table} SET sealed = X'00' WHERE id = ?",  # noqa: S608
                          f"DELETE FROM {table} WHERE id = ?"):  # noqa: S608
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement, [record_id])
    outbox = {(t, r) for t, r in db.execute("SELECT tbl, record_id FROM outbox").fetchall()}
    assert {("consents", consent.id), ("consent_ends", end.id),
            ("disclosures", disclosure.id)} <= outbox


def test_a_consent_moved_to_another_case_in_plain_sight_is_not_read(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    consent = consents(vault, clock).record(make_consent(case_id=case.id))
    other = open_case(vault, clock)
    db, _ = vault.open_parts()
    db.execute("INSERT INTO sync_applying VALUES ('replace kept')")
    db.execute("UPDATE consents SET case_id = ? WHERE id = ?", [other.id, consent.id])
    db.execute("DELETE FROM sync_applying")
    assert consents(vault, clock).for_case(other.id) == []
    assert replace(consent, case_id=other.id) not in consents(vault, clock).consents_and_ends(
        [other.id])[0]


def test_a_consent_whose_end_cannot_be_read_is_not_relied_on(
        vault: Vault, clock: FakeClock, case: Case) -> None:
    registry = consents(vault, clock)
    kept = registry.record(make_consent(case_id=case.id))
    doubtful = registry.record(make_consent(case_id=case.id))
    registry.end(doubtful.id, kind=EndKind.REVOKED, on=date(2026, 11, 24), how="signed note")
    db, _ = vault.open_parts()
    db.execute("INSERT INTO sync_applying VALUES ('replace kept')")
    db.execute("UPDATE consent_ends SET sealed = zeroblob(64)")  # the revocation, damaged
    db.execute("DELETE FROM sync_applying")
    # Whether it was a revocation or not can no longer be read: the consent is withheld.
    assert [v.consent.id for v in registry.for_case(case.id)] == [kept.id]
    held, ends = registry.consents_and_ends([case.id])
    assert [c.id for c in held] == [kept.id] and ends == []
