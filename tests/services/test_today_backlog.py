"""A backlog of notes waiting for co-signature is said in one line past the first few: Today
opens only the longest-waiting, however many there are (real SQLite, the services)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from fieldapp.domain.radar import RadarKind
from fieldapp.services import today as today_module
from fieldapp.services.today import today_summary
from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.records_helpers import SUPERVISOR, WORKER, open_case, services, visit_details


def test_only_the_longest_waiting_are_listed_and_the_rest_are_counted(
        vault: Vault, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    case = open_case(vault, clock)
    start = clock()
    for n in range(5):  # signed 20, 19, … 16 days ago, never co-signed
        clock.now = start - timedelta(days=20 - n)
        notes = services(vault, clock, WORKER).notes
        day = clock().astimezone(UTC).date() - timedelta(days=1)
        notes.sign(notes.start_draft(case.id, visit_details(visit_date=day)).id)
    clock.now = start
    recent = services(vault, clock, WORKER).notes
    recent.sign(recent.start_draft(case.id, visit_details()).id)  # within the deadline
    monkeypatch.setattr(today_module, "RADAR_NOTES", 2)

    for actor in (WORKER, SUPERVISOR):
        radar = today_summary(services(vault, clock, actor).ws).radar
        late = [i for i in radar if i.kind is RadarKind.COSIGNATURE_OVERDUE]
        listed = [i for i in late if i.note_id]
        assert [i.due for i in listed] == [date(2026, 11, 9), date(2026, 11, 10)], actor
        (more,) = [i for i in late if not i.note_id]
        assert more.sentence.startswith("And 3 more signed notes have waited longer than 5 days")
        assert more is radar[-1]
