"""`fieldapp export` run as a scheduled monthly job would run it: a real process on the demo
profile (owned by the demo recovery coordinator), files read back, the audit log checked after.

Each run unlocks the profile (Argon2id), so the runs are few: one CSV and one PDF written, two
refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldapp.app import build_parser, export_request
from fieldapp.domain.audit import Action
from fieldapp.domain.errors import KnownError
from fieldapp.domain.exports import ExportFormat, ExportRequest, ReportKind, ScopeKind
from fieldapp.domain.formats import DateStyle, day_text, set_style
from fieldapp.domain.people import Actor, Role, UserId
from fieldapp.services import demo
from fieldapp.services.exports.job import UNENCRYPTED_WARNING
from fieldapp.services.session import Session
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.resources import part2_notice
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.export_helpers import PAYROLL, pdf_pages, read_csv, squash
from tests.test_cli import fieldapp

CHICAGO = ZoneInfo("America/Chicago")   # the demo program's time zone


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo caseload, made as of now (the command line runs on the real clock, and its
    default period is the month before today)."""
    root = tmp_path_factory.mktemp("cli-export") / "demo"
    session = Session(ProfilePaths(root), clock=FakeClock(datetime.now(UTC)))
    session.create(PASSPHRASE, role=Role.RECOVERY_COORDINATOR, user_id=demo.WORKER)
    demo.fill_demo(session, clock=FakeClock(datetime.now(UTC)))
    session.lock()
    return root


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    return folder


INTERNAL = ("--for", "Payroll office", "--purpose", "monthly reimbursement")


def export(root: Path, *args: str) -> tuple[int, str, str]:
    terms = () if "--for" in args else INTERNAL
    done = fieldapp("--data-dir", str(root), "export", *args, *terms, "--passphrase-stdin",
                    stdin=PASSPHRASE + "\n")
    return done.returncode, done.stdout, done.stderr


def previous_month(now: datetime) -> tuple[date, date]:
    last = now.astimezone(CHICAGO).date().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def audit_entries(root: Path) -> list[tuple[str, str, dict[str, object]]]:
    session = Session(ProfilePaths(root))
    session.unlock(PASSPHRASE)
    try:
        entries = AuditStore(*session.vault().open_parts()).entries()
    finally:
        session.lock()
    return [(e.action, e.actor, dict(e.details)) for e in entries]


@pytest.fixture
def audit_before(demo_root: Path) -> Iterator[list[tuple[str, str, dict[str, object]]]]:
    yield audit_entries(demo_root)


def test_monthly_mileage_csv_into_a_folder(demo_root: Path, out: Path,
                                           audit_before: list[object]) -> None:
    started = datetime.now(UTC)
    code, stdout, stderr = export(demo_root, "mileage", "--out", str(out), "--format", "csv")
    assert code == 0, stderr
    names = {ExportRequest(kind=ReportKind.MILEAGE, scope=ScopeKind.WORKER, first_day=first,
                           last_day=last, fmt=ExportFormat.CSV, worker_id=demo.WORKER,
                           terms=PAYROLL).file_name()
             for first, last in {previous_month(started), previous_month(datetime.now(UTC))}}
    (written,) = out.iterdir()
    assert written.name in names and written.name.startswith("mileage-worker-")
    assert UNENCRYPTED_WARNING in stderr
    assert f"to {written}" in stdout and "Traceback" not in stdout + stderr

    raw = written.read_bytes()
    report = read_csv(raw)
    month = written.name.removeprefix("mileage-worker-").removesuffix(".csv")
    assert report.notice == ["42 CFR Part 2 notice", part2_notice().text]
    first = date.fromisoformat(f"{month}-01")
    last = previous_month(datetime(first.year + first.month // 12, first.month % 12 + 1, 2,
                                   tzinfo=CHICAGO))[1]
    assert (report.head["Report"], report.head["Program"], report.head["Scope"],
            report.head["Period"]) == \
        ("Mileage reimbursement report", demo.PROGRAM, "Worker: Jordan Demo",
         f"{first.isoformat()} to {last.isoformat()}")
    trips = [r for r in report.rows if r["Row"] == "trip"]
    (total,) = [r for r in report.rows if r["Row"] == "month total"]
    assert len(trips) >= 8, "the demo logs a trip every third day"
    assert {r["Month (YYYY-MM)"] for r in report.rows} == {month}
    assert all(r["Trip date (YYYY-MM-DD)"].startswith(month) for r in trips)
    miles = sum(Decimal(r["Miles"]) for r in trips)
    reimbursable = min(miles, Decimal(150))
    assert Decimal(total["Miles"]) == miles
    assert Decimal(total["Reimbursable miles"]) == reimbursable
    assert Decimal(total["Over the cap"]) == miles - reimbursable
    assert total["Amount"] == str((reimbursable * Decimal("0.725")).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP))
    assert f"Wrote {len(trips)} record(s)" in stdout

    (entry, *accounted) = audit_entries(demo_root)[len(audit_before):]
    assert entry[:2] == (Action.EXPORT, demo.WORKER)
    assert accounted and {a[0] for a in accounted} == {Action.DISCLOSURE}
    assert {a[2]["sha256"] for a in accounted} == {hashlib.sha256(raw).hexdigest()}
    assert entry[2]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert (entry[2]["scope"], entry[2]["worker"], entry[2]["records"]) == \
        ("worker", demo.WORKER, len(trips))


def test_visit_log_pdf_for_a_named_month_to_a_file(demo_root: Path, out: Path) -> None:
    first, last = previous_month(datetime.now(UTC))
    target = out / "visits.pdf"
    code, _, stderr = export(demo_root, "visit-log", "--out", str(target),
                             "--month", f"{first:%Y-%m}")
    assert code == 0, stderr
    assert [p.name for p in out.iterdir()] == ["visits.pdf"]
    pages = pdf_pages(target.read_bytes())
    for paragraph in part2_notice().paragraphs:
        assert squash(paragraph) in pages[0]
    # The CLI writes dates as the window would, in the system locale's style: here the C locale
    # of `fieldapp()`'s clean environment, which is the default style.
    old = set_style(DateStyle())
    period = f"{day_text(first)} to {day_text(last)}"
    set_style(old)
    for number, page in enumerate(pages, start=1):
        assert f"{demo.PROGRAM}: Visit log" in page
        assert f"Worker: Jordan Demo · {period}" in page
        assert f"Page {number} of {len(pages)}" in page
        assert squash(part2_notice().short) in page


@pytest.mark.parametrize(("args", "words"), [
    (("mileage", "--worker", "demo-supervisor"), "You can export only your own work and cases."),
    (("visit-log", "--month", "2026-13"), "Give the month as YYYY-MM, for example 2026-10."),
], ids=["another worker's mileage", "month 13"])
def test_refused_in_plain_words_with_nothing_written(demo_root: Path, out: Path,
                                                     audit_before: list[object],
                                                     args: tuple[str, ...], words: str) -> None:
    code, stdout, stderr = export(demo_root, *args, "--out", str(out))
    assert code == 2
    assert stderr.strip() == words
    assert stdout == "" and "Traceback" not in stderr
    assert list(out.iterdir()) == []
    assert audit_entries(demo_root) == audit_before


@pytest.mark.parametrize(("args", "expected"), [
    ([], (date(2026, 10, 1), date(2026, 10, 31))),
    (["--month", "2026-02"], (date(2026, 2, 1), date(2026, 2, 28))),
    (["--month", "2025-12"], (date(2025, 12, 1), date(2025, 12, 31))),
    (["--from", "2026-11-02"], (date(2026, 11, 2), date(2026, 11, 24))),
    (["--from", "2026-09-01", "--to", "2026-09-15"], (date(2026, 9, 1), date(2026, 9, 15))),
])
def test_the_period_the_command_line_means(args: list[str], expected: tuple[date, date]) -> None:
    parsed = build_parser().parse_args(["export", "visit-log", "--out", "x", *INTERNAL,
                                        *args])
    worker = demo.WORKER
    request = export_request(parsed, ExportFormat.CSV, actor=_actor(worker),
                             today=date(2026, 11, 24))
    assert (request.first_day, request.last_day) == expected
    assert request.scope is ScopeKind.WORKER and request.worker_id == worker


def test_an_accounting_defaults_to_the_past_three_years() -> None:
    parsed = build_parser().parse_args(["export", "disclosures", "--out", "x", "--case", "c",
                                        *INTERNAL])
    request = export_request(parsed, ExportFormat.CSV, actor=_actor(demo.WORKER),
                             today=date(2026, 11, 24))
    assert (request.first_day, request.last_day) == (date(2023, 11, 25), date(2026, 11, 24))


@pytest.mark.parametrize("args", [["--to", "2026-09-15"], ["--month", "2026-13"]])
def test_a_period_the_command_line_cannot_mean_is_refused(args: list[str]) -> None:
    parsed = build_parser().parse_args(["export", "visit-log", "--out", "x", *INTERNAL,
                                        *args])
    with pytest.raises(KnownError):
        export_request(parsed, ExportFormat.CSV, actor=_actor(demo.WORKER),
                       today=date(2026, 11, 24))


def _actor(user_id: str) -> Actor:
    return Actor(user_id=UserId(user_id), role=Role.RECOVERY_COORDINATOR)


def test_a_court_without_consents_gets_nothing_and_an_exception_is_documented(
        demo_root: Path, out: Path, audit_before: list[object]) -> None:
    court = ("--for", "Cook County Juvenile Court", "--recipient-kind", "court",
             "--purpose", "permanency hearing")
    code, stdout, stderr = export(demo_root, "visit-log", "--out", str(out), *court)
    assert code == 2 and stdout == ""
    assert stderr.startswith("No consent in force lets ") and "Traceback" not in stderr
    assert list(out.iterdir()) == [] and audit_entries(demo_root) == audit_before

    code, _, stderr = export(demo_root, "visit-log", "--out", str(out), *court,
                             "--basis", "court-order")
    assert code == 2 and "The court, the case number and the date of the order" in stderr
    code, _, stderr = export(demo_root, "visit-log", "--out", str(out / "order.csv"), *court,
                             "--basis", "court-order", "--reference",
                             "Cook County 2026-JA-0117, order of 2026-11-20")
    assert code == 0, stderr
    head = read_csv((out / "order.csv").read_bytes()).head
    assert head["Disclosed to"] == "Cook County Juvenile Court (court)"
    assert head["Basis"].startswith("No consent: court order (42 CFR 2.64).")
    assert head["Basis"].endswith("Cook County 2026-JA-0117, order of 2026-11-20")
