"""The demo's compliance records: consents in every state, a real disclosure under one, and
drug screens a court would look at twice (measured dilute though judged valid; an unconfirmed
instant positive; a call-in missed). All invented, like the rest of the demo."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fieldapp.domain.cases import Case
from fieldapp.domain.clock import Clock
from fieldapp.domain.consent import Consent, EndKind, Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import Terms
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.people import Actor, ConsentId, Role, ScreenId, UserId, new_id
from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    Method,
    ScreenReason,
    SubstanceResult,
)
from fieldapp.domain.settings import DEFAULT_PANEL
from fieldapp.domain.validity import ValidityReadings
from fieldapp.services.consents import ConsentService
from fieldapp.services.exports import job
from fieldapp.services.screens import ScreenService
from fieldapp.services.workspace import Workspace
from fieldapp.storage.vault import Vault

COURT = Recipient(name="Millbrook County Circuit Court, Juvenile Division",
                  kind=RecipientKind.COURT)
TREATMENT = Recipient(name="Haven House Recovery Center", kind=RecipientKind.TREATMENT_PROVIDER)
DCFS = Recipient(name="Department of Children and Family Services",
                 kind=RecipientKind.CHILD_WELFARE)
COURT_PURPOSE = "Progress reports for the permanency hearing"


def fill_compliance(vault: Vault, *, clock: Clock, worker: UserId, cases: list[Case],
                    program: str) -> None:
    """Consents for the first three families, a disclosure to the court six days ago, and
    three screens worth a second look."""
    ws = _as(vault, worker, clock)
    today = ws.today()
    registry = ConsentService(ws)
    alder, brennan, castillo = cases[:3]
    registry.record(_consent(alder, program, recipients=(COURT,), purpose=COURT_PURPOSE,
                             information=(Information.DRUG_SCREENS, Information.ATTENDANCE),
                             description="Drug screen results and attendance at visits "
                                         "from the start of the case",
                             signed=today - timedelta(days=45),
                             expires=today + timedelta(days=200),
                             event="the court closes the child-welfare case"))
    registry.record(_consent(brennan, program, recipients=(TREATMENT,),
                             purpose="Coordination of outpatient treatment",
                             information=(Information.VISIT_NOTES,),
                             description="Visit notes about recovery goals and relapse "
                                         "prevention",
                             signed=today - timedelta(days=160),
                             expires=today + timedelta(days=18)))
    revoked = registry.record(_consent(castillo, program, recipients=(DCFS,),
                                       purpose="Case planning", information=(
                                           Information.ATTENDANCE,),
                                       description="Attendance at visits and meetings",
                                       signed=today - timedelta(days=90),
                                       expires=today + timedelta(days=275)))
    registry.end(revoked.id, kind=EndKind.REVOKED, on=today - timedelta(days=10),
                 how="Signed note handed to the coordinator at a home visit")
    _screens(ws, alder, brennan, castillo)
    _disclose_to_court(vault, clock, worker, alder, days_ago=6)


def _as(vault: Vault, user: UserId, clock: Clock, *, days_ago: int = 0) -> Workspace:
    moment = clock() - timedelta(days=days_ago)
    return Workspace(vault, actor=Actor(user_id=user, role=Role.RECOVERY_COORDINATOR),
                     clock=lambda: moment)


def _consent(case: Case, program: str, *, recipients: tuple[Recipient, ...], purpose: str,
             information: tuple[Information, ...], description: str, signed: date,
             expires: date, event: str = "") -> Consent:
    parent = case.parents[0].name
    return Consent(id=ConsentId(new_id()), case_id=case.id, patient=parent,
                   disclosing_party=program, information=information, description=description,
                   recipients=recipients, purpose=purpose, expires_on=expires,
                   expiry_event=event, signed_by=parent, signed_on=signed,
                   recorded_by=UserId(""), recorded_at=datetime.min)


def _screens(ws: Workspace, alder: Case, brennan: Case, castillo: Case) -> None:
    service, now = ScreenService(ws), ws.now()
    told = now - timedelta(days=3, hours=6)

    def random_call(case: Case, **fields: object) -> DrugScreen:
        base = DrugScreen(id=ScreenId(new_id()), case_id=case.id, person=case.parents[0].name,
                          collected_at=told + timedelta(hours=9), reason=ScreenReason.RANDOM,
                          observed=True, panel=DEFAULT_PANEL,
                          results={s: SubstanceResult.NEGATIVE for s in DEFAULT_PANEL},
                          notified_at=told, due_by=told + timedelta(hours=8),
                          recorded_by=ws.actor.user_id)
        return replace(base, **fields)  # type: ignore[arg-type]

    # Collected an hour after its due-by time, judged valid, measured dilute; an instant THC
    # positive the lab has not confirmed: "unconfirmed, not for court".
    service.record(random_call(
        alder, results={s: SubstanceResult.POSITIVE if s == "marijuana (THC)"
                        else SubstanceResult.NEGATIVE for s in DEFAULT_PANEL},
        readings=ValidityReadings(creatinine=Decimal("12.5"), specific_gravity=Decimal("1.0020"),
                                  ph=Decimal("6.0"), oxidant=False),
        comments="Specimen looked pale; the parent said they drank a lot of water."))
    # On time, every reading normal.
    service.record(random_call(
        brennan, collected_at=told + timedelta(hours=2),
        readings=ValidityReadings(creatinine=Decimal("85"), specific_gravity=Decimal("1.0150"),
                                  ph=Decimal("6.5"), oxidant=False)))
    # Called in and never came.
    service.record(random_call(castillo, attendance=Attendance.NO_SHOW, results={},
                               panel=(), method=Method.INSTANT,
                               collected_at=told + timedelta(hours=8)))


def _disclose_to_court(vault: Vault, clock: Clock, worker: UserId, case: Case, *,
                       days_ago: int) -> None:
    """A real export (CSV, under the parent's consent) made and handed over `days_ago` days
    ago; the file itself is not kept on the demo laptop."""
    ws = _as(vault, worker, clock, days_ago=days_ago)
    today = ws.today()
    request = ExportRequest(kind=ReportKind.SCREENS, scope=ScopeKind.CASES,
                            first_day=today - timedelta(days=90), last_day=today,
                            fmt=ExportFormat.CSV, case_ids=(case.id,),
                            terms=Terms(recipient=COURT, purpose=COURT_PURPOSE))
    with tempfile.TemporaryDirectory() as folder:
        job.export(ws, request, Path(folder) / request.file_name(), pdf=None)
