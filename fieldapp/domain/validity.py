"""Specimen validity from the recorded readings, by the federal criteria (49 CFR part 40).

Urine only: creatinine (mg/dL), specific gravity (four decimals), pH and an oxidizing adulterant
test. The criteria, checked in this order, and where they were read (November 2026; section text
from law.lawstack.com, "verified against eCFR.gov as of June 20, 2026"):

- adulterated: pH below 4 or at least 11, or an oxidizing adulterant at or above its cutoff.
  49 CFR 40.89(b): results "at or above the cutoffs (or for pH, at or above or below the values,
  as appropriate)" are adulterated, the cutoffs being the HHS Mandatory Guidelines'. The
  Guidelines of 2017 (82 FR 7920) raised the lower pH cutoff from 3 to 4; older secondary
  sources still say 3.
- substituted: creatinine below 2 mg/dL and specific gravity at most 1.0010 or at least 1.0200.
  49 CFR 40.88(b), read verbatim.
- invalid: pH at least 4 and below 4.5, or at least 9 and below 11; creatinine below 2 mg/dL
  with specific gravity above 1.0010 and below 1.0200; creatinine 2 mg/dL or more with specific
  gravity at most 1.0010. These are the HHS Mandatory Guidelines' invalid-result criteria,
  which part 40 applies (40.3, "invalid result"; the section was 40.96 before the 2023
  renumbering). Read from secondary summaries of the Guidelines, not their text.
- dilute: creatinine at least 2 and below 20 mg/dL with specific gravity above 1.0010 and below
  1.0030. 49 CFR 40.88(a) as summarised by J. J. Keller (2025). REGULATIONS.md says
  "creatinine < 20 and specific gravity < 1.003": with substituted and invalid decided first,
  the two say the same.
- valid: none of these, with creatinine measured, specific gravity measured when creatinine is
  below 20 mg/dL (40.87(a) has the lab measure it then), and pH measured.

A criterion met by the readings there are decides, even when others are missing (a field cup
may read creatinine and specific gravity only); the reason then says pH was not measured.

Section numbers: the 2023 oral fluid rule (88 FR 27596) moved 40.93 (dilute, substituted) to
40.88 and 40.95 (adulterant cutoffs) to 40.89; the reasons cite today's numbers. Fewer readings
than a verdict needs give no classification (`ValidityFinding.validity` is None), never "valid".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    LabStatus,
    SubstanceResult,
    Validity,
    unconfirmed,
)

CREATININE_SUBSTITUTED = Decimal(2)  # mg/dL; below it: substituted or invalid
CREATININE_DILUTE = Decimal(20)  # mg/dL; below it, specific gravity decides
SG_LOW = Decimal("1.0010")  # at or below: substituted (creatinine < 2) or invalid
SG_DILUTE = Decimal("1.0030")  # below it, and above SG_LOW: dilute
SG_HIGH = Decimal("1.0200")  # at or above, with creatinine < 2: substituted
PH_ADULTERATED_LOW = Decimal(4)  # below: adulterated
PH_INVALID_LOW = Decimal("4.5")  # from 4 to below 4.5: invalid
PH_INVALID_HIGH = Decimal(9)  # from 9 to below 11: invalid
PH_ADULTERATED_HIGH = Decimal(11)  # at or above: adulterated

CITE_ADULTERATED = "49 CFR 40.89(b), HHS Mandatory Guidelines"
CITE_SUBSTITUTED = "49 CFR 40.88(b)"
CITE_INVALID = "HHS Mandatory Guidelines, invalid result, 49 CFR part 40"
CITE_DILUTE = "49 CFR 40.88(a)"
CITE_SG_NEEDED = "49 CFR 40.87(a)"

UNCONFIRMED = "unconfirmed, not for court"


@dataclass(frozen=True, kw_only=True)
class ValidityReadings:
    """What was measured on the specimen; None where that test was not done.

    Attributes:
        creatinine: mg/dL.
        specific_gravity: read to four decimals, e.g. 1.0025.
        ph: pH.
        oxidant: an oxidizing adulterant was detected at or above the cutoff (None: not tested).
    """

    creatinine: Decimal | None = None
    specific_gravity: Decimal | None = None
    ph: Decimal | None = None
    oxidant: bool | None = None

    @property
    def empty(self) -> bool:
        return (self.creatinine, self.specific_gravity, self.ph, self.oxidant) == \
            (None, None, None, None)

    def describe(self) -> str:
        """The readings in words, as reports print them; "" when nothing was measured."""
        parts = []
        if self.creatinine is not None:
            parts.append(f"creatinine {_number(self.creatinine)} mg/dL")
        if self.specific_gravity is not None:
            parts.append(f"specific gravity {_number(self.specific_gravity)}")
        if self.ph is not None:
            parts.append(f"pH {_number(self.ph)}")
        if self.oxidant is not None:
            parts.append("oxidizing adulterant detected" if self.oxidant
                         else "no oxidizing adulterant")
        return ", ".join(parts)


@dataclass(frozen=True, kw_only=True)
class ValidityFinding:
    """What the readings show, and why in words; `validity` is None when they cannot tell."""

    validity: Validity | None
    reason: str


class ResultCategory(StrEnum):
    """How a screen's result is reported (49 CFR part 40's categories, less "rejected")."""

    NEGATIVE = "negative"
    NEGATIVE_DILUTE = "negative-dilute"
    POSITIVE = "positive"
    POSITIVE_DILUTE = "positive-dilute"
    ADULTERATED = "adulterated"
    SUBSTITUTED = "substituted"
    INVALID = "invalid"


def classify(readings: ValidityReadings | None) -> ValidityFinding | None:
    """The specimen's validity by the criteria above; None when nothing was measured (then
    the collector's judgement stands alone)."""
    if readings is None or readings.empty:
        return None
    for rule in (_adulterated, _substituted, _invalid, _dilute):
        found = rule(readings)
        if found is not None:
            return found
    return _valid_or_too_few(readings)


def result_category(*, results: Mapping[str, SubstanceResult], validity: Validity
                    ) -> ResultCategory | None:
    """The reported result; None when there is no result to report (nothing recorded, or only
    inconclusive ones)."""
    if validity in (Validity.ADULTERATED, Validity.SUBSTITUTED, Validity.INVALID):
        return ResultCategory(str(validity))
    dilute = validity is Validity.DILUTE
    values = set(results.values())
    if SubstanceResult.POSITIVE in values:
        return ResultCategory.POSITIVE_DILUTE if dilute else ResultCategory.POSITIVE
    if values == {SubstanceResult.NEGATIVE}:
        return ResultCategory.NEGATIVE_DILUTE if dilute else ResultCategory.NEGATIVE
    return None


# --- a screen's validity and standing ---------------------------------------------------------


def measured(screen: DrugScreen) -> ValidityFinding | None:
    """What the screen's readings show, if it was collected and anything was measured."""
    if screen.attendance is not Attendance.COLLECTED:
        return None
    return classify(screen.readings)


def measured_validity(screen: DrugScreen) -> Validity | None:
    """The classification from the readings; None when they do not decide one."""
    found = measured(screen)
    return found.validity if found else None


def validity_disagrees(screen: DrugScreen) -> bool:
    """The readings decide a classification other than the collector's judgement."""
    found = measured_validity(screen)
    return found is not None and found is not screen.validity


def validity_of(screen: DrugScreen) -> Validity:
    """The classification a report stands on: the readings' where they decide one, otherwise
    the collector's judgement."""
    found = measured_validity(screen)
    return screen.validity if found is None else found


def court_status(screen: DrugScreen) -> str:
    """A short label for how far the screen can be relied on: "no-show", "refused",
    "lab confirmed positive" or "... negative", "unconfirmed, not for court" (a positive no lab
    has confirmed), "waiting for the lab", else the result category ("negative-dilute", ...)."""
    if screen.attendance is not Attendance.COLLECTED:
        return str(screen.attendance)
    if screen.lab is not None and screen.lab.status is not LabStatus.PENDING:
        return f"lab {screen.lab.status}"
    if unconfirmed(screen):
        return UNCONFIRMED
    if screen.lab is not None:
        return "waiting for the lab"
    return _reported(screen)


def _reported(screen: DrugScreen) -> str:
    category = result_category(results=screen.results, validity=validity_of(screen))
    if category is not None:
        return str(category)
    if SubstanceResult.INCONCLUSIVE in screen.results.values():
        return "inconclusive"
    return "no result recorded"


# --- the criteria, one function each ----------------------------------------------------------


def _adulterated(r: ValidityReadings) -> ValidityFinding | None:
    if r.oxidant:
        why = "oxidizing adulterant detected at or above the cutoff"
    elif r.ph is not None and r.ph < PH_ADULTERATED_LOW:
        why = f"pH {_number(r.ph)} is below 4"
    elif r.ph is not None and r.ph >= PH_ADULTERATED_HIGH:
        why = f"pH {_number(r.ph)} is 11 or above"
    else:
        return None
    return _found(Validity.ADULTERATED, why, CITE_ADULTERATED)


def _substituted(r: ValidityReadings) -> ValidityFinding | None:
    c, sg = r.creatinine, r.specific_gravity
    if c is None or sg is None or c >= CREATININE_SUBSTITUTED or SG_LOW < sg < SG_HIGH:
        return None
    return _found(Validity.SUBSTITUTED, f"creatinine {_number(c)} mg/dL and specific gravity "
                  f"{_number(sg)}", CITE_SUBSTITUTED, r)


def _invalid(r: ValidityReadings) -> ValidityFinding | None:
    c, sg, ph = r.creatinine, r.specific_gravity, r.ph
    if ph is not None and PH_ADULTERATED_LOW <= ph < PH_INVALID_LOW:
        why = f"pH {_number(ph)} is at least 4 and below 4.5"
    elif ph is not None and PH_INVALID_HIGH <= ph < PH_ADULTERATED_HIGH:
        why = f"pH {_number(ph)} is at least 9 and below 11"
    elif c is not None and sg is not None and c < CREATININE_SUBSTITUTED \
            and SG_LOW < sg < SG_HIGH:
        why = (f"creatinine {_number(c)} mg/dL is below 2 but specific gravity {_number(sg)} is "
               "above 1.0010 and below 1.0200, which do not agree")
    elif c is not None and sg is not None and sg <= SG_LOW:
        why = (f"specific gravity {_number(sg)} is 1.0010 or below but creatinine "
               f"{_number(c)} mg/dL is 2 or above, which do not agree")
    else:
        return None
    return _found(Validity.INVALID, why, CITE_INVALID, r)


def _dilute(r: ValidityReadings) -> ValidityFinding | None:
    c, sg = r.creatinine, r.specific_gravity
    if c is None or sg is None or not (CREATININE_SUBSTITUTED <= c < CREATININE_DILUTE
                                       and SG_LOW < sg < SG_DILUTE):
        return None
    return _found(Validity.DILUTE, f"creatinine {_number(c)} mg/dL and specific gravity "
                  f"{_number(sg)}", CITE_DILUTE, r)


def _valid_or_too_few(r: ValidityReadings) -> ValidityFinding:
    if r.creatinine is None:
        return ValidityFinding(validity=None, reason=f"{r.describe()}: without creatinine, "
                               "too few readings to classify the specimen")
    if r.creatinine < CREATININE_DILUTE and r.specific_gravity is None:
        return ValidityFinding(validity=None, reason=(
            f"creatinine {_number(r.creatinine)} mg/dL is below 20, so specific gravity is "
            f"needed to classify the specimen ({CITE_SG_NEEDED})"))
    if r.ph is None:
        return ValidityFinding(validity=None, reason=f"{r.describe()}: without pH, too few "
                               "readings to call the specimen valid")
    untested = "; oxidants not tested" if r.oxidant is None else ""
    return ValidityFinding(validity=Validity.VALID, reason=f"{r.describe()}: valid, none of "
                           f"the federal criteria met{untested}")


def _found(validity: Validity, why: str, cite: str, r: ValidityReadings | None = None
           ) -> ValidityFinding:
    """`r` given: say so when pH, which could have found it adulterated, was not measured."""
    unmeasured = "; pH not measured" if r is not None and r.ph is None else ""
    return ValidityFinding(validity=validity, reason=f"{why}: {validity} ({cite}){unmeasured}")


def _number(value: Decimal) -> str:
    return format(value, "f")
