"""A drug screen summary tells a court how each random schedule in its period was drawn: once
the period is over, the seed and the days, which anyone can draw again with a SHA-256 tool;
before, only the days already past (real SQLite, the export read back)."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fieldapp.domain import schedule
from fieldapp.domain.exports import ExportFormat, ReportKind, ScopeKind
from fieldapp.domain.people import CaseId
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.export_helpers import Team, ask, make_team, read_csv, run_export
from tests.services.records_helpers import SUPERVISOR, services

FIRST, LAST = date(2026, 12, 1), date(2026, 12, 28)
MID = date(2026, 12, 15)  # "today" in the test of a period not yet over


def seed_drawing_the_last_day(case_id: CaseId, per_month: int) -> str:
    """The first of a fixed run of seeds whose draw has a day before `MID` and the period's
    last day, `LAST`: a day to come that the statement also names as the period's end. With
    a fresh seed it was drawn about one time in 14, and the sealed test failed only then."""
    for n in itertools.count():
        seed = f"{n:032x}"
        days = schedule.draw_days(case_id=case_id, first_day=FIRST, last_day=LAST,
                                  per_month=per_month, seed=seed)
        if days[0] < MID and days[-1] == LAST:
            return seed
    raise AssertionError("unreachable")


@pytest.fixture
def drawn(vault: Vault, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[Team, str]:
    team = make_team(vault, clock)
    seed = seed_drawing_the_last_day(team.alder.id,
                                     team.ws().settings.random_screens_per_month)
    monkeypatch.setattr(schedule, "new_seed", lambda: seed)
    made = services(vault, clock, SUPERVISOR).screens.draw_schedule(
        team.alder.id, first_day=FIRST, last_day=LAST)
    return team, made.fingerprint


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
    assert "drawn on 2026-11-24 by Pat Morgan before the period began" in statement
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
    assert stored.days[-1] == LAST  # the seed is fixed so a day to come is the period's end
    past = [d.isoformat() for d in stored.days if d < MID]
    assert past and f"days so far: {', '.join(past) or 'none'}" in statement
    # The period's bounds are public; outside them no day to come may appear, and the only
    # dates are the day of the draw and the days so far.
    period = f"for {FIRST.isoformat()} to {LAST.isoformat()} ("
    assert statement.count(period) == 1
    rest = statement.replace(period, "")
    assert all(d.isoformat() not in rest for d in stored.days if d >= MID)
    assert re.findall(r"\d{4}-\d{2}-\d{2}", rest) == ["2026-11-24", *past]
