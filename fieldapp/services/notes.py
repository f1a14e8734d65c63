"""Writing, signing and reviewing visit notes.

Each method is one transaction: the note, its addendum or review, and the audit entry commit
together. No method here can change a signed note's content; the storage triggers refuse it too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from fieldapp.domain import visits
from fieldapp.domain.audit import Action
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import CaseId, NoteId, Role, UserId, new_id
from fieldapp.domain.visits import (
    Addendum,
    NoteStatus,
    SupervisorCapacity,
    VisitDetails,
    VisitNote,
)
from fieldapp.services.directory import directory
from fieldapp.services.workspace import Stores, Workspace
from fieldapp.storage import codec


class NoteService:
    """Thread rule: the database worker."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def start_draft(self, case_id: CaseId, details: VisitDetails) -> VisitNote:
        """A new draft for a case on the worker's caseload, whatever `details` hold (what
        stops it from being signed is checked on signing)."""
        if not self._ws.actor.is_worker:
            raise NotPermitted("Visit notes are written by recovery coordinators and intact "
                               "workers.")
        with self._ws.unit() as stores:
            self._ws.require_case(stores.cases.get(case_id))
            note = VisitNote(id=NoteId(new_id()), case_id=case_id,
                             author=self._ws.actor.user_id, details=details, revision=1)
            stores.notes.add_draft(note)
        return note

    def save_draft(self, note_id: NoteId, details: VisitDetails, *, expected_revision: int
                   ) -> VisitNote:
        """Autosave: replace a draft's content, whatever it holds, if nobody saved since
        `expected_revision`."""
        with self._ws.unit() as stores:
            note = self._mine(stores, note_id)
            edited = visits.edit_draft(note, details, editor=self._ws.actor)
            # The revision the editor started from: a save from a stale copy is refused.
            revision = stores.notes.replace_draft(_with_revision(edited, expected_revision))
        return _with_revision(edited, revision)

    def delete_draft(self, note_id: NoteId) -> None:
        with self._ws.unit() as stores:
            note = self._mine(stores, note_id)
            if note.locked:
                raise RuleViolation("A signed note is kept for good; add an addendum instead.")
            stores.notes.delete_draft(note_id)
            self._ws.audit(stores, Action.DELETE_DRAFT, note_id, case=note.case_id)

    def sign(self, note_id: NoteId) -> VisitNote:
        with self._ws.unit() as stores:
            note = self._mine(stores, note_id)
            signed = visits.sign(note, signer=self._ws.actor, at=self._ws.now(),
                                 settings=self._ws.settings)
            stores.notes.mark_signed(signed)
            self._ws.audit(stores, Action.SIGN, note_id, case=note.case_id,
                           late_entry=signed.late_entry)
        return signed

    def add_addendum(self, note_id: NoteId, *, reason: str, text: str) -> VisitNote:
        with self._ws.unit() as stores:
            note = self._on_caseload(stores, note_id)
            addendum = Addendum(id=new_id(), note_id=note_id, author=self._ws.actor.user_id,
                                at=self._ws.now(), reason=reason, text=text)
            updated = visits.add_addendum(note, addendum)
            stores.notes.add_addendum(addendum)
            if updated.status is not note.status:
                stores.notes.set_status(note_id, updated.status)
            self._ws.audit(stores, Action.ADDENDUM, note_id, case=note.case_id,
                           addendum=addendum.id)
        return updated

    def cosign(self, note_id: NoteId) -> VisitNote:
        """Co-sign in the capacity the server gave the actor (under co-supervision the note is
        co-signed once the intact and the SUD supervisor both have)."""
        capacity = self.my_capacity()
        with self._ws.unit() as stores:
            note = self._on_caseload(stores, note_id)
            updated = visits.cosign(note, reviewer=self._ws.actor, at=self._ws.now(),
                                    settings=self._ws.settings, capacity=capacity)
            self._record_review(stores, updated)
            self._ws.audit(stores, Action.COSIGN, note_id, case=note.case_id,
                           **({"capacity": str(capacity)} if capacity else {}))
        return updated

    def my_capacity(self) -> SupervisorCapacity | None:
        """Which supervisor the actor is (intact or SUD), as the server's team list says."""
        return directory(self._ws).capacity(self._ws.actor.user_id)

    def return_note(self, note_id: NoteId, *, comment: str) -> VisitNote:
        capacity = self.my_capacity()
        with self._ws.unit() as stores:
            note = self._on_caseload(stores, note_id)
            updated = visits.return_note(note, reviewer=self._ws.actor, at=self._ws.now(),
                                         comment=comment, capacity=capacity)
            self._record_review(stores, updated)
            self._ws.audit(stores, Action.RETURN_NOTE, note_id, case=note.case_id)
        return updated

    def get(self, note_id: NoteId) -> VisitNote:
        return self._on_caseload(self._ws.stores(), note_id)

    def for_case(self, case_id: CaseId) -> list[VisitNote]:
        stores = self._ws.stores()
        self._ws.require_case(stores.cases.get(case_id))
        return stores.notes.for_case(case_id)

    def with_status(self, status: NoteStatus) -> list[VisitNote]:
        """Notes on the actor's caseload in `status`, oldest visit first (none for an admin)."""
        stores = self._ws.stores()
        return [stores.notes.get(note_id) for note_id, _, _ in self._heads(status)]

    def my_signed_notes_on(self, day: date) -> list[VisitNote]:
        """The actor's own notes of visits on `day` that are signed (not drafts), on cases on
        their caseload, by time: what a note about to be signed may overlap. The notes are
        chosen by their plain columns; only those are opened."""
        self._ws.require_clinical_access()
        stores, me = self._ws.stores(), self._ws.actor.user_id
        rows = self._ws.db.execute(
            "SELECT DISTINCT case_id FROM visit_notes WHERE author = ? AND visit_date = ? "
            "AND status != ? ORDER BY case_id", [me, codec.day(day), str(NoteStatus.DRAFT)])
        cases = [CaseId(case_id) for (case_id,) in rows.fetchall()]
        mine = [case_id for case_id in cases if stores.cases.get(case_id).assigned_to(me)]
        if not mine:
            return []
        notes, _ = stores.notes.in_period(mine, day, day, author=me)
        return sorted((n for n in notes if n.locked),
                      key=lambda n: (n.details.time_in is None, n.details.time_in, n.id))

    def waiting_since(self, before: datetime, *, author: UserId, limit: int
                      ) -> tuple[list[VisitNote], int]:
        """`author`'s signed notes waiting for co-signature since before `before`: the `limit`
        longest-waiting, opened, and how many there are in all. Chosen by their plain columns,
        so a backlog of thousands opens only `limit` of them."""
        heads = [(note_id, at) for note_id, by, at in self._heads(NoteStatus.SIGNED)
                 if by == author and at is not None and at < before]
        heads.sort(key=lambda head: head[1])
        stores = self._ws.stores()
        return [stores.notes.get(note_id) for note_id, _ in heads[:limit]], len(heads)

    def _heads(self, status: NoteStatus) -> list[tuple[NoteId, UserId, datetime | None]]:
        """(id, author, signed at) of the notes in `status` on the actor's caseload, oldest visit
        first, from plain columns alone (none for an admin)."""
        if self._ws.actor.role is Role.ADMIN:
            return []
        me = self._ws.actor.user_id
        rows = self._ws.db.execute(
            "SELECT n.id, n.author, n.signed_at FROM visit_notes n JOIN cases c "
            "ON c.id = n.case_id WHERE n.status = ? AND (c.coordinator_id = ? OR "
            "c.intact_worker_id = ? OR EXISTS (SELECT 1 FROM json_each(c.supervisor_ids) "
            "WHERE value = ?)) ORDER BY n.visit_date, n.id", [str(status), me, me, me])
        return [(NoteId(note_id), UserId(author), codec.to_moment(at))
                for note_id, author, at in rows.fetchall()]

    def _record_review(self, stores: Stores, updated: VisitNote) -> None:
        stores.notes.add_review(updated.id, updated.reviews[-1])
        stores.notes.set_status(updated.id, updated.status)

    def _on_caseload(self, stores: Stores, note_id: NoteId) -> VisitNote:
        note = stores.notes.get(note_id)
        self._ws.require_case(stores.cases.get(note.case_id))
        return note

    def _mine(self, stores: Stores, note_id: NoteId) -> VisitNote:
        note = self._on_caseload(stores, note_id)
        if note.author != self._ws.actor.user_id:
            raise NotPermitted("Only the author can change, sign or delete a draft.")
        return note


def _with_revision(note: VisitNote, revision: int) -> VisitNote:
    return replace(note, revision=revision)
