"""Cases and the caseload: who is due a visit."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date

from fieldapp.domain.cases import Case, CaseStatus, check_referral_date
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
        """Record a new case. A supervisor (or an administrator) sets a case up; a recovery
        coordinator or an intact worker may start a family met in the field, offline: it is
        theirs alone, open, and waits for a supervisor of their team to confirm it (the
        server decides, at the next sync, that it is a referral)."""
        actor = self._ws.actor
        if actor.role in (Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER):
            case = referral(case, actor.user_id, actor.role)
        elif actor.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise NotPermitted("Only a supervisor can open a case.")
        check_referral_date(case, today=self._ws.today())
        with self._ws.unit() as stores:
            return stores.cases.add(case)

    def update_case(self, case: Case, *, confirm: bool = False) -> Case:
        """Change a case: a supervisor of the case as stored (not as handed in) may; the worker
        who referred a family may keep its details up to date until it is confirmed. A
        supervisor's change confirms a referral only with `confirm`."""
        actor = self._ws.actor
        with self._ws.unit() as stores:
            stored = stores.cases.get(case.id)
            if stored.awaiting_confirmation and stored.referred_by == actor.user_id:
                case = referral(case, actor.user_id, actor.role)
            elif actor.role is not Role.SUPERVISOR or \
                    actor.user_id not in stored.supervisor_ids:
                raise NotPermitted("Only the case's supervisor can change its assignments.")
            else:
                case = replace(case, referred_by=None if confirm else stored.referred_by)
            check_referral_date(case, today=self._ws.today())
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


def referral(case: Case, worker: UserId, role: Role) -> Case:
    """A family a worker starts: assigned to them alone, open, awaiting confirmation."""
    coordinator, intact = (worker, None) if role is Role.RECOVERY_COORDINATOR else (None, worker)
    return replace(case, coordinator_id=coordinator, intact_worker_id=intact,
                   status=CaseStatus.OPEN, referred_by=worker)


def _assigned(row: dict[str, object]) -> set[object]:
    return {row["coordinator_id"], row["intact_worker_id"],
            *json.loads(str(row["supervisor_ids"]))}
