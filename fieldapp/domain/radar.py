"""The compliance radar: what on a person's caseload is overdue or soon due, said in sentences.

Pure: the Today service gathers the facts, and this module decides what is late, by the
program's own numbers (`ProgramSettings`). An item is shown to whoever can act on it: a note
waiting too long for co-signature to its author and to every supervisor of its case (each sees
which co-signature is missing); a draft to its author, and once overdue to the case's
supervisors; a month of mileage and a visit frequency to the person whose they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from fieldapp.domain.cases import Case
from fieldapp.domain.due import DueStatus
from fieldapp.domain.formats import day_text, moment_text, month_text
from fieldapp.domain.mileage import EDITABLE, MonthStatus
from fieldapp.domain.people import CaseId, NoteId, UserId
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import NoteStatus, VisitNote, missing_cosigners, signing_deadline

# A draft shows as due soon once its signing deadline is this close; a month of mileage once it
# is due within this many days.
SIGNING_WARNING = timedelta(hours=24)
MILEAGE_WARNING_DAYS = 7


class RadarKind(StrEnum):
    VISITS_BEHIND = "visits behind"
    COSIGNATURE_OVERDUE = "co-signature overdue"
    STALE_DRAFT = "draft not signed"
    UNSIGNED_VISIT = "visit without a signed note"
    MILEAGE_NOT_SUBMITTED = "mileage not submitted"
    CONSENT_EXPIRING = "consent expiring"
    REFERRAL_WAITING = "family awaiting confirmation"


class Severity(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due soon"


class Opens(StrEnum):
    """What opening an item shows."""

    NOTE = "note"
    CASE = "case"
    MILEAGE = "mileage month"


@dataclass(frozen=True, kw_only=True)
class RadarItem:
    """One thing on the radar.

    Attributes:
        due: the day it was or is due (the program's local date).
        sentence: what is late and why, in plain words.
        opens: what to open for it (with `case_id` and `note_id`, or `month`).
    """

    kind: RadarKind
    severity: Severity
    due: date
    sentence: str
    case_id: CaseId | None = None
    note_id: NoteId | None = None
    month: str | None = None
    opens: Opens | None = None


class ConsentDue(NamedTuple):
    """A consent's end, as the consent registry reports it: (case id, patient's name, expiry)."""

    case_id: CaseId
    patient: str
    expires_on: date


@dataclass(frozen=True, kw_only=True)
class MonthOfTrips:
    """One of the viewer's months with trips: "YYYY-MM", its status, how many trips."""

    month: str
    status: MonthStatus
    trips: int


def compliance_radar(*, viewer: UserId, now: datetime, settings: ProgramSettings,
                     caseload: Sequence[tuple[Case, DueStatus]], notes: Iterable[VisitNote],
                     months: Iterable[MonthOfTrips] = (), consents: Iterable[ConsentDue] = (),
                     names: Mapping[UserId, str] | None = None, unlisted_cosignatures: int = 0
                     ) -> list[RadarItem]:
    """Everything on the viewer's radar, overdue first, then by due day; last, one line for the
    `unlisted_cosignatures` late notes beyond those in `notes` (a backlog of thousands is said,
    not drawn row by row)."""
    today = now.astimezone(settings.zone).date()
    cases = {case.id: case for case, _ in caseload}
    notes = list(notes)
    people = Viewer(user_id=viewer, names=names or {})
    items = [*visits_behind(caseload, today=today),
             *referrals_waiting(cases.values(), people=people, today=today),
             *cosignatures_overdue(notes, cases=cases, people=people, now=now,
                                   settings=settings),
             *unsigned_visits(notes, cases=cases, people=people, now=now, settings=settings),
             *mileage_not_submitted(months, today=today, settings=settings),
             *consents_expiring(consents, today=today, settings=settings)]
    notes_have = "note has" if unlisted_cosignatures == 1 else "notes have"
    more = [RadarItem(kind=RadarKind.COSIGNATURE_OVERDUE, severity=Severity.OVERDUE, due=today,
                      sentence=f"And {unlisted_cosignatures} more signed {notes_have} waited "
                               f"longer than {settings.cosign_deadline_days} days for "
                               "co-signature; those that have waited longest are listed.")
            ] if unlisted_cosignatures > 0 else []
    return sorted(items, key=lambda i: (i.severity is not Severity.OVERDUE, i.due, i.kind,
                                        i.sentence)) + more


@dataclass(frozen=True)
class Viewer:
    """Whose radar it is, and the staff's names for the sentences."""

    user_id: UserId
    names: Mapping[UserId, str]

    def whose(self, author: UserId) -> str:
        """'Your' for the viewer's own, else the author's name (or id) and 's."""
        return "Your" if author == self.user_id else f"{self.names.get(author, author)}'s"

    def may_see(self, note: VisitNote, case: Case | None, *, supervisors_too: bool) -> bool:
        return note.author == self.user_id or (
            supervisors_too and case is not None and self.user_id in case.supervisor_ids)


def visits_behind(caseload: Iterable[tuple[Case, DueStatus]], *, today: date
                  ) -> list[RadarItem]:
    """Cases with fewer face-to-face visits this week than expected by today (`due.py`)."""
    items = []
    for case, due in caseload:
        if not due.behind:
            continue
        last = _day(due.last_face_to_face) if due.last_face_to_face else "never"
        items.append(RadarItem(
            kind=RadarKind.VISITS_BEHIND, severity=Severity.OVERDUE, due=today, case_id=case.id,
            opens=Opens.CASE,
            sentence=f"{due.this_week} of the {due.expected_by_today} face-to-face visits "
                     f"expected by today this week; the last was {last}."))
    return items


def referrals_waiting(cases: Iterable[Case], *, people: Viewer, today: date
                      ) -> list[RadarItem]:
    """Families a worker started in the field, on the radar of the supervisors who confirm
    them (not of the worker who is waiting for them)."""
    return [RadarItem(
        kind=RadarKind.REFERRAL_WAITING, severity=Severity.DUE_SOON, due=today,
        case_id=case.id, opens=Opens.CASE,
        sentence=f"{people.names.get(case.referred_by, case.referred_by)} started this family in "
                 "the field: confirm "
                 "it and assign the team (Caseload, Edit family).")
        for case in cases
        if case.awaiting_confirmation and case.referred_by is not None
        and case.referred_by != people.user_id and people.user_id in case.supervisor_ids]


def waiting_since(note: VisitNote) -> datetime:
    """When a signed note began waiting for co-signature: its signature, or, after a return,
    the author's first addendum that answered it."""
    assert note.signature is not None
    returns = [r.at for r in note.reviews if not r.cosigned]
    if returns:
        answers = [a.at for a in note.addenda if a.author == note.author and a.at >= max(returns)]
        if answers:
            return min(answers)
    return note.signature.at


def cosignatures_overdue(notes: Iterable[VisitNote], *, cases: Mapping[CaseId, Case],
                         people: Viewer, now: datetime, settings: ProgramSettings
                         ) -> list[RadarItem]:
    """Signed notes waiting for co-signature longer than `cosign_deadline_days` (exactly that
    long is not yet late): escalated to the author and every supervisor of the case."""
    items = []
    limit = timedelta(days=settings.cosign_deadline_days)
    for note in notes:
        if note.status is not NoteStatus.SIGNED or note.signature is None:
            continue
        if not people.may_see(note, cases.get(note.case_id), supervisors_too=True):
            continue
        since = waiting_since(note)
        if now - since <= limit:
            continue
        missing = missing_cosigners(note, settings=settings)
        who = (f"the {' and the '.join(missing)} supervisor's "
               f"{'co-signature is' if len(missing) == 1 else 'co-signatures are'} missing"
               if missing else "no supervisor has co-signed it")
        items.append(RadarItem(
            kind=RadarKind.COSIGNATURE_OVERDUE, severity=Severity.OVERDUE,
            due=(since + limit).astimezone(settings.zone).date(), case_id=note.case_id,
            note_id=note.id, opens=Opens.NOTE,
            sentence=f"{people.whose(note.author)} note of {_day(note.details.visit_date)} "
                     f"has waited {(now - since).days} days for co-signature (the program "
                     f"allows {settings.cosign_deadline_days}); {who}."))
    return items


def unsigned_visits(notes: Iterable[VisitNote], *, cases: Mapping[CaseId, Case],
                    people: Viewer, now: datetime, settings: ProgramSettings
                    ) -> list[RadarItem]:
    """Drafts: older than `draft_stale_days` (counted from the visit), past the signing deadline
    (a late entry if signed now), or with the deadline within a day (the author only). One
    item per draft, the most serious."""
    items = []
    today = now.astimezone(settings.zone).date()
    for note in notes:
        if note.status is not NoteStatus.DRAFT:
            continue
        case = cases.get(note.case_id)
        item = _draft_item(note, people=people, now=now, today=today, settings=settings)
        if item is not None and people.may_see(
                note, case, supervisors_too=item.severity is Severity.OVERDUE):
            items.append(item)
    return items


def _draft_item(note: VisitNote, *, people: Viewer, now: datetime, today: date,
                settings: ProgramSettings) -> RadarItem | None:
    visit, age = note.details.visit_date, (today - note.details.visit_date).days
    deadline = signing_deadline(note.details, settings=settings)
    local = deadline.astimezone(settings.zone)
    whose, when = people.whose(note.author), moment_text(local)
    if age > settings.draft_stale_days:
        late = (" It is past the signing deadline, so signing it now marks it a late entry."
                if now > deadline else "")
        return _note_item(note, RadarKind.STALE_DRAFT, Severity.OVERDUE,
                          visit + timedelta(days=settings.draft_stale_days),
                          f"{whose} draft of the {_day(visit)} visit is {age} days old and not "
                          f"signed (the program allows {settings.draft_stale_days}).{late}")
    if now > deadline:
        return _note_item(note, RadarKind.UNSIGNED_VISIT, Severity.OVERDUE, local.date(),
                          f"{whose} note of the {_day(visit)} visit is not signed; the deadline "
                          f"was {when}, so signing it now marks it a late entry.")
    if deadline - now <= SIGNING_WARNING:
        return _note_item(note, RadarKind.UNSIGNED_VISIT, Severity.DUE_SOON, local.date(),
                          f"Sign the note of the {_day(visit)} visit by {when}, or it becomes a "
                          "late entry.")
    return None


def _note_item(note: VisitNote, kind: RadarKind, severity: Severity, due: date, sentence: str
               ) -> RadarItem:
    return RadarItem(kind=kind, severity=severity, due=due, sentence=sentence,
                     case_id=note.case_id, note_id=note.id, opens=Opens.NOTE)


def mileage_due(month: str, *, settings: ProgramSettings) -> date:
    """The last day to submit a month's mileage: `mileage_submit_days` after the month ends."""
    year, number = (int(part) for part in month.split("-"))
    first_of_next = date(year + number // 12, number % 12 + 1, 1)
    return first_of_next - timedelta(days=1) + timedelta(days=settings.mileage_submit_days)


def mileage_not_submitted(months: Iterable[MonthOfTrips], *, today: date,
                          settings: ProgramSettings) -> list[RadarItem]:
    """Months with trips not submitted (open, or returned and not yet sent again): overdue after
    their due day, due soon within `MILEAGE_WARNING_DAYS` of it (the due day itself included)."""
    items = []
    for month in months:
        if month.trips <= 0 or month.status not in EDITABLE:
            continue
        due = mileage_due(month.month, settings=settings)
        left = (due - today).days
        if left > MILEAGE_WARNING_DAYS:
            continue
        items.append(RadarItem(
            kind=RadarKind.MILEAGE_NOT_SUBMITTED, month=month.month, opens=Opens.MILEAGE,
            due=due, severity=Severity.OVERDUE if left < 0 else Severity.DUE_SOON,
            sentence=_mileage_sentence(month, due=due, left=left, settings=settings)))
    return items


def _mileage_sentence(month: MonthOfTrips, *, due: date, left: int,
                      settings: ProgramSettings) -> str:
    name = _month(month.month)
    returned = " It was returned to you." if month.status is MonthStatus.RETURNED else ""
    if left < 0:
        return (f"The mileage for {name} is not submitted; it was due by {_day(due)}, "
                f"{settings.mileage_submit_days} days after the month ended.{returned}")
    return f"Submit the mileage for {name} by {_day(due)} ({_in_days(left)}).{returned}"


def consents_expiring(consents: Iterable[ConsentDue], *, today: date,
                      settings: ProgramSettings) -> list[RadarItem]:
    """Consents that end within `consent_warning_days` (due soon), or have ended (overdue)."""
    items = []
    for consent in consents:
        left = (consent.expires_on - today).days
        if left > settings.consent_warning_days:
            continue
        items.append(RadarItem(
            kind=RadarKind.CONSENT_EXPIRING, case_id=consent.case_id, opens=Opens.CASE,
            due=consent.expires_on, severity=Severity.OVERDUE if left < 0 else Severity.DUE_SOON,
            sentence=(f"{consent.patient}'s consent ended on {_day(consent.expires_on)}; "
                      "nothing it covered can be disclosed until a new one is signed."
                      if left < 0 else f"{consent.patient}'s consent ends on "
                      f"{_day(consent.expires_on)} ({_in_days(left)}); ask about renewing it.")))
    return items


def _in_days(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def _day(day: date) -> str:
    """As every screen writes a day (`fieldapp.domain.formats`)."""
    return day_text(day)


def _month(month: str) -> str:
    return month_text(month)
