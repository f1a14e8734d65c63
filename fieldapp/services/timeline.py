"""A family's story in one list: visits, addenda, reviews, screens and trips by date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fieldapp.domain.cases import Case
from fieldapp.domain.people import CaseId
from fieldapp.domain.screens import Attendance, DrugScreen, positives
from fieldapp.domain.validity import UNCONFIRMED, court_status, measured
from fieldapp.domain.visits import VisitNote
from fieldapp.services.casework import CaseService
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.screens import ScreenService
from fieldapp.services.workspace import Workspace


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One line of the timeline; `note_id` or `screen_id` names what opens from it."""

    day: date
    kind: str
    summary: str
    status: str = ""
    note_id: str | None = None
    screen_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseTimeline:
    case: Case
    entries: list[Entry]


def case_timeline(workspace: Workspace, case_id: CaseId) -> CaseTimeline:
    """Thread rule: the database worker. Newest first."""
    case = CaseService(workspace).get(case_id)
    entries: list[Entry] = []
    for note in NoteService(workspace).for_case(case_id):
        entries += _note_entries(note)
    entries += [_screen_entry(s) for s in ScreenService(workspace).for_case(case_id)]
    entries += [Entry(day=t.trip_date, kind="Trip",
                      summary=f"{t.origin} → {t.destination}: {t.total_miles} miles",
                      status=t.purpose)
                for t in MileageService(workspace).trips_for_case(case_id)]
    entries.sort(key=lambda e: e.day, reverse=True)
    return CaseTimeline(case=case, entries=entries)


def _note_entries(note: VisitNote) -> list[Entry]:
    d = note.details
    status = str(note.status) + (", late entry" if note.late_entry else "")
    found = [Entry(day=d.visit_date, kind=f"Visit ({d.contact_type}, {d.place})",
                   summary=_first_line(d.narrative), status=status, note_id=note.id)]
    found += [Entry(day=a.at.date(), kind="Addendum", summary=f"{a.reason}: {_first_line(a.text)}",
                    note_id=note.id) for a in note.addenda]
    found += [Entry(day=r.at.date(), kind="Co-signed" if r.cosigned else "Returned",
                    summary=r.comment or "Co-signed by the supervisor.", note_id=note.id)
              for r in note.reviews]
    return found


def _screen_entry(screen: DrugScreen) -> Entry:
    if screen.attendance is not Attendance.COLLECTED:
        result = str(screen.attendance)
    else:
        found = positives(screen)
        result = f"positive: {', '.join(found)}" if found else "negative"
    return Entry(day=screen.collected_at.date(), kind=f"Drug screen ({screen.reason})",
                 summary=result, status=screen_status(screen), screen_id=screen.id)


def screen_status(screen: DrugScreen) -> str:
    """Validity as judged and as measured, how far the result can be relied on, lateness:
    "dilute, measured invalid (disagree), unconfirmed, not for court, late for the call-in"."""
    if screen.attendance is not Attendance.COLLECTED:
        return str(screen.attendance)
    parts = [str(screen.validity)]
    finding = measured(screen)
    if finding is not None and finding.validity is None:
        parts.append("measured: too few readings")
    elif finding is not None and finding.validity is screen.validity:
        parts[0] += " (measured)"
    elif finding is not None:
        parts.append(f"measured {finding.validity} (disagree)")
    court = court_status(screen)
    if court == UNCONFIRMED or court.startswith(("lab ", "waiting")):
        parts.append(court)
    if screen.late_for_call_in:
        parts.append("late for the call-in")
    return ", ".join(parts)


def _first_line(text: str, limit: int = 90) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
