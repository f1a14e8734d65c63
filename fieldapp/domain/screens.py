"""Drug screens: what was collected, what it showed, and how it was confirmed.

A screen is never edited: a correction is a new revision with a reason, and every earlier
revision stays readable. What the validity readings mean under the federal criteria is
`fieldapp.domain.validity`; this module only refuses readings no specimen could have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, ScreenId, UserId
from fieldapp.domain.settings import ProgramSettings

if TYPE_CHECKING:  # validity.py builds on this module, so only the type is named here
    from fieldapp.domain.validity import ValidityReadings

# Readings no specimen can have: a typing slip, refused before it reaches a court's file.
# (low, high, unit, decimals): specific gravity to four, as the criteria state it (1.0010).
PLAUSIBLE: dict[str, tuple[Decimal, Decimal, str, int]] = {
    "creatinine": (Decimal(0), Decimal(1000), " mg/dL", 2),
    "specific_gravity": (Decimal("1.0000"), Decimal("1.0500"), "", 4),
    "ph": (Decimal(0), Decimal(14), "", 2),
}
READING_NAMES = {"creatinine": "Creatinine", "specific_gravity": "Specific gravity",
                 "ph": "pH"}


class ScreenReason(StrEnum):
    SCHEDULED = "scheduled"
    RANDOM = "random"
    FOR_CAUSE = "for cause"


class Specimen(StrEnum):
    URINE = "urine"
    ORAL_FLUID = "oral fluid"
    HAIR = "hair"
    BREATH = "breath"
    SWEAT = "sweat"


class SubstanceResult(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    INCONCLUSIVE = "inconclusive"


class Validity(StrEnum):
    VALID = "valid"
    DILUTE = "dilute"
    ADULTERATED = "adulterated"
    SUBSTITUTED = "substituted"
    INVALID = "invalid"


class Attendance(StrEnum):
    COLLECTED = "collected"
    REFUSED = "refused"
    NO_SHOW = "no-show"


class Method(StrEnum):
    INSTANT = "instant"
    LAB = "lab"


class LabStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED_POSITIVE = "confirmed positive"
    CONFIRMED_NEGATIVE = "confirmed negative"


@dataclass(frozen=True, kw_only=True)
class LabConfirmation:
    status: LabStatus
    on: date | None = None


@dataclass(frozen=True, kw_only=True)
class DrugScreen:
    """One screen. Sealed: the person and every result; plain: case, time, reason, revision.

    Attributes:
        readings: creatinine, specific gravity, pH and oxidants as measured, if they were.
        notified_at: for a call-in, when the person was told to come.
        due_by: when the specimen had to be given; a no-show always records it. A random screen
            recorded before call-in times were kept has neither, and stays correctable.
    """

    id: ScreenId
    case_id: CaseId
    person: str
    collected_at: datetime
    reason: ScreenReason
    specimen: Specimen = Specimen.URINE
    observed: bool = False
    panel: tuple[str, ...] = ()
    results: Mapping[str, SubstanceResult] = field(default_factory=dict)
    validity: Validity = Validity.VALID
    attendance: Attendance = Attendance.COLLECTED
    method: Method = Method.INSTANT
    lab: LabConfirmation | None = None
    chain_of_custody: str = ""
    comments: str = ""
    recorded_by: UserId
    revision: int = 1
    correction_reason: str = ""
    readings: ValidityReadings | None = None
    notified_at: datetime | None = None
    due_by: datetime | None = None

    @property
    def late_for_call_in(self) -> bool:
        """Collected after the time it was due by: allowed, and said wherever it is shown."""
        return self.attendance is Attendance.COLLECTED and self.due_by is not None \
            and self.collected_at > self.due_by


def check_screen(screen: DrugScreen, settings: ProgramSettings) -> None:
    """Refuse a screen the program's rules do not allow, naming every problem."""
    problems = []
    if not screen.person.strip():
        problems.append("Name the person screened.")
    off_program = [s for s in screen.panel if s not in settings.panel]
    if off_program:
        problems.append(f"{', '.join(off_program)} is not on the program's panel.")
    off_panel = [s for s in screen.results if s not in screen.panel]
    if off_panel:
        problems.append(f"There is a result for {', '.join(off_panel)}, which is not on this "
                        "screen's panel.")
    if screen.attendance is Attendance.COLLECTED:
        if not screen.panel:
            problems.append("Choose the panel that was tested.")
        missing = results_to_enter(screen)
        if missing:
            problems.append(f"Record a result for {', '.join(missing)}.")
    elif screen.results or screen.lab is not None:
        problems.append(f"A screen marked {screen.attendance} has no results.")
    problems += _reading_problems(screen)
    problems += _call_in_problems(screen)
    if screen.method is Method.LAB and screen.attendance is Attendance.COLLECTED \
            and not screen.chain_of_custody.strip():
        problems.append("A lab screen needs its chain-of-custody form number.")
    if screen.lab and screen.lab.status is not LabStatus.PENDING:
        if screen.lab.on is None:
            problems.append("Give the date of the lab confirmation.")
        elif screen.lab.on < screen.collected_at.astimezone(settings.zone).date():
            problems.append("A lab confirmation cannot come before the collection.")
    if problems:
        raise RuleViolation(" ".join(problems))


def results_to_enter(screen: DrugScreen) -> list[str]:
    """The panel's substances without a result, in panel order, where each needs one.

    Only a collected specimen judged valid needs a result for every substance: a refusal or a
    no-show has none, and an adulterated, substituted, invalid or dilute specimen may go
    unreported. Nothing stands for "not entered": a result is in `results` or it is missing.
    """
    if screen.attendance is not Attendance.COLLECTED or screen.validity is not Validity.VALID:
        return []
    return [s for s in screen.panel if s not in screen.results]


def _reading_problems(screen: DrugScreen) -> list[str]:
    readings = screen.readings
    if readings is None or readings.empty:
        return []
    if screen.attendance is not Attendance.COLLECTED:
        return [f"A screen marked {screen.attendance} has no validity readings."]
    if screen.specimen is not Specimen.URINE:
        return ["Creatinine, specific gravity, pH and oxidants are readings of a urine "
                f"specimen; this one is {screen.specimen}."]
    problems = []
    for name, (low, high, unit, decimals) in PLAUSIBLE.items():
        value: Decimal | None = getattr(readings, name)
        label = READING_NAMES[name]
        if value is None:
            continue
        if not value.is_finite():
            problems.append(f"{label} must be a number.")
        elif not low <= value <= high:
            problems.append(f"{label} {value} is outside {low}{unit} to {high}{unit}: check the "
                            "reading.")
        elif value != value.quantize(Decimal(1).scaleb(-decimals)):
            problems.append(f"{label} is read to at most {decimals} decimal places.")
    return problems


def _call_in_problems(screen: DrugScreen) -> list[str]:
    problems = []
    notified, due = screen.notified_at, screen.due_by
    if notified is not None and due is None:
        problems.append("Give the time the specimen was due by.")
    if screen.reason is ScreenReason.RANDOM and due is not None and notified is None:
        problems.append("Give the time the person was told to come.")
    if notified is not None and due is not None and due <= notified:
        problems.append("The due-by time must be after the time the person was told to come.")
    if screen.attendance is Attendance.NO_SHOW and due is None:
        problems.append("A no-show needs the time the specimen was due by.")
    if screen.attendance is Attendance.COLLECTED and notified is not None \
            and screen.collected_at < notified:
        problems.append("The collection is before the person was told to come: check the "
                        "notice time.")
    return problems


def correct(current: DrugScreen, corrected: DrugScreen, *, reason: str,
            settings: ProgramSettings) -> DrugScreen:
    """The next revision of a screen; the earlier one stays as it was."""
    if not reason.strip():
        raise RuleViolation("Give the reason for the correction.")
    if corrected.id != current.id or corrected.case_id != current.case_id:
        raise RuleViolation("A correction must be of the same screen.")
    result = replace(corrected, revision=current.revision + 1, correction_reason=reason)
    check_screen(result, settings)
    return result


def positives(screen: DrugScreen) -> list[str]:
    return [s for s, r in screen.results.items() if r is SubstanceResult.POSITIVE]


def unconfirmed(screen: DrugScreen) -> bool:
    """Positives no lab has confirmed: an instant screen, or a lab screen still pending."""
    if not positives(screen) or (screen.lab and screen.lab.status is not LabStatus.PENDING):
        return False
    return screen.method is Method.INSTANT or screen.lab is not None
