"""Co-supervision after sync: a laptop re-derives a signed note's status from the reviews and
addenda it pulls, and under co-supervision one co-signature leaves the note signed; both the
intact and the SUD supervisor's complete it, and the author's later addendum sends it back. First
on a real profile fed pulled documents, then end to end through the real server, where the
supervisors' capacities arrive with the team list.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fieldapp.crypto.identity import Identity
from fieldapp.domain.cases import Case
from fieldapp.domain.people import NoteId, UserId
from fieldapp.domain.visits import NoteStatus, SupervisorCapacity
from fieldapp.services.notes import NoteService
from fieldapp.services.session import Session
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.storage.vault import Vault
from sync import protocol as wire
from sync.client.pins import Pins
from sync.client.replica import KeyRing, Replica
from sync.client.sealing import seal_for_wire
from sync.server.store import ServerStore
from tests.conftest import FakeClock
from tests.services.records_helpers import (
    SUPERVISOR,
    WORKER,
    open_case,
    services,
    services_of,
    visit_details,
)
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_end_to_end import family

CASE_KEY = bytes(range(32))


def co_supervise(vault: Vault) -> None:
    db, _ = vault.open_parts()
    with db.atomic():
        save_settings(db, replace(load_settings(db), cosupervision_required=True),
                      now="2026-11-24T09:30:00+00:00")


class Pulled:
    """Documents as the server would send them, sealed under the case's key and signed by
    their authors, whose keys this laptop has pinned."""

    def __init__(self, vault: Vault, case_id: str) -> None:
        self.vault, self.case_id, self.seq = vault, case_id, 0
        self.people: dict[str, Identity] = {}

    def apply(self, table: str, plain: dict[str, Any], body: dict[str, Any]) -> None:
        record_id, op_id = str(uuid.uuid4()), uuid.uuid4().hex
        self.seq += 1
        author = str(plain.get("reviewer") or plain.get("author"))
        doc = wire.Doc(table=table, record_id=record_id, scope=self.case_id, rev=1, seq=self.seq,
                       op_id=op_id, author=author, deleted=False, plain=plain, key_version=1,
                       sealed=seal_for_wire(CASE_KEY, scope=self.case_id, version=1,
                                            table=table, record_id=record_id, op_id=op_id,
                                            content=body))
        doc = doc.model_copy(update={"signature": self._person(author).sign(
            wire.doc_statement(doc))})
        db, key = self.vault.open_parts()
        replica = Replica(db, key, user_id=str(WORKER.user_id), now="2026-11-24T10:00:00+00:00")
        keys = KeyRing({(self.case_id, 1): CASE_KEY})
        assert replica.apply_page(wire.Page(docs=[doc], next=self.seq, more=False), keys) == 1

    def _person(self, user_id: str) -> Identity:
        if user_id not in self.people:
            self.people[user_id] = Identity.generate()
            db, _ = self.vault.open_parts()
            Pins(db, now="2026-11-24T10:00:00+00:00").observe(
                user_id, self.people[user_id].public_key, self.people[user_id].signing_key)
        return self.people[user_id]

    def review(self, note_id: str, who: str, at: str, capacity: str | None, *,
               cosigned: bool = True) -> None:
        body: dict[str, Any] = {"comment": "" if cosigned else "Who else was there?"}
        if capacity is not None:
            body["capacity"] = capacity
        self.apply("note_reviews", {"note_id": note_id, "reviewer": who, "reviewed_at": at,
                                    "cosigned": int(cosigned)}, body)

    def addendum(self, note_id: str, at: str) -> None:
        self.apply("addenda", {"note_id": note_id, "author": str(WORKER.user_id),
                               "created_at": at}, {"reason": "detail", "text": "The aunt too."})


def test_a_pulled_co_signature_completes_a_note_only_with_both_capacities(
        vault: Vault, clock: FakeClock) -> None:
    co_supervise(vault)
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER).notes
    note_id = worker.sign(worker.start_draft(case.id, visit_details()).id).id
    pulled = Pulled(vault, case.id)

    def status() -> NoteStatus:
        return worker.get(note_id).status

    pulled.review(note_id, "sup-1", "2026-11-24T11:00:00+00:00", "intact")
    assert status() is NoteStatus.SIGNED, "one co-signature of two"
    pulled.review(note_id, "sup-old", "2026-11-24T11:30:00+00:00", None)
    assert status() is NoteStatus.SIGNED, "a co-signature that names no capacity counts for none"
    pulled.review(note_id, "sup-sud", "2026-11-24T12:00:00+00:00", "SUD")
    assert status() is NoteStatus.COSIGNED
    assert [r.capacity for r in worker.get(note_id).reviews] == [
        SupervisorCapacity.INTACT, None, SupervisorCapacity.SUD]

    pulled.addendum(note_id, "2026-11-24T13:00:00+00:00")
    assert status() is NoteStatus.SIGNED, "the author's change restarts co-signing"
    pulled.review(note_id, "sup-sud", "2026-11-24T14:00:00+00:00", "SUD")
    assert status() is NoteStatus.SIGNED, "the intact co-signature came before the change"
    pulled.review(note_id, "sup-1", "2026-11-24T15:00:00+00:00", "intact")
    assert status() is NoteStatus.COSIGNED


def test_without_co_supervision_one_pulled_co_signature_completes_the_note(
        vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    worker = services(vault, clock, WORKER).notes
    note_id = worker.sign(worker.start_draft(case.id, visit_details()).id).id
    Pulled(vault, case.id).review(note_id, str(SUPERVISOR.user_id),
                                  "2026-11-24T11:00:00+00:00", None)
    assert worker.get(note_id).status is NoteStatus.COSIGNED


def co_supervised(sync_server: SyncServer) -> tuple[Session, Session, Session, Case]:
    """A program that requires both co-signatures: the intact supervisor's, the worker's and
    the SUD supervisor's laptops, synced, with one case."""
    store = ServerStore(sync_server.data_dir)
    try:
        store.init_program("Riverbend Family Recovery", {**store.program(),
                                                         "cosupervision_required": True})
        store.set_supervises("sup1", "intact")
        store.add_user("sup1s", "Sid Treatment", "supervisor", "t1",
                       now=datetime.now(UTC).isoformat(), supervises="SUD")
    finally:
        store.close()
    intact = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    case = services_of(intact).cases.open_case(replace(family(), supervisor_ids=(
        UserId("sup1"), UserId("sup1s"))))
    assert sync(intact).verified
    sud = sync_server.device("sud-laptop", "sup1s")
    assert sync(worker).verified and sync(sud).verified
    return intact, worker, sud, case


def test_end_to_end_the_intact_and_the_sud_supervisor_co_sign(sync_server: SyncServer) -> None:
    intact, worker, sud, case = co_supervised(sync_server)
    assert intact.workspace().settings.cosupervision_required

    note = services_of(worker).notes.sign(
        services_of(worker).notes.start_draft(case.id, visit_details()).id)
    sync(worker)
    sync(intact)
    assert services_of(intact).notes.cosign(note.id).status is NoteStatus.SIGNED
    sync(intact)
    sync(worker)
    assert status(services_of(worker).notes, note.id) is NoteStatus.SIGNED

    sync(sud)
    assert services_of(sud).notes.cosign(note.id).status is NoteStatus.COSIGNED
    sync(sud)
    sync(worker)
    sync(intact)
    assert status(services_of(worker).notes, note.id) \
        is status(services_of(intact).notes, note.id) is NoteStatus.COSIGNED


def status(notes: NoteService, note_id: NoteId) -> NoteStatus:
    return notes.get(note_id).status


def test_both_supervisors_co_signing_offline_end_with_a_co_signed_note_everywhere(
        sync_server: SyncServer) -> None:
    intact, worker, sud, case = co_supervised(sync_server)
    note = services_of(worker).notes.sign(
        services_of(worker).notes.start_draft(case.id, visit_details()).id)
    sync(worker)
    sync(intact)
    sync(sud)
    # Both co-sign while offline: each laptop sees only its own co-signature.
    assert services_of(intact).notes.cosign(note.id).status is NoteStatus.SIGNED
    assert services_of(sud).notes.cosign(note.id).status is NoteStatus.SIGNED
    for session in (intact, sud, intact, worker):
        assert sync(session).verified
    assert {status(services_of(s).notes, note.id)
            for s in (intact, sud, worker)} == {NoteStatus.COSIGNED}
