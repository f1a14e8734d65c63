"""Consents, revocations and disclosures between real devices through a real server: a
revocation made on one laptop stops a disclosure on another once that one syncs."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fieldapp.domain.consent import ConsentState, EndKind, Information
from fieldapp.domain.disclosure import Basis, Purpose, basis_for
from fieldapp.domain.errors import NotPermitted
from fieldapp.domain.people import CaseId
from fieldapp.services.consents import AccountingService, ConsentService, record_disclosures
from fieldapp.services.session import Session
from sync.client.engine import replica_of
from tests.domain.consent_helpers import COURT, PURPOSE, make_consent, make_disclosure
from tests.scanning import found_in
from tests.services.records_helpers import TODAY, services_of
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_end_to_end import family

CASE = CaseId("fam-1")
TO_COURT = Purpose(recipient=COURT, purpose=PURPOSE)


def program(sync_server: SyncServer, *names: tuple[str, str]) -> list[Session]:
    """The supervisor's laptop with case fam-1 (rc1, iw1) set up, and the other laptops synced
    (the supervisor syncs again so each member gets the case key)."""
    supervisor = sync_server.device("sup", "sup1")
    others = [sync_server.device(name, user) for name, user in names]
    services_of(supervisor).cases.open_case(family(CASE))
    sync(supervisor)
    for laptop in others:
        sync(laptop)
    return [supervisor, *others]


def consents(session: Session) -> ConsentService:
    return ConsentService(session.workspace())


def court_basis(session: Session) -> dict[str, str]:
    found, ends = consents(session).consents_and_ends([CASE])
    return dict(basis_for(families={CASE: ["Alder parent"]}, purpose=TO_COURT,
                          information=Information.VISIT_NOTES, consents=found, ends=ends,
                          today=TODAY)[CASE])


def test_a_consent_travels_and_its_revocation_blocks_disclosure_after_sync(
        sync_server: SyncServer) -> None:
    _, coordinator, intact = program(sync_server, ("rc", "rc1"), ("iw", "iw1"))
    consent = consents(coordinator).record(make_consent(case_id=CASE))
    assert sync(coordinator).outcomes == {"applied": 1}
    sync(intact)
    [seen] = consents(intact).for_case(CASE)
    assert seen.consent == consent and seen.state is ConsentState.IN_FORCE

    end = consents(intact).end(consent.id, kind=EndKind.REVOKED, on=TODAY,
                               how="Signed note handed to the intact worker")
    assert sync(intact).outcomes == {"applied": 1}
    # Before it syncs, the coordinator's laptop still relies on the consent...
    assert court_basis(coordinator) == {"Alder parent": consent.id}
    assert sync(coordinator).verified
    # ...and after, it knows of the revocation and refuses.
    [view] = consents(coordinator).for_case(CASE)
    assert view.state is ConsentState.REVOKED and view.ends == (end,)
    with pytest.raises(NotPermitted, match="Alder parent"):
        court_basis(coordinator)
    assert sync_server.sql("SELECT tbl, author FROM records WHERE tbl LIKE 'consent%' "
                           "ORDER BY seq") == [("consents", "rc1"), ("consent_ends", "iw1")]


def test_disclosures_reach_the_supervisor_sealed_and_noted_in_the_servers_audit(
        sync_server: SyncServer) -> None:
    supervisor, coordinator = program(sync_server, ("rc", "rc1"))
    consent = consents(coordinator).record(make_consent(case_id=CASE))
    disclosure = make_disclosure(case_id=CASE, by="rc1",
                                 basis=Basis(consents={"Alder parent": consent.id}))
    ws = coordinator.workspace()
    with ws.unit() as stores:
        record_disclosures(ws, stores, [disclosure])
    assert sync(coordinator).outcomes == {"applied": 2}
    sync(supervisor)
    assert AccountingService(supervisor.workspace()).for_case(
        CASE, person="Alder parent") == [disclosure]
    [(actor, subject, details)] = sync_server.sql(
        "SELECT actor, subject, details FROM audit WHERE action = 'disclosure'")
    assert (actor, subject) == ("rc1", disclosure.id)
    assert json.loads(details)["case"] == CASE
    files = [p for p in (sync_server.tmp / "server").rglob("*") if p.is_file()]
    for secret in (COURT.name, PURPOSE, disclosure.what, consent.description):
        assert found_in(files, secret) == [], secret


def test_someone_no_longer_on_the_case_cannot_push_a_consent_and_the_laptop_forgets_it(
        sync_server: SyncServer) -> None:
    supervisor, leaving = program(sync_server, ("iw", "iw1"))
    consents(leaving).record(make_consent(case_id=CASE))
    sync(leaving)
    # The supervisor takes the intact worker off the case while they record another offline.
    services_of(supervisor).cases.update_case(replace(services_of(supervisor).cases.get(CASE),
                                                      intact_worker_id=None))
    sync(supervisor)
    late = consents(leaving).record(make_consent(case_id=CASE, purpose="Treatment plan"))
    first = sync(leaving)
    assert first.outcomes == {"rejected": 1}
    assert sync_server.sql("SELECT record_id FROM records WHERE tbl = 'consents' AND "
                           "record_id = ?", late.id) == []
    [problem] = replica_of(leaving).problems()
    assert problem["record_id"] == late.id
    replica_of(leaving).dismiss_problem(str(problem["op_id"]))
    assert sync(leaving).forgotten == [CASE]
    db, _ = leaving.vault().open_parts()
    for table in ("consents", "consent_ends", "disclosures"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0  # noqa: S608
