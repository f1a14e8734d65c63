"""A consent revoked on one laptop stops a disclosure on another once that one syncs, and the
disclosures each laptop makes reach everyone's accounting: real server process, real profiles,
real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldapp.domain.consent import Consent, EndKind, Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import Terms
from fieldapp.domain.errors import NotPermitted
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.people import ConsentId, UserId, new_id
from fieldapp.services.consents import AccountingService, ConsentService
from fieldapp.services.exports import job
from fieldapp.services.session import Session
from tests.services.records_helpers import TODAY, services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_end_to_end import family

COURT = Recipient(name="Cook County Juvenile Court", kind=RecipientKind.COURT)


def to_court(case_id: str) -> ExportRequest:
    return ExportRequest(kind=ReportKind.VISIT_LOG, scope=ScopeKind.CASES,
                         first_day=TODAY - timedelta(days=30), last_day=TODAY,
                         fmt=ExportFormat.CSV, case_ids=(case_id,),  # type: ignore[arg-type]
                         terms=Terms(recipient=COURT, purpose="permanency hearing"))


def export(session: Session, case_id: str, target: Path) -> job.Exported:
    return job.export(session.workspace(), to_court(case_id), target, pdf=None)


def test_a_revocation_on_one_laptop_stops_an_export_on_another(
        sync_server: SyncServer, tmp_path: Path) -> None:
    supervisor = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    case = services_of(supervisor).cases.open_case(family())
    sync(supervisor)
    sync(worker)

    # At the family's home, offline: the parent signs a consent for the court; a visit.
    consent = ConsentService(worker.workspace()).record(Consent(
        id=ConsentId(new_id()), case_id=case.id, patient="Alder parent",
        disclosing_party="Riverbend Family Recovery Program",
        information=(Information.VISIT_NOTES,), description="Visit notes of the last month",
        recipients=(COURT,), purpose="permanency hearing", expires_on=TODAY + timedelta(days=60),
        signed_by="Alder parent", signed_on=TODAY, recorded_by=UserId("x"),
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC)))
    note = services_of(worker).notes.start_draft(case.id, visit_details())
    services_of(worker).notes.sign(note.id)
    assert sync(worker).verified

    # The supervisor's laptop gets the consent and discloses under it.
    assert sync(supervisor).verified
    (seen,) = ConsentService(supervisor.workspace()).for_case(case.id)
    assert seen.consent == consent and str(seen.state) == "in force"
    first = export(supervisor, case.id, tmp_path / "first.csv")
    assert first.records == 1

    # The parent revokes in writing; the worker records it and syncs.
    ConsentService(worker.workspace()).end(consent.id, kind=EndKind.REVOKED, on=TODAY,
                                           how="signed note handed to the coordinator")
    assert sync(worker).verified
    # Until the supervisor's laptop syncs it cannot know; once it has, nothing goes out.
    assert sync(supervisor).verified
    (seen,) = ConsentService(supervisor.workspace()).for_case(case.id)
    assert str(seen.state) == "revoked"
    with pytest.raises(NotPermitted, match="No consent in force lets Alder parent"):
        export(supervisor, case.id, tmp_path / "second.csv")
    assert not (tmp_path / "second.csv").exists()

    # The disclosure the supervisor made is in the family's accounting on the worker's laptop.
    assert sync(worker).verified
    (made,) = AccountingService(worker.workspace()).for_case(case.id)
    assert (made.by, made.recipient, made.sha256) == ("sup1", COURT, first.sha256)
    assert made.basis.consents == {"Alder parent": consent.id}
