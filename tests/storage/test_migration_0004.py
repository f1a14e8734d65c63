"""Step 0004 (consents) upgrades a profile made at step 0003 without touching what it holds."""

from __future__ import annotations

import pytest
import sqlite_utils

from fieldapp.domain.people import Role, UserId
from fieldapp.services.consents import ConsentService
from fieldapp.services.workspace import Workspace
from fieldapp.storage import vault as vault_module
from fieldapp.storage.migrations import MIGRATIONS, STEPS
from fieldapp.storage.schema_consents import CONSENT_TABLES
from fieldapp.storage.vault import Profile
from tests.conftest import PASSPHRASE, FakeClock
from tests.domain.consent_helpers import make_consent
from tests.services.records_helpers import WORKER, open_case, services, visit_details


def _tables(db: sqlite_utils.Database) -> set[str]:
    return set(db.table_names())


def test_a_profile_at_step_0003_upgrades_to_0004(profile: Profile, clock: FakeClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def up_to_0003(db: sqlite_utils.Database) -> None:
        MIGRATIONS.apply(db, stop_before="0004_consents")
        # The records below are written by today's stores, which name a case's referrer (step
        # 0005, which leaves a column it finds in place).
        db.execute("ALTER TABLE cases ADD COLUMN referred_by TEXT")

    with monkeypatch.context() as patch:
        patch.setattr(vault_module, "migrate", up_to_0003)
        old = profile.create(PASSPHRASE, meta={"user_id": UserId("rc-1"),
                                               "role": str(Role.RECOVERY_COORDINATOR)})
        db, _ = old.open_parts()
        assert [m.name for m in MIGRATIONS.applied(db)] == list(STEPS[:3])
        assert not _tables(db) & set(CONSENT_TABLES)
        case = open_case(old, clock)
        note = services(old, clock, WORKER).notes.start_draft(case.id, visit_details())
        old.lock(backup=False)

    upgraded = profile.unlock(PASSPHRASE)
    try:
        db, _ = upgraded.open_parts()
        assert tuple(m.name for m in MIGRATIONS.applied(db)) == STEPS
        assert _tables(db) >= set(CONSENT_TABLES)
        assert services(upgraded, clock, WORKER).notes.get(note.id).details == note.details
        consent = ConsentService(Workspace(upgraded, actor=WORKER, clock=clock)).record(
            make_consent(case_id=case.id, patient="Alder parent"))
        assert db.execute("SELECT tbl FROM outbox WHERE record_id = ?",
                          [consent.id]).fetchone()[0] == "consents"
        triggers = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()}
        for table in CONSENT_TABLES:
            assert {f"{table}_no_update", f"{table}_no_delete",
                    f"{table}_outbox_insert"} <= triggers
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        upgraded.lock(backup=False)
