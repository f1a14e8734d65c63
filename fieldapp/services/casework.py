"""Cases and the caseload: who is due a visit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from fieldapp.domain.cases import Case
from fieldapp.domain.due import DueStatus, due_status
from fieldapp.domain.errors import NotPermitted
from fieldapp.domain.people import CaseId, NoteId, Role, UserId
from fieldapp.domain.visits import ContactType, NoteStatus, VisitDetails, VisitNote
from fieldapp.services.workspace import Workspace
from fieldapp.storage.case_store import to_case


@dataclass(frozen=True, kw_only=True)
class CaseloadRow:
    case: Case
    due: DueStatus


class CaseService:
    """Thread rule: the database worker."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def open_case(self, case: Case) -> Case:
        """Record a new case; supervisors and admins set cases up (later: the server)."""
        if self._ws.actor.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise NotPermitted("Only a supervisor can open a case.")
        with self._ws.unit() as stores:
            return stores.cases.add(case)

    def update_case(self, case: Case) -> Case:
        """Change a case; only a supervisor of the case as stored may (not as handed in)."""
        with self._ws.unit() as stores:
            stored = stores.cases.get(case.id)
            if self._ws.actor.role is not Role.SUPERVISOR or \
                    self._ws.actor.user_id not in stored.supervisor_ids:
                raise NotPermitted("Only the case's supervisor can change its assignments.")
            return stores.cases.replace(case)

    def get(self, case_id: CaseId) -> Case:
        case = self._ws.stores().cases.get(case_id)
        self._ws.require_case(case)
        return case

    def caseload(self) -> list[CaseloadRow]:
        """The actor's cases with their due-visit status, those behind first.

        An administrator has no caseload, even if named on a case.
        """
        if self._ws.actor.role is Role.ADMIN:
            return []
        stores = self._ws.stores()
        today = self._ws.today()
        mine = [o for o in stores.cases.all()
                if o.body is not None and self._ws.actor.user_id in _assigned(o.row)]
        rows = []
        for opened in mine:
            assert opened.body is not None
            case = to_case(opened.row, opened.body)
            rows.append(CaseloadRow(case=case, due=due_status(case, self._visits(case.id),
                                                              today=today)))
        return sorted(rows, key=lambda r: (not r.due.behind, r.due.next_due, r.case.family_name))

    def _visits(self, case_id: CaseId) -> list[VisitNote]:
        # Dates, contact types and statuses are plain columns: no decryption needed to know
        # who is due. The notes carry only those; `due_status` decides which count.
        rows = self._ws.db.execute(
            "SELECT id, author, visit_date, contact_type, status FROM visit_notes "
            "WHERE case_id = ?", [case_id])
        return [VisitNote(id=NoteId(i), case_id=case_id, author=UserId(a), status=NoteStatus(s),
                          details=VisitDetails(visit_date=date.fromisoformat(d),
                                               contact_type=ContactType(c)))
                for i, a, d, c, s in rows.fetchall()]


def _assigned(row: dict[str, object]) -> set[object]:
    return {row["coordinator_id"], row["intact_worker_id"],
            *json.loads(str(row["supervisor_ids"]))}
