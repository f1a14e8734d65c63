"""Specimen validity against the federal thresholds (49 CFR part 40), edges included."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from fieldapp.domain.people import CaseId, ScreenId, UserId
from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    LabConfirmation,
    LabStatus,
    Method,
    ScreenReason,
    SubstanceResult,
    Validity,
)
from fieldapp.domain.validity import (
    UNCONFIRMED,
    ResultCategory,
    ValidityReadings,
    classify,
    court_status,
    measured_validity,
    result_category,
    validity_disagrees,
    validity_of,
)

VALID, DILUTE, INVALID = Validity.VALID, Validity.DILUTE, Validity.INVALID
ADULTERATED, SUBSTITUTED = Validity.ADULTERATED, Validity.SUBSTITUTED
NEG, POS, INC = SubstanceResult.NEGATIVE, SubstanceResult.POSITIVE, SubstanceResult.INCONCLUSIVE


def readings(creatinine: str | None = None, sg: str | None = None, ph: str | None = None,
             oxidant: bool | None = None) -> ValidityReadings:
    def number(text: str | None) -> Decimal | None:
        return Decimal(text) if text is not None else None

    return ValidityReadings(creatinine=number(creatinine), specific_gravity=number(sg),
                            ph=number(ph), oxidant=oxidant)


# (creatinine mg/dL, specific gravity, pH, oxidant) -> classification; None: too few readings.
THRESHOLDS: dict[str, tuple[ValidityReadings, Validity | None]] = {
    # substituted: creatinine < 2 and (SG <= 1.0010 or SG >= 1.0200)
    "substituted: creatinine 1.9, SG exactly 1.0010": (readings("1.9", "1.0010", "6"),
                                                         SUBSTITUTED),
    "substituted: creatinine 1.9, SG exactly 1.0200": (readings("1.9", "1.0200", "6"),
                                                         SUBSTITUTED),
    "substituted: no creatinine, SG 1.0000": (readings("0", "1.0000", "6"), SUBSTITUTED),
    "substituted: SG 1.0350": (readings("0.5", "1.0350", "6"), SUBSTITUTED),
    "invalid: creatinine 1.9, SG 1.0011": (readings("1.9", "1.0011", "6"), INVALID),
    "invalid: creatinine 1.9, SG 1.0199": (readings("1.9", "1.0199", "6"), INVALID),
    "invalid: creatinine 1.99, SG 1.0020": (readings("1.99", "1.0020", "6"), INVALID),
    # creatinine exactly 2: no longer substituted, and dilute can begin
    "invalid: creatinine exactly 2, SG exactly 1.0010": (readings("2", "1.0010", "6"),
                                                          INVALID),
    "dilute: creatinine exactly 2, SG 1.0011": (readings("2", "1.0011", "6"), DILUTE),
    "valid: creatinine exactly 2, SG exactly 1.0200": (readings("2", "1.0200", "6"), VALID),
    "valid: creatinine exactly 2, SG exactly 1.0030": (readings("2", "1.0030", "6"), VALID),
    # dilute: 2 <= creatinine < 20 and 1.0010 < SG < 1.0030
    "dilute: creatinine 19.9, SG 1.0029": (readings("19.9", "1.0029", "6"), DILUTE),
    "dilute: creatinine 15, SG 1.0020": (readings("15", "1.0020", "6"), DILUTE),
    "valid: creatinine 15, SG exactly 1.0030": (readings("15", "1.0030", "6"), VALID),
    "invalid: creatinine 15, SG exactly 1.0010": (readings("15", "1.0010", "6"), INVALID),
    "valid: creatinine exactly 20, SG 1.0020": (readings("20", "1.0020", "6"), VALID),
    "invalid: creatinine exactly 20, SG 1.0010": (readings("20", "1.0010", "6"), INVALID),
    "invalid: creatinine 250, SG 1.0005": (readings("250", "1.0005", "6"), INVALID),
    "valid: creatinine 20, no SG needed": (readings("20", None, "6"), VALID),
    # pH: adulterated below 4 and from 11; invalid from 4 to below 4.5 and from 9 to below 11
    "adulterated: pH 3.9": (readings("80", None, "3.9"), ADULTERATED),
    "invalid: pH exactly 4": (readings("80", None, "4"), INVALID),
    "invalid: pH 4.4": (readings("80", None, "4.4"), INVALID),
    "valid: pH exactly 4.5": (readings("80", None, "4.5"), VALID),
    "valid: pH 8.9": (readings("80", None, "8.9"), VALID),
    "invalid: pH exactly 9": (readings("80", None, "9"), INVALID),
    "invalid: pH 10.9": (readings("80", None, "10.9"), INVALID),
    "adulterated: pH exactly 11": (readings("80", None, "11"), ADULTERATED),
    "adulterated: pH 0": (readings("80", None, "0"), ADULTERATED),
    # oxidizing adulterants
    "adulterated: oxidant detected": (readings("80", None, "6", oxidant=True), ADULTERATED),
    "valid: no oxidant": (readings("80", None, "6", oxidant=False), VALID),
    "valid: oxidants not tested": (readings("80", None, "6"), VALID),
    # precedence: adulterated, substituted, invalid, dilute
    "adulterated before substituted": (readings("1", "1.0005", "3"), ADULTERATED),
    "oxidant before dilute": (readings("15", "1.0020", "6", oxidant=True), ADULTERATED),
    "substituted before an invalid pH": (readings("1", "1.0005", "9.5"), SUBSTITUTED),
    "invalid pH before dilute": (readings("15", "1.0020", "4.2"), INVALID),
    # missing readings: decisive ones still decide; a verdict of valid needs them all
    "decisive alone: pH 3": (readings(ph="3"), ADULTERATED),
    "decisive alone: pH 9.5": (readings(ph="9.5"), INVALID),
    "decisive alone: oxidant": (readings(oxidant=True), ADULTERATED),
    "too few: pH alone": (readings(ph="6"), None),
    "too few: SG alone": (readings(sg="1.0005"), None),
    "too few: creatinine 15 without SG": (readings("15", None, "6"), None),
    "too few: creatinine 1.5 without SG": (readings("1.5", None, "6"), None),
    "too few: creatinine 80 without pH": (readings("80"), None),
    "too few: oxidant not detected alone": (readings(oxidant=False), None),
    "decisive without pH: dilute": (readings("15", "1.0020"), DILUTE),
    "decisive without pH: substituted": (readings("1", "1.0300"), SUBSTITUTED),
}


@pytest.mark.parametrize("case", THRESHOLDS.values(), ids=THRESHOLDS.keys())
def test_classification_at_the_thresholds(case: tuple[ValidityReadings, Validity | None]
                                          ) -> None:
    measured, expected = case
    finding = classify(measured)
    assert finding is not None
    assert finding.validity is expected, finding.reason
    if expected is None:
        assert "too few" in finding.reason or "is needed" in finding.reason
    elif expected is not VALID:
        assert f": {expected} (" in finding.reason  # the verdict, with what it rests on


@pytest.mark.parametrize("nothing", [None, ValidityReadings()], ids=["no readings", "all empty"])
def test_nothing_measured_is_no_finding(nothing: ValidityReadings | None) -> None:
    assert classify(nothing) is None


@pytest.mark.parametrize(("taken", "reason"), [
    (readings("1.5", "1.0005", "6"),
     "creatinine 1.5 mg/dL and specific gravity 1.0005: substituted (49 CFR 40.88(b))"),
    (readings("15.0", "1.0020", "6.0"),
     "creatinine 15.0 mg/dL and specific gravity 1.0020: dilute (49 CFR 40.88(a))"),
    (readings("80", None, "3.5"),
     "pH 3.5 is below 4: adulterated (49 CFR 40.89(b), HHS Mandatory Guidelines)"),
    (readings("80", None, "9.2"), "pH 9.2 is at least 9 and below 11: invalid (HHS Mandatory "
                                  "Guidelines, invalid result, 49 CFR part 40)"),
    (readings("1.2", "1.0100", "6"), "creatinine 1.2 mg/dL is below 2 but specific gravity "
                                     "1.0100 is above 1.0010 and below 1.0200, which do not "
                                     "agree: invalid (HHS Mandatory Guidelines, invalid result, "
                                     "49 CFR part 40)"),
    (readings("85", "1.0150", "6.5", oxidant=False),
     "creatinine 85 mg/dL, specific gravity 1.0150, pH 6.5, no oxidizing adulterant: valid, "
     "none of the federal criteria met"),
    (readings("85", None, "6.5"),
     "creatinine 85 mg/dL, pH 6.5: valid, none of the federal criteria met; oxidants not tested"),
    (readings("12", None, "6"), "creatinine 12 mg/dL is below 20, so specific gravity is needed "
                                "to classify the specimen (49 CFR 40.87(a))"),
    (readings(ph="6.5"), "pH 6.5: without creatinine, too few readings to classify the "
                         "specimen"),
    (readings("15", "1.0020"), "creatinine 15 mg/dL and specific gravity 1.0020: dilute "
                               "(49 CFR 40.88(a)); pH not measured"),
    (readings(ph="3", oxidant=True), "oxidizing adulterant detected at or above the cutoff: "
                                     "adulterated (49 CFR 40.89(b), HHS Mandatory Guidelines)"),
], ids=["substituted", "dilute", "adulterated", "invalid pH", "invalid disagreement", "valid",
        "valid, oxidants untested", "needs SG", "needs creatinine", "dilute without pH",
        "adulterated without creatinine"])
def test_the_reason_in_words(taken: ValidityReadings, reason: str) -> None:
    finding = classify(taken)
    assert finding is not None
    assert finding.reason == reason


def test_the_reading_is_quoted_as_recorded() -> None:
    # Decimal keeps what was typed: 1.0010 is not 1.001, 15.0 is not 15.
    assert readings("15.0", "1.0010", "7.00").describe() == \
        "creatinine 15.0 mg/dL, specific gravity 1.0010, pH 7.00"
    assert readings(oxidant=True).describe() == "oxidizing adulterant detected"
    assert ValidityReadings().describe() == ""


# --- result categories --------------------------------------------------------------------------


CATEGORIES: dict[str, tuple[dict[str, SubstanceResult], Validity, ResultCategory | None]] = {
    "negative": ({"cocaine": NEG, "opiates": NEG}, VALID, ResultCategory.NEGATIVE),
    "negative-dilute": ({"cocaine": NEG}, DILUTE, ResultCategory.NEGATIVE_DILUTE),
    "positive": ({"cocaine": POS, "opiates": NEG}, VALID, ResultCategory.POSITIVE),
    "positive-dilute": ({"cocaine": POS, "opiates": INC}, DILUTE,
                        ResultCategory.POSITIVE_DILUTE),
    "adulterated, whatever the results": ({"cocaine": POS}, ADULTERATED,
                                          ResultCategory.ADULTERATED),
    "substituted": ({"cocaine": NEG}, SUBSTITUTED, ResultCategory.SUBSTITUTED),
    "invalid": ({}, INVALID, ResultCategory.INVALID),
    "inconclusive only": ({"cocaine": NEG, "opiates": INC}, VALID, None),
    "no results": ({}, VALID, None),
}


@pytest.mark.parametrize("case", CATEGORIES.values(), ids=CATEGORIES.keys())
def test_result_categories(case: tuple[dict[str, SubstanceResult], Validity,
                                       ResultCategory | None]) -> None:
    results, validity, category = case
    assert result_category(results=results, validity=validity) is category


# --- a screen's measured validity and court status ----------------------------------------------


def screen(**overrides: Any) -> DrugScreen:
    fields: dict[str, Any] = {
        "id": ScreenId("screen-1"), "case_id": CaseId("case-1"), "person": "Ada Okafor",
        "collected_at": datetime(2026, 3, 9, 15, 0, tzinfo=UTC),
        "reason": ScreenReason.SCHEDULED, "panel": ("cocaine", "opiates"),
        "results": {"cocaine": NEG, "opiates": NEG}, "recorded_by": UserId("u-1"),
    }
    fields.update(overrides)
    return DrugScreen(**fields)


def test_measured_beside_the_collectors_judgement() -> None:
    plain = screen()
    assert measured_validity(plain) is None and not validity_disagrees(plain)
    assert validity_of(plain) is VALID

    watery = screen(readings=readings("15", "1.0020", "6"))
    assert measured_validity(watery) is DILUTE
    assert validity_disagrees(watery)
    assert validity_of(watery) is DILUTE  # the readings decide what is reported
    agreed = replace(watery, validity=DILUTE)
    assert not validity_disagrees(agreed)

    too_few = screen(readings=readings("15"), validity=DILUTE)
    assert measured_validity(too_few) is None and not validity_disagrees(too_few)
    assert validity_of(too_few) is DILUTE  # then the collector's judgement stands


def test_readings_on_a_screen_not_collected_measure_nothing() -> None:
    missed = screen(attendance=Attendance.NO_SHOW, results={}, panel=(),
                    readings=readings("15", "1.0020", "6"))
    assert measured_validity(missed) is None


def lab(status: LabStatus) -> LabConfirmation:
    return LabConfirmation(status=status, on=date(2026, 3, 12))


ONE_POSITIVE = {"cocaine": POS, "opiates": NEG}

COURT: dict[str, tuple[DrugScreen, str]] = {
    "instant positive, no lab": (screen(results=ONE_POSITIVE), UNCONFIRMED),
    "instant positive, lab pending": (
        screen(results=ONE_POSITIVE, lab=LabConfirmation(status=LabStatus.PENDING)),
        UNCONFIRMED),
    "instant positive, lab confirmed": (
        screen(results=ONE_POSITIVE, lab=lab(LabStatus.CONFIRMED_POSITIVE)),
        "lab confirmed positive"),
    "instant positive, lab says negative": (
        screen(results=ONE_POSITIVE, lab=lab(LabStatus.CONFIRMED_NEGATIVE)),
        "lab confirmed negative"),
    "lab screen, waiting": (screen(method=Method.LAB, chain_of_custody="CCF-1",
                                   lab=LabConfirmation(status=LabStatus.PENDING)),
                            "waiting for the lab"),
    "lab screen positive, no confirmation asked": (
        screen(method=Method.LAB, chain_of_custody="CCF-1", results=ONE_POSITIVE), "positive"),
    "instant negative": (screen(), "negative"),
    "negative, measured dilute": (screen(readings=readings("15", "1.0020", "6")),
                                  "negative-dilute"),
    "negative, judged dilute": (screen(validity=DILUTE), "negative-dilute"),
    "measured substituted": (screen(readings=readings("1", "1.0005", "6")), "substituted"),
    "inconclusive": (screen(results={"cocaine": INC, "opiates": NEG}), "inconclusive"),
    "judged dilute, results missing": (screen(validity=DILUTE, results={}),
                                       "no result recorded"),
    "no-show": (screen(attendance=Attendance.NO_SHOW, results={}), "no-show"),
    "refused": (screen(attendance=Attendance.REFUSED, results={}), "refused"),
}


@pytest.mark.parametrize("case", COURT.values(), ids=COURT.keys())
def test_court_status(case: tuple[DrugScreen, str]) -> None:
    candidate, label = case
    assert court_status(candidate) == label
