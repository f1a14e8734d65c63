"""The demo shows the compliance records a newcomer should see: consents in force, about to
expire and revoked; a disclosure to a court in the accounting and the audit chain; screens a
court would question. Built on a real profile, read back through the services."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fieldapp.domain.audit import Action
from fieldapp.domain.people import Actor, Role
from fieldapp.domain.radar import RadarKind
from fieldapp.domain.screens import Attendance, Validity
from fieldapp.domain.validity import court_status, measured_validity, validity_disagrees
from fieldapp.services import demo
from fieldapp.services.consents import AccountingService, ConsentService
from fieldapp.services.session import Session
from fieldapp.services.today import today_summary
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import services_of


def test_the_demo_shows_consents_disclosures_and_questionable_screens(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    session = Session(ProfilePaths(tmp_path / "demo"), clock=clock)
    session.create(PASSPHRASE, role=Role.RECOVERY_COORDINATOR, user_id=demo.WORKER)
    demo.fill_demo(session, clock=clock)
    ws = session.workspace()
    alder, brennan, castillo = [row.case for row in services_of(session).cases.caseload()
                                if row.case.family_name in ("Alder", "Brennan", "Castillo")]
    registry = ConsentService(ws)
    states = {c.family_name: [str(v.state) for v in registry.for_case(c.id)]
              for c in (alder, brennan, castillo)}
    assert states == {"Alder": ["in force"], "Brennan": ["in force"], "Castillo": ["revoked"]}

    (disclosed,) = AccountingService(ws).for_case(alder.id)
    assert disclosed.recipient.kind.value == "court" and disclosed.basis.consents
    audit = ws.stores().audit
    assert [e.subject for e in audit.entries() if e.action == Action.DISCLOSURE] == \
        [disclosed.id]
    assert audit.first_break() is None

    radar = today_summary(ws).radar
    assert [i.case_id for i in radar if i.kind is RadarKind.CONSENT_EXPIRING] == [brennan.id]
    supervisor = Workspace(session.vault(), actor=Actor(user_id=demo.SUPERVISOR,
                                                        role=Role.SUPERVISOR), clock=clock)
    assert AccountingService(supervisor).for_case(alder.id) == [disclosed]

    screens = {c.family_name: services_of(session).screens.for_case(c.id)[-1]
               for c in (alder, brennan, castillo)}
    dilute = screens["Alder"]
    assert (dilute.validity, measured_validity(dilute)) == (Validity.VALID, Validity.DILUTE)
    assert validity_disagrees(dilute) and dilute.late_for_call_in
    assert court_status(dilute) == "unconfirmed, not for court"
    assert measured_validity(screens["Brennan"]) is Validity.VALID
    assert screens["Castillo"].attendance is Attendance.NO_SHOW
    assert court_status(screens["Castillo"]) == "no-show"
