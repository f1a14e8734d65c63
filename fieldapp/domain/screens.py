"""Drug screens: what was collected, what it showed, and how it was confirmed.

A screen is never edited: a correction is a new revision with a reason, and every earlier
revision stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, ScreenId, UserId
from fieldapp.domain.settings import ProgramSettings


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
    """One screen. Sealed: the person and every result; plain: case, time, reason, revision."""

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
        missing = [s for s in screen.panel if s not in screen.results]
        if missing and screen.validity is Validity.VALID:
            problems.append(f"Record a result for {', '.join(missing)}.")
    elif screen.results or screen.lab is not None:
        problems.append(f"A screen marked {screen.attendance} has no results.")
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
