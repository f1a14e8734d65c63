"""The mileage reimbursement report and the drug screen summary, read back from their files:
the cap arithmetic, approvals and grand total; screens, results, confirmations and counts per
case; both within the supervisor's team and the period, in the program's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from PySide6.QtWidgets import QApplication

from fieldapp.domain.exports import ExportFormat, ReportKind, ScopeKind
from fieldapp.services.exports.tables import TRIP_COLUMNS
from tests.services.export_helpers import (
    NEVER_IN_SUP1_OCTOBER,
    TEAM_SCOPE,
    CsvReport,
    Team,
    add_screens,
    add_trips,
    ask,
    assert_csv_head,
    assert_pdf_frame,
    pdf_pages,
    positions,
    read_csv,
    run_export,
)
from tests.services.records_helpers import OTHER_WORKER, SUPERVISOR, WORKER

PDF, CSV = ExportFormat.PDF, ExportFormat.CSV
MILEAGE, SCREENS = ReportKind.MILEAGE, ReportKind.SCREENS


# --- mileage ------------------------------------------------------------------------------------


def _trip_table(report: CsvReport) -> list[tuple[str, ...]]:
    return [tuple(r[c] for c in ("Row", "Worker", "Worker name", "Month (YYYY-MM)",
                                 "Trip date (YYYY-MM-DD)", "Miles", "Reimbursable miles",
                                 "Over the cap", "Amount"))
            for r in report.rows]


def test_mileage_csv_splits_the_trip_that_crosses_the_cap(team: Team, tmp_path: Path) -> None:
    add_trips(team)
    raw = run_export(team.ws(), ask(MILEAGE, CSV, first=date(2026, 9, 1)), tmp_path)
    report = read_csv(raw)
    assert_csv_head(report, raw, "Mileage reimbursement report", TEAM_SCOPE,
                    "2026-09-01 to 2026-10-31")
    assert report.columns == list(TRIP_COLUMNS)
    # The ids for machines to match on, and the names beside them.
    sam, lee = ("rc-1", "Sam Rivera"), ("rc-2", "Lee Okafor")
    # rc-1 has no trips in September and iw-1 none at all: those months are left out; so are
    # rc-1's November trip and rc-3, who is on another team.
    assert _trip_table(report) == [
        ("trip", *sam, "2026-10", "2026-10-03", "100.0", "100.0", "0.0", ""),
        ("trip", *sam, "2026-10", "2026-10-10", "60.0", "50.0", "10.0", ""),
        ("trip", *sam, "2026-10", "2026-10-17", "30.0", "0.0", "30.0", ""),
        ("month total", *sam, "2026-10", "", "190.0", "150.0", "40.0", "108.75"),
        ("trip", *lee, "2026-09", "2026-09-15", "20.0", "20.0", "0.0", ""),
        ("month total", *lee, "2026-09", "", "20.0", "20.0", "0.0", "14.50"),
        ("trip", *lee, "2026-10", "2026-10-08", "40.0", "40.0", "0.0", ""),
        ("month total", *lee, "2026-10", "", "40.0", "40.0", "0.0", "29.00"),
    ]
    total = report.rows[3]
    assert (total["Month status"], total["Approved by"], total["Approved by name"],
            total["Approved at (YYYY-MM-DD HH:MM)"], total["Rate per mile"], total["Figures"],
            total["Purpose"]) \
        == ("approved", "sup-1", "Pat Morgan", "2026-11-04 10:00", "0.725",
            "approved for payment", "3 trip(s)")
    assert all(r["Month status"] == "approved" and r["Approved by"] == "sup-1"
               for r in report.rows[:3])
    assert [(r["Month status"], r["Approved by"]) for r in report.rows[4:]] == \
        [("open", "")] * 2 + [("submitted", "")] * 2
    assert report.column("Purpose")[:3] == ["home visit", "home visit",
                                            "training at the county office"]
    assert report.rows[0]["Family"] == "Alder" and report.rows[6]["Family"] == "Brennan"
    text = raw.decode("utf-8-sig")
    assert "OUTSIDE" not in text and "SECRET" not in text and "rc-3" not in text


def test_mileage_pdf_totals_and_grand_total(team: Team, tmp_path: Path,
                                            qapp: QApplication) -> None:
    add_trips(team)
    pages = pdf_pages(run_export(team.ws(), ask(MILEAGE, PDF, first=date(2026, 9, 1)),
                                 tmp_path))
    assert_pdf_frame(pages, "Mileage reimbursement report", TEAM_SCOPE,
                     "1 Sep 2026 to 31 Oct 2026")
    text = " ".join(pages)
    summary = positions(
        text, "Summary Worker Month Status Miles Reimbursable Over the cap Amount",
        "Sam Rivera October 2026 approved 190.0 150.0 40.0 $108.75",
        "Lee Okafor September 2026 open 20.0 20.0 0.0 $14.50",
        "Lee Okafor October 2026 submitted 40.0 40.0 0.0 $29.00",
        "Approved for payment 1 month(s) 190.0 150.0 40.0 $108.75",
        "All months shown 3 month(s) 250.0 210.0 40.0 $152.25",
        "2 month(s) are not approved yet")
    assert summary == sorted(summary)
    month = positions(
        text, "Sam Rivera: October 2026 (approved; approved by Pat Morgan on "
              "4 Nov 2026, 10:00)",
        "3 Oct 2026 county office family home home visit Alder 100.0 100.0 0.0",
        "60.0 50.0 10.0", "training at the county office 30.0 0.0 30.0",
        "Total 3 trip(s) 190.0 150.0 40.0",
        "Reimbursable 150.0 miles at $0.725 a mile: $108.75",
        "Over the cap, not reimbursed: 40.0 miles.",
        "Lee Okafor: September 2026 (open)", "Lee Okafor: October 2026 (submitted)")
    assert month == sorted(month) and summary[-1] < month[0]
    for word in ("OUTSIDE", "SECRET", "rc-3", "2026-11-02"):
        assert word not in text


def test_mileage_does_not_name_a_family_the_supervisor_does_not_supervise(
        team: Team, tmp_path: Path, qapp: QApplication) -> None:
    # rc-1 drove to Castillo, sup-2's case: the trip is rc-1's and sup-1 approves it, but the
    # family's name is not sup-1's to see (the mileage page says "Not on your caseload").
    add_trips(team)
    for fmt in (CSV, PDF):
        raw = run_export(team.ws(), ask(MILEAGE, fmt), tmp_path)
        text = " ".join(pdf_pages(raw)) if fmt is PDF else raw.decode("utf-8-sig")
        assert "60.0 50.0 10.0" in text or ",60.0,50.0,10.0," in text
        assert "Castillo" not in text, fmt
    # rc-1's own report does name it: it is on rc-1's caseload.
    own = read_csv(run_export(team.ws(WORKER), ask(MILEAGE, CSV, ScopeKind.WORKER,
                                                   worker=WORKER), tmp_path))
    assert own.column("Family")[:3] == ["Alder", "Castillo", ""]


def test_mileage_approver_only_for_an_approved_month(team: Team, tmp_path: Path,
                                                     qapp: QApplication) -> None:
    add_trips(team)
    lee_months, sup = team.as_(OTHER_WORKER).mileage, team.as_(SUPERVISOR).mileage
    team.at(datetime(2026, 11, 5, 15, 0, tzinfo=UTC))
    lee_months.submit("2026-09")
    sup.return_month(OTHER_WORKER.user_id, "2026-09", reason="Receipt missing.")
    sup.return_month(OTHER_WORKER.user_id, "2026-10", reason="Wrong date.")
    team.at(datetime(2026, 11, 6, 15, 0, tzinfo=UTC))
    lee_months.submit("2026-10")    # corrected and sent again: waiting, nobody decided yet

    report = read_csv(run_export(team.ws(), ask(MILEAGE, CSV, first=date(2026, 9, 1)),
                                 tmp_path))
    totals = {r["Month (YYYY-MM)"]: r for r in report.rows
              if r["Row"] == "month total" and r["Worker"] == "rc-2"}
    assert (totals["2026-09"]["Month status"], totals["2026-09"]["Approved by"]) == \
        ("returned", "")
    assert (totals["2026-10"]["Month status"], totals["2026-10"]["Approved by"],
            totals["2026-10"]["Approved at (YYYY-MM-DD HH:MM)"]) == ("submitted", "", "")
    text = " ".join(pdf_pages(run_export(team.ws(), ask(MILEAGE, PDF, first=date(2026, 9, 1)),
                                         tmp_path)))
    assert "Lee Okafor: September 2026 (returned; returned by Pat Morgan on " \
           "5 Nov 2026, 09:00)" in text
    assert "Lee Okafor: October 2026 (submitted)" in text
    assert "submitted by" not in text


# --- drug screens -------------------------------------------------------------------------------


def test_screen_summary_csv(team: Team, tmp_path: Path) -> None:
    add_screens(team)
    raw = run_export(team.ws(), ask(SCREENS, CSV), tmp_path)
    report = read_csv(raw)
    assert_csv_head(report, raw, "Drug screen summary", TEAM_SCOPE, "2026-10-01 to 2026-10-31")
    assert report.column("Family") == ["Alder"] * 7 + ["Brennan"]
    assert report.column("Collected (YYYY-MM-DD HH:MM)") == [
        "2026-10-06 11:00", "2026-10-13 11:00", "2026-10-20 11:00", "2026-10-22 11:00",
        "2026-10-24 11:00", "2026-10-27 11:00", "2026-10-31 22:00", "2026-10-09 11:00"]
    table = [tuple(r[c] for c in ("Reason", "Attendance", "Validity", "Positive for",
                                  "Lab confirmation", "Lab date (YYYY-MM-DD)", "Chain of custody"))
             for r in report.rows]
    assert table == [
        ("random", "collected", "valid", "", "", "", ""),
        ("scheduled", "collected", "valid", "cocaine", "confirmed positive", "2026-10-16",
         "CC-1001"),
        ("random", "collected", "valid", "marijuana (THC)", "none: instant result, unconfirmed",
         "", ""),
        ("random", "no-show", "valid", "", "", "", ""),
        ("scheduled", "refused", "valid", "", "", "", ""),
        ("scheduled", "collected", "dilute", "", "", "", ""),
        ("random", "collected", "valid", "", "", "", ""),
        ("random", "collected", "valid", "", "", "", ""),
    ]
    confirmed = report.rows[1]
    assert (confirmed["Revision"], confirmed["Correction reason"], confirmed["Method"]) == \
        ("2", "lab result recorded: confirmed positive", "lab")
    assert report.rows[3]["Results"] == "" and report.rows[0]["Results"] == \
        "cocaine: negative; opiates: negative; marijuana (THC): negative"
    text = raw.decode("utf-8-sig")
    for word in NEVER_IN_SUP1_OCTOBER:
        assert word not in text


def test_screen_summary_pdf_counts_per_case(team: Team, tmp_path: Path,
                                            qapp: QApplication) -> None:
    add_screens(team)
    pages = pdf_pages(run_export(team.ws(), ask(SCREENS, PDF), tmp_path))
    assert_pdf_frame(pages, "Drug screen summary", TEAM_SCOPE, "1 Oct 2026 to 31 Oct 2026")
    text = " ".join(pages)
    found = positions(
        text, "Alder 7 screens, 4 random, 5 collected, 2 negative, 2 positive, 1 confirmed "
              "positive, 1 not valid, 1 missed, 1 refused.",
        "6 Oct 2026, 11:00 Alder parent random collected urine, instant, observed valid none",
        "13 Oct 2026, 11:00 Alder parent scheduled collected urine, lab, observed valid cocaine "
        "confirmed positive 16 Oct 2026 CC-1001",
        "20 Oct 2026, 11:00 Alder parent random collected urine, instant, observed valid "
        "marijuana (THC) none: instant result, unconfirmed",
        "22 Oct 2026, 11:00 Alder parent random no-show",
        "24 Oct 2026, 11:00 Alder parent scheduled refused",
        "27 Oct 2026, 11:00 Alder parent scheduled collected urine, instant, observed dilute none",
        "31 Oct 2026, 22:00 Alder parent random collected",
        "Brennan 1 screens, 1 random, 1 collected, 1 negative, 0 positive, 0 confirmed positive, "
        "0 not valid, 0 missed, 0 refused.",
        "9 Oct 2026, 11:00 Brennan parent random collected")
    assert found == sorted(found)
    for word in NEVER_IN_SUP1_OCTOBER:
        assert word not in text


def test_screen_period_is_the_programs_local_date(team: Team, tmp_path: Path) -> None:
    add_screens(team)
    # 1 Nov 03:00 UTC was 31 Oct in Chicago: not in November.
    november = read_csv(run_export(team.ws(), ask(SCREENS, CSV, first=date(2026, 11, 1),
                                                  last=date(2026, 11, 24)), tmp_path))
    assert november.rows == []
    # 1 Oct 04:00 UTC was 30 Sep in Chicago: in September, alone.
    september = read_csv(run_export(team.ws(), ask(SCREENS, CSV, first=date(2026, 9, 30),
                                                   last=date(2026, 9, 30)), tmp_path))
    assert september.column("Comments") == ["SEPTEMBER-OUTSIDE screen"]
    assert september.column("Collected (YYYY-MM-DD HH:MM)") == ["2026-09-30 23:00"]
