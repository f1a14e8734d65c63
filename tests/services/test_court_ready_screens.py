"""Measured validity, call-in times and court status where screens are listed and exported."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from fieldapp.domain.exports import ExportFormat, ReportKind
from fieldapp.domain.people import CaseId
from fieldapp.domain.screens import Attendance, DrugScreen, SubstanceResult, Validity
from fieldapp.domain.validity import ValidityReadings
from fieldapp.services.timeline import case_timeline, screen_status
from tests.services.export_helpers import (
    NEGATIVE_ALL,
    Team,
    ask,
    pdf_pages,
    read_csv,
    run_export,
)
from tests.services.records_helpers import WORKER, drug_screen

SCREENS = ReportKind.SCREENS
THC_POSITIVE = {**NEGATIVE_ALL, "marijuana (THC)": SubstanceResult.POSITIVE}
WATERY = ValidityReadings(creatinine=Decimal("12.5"), specific_gravity=Decimal("1.0020"),
                          ph=Decimal("6.0"))
# 20 October in Chicago: told at 08:00, due by 12:00, collected at 13:30.
TOLD = datetime(2026, 10, 20, 13, 0, tzinfo=UTC)
DUE = datetime(2026, 10, 20, 17, 0, tzinfo=UTC)
COLLECTED = datetime(2026, 10, 20, 18, 30, tzinfo=UTC)


def late_dilute_positive(team: Team) -> DrugScreen:
    """A random call-in, collected late: instant THC positive, judged valid, measured dilute."""
    team.at(datetime(2026, 11, 3, 15, 0, tzinfo=UTC))
    recorded = team.as_(WORKER).screens.record(drug_screen(
        team.alder.id, collected_at=COLLECTED, notified_at=TOLD, due_by=DUE, lab=None,
        results=THC_POSITIVE, readings=WATERY, comments=""))
    team.at(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
    return recorded


@pytest.mark.parametrize(("overrides", "status"), [
    ({"results": THC_POSITIVE, "lab": None}, "valid, unconfirmed, not for court"),
    ({"results": THC_POSITIVE, "lab": None, "readings": WATERY},
     "valid, measured dilute (disagree), unconfirmed, not for court"),
    ({"results": NEGATIVE_ALL, "lab": None, "readings": WATERY, "validity": Validity.DILUTE},
     "dilute (measured)"),
    ({"results": NEGATIVE_ALL, "lab": None, "readings": ValidityReadings(ph=Decimal(7))},
     "valid, measured: too few readings"),
    ({"results": {}, "lab": None, "attendance": Attendance.NO_SHOW, "due_by": DUE,
      "notified_at": TOLD}, "no-show"),
    ({"results": NEGATIVE_ALL, "lab": None, "notified_at": TOLD, "due_by": DUE},
     "valid, late for the call-in"),
], ids=["instant positive", "measured dilute", "agreed", "too few", "no-show", "late"])
def test_the_timeline_status_of_a_screen(overrides: dict[str, object], status: str) -> None:
    screen = drug_screen(CaseId("case-1"), collected_at=COLLECTED, **overrides)
    assert screen_status(screen) == status


def test_the_case_timeline_shows_it(team: Team) -> None:
    late_dilute_positive(team)
    (entry,) = [e for e in case_timeline(team.ws(WORKER), team.alder.id).entries
                if e.kind.startswith("Drug screen")]
    assert entry.summary == "positive: marijuana (THC)"
    assert entry.status == ("valid, measured dilute (disagree), unconfirmed, not for court, "
                            "late for the call-in")


def test_the_csv_carries_readings_call_in_and_court_status(team: Team, tmp_path: Path) -> None:
    late_dilute_positive(team)
    (row,) = read_csv(run_export(team.ws(), ask(SCREENS, ExportFormat.CSV), tmp_path)).rows
    assert (row["Told to come at (YYYY-MM-DD HH:MM)"], row["Due by (YYYY-MM-DD HH:MM)"],
            row["Collected (YYYY-MM-DD HH:MM)"],
            row["Late for the call-in"]) == ("2026-10-20 08:00", "2026-10-20 12:00",
                                             "2026-10-20 13:30", "yes")
    assert (row["Validity"], row["Measured validity"]) == ("valid", "dilute (disagrees)")
    assert row["Validity readings"] == "creatinine 12.5 mg/dL, specific gravity 1.0020, pH 6.0"
    assert row["Measured because"] == ("creatinine 12.5 mg/dL and specific gravity 1.0020: "
                                       "dilute (49 CFR 40.88(a))")
    assert row["Court status"] == "unconfirmed, not for court"


def test_the_pdf_says_it_in_sentences(team: Team, tmp_path: Path, qapp: QApplication) -> None:
    late_dilute_positive(team)
    text = " ".join(pdf_pages(run_export(team.ws(), ask(SCREENS, ExportFormat.PDF),
                                         tmp_path)))
    assert "valid; measured dilute (disagrees)" in text
    assert "marijuana (THC) none: instant result, unconfirmed, not for court" in text
    note = ("20 Oct 2026, 13:30: Call-in: told to come at 20 Oct 2026, 08:00, due by 20 Oct "
            "2026, 12:00; collected after that time. Validity readings: creatinine 12.5 mg/dL, "
            "specific gravity 1.0020, pH 6.0. Measured: creatinine 12.5 mg/dL and specific "
            "gravity 1.0020: dilute (49 CFR 40.88(a)). The collector judged it valid.")
    assert "".join(note.split()) in "".join(text.split())  # where a line wraps is Qt's choice
