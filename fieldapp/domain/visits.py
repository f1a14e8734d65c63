"""Visit notes: draft, signed, reviewed; changes after signing are addenda, never edits.

Every function here returns a new note and never changes one in place; each refuses, with a
sentence a person understands, anything the program's rules do not allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import Actor, CaseId, NoteId, UserId
from fieldapp.domain.settings import ProgramSettings

ATTESTATION = (
    "I attest that this note is a true and complete record of the contact it describes, "
    "written by me."
)


class Place(StrEnum):
    HOME = "home"
    OFFICE = "office"
    COURT = "court"
    TREATMENT_PROVIDER = "treatment provider"
    COMMUNITY = "community"
    VIRTUAL = "virtual"


class ContactType(StrEnum):
    FACE_TO_FACE = "face to face"
    ATTEMPTED = "attempted, nobody home"
    PHONE = "phone"
    VIDEO = "video"


class SupervisorCapacity(StrEnum):
    """Which supervisor someone is, where a program co-supervises: the intact (child welfare)
    supervisor or the SUD (substance use disorder treatment) supervisor."""

    INTACT = "intact"
    SUD = "SUD"


class NoteStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"          # locked, waiting for a supervisor
    RETURNED = "returned"      # a supervisor asked for a correction (by addendum)
    COSIGNED = "cosigned"


@dataclass(frozen=True, kw_only=True)
class VisitDetails:
    """What the worker writes. Sealed: everything except the date and contact type."""

    visit_date: date
    time_in: time | None = None
    time_out: time | None = None
    place: Place = Place.HOME
    contact_type: ContactType = ContactType.FACE_TO_FACE
    people_present: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    safety_concerns: bool = False
    safety_description: str = ""
    narrative: str = ""
    next_steps: str = ""
    next_visit_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class Signature:
    by: UserId
    at: datetime
    attestation: str = ATTESTATION


@dataclass(frozen=True, kw_only=True)
class Addendum:
    """A later change to a signed note: who, when, why, what. Never edited itself."""

    id: str
    note_id: NoteId
    author: UserId
    at: datetime
    reason: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Review:
    """A supervisor's co-signature or return of a note.

    Attributes:
        capacity: in which capacity the supervisor reviewed (None: not known, as in reviews
            recorded before co-supervision).
    """

    reviewer: UserId
    at: datetime
    cosigned: bool
    comment: str = ""
    capacity: SupervisorCapacity | None = None


@dataclass(frozen=True, kw_only=True)
class VisitNote:
    id: NoteId
    case_id: CaseId
    author: UserId
    details: VisitDetails
    status: NoteStatus = NoteStatus.DRAFT
    signature: Signature | None = None
    late_entry: bool = False
    addenda: tuple[Addendum, ...] = ()
    reviews: tuple[Review, ...] = ()
    revision: int = 0

    @property
    def locked(self) -> bool:
        return self.status is not NoteStatus.DRAFT


@dataclass(frozen=True, kw_only=True)
class Problem:
    """Something that stops a note from being signed, and the `VisitDetails` field it is about
    (so a form can say it next to that field)."""

    field: str
    text: str


def sign_problems(details: VisitDetails, settings: ProgramSettings, *, at: datetime
                  ) -> tuple[Problem, ...]:
    """Everything that stops `details` from being signed at `at`, in the order of the form.

    A draft is stored whatever it holds (nothing typed may be lost to a half-typed time), so
    these rules are checked when the note is signed, not when it is saved.
    """
    found: list[Problem] = []
    found += _order_problems(details, settings)
    today = at.astimezone(settings.zone).date()
    if details.visit_date > today:
        found.append(Problem(field="visit_date", text="A visit in the future cannot be signed."))
    elif not any(p.field == "time_out" for p in found) and details.time_out is not None:
        ended = datetime.combine(details.visit_date, details.time_out, tzinfo=settings.zone)
        if at.astimezone(UTC) < ended.astimezone(UTC):  # compared in UTC: see signing_deadline
            found.append(Problem(field="time_out", text=(
                f"This visit ends at {details.time_out:%H:%M}; it can be signed after that.")))
    if details.time_in is None or details.time_out is None:
        found.append(Problem(field="time_in" if details.time_in is None else "time_out",
                             text="Fill in the time in and the time out."))
    if not details.narrative.strip():
        found.append(Problem(field="narrative", text="Write the narrative of the visit."))
    if details.safety_concerns and not details.safety_description.strip():
        found.append(Problem(field="safety_description",
                             text="Describe the safety concerns you saw."))
    if details.contact_type is ContactType.FACE_TO_FACE and not details.people_present:
        found.append(Problem(field="people_present", text="List who was present."))
    return tuple(found)


def _order_problems(details: VisitDetails, settings: ProgramSettings) -> list[Problem]:
    found = []
    if details.time_in and details.time_out and details.time_out <= details.time_in:
        found.append(Problem(field="time_out", text="The time out must be after the time in."))
    unknown = [s for s in details.services if s not in settings.services]
    if unknown:
        found.append(Problem(field="services", text=(
            f"{', '.join(unknown)} is not on the program's service list.")))
    if len(set(details.services)) != len(details.services):
        found.append(Problem(field="services", text="Each service is listed once."))
    if details.next_visit_date and details.next_visit_date < details.visit_date:
        found.append(Problem(field="next_visit_date",
                             text="The next visit cannot be before this one."))
    return found


def check_complete(details: VisitDetails, settings: ProgramSettings, *, at: datetime) -> None:
    """Refuse, naming every problem, a note that cannot be signed at `at`."""
    problems = sign_problems(details, settings, at=at)
    if problems:
        raise RuleViolation(" ".join(p.text for p in problems))


def edit_draft(note: VisitNote, details: VisitDetails, *, editor: Actor) -> VisitNote:
    """Replace a draft's content, whatever it holds; a signed note refuses (use an addendum)."""
    _require_unlocked(note)
    if editor.user_id != note.author:
        raise NotPermitted("Only the author can edit a draft note.")
    return replace(note, details=details)


def sign(note: VisitNote, *, signer: Actor, at: datetime, settings: ProgramSettings) -> VisitNote:
    """Lock the note with the author's attestation at `at` (not before the visit has ended);
    mark it late past the program's limit."""
    _require_unlocked(note)
    if signer.user_id != note.author:
        raise NotPermitted("Only the author can sign a note.")
    check_complete(note.details, settings, at=at)
    return replace(note, status=NoteStatus.SIGNED, signature=Signature(by=signer.user_id, at=at),
                   late_entry=is_late(note.details, signed_at=at, settings=settings))


def is_late(details: VisitDetails, *, signed_at: datetime, settings: ProgramSettings) -> bool:
    """Signed more than `late_entry_hours` after the visit ended (in the program's time zone)."""
    return signed_at.astimezone(UTC) > signing_deadline(details, settings=settings)


def signing_deadline(details: VisitDetails, *, settings: ProgramSettings) -> datetime:
    """The last moment (UTC) a note of this visit can be signed without being a late entry:
    `late_entry_hours` after the visit ended, in the program's time zone."""
    ended = datetime.combine(details.visit_date, details.time_out or time(23, 59),
                             tzinfo=settings.zone)
    # In UTC: Python adds to and subtracts times of the same zone object by wall clock, which
    # is an hour off across a daylight-saving change.
    return ended.astimezone(UTC) + timedelta(hours=settings.late_entry_hours)


def add_addendum(note: VisitNote, addendum: Addendum) -> VisitNote:
    """Append an addendum to a signed note.

    The author's addendum sends a returned or co-signed note back for co-signature, so a
    supervisor sees every change the author makes; anyone else's addendum leaves the status.
    """
    if not note.locked:
        raise RuleViolation("A draft is edited directly; addenda are for signed notes.")
    if addendum.note_id != note.id:
        raise RuleViolation("This addendum belongs to another note.")
    if not addendum.reason.strip():
        raise RuleViolation("Give the reason for the addendum.")
    if not addendum.text.strip():
        raise RuleViolation("Write the text of the addendum.")
    status = note.status
    if addendum.author == note.author and status in (NoteStatus.RETURNED, NoteStatus.COSIGNED):
        status = NoteStatus.SIGNED
    return replace(note, addenda=(*note.addenda, addendum), status=status)


COSUPERVISION_UNKNOWN = (
    "The program requires co-signature by the intact and the SUD supervisor, and the server has "
    "not said which you are; sync, or ask the administrator.")


def cosign(note: VisitNote, *, reviewer: Actor, at: datetime, settings: ProgramSettings,
           capacity: SupervisorCapacity | None = None) -> VisitNote:
    """Co-sign a signed note in `capacity` (the reviewer's, if known).

    Without co-supervision one co-signature completes the note. With it, the note stays signed
    until both capacities have co-signed since the author's last change, each once.
    """
    _check_reviewer(note, reviewer)
    if note.status is not NoteStatus.SIGNED:
        raise RuleViolation(f"Only a signed note waiting for review can be co-signed "
                            f"(this one is {note.status}).")
    status = NoteStatus.COSIGNED
    if settings.cosupervision_required:
        _check_cosupervisor(note, reviewer, capacity)
        if set(missing_cosigners(note, settings=settings)) - {capacity}:
            status = NoteStatus.SIGNED  # the other supervisor's co-signature is still missing
    review = Review(reviewer=reviewer.user_id, at=at, cosigned=True, capacity=capacity)
    return replace(note, status=status, reviews=(*note.reviews, review))


def _check_cosupervisor(note: VisitNote, reviewer: Actor,
                        capacity: SupervisorCapacity | None) -> None:
    if capacity is None:
        raise RuleViolation(COSUPERVISION_UNKNOWN)
    current = cosignatures(note)
    if any(r.reviewer == reviewer.user_id for r in current):
        raise RuleViolation("You have already co-signed this note; it waits for the other "
                            "supervisor.")
    if any(r.capacity is capacity for r in current):
        raise RuleViolation(f"The {capacity} supervisor has already co-signed this note; it "
                            f"waits for the {_other(capacity)} supervisor.")


def _other(capacity: SupervisorCapacity) -> SupervisorCapacity:
    return next(c for c in SupervisorCapacity if c is not capacity)


def cosignatures(note: VisitNote) -> tuple[Review, ...]:
    """The co-signatures given since the author's last change (a return or the author's
    addendum starts the count again): the ones that stand for the note as it is now."""
    return _current_round(note.reviews, _author_changes(note))


def missing_cosigners(note: VisitNote, *, settings: ProgramSettings
                      ) -> tuple[SupervisorCapacity, ...]:
    """The capacities whose co-signature the note still needs under co-supervision; () when the
    program does not co-supervise (then any one supervisor's co-signature completes it)."""
    if not settings.cosupervision_required:
        return ()
    given = {r.capacity for r in cosignatures(note)}
    return tuple(c for c in SupervisorCapacity if c not in given)


def settled_status(reviews: Sequence[Review], *, author_changes: Iterable[datetime],
                   settings: ProgramSettings) -> NoteStatus:
    """A signed note's status from its reviews (in the order given) and the times of its
    author's addenda: the latest of them decides (an addendum at the same moment as a review
    counts as before it); a co-signature completes the note only when, under co-supervision,
    both capacities have co-signed since the author's last change."""
    changes = sorted(author_changes)
    events = sorted([(at, 0, i) for i, at in enumerate(changes)]
                    + [(r.at, 1, i) for i, r in enumerate(reviews)])
    if not reviews or events[-1][1] == 0:
        return NoteStatus.SIGNED
    last = reviews[events[-1][2]]
    if not last.cosigned:
        return NoteStatus.RETURNED
    if settings.cosupervision_required:
        given = {r.capacity for r in _current_round(reviews, changes)}
        if not all(c in given for c in SupervisorCapacity):
            return NoteStatus.SIGNED
    return NoteStatus.COSIGNED


def _current_round(reviews: Sequence[Review], author_changes: Iterable[datetime]
                   ) -> tuple[Review, ...]:
    last_change = max(author_changes, default=None)
    current: list[Review] = []
    for review in reviews:
        if not review.cosigned:
            current = []
        elif last_change is None or review.at >= last_change:
            current.append(review)
    return tuple(current)


def _author_changes(note: VisitNote) -> list[datetime]:
    return [a.at for a in note.addenda if a.author == note.author]


def return_note(note: VisitNote, *, reviewer: Actor, at: datetime, comment: str,
                capacity: SupervisorCapacity | None = None) -> VisitNote:
    """Send a signed note back to its author, who answers with an addendum; any co-signature
    given so far then counts no more (the author's answer restarts the co-signing)."""
    _check_reviewer(note, reviewer)
    if note.status is not NoteStatus.SIGNED:
        raise RuleViolation(f"Only a signed note waiting for review can be returned "
                            f"(this one is {note.status}).")
    if not comment.strip():
        raise RuleViolation("Say what needs correcting when returning a note.")
    review = Review(reviewer=reviewer.user_id, at=at, cosigned=False, comment=comment,
                    capacity=capacity)
    return replace(note, status=NoteStatus.RETURNED, reviews=(*note.reviews, review))


def _check_reviewer(note: VisitNote, reviewer: Actor) -> None:
    if not reviewer.is_supervisor:
        raise NotPermitted("Only a supervisor can co-sign or return a note.")
    if reviewer.user_id == note.author:
        raise NotPermitted("A note cannot be co-signed by its own author.")


def _require_unlocked(note: VisitNote) -> None:
    if note.locked:
        raise RuleViolation("This note is signed and locked; add an addendum instead.")
