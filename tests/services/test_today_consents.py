"""Consents about to expire reach the Today radar of everyone on the case, and only those in
force: the registry (real SQLite) feeding the compliance radar."""

from __future__ import annotations

from datetime import date, timedelta

from fieldapp.domain.consent import EndKind
from fieldapp.domain.radar import RadarKind, Severity
from fieldapp.services.consents import ConsentService
from fieldapp.services.today import today_summary
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.domain.consent_helpers import make_consent
from tests.services.records_helpers import OTHER_WORKER, SUPERVISOR, WORKER, open_case, services

TODAY = date(2026, 11, 24)  # the FakeClock's day in Chicago


def test_a_consent_ending_within_the_warning_period_is_on_the_radar(
        vault: Vault, clock: FakeClock) -> None:
    case = open_case(vault, clock)
    other = open_case(vault, clock, family_name="Brennan", coordinator=OTHER_WORKER)
    registry = ConsentService(services(vault, clock, WORKER).ws)
    soon = registry.record(make_consent(case_id=case.id, expires_on=TODAY + timedelta(days=30)))
    registry.record(make_consent(case_id=case.id, expires_on=TODAY + timedelta(days=31)))
    revoked = registry.record(make_consent(case_id=case.id, expires_on=TODAY + timedelta(days=3)))
    registry.end(revoked.id, kind=EndKind.REVOKED, on=TODAY, how="signed note")
    ConsentService(services(vault, clock, OTHER_WORKER).ws).record(
        make_consent(case_id=other.id, patient="Brennan parent", signed_by="Brennan parent",
                     expires_on=TODAY + timedelta(days=5)))

    for actor, expected in ((WORKER, {case.id}), (SUPERVISOR, {case.id, other.id})):
        radar = today_summary(services(vault, clock, actor).ws).radar
        items = [i for i in radar if i.kind is RadarKind.CONSENT_EXPIRING]
        assert {i.case_id for i in items} == expected, actor
        mine = [i for i in items if i.case_id == case.id]
        assert [(i.due, i.severity) for i in mine] == [(soon.expires_on, Severity.DUE_SOON)]
        assert "Alder parent" in mine[0].sentence
