"""A report as the HTML that Qt's QTextDocument lays out into PDF pages (`ui/pdf.py`).

Plain Python, no Qt: the PDF writer adds the running header, the short Part 2 statement and
"page x of y" on every page; this module writes the first page's full notice and the body.
Everything a person typed is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape

from fieldapp.domain.formats import day_text, moment_text, month_text, weekday_text
from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.screens import DrugScreen
from fieldapp.domain.validity import UNCONFIRMED, court_status, measured
from fieldapp.domain.visits import ATTESTATION
from fieldapp.services.exports.accounting import ACCOUNTING_COLUMNS, accounting_table
from fieldapp.services.exports.collect import (
    SCREEN_COUNTS,
    AccountingReport,
    CaseScreens,
    MileageReport,
    MonthRow,
    Report,
    ReportHeader,
    ScreenSummary,
    VisitLog,
    VisitRow,
    status_text,
)
from fieldapp.services.exports.collect import moment_text as zoned_moment_text
from fieldapp.services.exports.tables import (
    addendum_text,
    clock,
    lab_text,
    measured_text,
    miles,
    money,
    positive_for,
    review_text,
    screen_sentences,
)

DISCLOSED = ACCOUNTING_COLUMNS[0]  # when: ISO in the CSV, the screens' style on a printout

STYLE = """
h1 { font-size: 15pt; margin-bottom: 6px; }
h2 { font-size: 11.5pt; margin-top: 18px; margin-bottom: 4px; }
h3 { font-size: 10pt; margin-top: 14px; margin-bottom: 2px; }
p { margin-top: 2px; margin-bottom: 2px; }
table.grid { font-size: 8pt; }
th { background-color: #e8e8e8; text-align: left; }
.label { font-weight: bold; padding-right: 12px; }
.notice { background-color: #f4f1e8; }
.muted { color: #555555; }
.addendum { background-color: #f2f5fa; }
.total td { font-weight: bold; border-top: 1px solid #000000; }
"""


def render_html(report: Report) -> str:
    if isinstance(report, VisitLog):
        body = _visit_log(report)
    elif isinstance(report, MileageReport):
        body = _mileage(report)
    elif isinstance(report, AccountingReport):
        body = _accounting(report)
    else:
        body = _screens(report)
    return (f"<html><head><style>{STYLE}</style></head><body>{_front(report.header)}"
            f"{body}</body></html>")


def _front(header: ReportHeader) -> str:
    lines = "".join(f"<tr><td class='label'>{escape(label)}</td><td>{escape(value)}</td></tr>"
                    for label, value in header.lines())
    notice = "".join(f"<p>{escape(p)}</p>" for p in header.notice.paragraphs)
    return (f"<h1>{escape(header.title)}</h1><table cellspacing='0' cellpadding='1'>{lines}"
            "</table><p></p>"
            "<table class='notice' width='100%' border='1' cellspacing='0' cellpadding='6'>"
            "<tr><td><p><b>Confidential: substance use disorder records. Notice required by "
            f"42 CFR 2.32</b></p>{notice}</td></tr></table>{_consents(header)}")


def _consents(header: ReportHeader) -> str:
    """42 CFR 2.32(b): a copy or clear explanation of each consent the disclosure rests on."""
    consents = header.sheet.consent_lines() if header.sheet else []
    if not consents:
        return ""
    parts = ["<h2>Consents this disclosure rests on (42 CFR 2.31, 2.32(b))</h2>"]
    for lines in consents:
        rows = "".join(f"<tr><td class='label' width='22%'>{escape(label)}</td>"
                       f"<td>{escape(value)}</td></tr>" for label, value in lines)
        parts.append("<table class='grid' width='100%' border='1' cellspacing='0' "
                     f"cellpadding='3'>{rows}</table><p></p>")
    return "".join(parts)


def _accounting(report: AccountingReport) -> str:
    if not report.rows:
        return "<p><i>No disclosures of these records are recorded.</i></p>"
    # A printout names who disclosed, as people read names; the ids are the CSV's.
    columns = [c for c in ACCOUNTING_COLUMNS
               if c not in ("Case id", "Disclosure id", "Disclosed by")]
    rows = []
    for values, row in zip(accounting_table(report.rows, report.people, report.zone),
                           report.rows, strict=True):
        cells = dict(zip(ACCOUNTING_COLUMNS, values, strict=True))
        cells["Disclosed by name"] = report.people.name(row.disclosure.by)
        cells[DISCLOSED] = zoned_moment_text(row.disclosure.at.astimezone(report.zone))
        rows.append([cells[c] for c in columns])
    headers = [{"Disclosed by name": "Disclosed by", DISCLOSED: "Disclosed"}.get(c, c)
               for c in columns]
    return (f"<h2>Disclosures ({len(report.rows)})</h2>"
            + _table(headers, rows))


def _visit_log(log: VisitLog) -> str:
    if not log.visits:
        return "<p><i>No visits in this scope and period.</i></p>"
    counts = _tally(status_text(r.note) for r in log.visits)
    late = sum(r.note.late_entry for r in log.visits)
    summary = (f"<h2>{len(log.visits)} visit(s)</h2><p>{escape(counts)}; {late} late "
               "entr" + ("y" if late == 1 else "ies") + ".</p>"
               f"<p class='muted'>Each note marked “attested” was signed with its author's "
               f"attestation: “{escape(ATTESTATION)}”</p>")
    return summary + "".join(_visit(r, log) for r in log.visits)


def _visit(row: VisitRow, log: VisitLog) -> str:
    note, d, people = row.note, row.note.details, log.people
    facts = [("Worker", people.name(note.author)),
             ("Time", f"{clock(d.time_in) or '?'} to {clock(d.time_out) or '?'}"),
             ("Place", str(d.place)), ("Present", ", ".join(d.people_present) or "nobody listed"),
             ("Services", ", ".join(d.services) or "none listed")]
    if d.safety_concerns:
        facts.append(("Safety concerns", d.safety_description))
    title = " · ".join([weekday_text(d.visit_date), row.family, str(d.contact_type),
                        status_text(note), *(["LATE ENTRY"] if note.late_entry else [])])
    parts = [f"<hr/><h3>{escape(title)}</h3>",
             "<p>" + " · ".join(f"<b>{escape(k)}</b> {escape(v)}" for k, v in facts) + "</p>",
             _paragraphs(d.narrative)]
    if d.next_steps:
        parts.append(f"<p><b>Next steps</b> {escape(d.next_steps)}"
                     + (f" (next visit {day_text(d.next_visit_date)})"
                        if d.next_visit_date else "") + "</p>")
    if note.signature:
        # The common attestation is printed once, above; only a different wording here.
        words = ("attested" if note.signature.attestation == ATTESTATION
                 else f"attestation: {note.signature.attestation}")
        parts.append(f"<p class='muted'>Signed by {escape(people.name(note.signature.by))} on "
                     f"{moment_text(note.signature.at, log.zone)} ({escape(words)})</p>")
    parts += [f"<p class='muted'>{escape(review_text(r, people, log.zone, when=moment_text))}"
              "</p>" for r in note.reviews]
    parts += [f"<table class='addendum' width='100%' cellpadding='4'><tr><td>"
              f"{escape(addendum_text(a, people, log.zone, when=moment_text))}</td></tr></table>"
              for a in note.addenda]
    return "".join(parts)


def _mileage(report: MileageReport) -> str:
    if not report.months:
        return "<p><i>No trips in this scope and period.</i></p>"
    overview = _table(["Worker", "Month", "Status", "Miles", "Reimbursable", "Over the cap",
                       "Amount"],
                      [[report.people.name(m.ledger.worker_id), month_text(m.ledger.month),
                        str(m.ledger.status), miles(m.ledger.total), miles(m.ledger.reimbursable),
                        miles(m.ledger.over_cap), f"${money(m.ledger.amount)}"]
                       for m in report.months], numeric={3, 4, 5, 6},
                      totals=[_total("Approved for payment", [m for m in report.months if
                                                              m.ledger.status is
                                                              MonthStatus.APPROVED]),
                              _total("All months shown", list(report.months))])
    waiting = [m for m in report.months if m.ledger.status is not MonthStatus.APPROVED]
    note = (f"<p>{len(waiting)} month(s) are not approved yet (open, submitted or returned): "
            "their trips and amounts may still change.</p>" if waiting else "")
    return ("<h2>Summary</h2>" + overview + note
            + "".join(_month(m, report) for m in report.months))


def _total(label: str, months: list[MonthRow]) -> list[str]:
    ledgers = [m.ledger for m in months]

    def added(values: Iterable[Decimal]) -> Decimal:
        return sum(values, Decimal(0))

    return [label, f"{len(ledgers)} month(s)", "", miles(added(m.total for m in ledgers)),
            miles(added(m.reimbursable for m in ledgers)),
            miles(added(m.over_cap for m in ledgers)),
            f"${money(added(m.amount for m in ledgers))}"]


def _month(month: MonthRow, report: MileageReport) -> str:
    m = month.ledger
    decided = (f"; {m.status} by {report.people.name(month.decided_by)} on "
               f"{moment_text(month.decided_at, report.zone)}" if month.decided_at else "")
    rows = [[day_text(a.trip.trip_date), a.trip.origin, a.trip.destination, a.trip.purpose,
             report.families.get(a.trip.case_id, "") if a.trip.case_id else "",
             miles(a.trip.total_miles), miles(a.reimbursable), miles(a.over_cap)]
            for a in m.allocations]
    total = ["Total", f"{len(rows)} trip(s)", "", "", "", miles(m.total), miles(m.reimbursable),
             miles(m.over_cap)]
    provisional = ("<p><b>Provisional:</b> changes to these trips have not yet been confirmed "
                   "by the program's server.</p>" if m.provisional else "")
    return (f"<h2>{escape(report.people.name(m.worker_id))}: {month_text(m.month)} ({m.status}"
            f"{escape(decided)})</h2>"
            + _table(["Date", "From", "To", "Purpose", "Family", "Miles", "Reimbursable",
                      "Over the cap"], rows, numeric={5, 6, 7}, totals=[total])
            + f"<p>Cap {miles(m.cap)} miles a month. Reimbursable {miles(m.reimbursable)} miles "
              f"at ${money(m.rate)} a mile: <b>${money(m.amount)}</b>. "
              f"Over the cap, not reimbursed: {miles(m.over_cap)} miles.</p>" + provisional)


def _screens(summary: ScreenSummary) -> str:
    if not summary.cases:
        return "<p><i>No drug screens in this scope and period.</i></p>"
    return "".join(_case_screens(c, summary) for c in summary.cases)


def _case_screens(case: CaseScreens, summary: ScreenSummary) -> str:
    counts = ", ".join(f"{case.count(what)} {what}" for what in SCREEN_COUNTS)
    rows = [[moment_text(s.collected_at, summary.zone), s.person, str(s.reason), str(s.attendance),
             f"{s.specimen}, {s.method}" + (", observed" if s.observed else ""),
             str(s.validity) + (f"; measured {measured_text(s)}" if measured(s) else ""),
             ", ".join(positive_for(s)) or ("none" if s.results else ""),
             _confirmation(s), s.chain_of_custody]
            for s in case.screens]
    return (f"<h2>{escape(case.case.family_name)}</h2><p>{escape(counts)}.</p>"
            + (_table(["Collected", "Person", "Reason", "Attendance", "Specimen", "Validity",
                       "Positive for", "Lab confirmation", "Chain of custody"], rows)
               if rows else "<p><i>No screens in this period.</i></p>")
            + _screen_notes(case, summary)
            + "".join(f"<p>{escape(statement)}</p>" for statement in case.statements))


def _confirmation(s: DrugScreen) -> str:
    """The lab's answer and its date; a positive without one says it is not for court."""
    text = lab_text(s) + (f" {day_text(s.lab.on)}" if s.lab and s.lab.on else "")
    if court_status(s) != UNCONFIRMED:
        return text
    return f"{text}, not for court" if text.endswith("unconfirmed") else f"{text}, {UNCONFIRMED}"


def _screen_notes(case: CaseScreens, summary: ScreenSummary) -> str:
    """Below the table, in sentences: call-in times, readings, comments and corrections."""
    notes = []
    for s in case.screens:
        said = [*screen_sentences(s, summary.zone),
                _screen_note(s.comments, s.correction_reason, s.revision)]
        if any(said):
            notes.append(f"<p class='muted'>{moment_text(s.collected_at, summary.zone)}: "
                         f"{escape(' '.join(filter(None, said)))}</p>")
    return "".join(notes)


def _screen_note(comments: str, correction: str, revision: int) -> str:
    said = [f"Comments: {comments}"] if comments else []
    if correction:
        said.append(f"Revision {revision}, corrected: {correction}")
    return " ".join(said)


def _table(columns: Sequence[str], rows: Iterable[Sequence[str]], *,
           numeric: set[int] | frozenset[int] = frozenset(),
           totals: Sequence[Sequence[str]] = ()) -> str:
    def cells(values: Sequence[str], tag: str) -> str:
        return "".join(f"<{tag}{' align=right' if i in numeric else ''}>{escape(v)}</{tag}>"
                       for i, v in enumerate(values))

    body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    foot = "".join(f"<tr class='total'>{cells(total, 'td')}</tr>" for total in totals)
    return (f"<table class='grid' width='100%' border='1' cellspacing='0' cellpadding='3'>"
            f"<thead><tr>{cells(columns, 'th')}</tr></thead>{body}{foot}</table><p></p>")


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())


def _tally(values: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
