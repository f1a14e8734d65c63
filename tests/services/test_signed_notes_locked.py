"""No public path (service, repository, SQL) can change a signed note; these tests try.

After a note is signed, every way of writing to it is attempted: the services, the note store,
the sealed table underneath, and plain SQL against the database (UPDATE, DELETE, REPLACE). Each
must be refused (`RuleViolation`, `NotPermitted`, `StaleRevision`, or `sqlite3.IntegrityError`
from the schema's triggers), and afterwards the note reads back exactly as signed, its sealed blob
is byte for byte the same, and no row of any table has changed. The append-only tables (addenda,
reviews, screen revisions, random schedules, the audit log) get the same treatment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest

from fieldapp.domain.errors import NotPermitted, RuleViolation, StaleRevision
from fieldapp.domain.people import NoteId
from fieldapp.domain.screens import LabStatus
from fieldapp.domain.visits import NoteStatus, Signature, VisitNote
from fieldapp.storage.sealed import SealedTable
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    SUPERVISOR,
    WORKER,
    Services,
    Snapshot,
    drug_screen,
    open_case,
    services,
    snapshot,
    visit_details,
)

REFUSED = (RuleViolation, NotPermitted, StaleRevision, sqlite3.IntegrityError)


@dataclass
class Locked:
    """A vault holding one signed note (and, for the append-only tests, one of everything)."""

    vault: Vault
    clock: FakeClock
    note: VisitNote
    blob: bytes
    row: dict[str, Any]
    before: Snapshot
    worker: Services
    supervisor: Services

    def sql(self, statement: str, params: list[Any] | None = None) -> None:
        db, _ = self.vault.open_parts()
        db.execute(statement, params or [])

    def table(self, name: str) -> SealedTable:
        db, key = self.vault.open_parts()
        return SealedTable(db, key, name)


def _row(vault: Vault, note_id: NoteId) -> dict[str, Any]:
    db, _ = vault.open_parts()
    return dict(next(db.query("SELECT * FROM visit_notes WHERE id = ?", [note_id])))


def _lock(vault: Vault, clock: FakeClock, note: VisitNote, worker: Services,
          supervisor: Services) -> Locked:
    row = _row(vault, note.id)
    db, _ = vault.open_parts()
    return Locked(vault=vault, clock=clock, note=note, blob=bytes(row["sealed"]), row=row,
                  before=snapshot(db), worker=worker, supervisor=supervisor)


def _signed(vault: Vault, clock: FakeClock) -> Locked:
    case = open_case(vault, clock)
    worker, supervisor = services(vault, clock, WORKER), services(vault, clock, SUPERVISOR)
    draft = worker.notes.start_draft(case.id, visit_details(narrative="first words"))
    worker.notes.save_draft(draft.id, visit_details(), expected_revision=1)
    clock.advance(600)
    note = worker.notes.sign(draft.id)
    clock.advance(600)
    return _lock(vault, clock, note, worker, supervisor)


@pytest.fixture
def locked(vault: Vault, clock: FakeClock) -> Locked:
    return _signed(vault, clock)


def assert_as_signed(ctx: Locked, attempt: str = "") -> None:
    """The note, its row, its blob and every other table are exactly as they were."""
    db, _ = ctx.vault.open_parts()
    assert ctx.worker.notes.get(ctx.note.id) == ctx.note, attempt
    row = _row(ctx.vault, ctx.note.id)
    assert bytes(row["sealed"]) == ctx.blob, attempt
    assert row == ctx.row, attempt
    assert snapshot(db) == ctx.before, attempt


# --- attempts through the services and the stores ------------------------------------------------


def _rewritten() -> Any:
    return visit_details(narrative="Rewritten after signing.", visit_date=date(2026, 11, 20))


def _store_replace_draft(ctx: Locked, *, revision: int | None = None) -> None:
    forged = replace(ctx.note, details=_rewritten(), status=NoteStatus.DRAFT,
                     revision=ctx.note.revision if revision is None else revision)
    with ctx.worker.ws.unit() as stores:
        stores.notes.replace_draft(forged)


def _store(ctx: Locked, action: Callable[[Any], object]) -> None:
    with ctx.worker.ws.unit() as stores:
        action(stores.notes)


def _sign_again(notes: Any, ctx: Locked) -> None:
    later = Signature(by=WORKER.user_id, at=ctx.clock.now + timedelta(days=3))
    notes.mark_signed(replace(ctx.note, signature=later, late_entry=True))


def _sealed_replace(ctx: Locked, plain: dict[str, Any]) -> None:
    body = {"narrative": "Rewritten after signing.", "attestation": "forged"}
    with ctx.worker.ws.unit():
        ctx.table("visit_notes").replace(record_id=ctx.note.id, body=body, plain=plain,
                                         expected_revision=ctx.note.revision)


ATTEMPTS: dict[str, Callable[[Locked], object]] = {
    "NoteService.save_draft": lambda c: c.worker.notes.save_draft(
        c.note.id, _rewritten(), expected_revision=c.note.revision),
    "NoteService.save_draft by the supervisor": lambda c: c.supervisor.notes.save_draft(
        c.note.id, _rewritten(), expected_revision=c.note.revision),
    "NoteService.delete_draft": lambda c: c.worker.notes.delete_draft(c.note.id),
    "NoteService.delete_draft by the supervisor":
        lambda c: c.supervisor.notes.delete_draft(c.note.id),
    "NoteService.sign again": lambda c: c.worker.notes.sign(c.note.id),
    "NoteStore.replace_draft": _store_replace_draft,
    "NoteStore.replace_draft with a stale revision":
        lambda c: _store_replace_draft(c, revision=c.note.revision + 5),
    "NoteStore.delete_draft": lambda c: _store(c, lambda n: n.delete_draft(c.note.id)),
    "NoteStore.mark_signed again": lambda c: _store(c, lambda n: _sign_again(n, c)),
    "NoteStore.add_draft over it": lambda c: _store(
        c, lambda n: n.add_draft(replace(c.note, details=_rewritten(),
                                         status=NoteStatus.DRAFT))),
    "NoteStore.set_status back to draft":
        lambda c: _store(c, lambda n: n.set_status(c.note.id, NoteStatus.DRAFT)),
    "SealedTable.replace": lambda c: _sealed_replace(c, {}),
    "SealedTable.replace as a draft": lambda c: _sealed_replace(
        c, {"status": "draft", "visit_date": "2026-11-20"}),
    "SealedTable.insert over it": lambda c: c.table("visit_notes").insert(
        record_id=c.note.id, body={"narrative": "forged"},
        plain={k: v for k, v in c.row.items() if k not in ("id", "revision", "key_id", "sealed")}
        | {"status": "draft"}),
}


@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_service_and_store_paths_are_refused(locked: Locked, attempt: str) -> None:
    with pytest.raises(REFUSED):
        ATTEMPTS[attempt](locked)
    assert_as_signed(locked)


# --- plain SQL against the note ------------------------------------------------------------------

SQL_ATTEMPTS = {
    "sealed": "UPDATE visit_notes SET sealed = X'0102030405' WHERE id = :id",
    "sealed from another row": "UPDATE visit_notes SET sealed = (SELECT sealed FROM cases) "
                               "WHERE id = :id",
    "revision": "UPDATE visit_notes SET revision = revision + 1 WHERE id = :id",
    "key_id": "UPDATE visit_notes SET key_id = 'other' WHERE id = :id",
    "visit_date": "UPDATE visit_notes SET visit_date = '2026-11-20' WHERE id = :id",
    "contact_type": "UPDATE visit_notes SET contact_type = 'phone' WHERE id = :id",
    "status back to draft": "UPDATE visit_notes SET status = 'draft' WHERE id = :id",
    "author": "UPDATE visit_notes SET author = 'rc-2' WHERE id = :id",
    "case_id": "UPDATE visit_notes SET case_id = case_id || '' WHERE id = :id",
    "signed_at": "UPDATE visit_notes SET signed_at = '2026-11-23T22:00:00+00:00' WHERE id = :id",
    "signed_by": "UPDATE visit_notes SET signed_by = 'rc-2' WHERE id = :id",
    "late_entry": "UPDATE visit_notes SET late_entry = 1 - late_entry WHERE id = :id",
    "next_visit_date": "UPDATE visit_notes SET next_visit_date = NULL WHERE id = :id",
    "everything back to a draft": "UPDATE visit_notes SET status = 'draft', signed_by = NULL, "
                                  "signed_at = NULL, sealed = X'00' WHERE id = :id",
    "delete": "DELETE FROM visit_notes WHERE id = :id",
    "delete every note": "DELETE FROM visit_notes",
    "replace into": "REPLACE INTO visit_notes SELECT id, case_id, revision, key_id, sealed, "
                    "author, '2026-11-20', contact_type, 'draft', NULL, NULL, 0, "
                    "next_visit_date, updated_at FROM visit_notes WHERE id = :id",
}


@pytest.mark.parametrize("attempt", sorted(SQL_ATTEMPTS))
def test_raw_sql_is_refused(locked: Locked, attempt: str) -> None:
    db, _ = locked.vault.open_parts()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(SQL_ATTEMPTS[attempt], {"id": locked.note.id})
    assert_as_signed(locked)


def test_raw_sql_cannot_rename_a_signed_note(locked: Locked) -> None:
    db, _ = locked.vault.open_parts()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE visit_notes SET id = 'renamed' WHERE id = ?", [locked.note.id])
    assert_as_signed(locked)


# --- the same after a return, an addendum and a co-signature -------------------------------------


@pytest.mark.parametrize("stage", ["returned", "amended", "cosigned"])
def test_later_stages_stay_locked(vault: Vault, clock: FakeClock, stage: str) -> None:
    first = _signed(vault, clock)
    first.supervisor.notes.return_note(first.note.id, comment="Name the aunt.")
    if stage in ("amended", "cosigned"):
        first.worker.notes.add_addendum(first.note.id, reason="asked", text="Aunt: Maren.")
    if stage == "cosigned":
        first.supervisor.notes.cosign(first.note.id)
    note = first.worker.notes.get(first.note.id)
    assert note.status is {"returned": NoteStatus.RETURNED, "amended": NoteStatus.SIGNED,
                           "cosigned": NoteStatus.COSIGNED}[stage]
    # The content is the one signed: returns, addenda and reviews never touch the note's blob.
    assert bytes(_row(vault, note.id)["sealed"]) == first.blob
    assert note.details == first.note.details
    ctx = _lock(vault, clock, note, first.worker, first.supervisor)
    db, _ = vault.open_parts()
    for name, attempt in sorted(ATTEMPTS.items()):
        with pytest.raises(REFUSED):
            attempt(ctx)
        assert_as_signed(ctx, name)
    for name, statement in sorted(SQL_ATTEMPTS.items()):
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(statement, {"id": note.id})
        assert_as_signed(ctx, name)
    with pytest.raises(sqlite3.IntegrityError):  # addenda and reviews point at the id
        db.execute("UPDATE visit_notes SET id = 'renamed' WHERE id = ?", [note.id])
    assert_as_signed(ctx)


# --- the checks are not vacuous: the same paths do change a draft --------------------------------


def test_the_same_paths_change_a_draft(vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER)
    db, key = vault.open_parts()
    draft = worker.notes.start_draft(case.id, visit_details())
    blob = bytes(_row(vault, draft.id)["sealed"])
    saved = worker.notes.save_draft(draft.id, _rewritten(), expected_revision=1)
    assert bytes(_row(vault, draft.id)["sealed"]) != blob
    assert worker.notes.get(draft.id).details.narrative == "Rewritten after signing."
    with worker.ws.unit() as stores:
        stores.notes.replace_draft(replace(saved, details=visit_details()))
    SealedTable(db, key, "visit_notes").replace(
        record_id=draft.id, body=_row_body(vault, draft.id), plain={"visit_date": "2026-11-22"},
        expected_revision=3)
    db.execute("UPDATE visit_notes SET contact_type = 'phone' WHERE id = ?", [draft.id])
    reread = worker.notes.get(draft.id)
    assert (reread.revision, str(reread.details.visit_date), reread.details.contact_type) == (
        4, "2026-11-22", "phone")
    db.execute("DELETE FROM visit_notes WHERE id = ?", [draft.id])
    assert db.execute("SELECT count(*) FROM visit_notes").fetchone() == (0,)


def _row_body(vault: Vault, note_id: NoteId) -> dict[str, Any]:
    db, key = vault.open_parts()
    return SealedTable(db, key, "visit_notes").get(note_id)[1]


# --- the append-only tables ----------------------------------------------------------------------


@pytest.fixture
def everything(vault: Vault, clock: FakeClock) -> Locked:
    """A signed, returned and amended note, a corrected screen, a schedule and audit entries."""
    ctx = _signed(vault, clock)
    ctx.supervisor.notes.return_note(ctx.note.id, comment="Name the aunt.")
    ctx.worker.notes.add_addendum(ctx.note.id, reason="asked", text="Aunt: Maren.")
    screen = ctx.worker.screens.record(drug_screen(ctx.note.case_id))
    ctx.worker.screens.confirm_lab(screen.id, status=LabStatus.CONFIRMED_NEGATIVE,
                                   on=date(2026, 11, 24))
    ctx.supervisor.screens.draw_schedule(ctx.note.case_id, first_day=date(2026, 12, 1),
                                         last_day=date(2026, 12, 31))
    return _lock(vault, clock, ctx.worker.notes.get(ctx.note.id), ctx.worker, ctx.supervisor)


APPEND_ONLY = {
    "addenda": ("sealed = X'00'", "author = 'rc-2'"),
    "note_reviews": ("sealed = X'00'", "cosigned = 1 - cosigned"),
    "drug_screen_revisions": ("sealed = X'00'", "recorded_by = 'rc-2'"),
    "random_schedules": ("sealed = X'00'", "fingerprint = 'abcdefabcdef'"),
    "audit_log": ("details = '{}'", "actor = 'nobody'"),
}


STATEMENTS = {
    "update content": "UPDATE <table> SET <content>",
    "update plain": "UPDATE <table> SET <plain>",
    "update where": "UPDATE <table> SET <plain> WHERE rowid = (SELECT max(rowid) FROM <table>)",
    "delete": "DELETE FROM <table>",
    "delete one": "DELETE FROM <table> WHERE rowid = (SELECT min(rowid) FROM <table>)",
    "replace": "REPLACE INTO <table> SELECT * FROM <table>",
}


def _statements(table: str) -> dict[str, str]:
    content, plain = APPEND_ONLY[table]
    return {name: template.replace("<content>", content).replace("<plain>", plain)
            .replace("<table>", table) for name, template in STATEMENTS.items()}


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_append_only_tables_refuse_update_delete_replace(everything: Locked, table: str) -> None:
    db, _ = everything.vault.open_parts()
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= 1  # noqa: S608
    for name, statement in _statements(table).items():
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)
        assert snapshot(db) == everything.before, name
    assert_as_signed(everything)


def test_append_only_tables_still_accept_appends(everything: Locked) -> None:
    db, _ = everything.vault.open_parts()
    before = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
              for t in APPEND_ONLY}
    everything.clock.advance(60)
    everything.worker.notes.add_addendum(everything.note.id, reason="more", text="Also: Nils.")
    after = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
             for t in APPEND_ONLY}
    assert after == before | {"addenda": before["addenda"] + 1,
                              "audit_log": before["audit_log"] + 1}
    assert bytes(_row(everything.vault, everything.note.id)["sealed"]) == everything.blob
