"""A drug screen summary tells a court how each random schedule in its period was drawn: once
the period is over, the seed and the days, which anyone can draw again with a SHA-256 tool;
before, only the days already past (real SQLite, the export read back)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fieldapp.domain.exports import ExportFormat, ReportKind, ScopeKind
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.export_helpers import Team, ask, make_team, read_csv, run_export
from tests.services.records_helpers import SUPERVISOR, services

FIRST, LAST = date(2026, 12, 1), date(2026, 12, 28)


@pytest.fixture
def drawn(vault: Vault, clock: FakeClock) -> tuple[Team, str]:
    team = make_team(vault, clock)
    schedule = services(vault, clock, SUPERVISOR).screens.draw_schedule(
        team.alder.id, first_day=FIRST, last_day=LAST)
    return team, schedule.fingerprint


def summary(team: Team, folder: Path) -> dict[str, str]:
    request = ask(ReportKind.SCREENS, ExportFormat.CSV, ScopeKind.CASES, cases=(team.alder,),
                  first=date(2026, 11, 1), last=date(2027, 1, 31))
    return read_csv(run_export(team.ws(), request, folder)).head


def test_after_the_period_the_seed_and_days_let_anyone_draw_them_again(
        drawn: tuple[Team, str], tmp_path: Path) -> None:
    team, fingerprint = drawn
    team.at(datetime(2027, 1, 5, 15, 0, tzinfo=UTC))
    statement = summary(team, tmp_path)["Random schedule: Alder"]
    assert f"fingerprint {fingerprint}" in statement
    assert "drawn on 2026-11-24 by Pat Morgan (sup-1) before the period began" in statement
    seed = re.search(r"Seed (\w+) ", statement)
    case = re.search(r"case id ([\w-]+);", statement)
    days = re.search(r"days: ([\d, -]+)\.", statement)
    assert seed and case and days and "the same days" in statement
    assert hashlib.sha256(seed[1].encode()).hexdigest()[:12] == fingerprint
    # Drawn again from the statement alone, as a court's expert would.
    period = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
    ranked = sorted(period, key=lambda d: hashlib.sha256(
        f"fieldapp/schedule/v2|{seed[1]}|{case[1]}|{d.isoformat()}".encode()).hexdigest())
    assert days[1].split(", ") == sorted(d.isoformat() for d in ranked[:len(
        days[1].split(", "))])


def test_during_the_period_the_seed_stays_sealed(drawn: tuple[Team, str], tmp_path: Path
                                                 ) -> None:
    team, fingerprint = drawn
    team.at(datetime(2026, 12, 15, 15, 0, tzinfo=UTC))
    statement = summary(team, tmp_path)["Random schedule: Alder"]
    assert "The seed stays sealed until the period ends" in statement
    assert f"fingerprint {fingerprint}" in statement
    (stored,) = services(team.vault, team.clock, SUPERVISOR).screens.schedules(team.alder.id)
    assert stored.seed not in statement
    past = [d.isoformat() for d in stored.days if d < date(2026, 12, 15)]
    assert f"days so far: {', '.join(past) or 'none'}" in statement
    assert all(d.isoformat() not in statement for d in stored.days if d >= date(2026, 12, 15))
