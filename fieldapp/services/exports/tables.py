"""Reports as rows: the columns of each CSV, one visit, trip or screen per row.

The PDF shows the same values (`services/exports/pages.py`); both take their words from here so
a spreadsheet and a printout of one export never disagree. Only dates differ: a CSV is read by
machines too, so its dates and times are ISO (2026-11-24, 15:30, 2026-11-24 15:30, in the
program's time zone) and its column names say so; a printout writes them as the screens do
(`fieldapp.domain.formats`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, tzinfo
from decimal import Decimal

from fieldapp.domain.formats import moment_text
from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.screens import DrugScreen
from fieldapp.domain.validity import court_status, measured
from fieldapp.domain.visits import Addendum, Review, VisitNote
from fieldapp.services.exports.collect import (
    MileageReport,
    MonthRow,
    ScreenSummary,
    VisitLog,
    status_text,
)
from fieldapp.services.exports.staff import StaffNames

DAY = "(YYYY-MM-DD)"
TIME = "(HH:MM)"
MOMENT = "(YYYY-MM-DD HH:MM)"  # the program's local time

When = Callable[[datetime, tzinfo], str]  # how a moment is written: `local`, or `moment_text`

VISIT_COLUMNS = (
    f"Visit date {DAY}", "Family", "Case id", "Worker", "Worker name", "Contact type", "Place",
    f"Time in {TIME}", f"Time out {TIME}", "People present", "Services", "Safety concerns",
    "Safety description", "Narrative", "Next steps", f"Next visit {DAY}", "Status", "Signed by",
    "Signed by name", f"Signed at {MOMENT}", "Late entry", "Co-signed by", "Co-signed by name",
    f"Co-signed at {MOMENT}", "Returns", "Addenda", "Note id",
)

TRIP_COLUMNS = (
    "Row", "Worker", "Worker name", "Month (YYYY-MM)", "Month status", "Approved by",
    "Approved by name", f"Approved at {MOMENT}", f"Trip date {DAY}", "From", "To", "Purpose",
    "Family", "Miles", "Reimbursable miles", "Over the cap", "Rate per mile", "Amount",
    "Figures",
)

SCREEN_COLUMNS = (
    "Family", "Case id", "Person", f"Collected {MOMENT}", "Reason", f"Told to come at {MOMENT}",
    f"Due by {MOMENT}", "Late for the call-in", "Attendance", "Specimen", "Observed", "Method",
    "Validity", "Measured validity", "Validity readings", "Measured because", "Panel",
    "Positive for", "Results", "Lab confirmation", f"Lab date {DAY}", "Court status",
    "Chain of custody", "Comments", "Recorded by", "Recorded by name", "Revision",
    "Correction reason", "Screen id",
)


def visit_rows(log: VisitLog) -> Iterator[list[str]]:
    for row in log.visits:
        yield visit_values(row.note, row.family, log.people, log.zone)


def visit_values(note: VisitNote, family: str, people: StaffNames, zone: tzinfo) -> list[str]:
    d = note.details
    cosign = next((r for r in reversed(note.reviews) if r.cosigned), None)
    signer = note.signature.by if note.signature else None
    cosigner = cosign.reviewer if cosign else None
    return [
        d.visit_date.isoformat(), family, note.case_id, *person(note.author, people),
        str(d.contact_type), str(d.place), clock(d.time_in), clock(d.time_out),
        "; ".join(d.people_present), "; ".join(d.services),
        "yes" if d.safety_concerns else "no", d.safety_description, d.narrative, d.next_steps,
        d.next_visit_date.isoformat() if d.next_visit_date else "", status_text(note),
        *person(signer, people), local(note.signature.at, zone) if note.signature else "",
        "yes" if note.late_entry else "no",
        *person(cosigner, people), local(cosign.at, zone) if cosign else "",
        "\n".join(review_text(r, people, zone) for r in note.reviews if not r.cosigned),
        "\n\n".join(addendum_text(a, people, zone) for a in note.addenda), note.id,
    ]


def person(user_id: str | None, people: StaffNames) -> tuple[str, str]:
    """A CSV's id column and the name column beside it (machines match on the id)."""
    return user_id or "", people.plain(user_id)


def review_text(review: Review, people: StaffNames, zone: tzinfo, *, when: When | None = None
                ) -> str:
    """`when` writes the moment (a printout's style; ISO, for a CSV, if not given)."""
    verb = "Co-signed" if review.cosigned else "Returned"
    said = f": {review.comment}" if review.comment else ""
    return f"{verb} by {people.name(review.reviewer)} on {(when or local)(review.at, zone)}{said}"


def addendum_text(addendum: Addendum, people: StaffNames, zone: tzinfo, *,
                  when: When | None = None) -> str:
    at = (when or local)(addendum.at, zone)
    return (f"Addendum by {people.name(addendum.author)} on {at}. "
            f"Reason: {addendum.reason}. {addendum.text}")


def trip_rows(report: MileageReport) -> Iterator[list[str]]:
    for month in report.months:
        status = str(month.ledger.status)
        # Payroll reads "Approved by" as approved: a returned month's decider is not an approver.
        approved = month.ledger.status is MonthStatus.APPROVED
        approver = month.decided_by if approved else None
        approved_at = local(month.decided_at, report.zone) if approved and month.decided_at \
            else ""
        head = [*person(month.ledger.worker_id, report.people), month.ledger.month, status,
                *person(approver, report.people), approved_at]
        for a in month.ledger.allocations:
            t = a.trip
            yield ["trip", *head, t.trip_date.isoformat(), t.origin, t.destination, t.purpose,
                   report.families.get(t.case_id, t.case_id or "") if t.case_id else "",
                   miles(t.total_miles), miles(a.reimbursable), miles(a.over_cap), "", "", ""]
        m = month.ledger
        yield ["month total", *head, "", "", "", f"{len(m.allocations)} trip(s)", "",
               miles(m.total), miles(m.reimbursable), miles(m.over_cap), money(m.rate),
               money(m.amount), figures(month)]


def figures(month: MonthRow) -> str:
    """Whether the month's figures can be paid as they stand."""
    if month.ledger.provisional:
        return "provisional: changes not yet confirmed by the program's server"
    return {MonthStatus.OPEN: "open: the worker may still add trips",
            MonthStatus.SUBMITTED: "submitted, awaiting approval",
            MonthStatus.RETURNED: "returned to the worker for correction",
            MonthStatus.APPROVED: "approved for payment"}[month.ledger.status]


def screen_rows(summary: ScreenSummary) -> Iterator[list[str]]:
    for case in summary.cases:
        for s in case.screens:
            yield screen_values(s, case.case.family_name, summary.people, summary.zone)


def screen_values(s: DrugScreen, family: str, people: StaffNames, zone: tzinfo) -> list[str]:
    finding = measured(s)
    return [
        family, s.case_id, s.person, local(s.collected_at, zone), str(s.reason),
        local(s.notified_at, zone) if s.notified_at else "",
        local(s.due_by, zone) if s.due_by else "", "yes" if s.late_for_call_in else "",
        str(s.attendance), str(s.specimen), "yes" if s.observed else "no", str(s.method),
        str(s.validity), measured_text(s), s.readings.describe() if s.readings else "",
        finding.reason if finding else "", "; ".join(s.panel), "; ".join(positive_for(s)),
        "; ".join(f"{k}: {v}" for k, v in s.results.items()), lab_text(s),
        s.lab.on.isoformat() if s.lab and s.lab.on else "", court_status(s),
        s.chain_of_custody, s.comments, *person(s.recorded_by, people), str(s.revision),
        s.correction_reason, s.id,
    ]


def measured_text(s: DrugScreen) -> str:
    """The readings' classification: "" when nothing was measured, and a plain word for too
    few readings; "(disagrees)" when it differs from the collector's judgement."""
    finding = measured(s)
    if finding is None:
        return ""
    if finding.validity is None:
        return "too few readings"
    return str(finding.validity) + ("" if finding.validity is s.validity else " (disagrees)")


def screen_sentences(s: DrugScreen, zone: tzinfo) -> list[str]:
    """The call-in times and the readings in sentences, for a printout's notes."""
    said = []
    if s.due_by is not None:
        told = f"told to come at {moment_text(s.notified_at, zone)}, " if s.notified_at else ""
        late = "; collected after that time" if s.late_for_call_in else ""
        said.append(f"Call-in: {told}due by {moment_text(s.due_by, zone)}{late}.")
    finding = measured(s)
    if finding is not None and s.readings is not None:
        judged = f" The collector judged it {s.validity}." if finding.validity is not None \
            and finding.validity is not s.validity else ""
        said.append(f"Validity readings: {s.readings.describe()}. Measured: {finding.reason}."
                    f"{judged}")
    return said


def positive_for(s: DrugScreen) -> list[str]:
    return [k for k, v in s.results.items() if v.value == "positive"]


def lab_text(s: DrugScreen) -> str:
    if s.lab is not None:
        return str(s.lab.status)
    if positive_for(s) and s.method.value == "instant":
        return "none: instant result, unconfirmed"
    return ""


def clock(value: time | None) -> str:
    # isoformat, not strftime: a third faster, which counts over 10,000 rows.
    return value.isoformat("minutes") if value else ""


def local(moment: datetime, zone: tzinfo) -> str:
    """A moment in a CSV: '2026-11-24 15:30' in the program's time zone."""
    return moment.astimezone(zone).isoformat(" ", "minutes")[:16]


def miles(value: Decimal) -> str:
    return f"{value:.1f}"


def money(value: Decimal) -> str:
    """Dollars to the cent; a rate with more places (0.725) as it is."""
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
