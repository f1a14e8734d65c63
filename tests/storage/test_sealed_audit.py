"""The laptop's audit log keeps who, what, when and which record in clear and seals its details
(the case, the kind of recipient and of information disclosed, a consent's end); profiles written
before are sealed by step 0007 with their hash chain intact. Real profiles, real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from fieldapp.domain.audit import Action, chain
from fieldapp.domain.cases import Case, Person
from fieldapp.domain.consent import EndKind, Information
from fieldapp.domain.disclosure import Basis
from fieldapp.services.consents import ConsentService, record_disclosures
from fieldapp.services.doctor import run_doctor
from fieldapp.services.workspace import Workspace
from fieldapp.storage import vault as vault_module
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.migrations import MIGRATIONS, STEPS, migrate
from fieldapp.storage.vault import Profile, Vault
from tests.conftest import PASSPHRASE, FakeClock
from tests.domain.consent_helpers import make_consent, make_disclosure
from tests.scanning import found_in
from tests.services.records_helpers import TODAY, WORKER, open_case

# What the log said in clear before: the kind of recipient, of information, of a consent's end.
DETAILS_IN_CLEAR = ("COURT", "DRUG_SCREENS", "REVOKED")


def files_of(profile: Profile) -> list[Path]:
    return sorted(p for p in profile.paths.root.rglob("*") if p.is_file())


def a_case(vault: Vault, clock: FakeClock) -> Case:
    return open_case(vault, clock, parents=(Person(name="Alder parent", relationship="mother"),))


def disclose_then_revoke(vault: Vault, clock: FakeClock, case: Case) -> None:
    """A consent recorded, drug screens disclosed to the court on it, the consent revoked."""
    ws = Workspace(vault, actor=WORKER, clock=clock)
    consent = ConsentService(ws).record(make_consent(case_id=case.id))
    with ws.unit() as stores:
        record_disclosures(ws, stores, [make_disclosure(
            case_id=case.id, basis=Basis(consents={"Alder parent": consent.id}),
            information=Information.DRUG_SCREENS)])
    ConsentService(ws).end(consent.id, kind=EndKind.REVOKED, on=TODAY, how="a signed letter")


def test_the_laptops_file_holds_no_audit_detail_in_clear(
        profile: Profile, clock: FakeClock) -> None:
    """After a disclosure to the court and a revocation, no file of the profile holds the kind
    of recipient, of information or of the consent's end, nor the case against an entry; the
    log still reads them back, its chain checks, and the doctor agrees."""
    vault = profile.create(PASSPHRASE)
    case = a_case(vault, clock)
    disclose_then_revoke(vault, clock, case)
    db, _ = vault.open_parts()
    assert not [d for (d,) in db.execute("SELECT details FROM audit_log") if case.id in d]
    vault.lock()
    files = files_of(profile)
    assert found_in(files, str(Action.CONSENT_ENDED))  # control: the scan sees what is in clear
    for detail in DETAILS_IN_CLEAR:
        assert found_in(files, detail) == [], detail

    vault = profile.unlock(PASSPHRASE)
    try:
        log = AuditStore(*vault.open_parts())
        by_action = {e.action: dict(e.details) for e in log.entries()}
        assert by_action[Action.DISCLOSURE]["recipient"] == "COURT"
        assert by_action[Action.DISCLOSURE]["information"] == "DRUG_SCREENS"
        assert by_action[Action.CONSENT_ENDED] == {"case": case.id, "kind": "REVOKED"}
        assert log.first_break() is None
    finally:
        vault.lock()
    report = run_doctor(profile, passphrase=PASSPHRASE)
    assert report.healthy, report.render()


def _append_as_before_0007(db: sqlite_utils.Database, entries: list[dict[str, Any]]) -> None:
    """Entries as FieldApp wrote them before step 0007: details as JSON text, in clear."""
    previous = None
    for fields in entries:
        entry = chain(previous, **fields)
        db.table("audit_log").insert({
            "seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "subject": entry.subject, "details": json.dumps(dict(entry.details), sort_keys=True),
            "prev_hash": entry.prev_hash, "hash": entry.hash})
        previous = entry


OLD_ENTRIES = [
    {"at": "2026-11-20T10:00:00+00:00", "actor": "rc-1", "action": str(Action.DISCLOSURE),
     "subject": "d-1", "details": {"case": "case-9", "recipient": "COURT",
                                   "information": "DRUG_SCREENS", "basis": ["c-1"]}},
    {"at": "2026-11-21T10:00:00+00:00", "actor": "rc-1", "action": str(Action.CONSENT_ENDED),
     "subject": "c-1", "details": {"case": "case-9", "kind": "REVOKED"}},
    {"at": "2026-11-22T10:00:00+00:00", "actor": "rc-1", "action": str(Action.EXPORT),
     "subject": "court report", "details": {"sha256": "ab" * 32, "cases": ["case-9"]}},
]


def _profile_before_0007(profile: Profile, monkeypatch: pytest.MonkeyPatch
                         ) -> list[tuple[Any, ...]]:
    """A profile at step 0006 whose log holds `OLD_ENTRIES` in clear; their stored rows."""
    with monkeypatch.context() as patch:
        patch.setattr(vault_module, "migrate",
                      lambda db: MIGRATIONS.apply(db, stop_before="0007_sealed_audit"))
        old = profile.create(PASSPHRASE)
        db, _ = old.open_parts()
        assert [m.name for m in MIGRATIONS.applied(db)] == list(
            STEPS[:STEPS.index("0007_sealed_audit")])
        _append_as_before_0007(db, OLD_ENTRIES)
        rows = db.execute("SELECT seq, at, actor, action, subject, prev_hash, hash FROM "
                          "audit_log ORDER BY seq").fetchall()
        old.lock(backup=False)
    return rows


def test_step_0007_seals_a_profiles_audit_details_and_keeps_its_chain(
        profile: Profile, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a profile written before seals every entry's details where it stands: each
    hash stays as it was and still checks, the details read back as written, none is left in
    any file, and the next entry chains after them."""
    rows = _profile_before_0007(profile, monkeypatch)
    assert found_in(files_of(profile), "DRUG_SCREENS")  # the log as it was: in clear
    # The doctor, which never migrates, reads such a log as it is, with or without the key.
    for passphrase in (PASSPHRASE, None):
        report = run_doctor(profile, passphrase=passphrase)
        assert "[ok] audit log: 3 entries, chain intact" in report.render(), report.render()

    vault = profile.unlock(PASSPHRASE)
    try:
        db, key = vault.open_parts()
        assert tuple(m.name for m in MIGRATIONS.applied(db)) == STEPS
        assert db.execute("SELECT seq, at, actor, action, subject, prev_hash, hash FROM "
                          "audit_log ORDER BY seq").fetchall() == rows
        log = AuditStore(db, key)
        assert [dict(e.details) for e in log.entries()] == [e["details"] for e in OLD_ENTRIES]
        assert [(e.action, dict(e.details)) for e in log.entries(subject="c-1")] == [
            (Action.CONSENT_ENDED, {"case": "case-9", "kind": "REVOKED"})]
        assert log.first_break() is None
        disclose_then_revoke(vault, clock, a_case(vault, clock))
        assert log.first_break() is None and len(log.entries()) > len(OLD_ENTRIES)
    finally:
        vault.lock()
    for detail in (*DETAILS_IN_CLEAR, "case-9"):
        assert found_in(files_of(profile), detail) == [], detail
    assert run_doctor(profile, passphrase=PASSPHRASE).healthy


def test_step_0007_without_the_data_key_changes_nothing(
        profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sealing needs the profile's key: migrating without it fails and leaves the step to do,
    the log as it was."""
    rows = _profile_before_0007(profile, monkeypatch)
    db = sqlite_utils.Database(sqlite3.connect(profile.paths.database))
    try:
        with pytest.raises(ValueError, match=r"^Sealing the audit log's details needs the "
                           r"profile's data key\.$"):
            migrate(db)
        pending = [m.name for m in MIGRATIONS.pending(db)]
        assert pending == list(STEPS[STEPS.index("0007_sealed_audit"):])
        assert db.execute("SELECT count(*) FROM audit_log WHERE details LIKE '%COURT%'"
                          ).fetchone()[0] == 1
        assert len(db.execute("SELECT * FROM audit_log").fetchall()) == len(rows)
    finally:
        db.conn.close()


def test_sealed_details_moved_or_altered_break_the_chain_where_they_are(
        profile: Profile, clock: FakeClock) -> None:
    """Details swapped between two entries, or replaced, do not open where they now stand: the
    chain breaks at the first of them, with the key; without it the links still check, and an
    entry taken out breaks them."""
    vault = profile.create(PASSPHRASE)
    try:
        disclose_then_revoke(vault, clock, a_case(vault, clock))
        db, key = vault.open_parts()
        count = len(AuditStore(db, key).entries())
        assert count >= 3
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_log_no_delete")
        second, third = (d for (d,) in db.execute(
            "SELECT details FROM audit_log WHERE seq IN (2, 3) ORDER BY seq"))
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 2", [third])
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 3", [second])
        assert AuditStore(db, key).first_break() == 2
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 3", [third])
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 2", [second[:-8] + "AAAAAAA="])
        assert AuditStore(db, key).first_break() == 2
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 2", ['{"case": "c'])
        assert AuditStore(db, key).first_break() == 2  # clear text that is not even JSON
        db.execute("UPDATE audit_log SET details = ? WHERE seq = 2", [second])
        assert AuditStore(db, key).first_break() is None
        assert AuditStore(db).first_break() is None  # the links, without the key
        hashes = dict(db.execute("SELECT seq, prev_hash FROM audit_log").fetchall())
        db.execute("UPDATE audit_log SET prev_hash = ? WHERE seq = 3", ["0" * 64])
        assert AuditStore(db).first_break() == 3
        db.execute("UPDATE audit_log SET prev_hash = ? WHERE seq = 3", [hashes[3]])
        db.execute("UPDATE audit_log SET seq = 99 WHERE seq = 3")
        assert AuditStore(db).first_break() == 99
        db.execute("UPDATE audit_log SET seq = 3 WHERE seq = 99")
        db.execute("DELETE FROM audit_log WHERE seq = 2")
        assert AuditStore(db).first_break() == 3
        with pytest.raises(ValueError, match=r"^The audit log is written with the profile's "
                           r"data key\.$"):
            AuditStore(db).append(at="now", actor="x", action="y", subject="z")
    finally:
        vault.lock(backup=False)


def test_sealed_details_copied_onto_another_entry_do_not_open_there(
        profile: Profile) -> None:
    """Two entries that said the same thing: the sealed details of one, copied onto the
    other, still do not open there (each is sealed for its place in the log)."""
    vault = profile.create(PASSPHRASE)
    try:
        db, key = vault.open_parts()
        log = AuditStore(db, key)
        for at in ("2026-11-24T10:00:00+00:00", "2026-11-24T11:00:00+00:00"):
            log.append(at=at, actor="rc-1", action=str(Action.SETTINGS_CHANGED),
                       subject="settings", details={"case": "case-9"})
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET details = (SELECT details FROM audit_log WHERE "
                   "seq = 2) WHERE seq = 1")
        assert log.entries()[0].details != {"case": "case-9"}
        assert log.first_break() == 1
    finally:
        vault.lock(backup=False)
