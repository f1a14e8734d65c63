"""Drug screens: results only on the panel, panels on the program's, corrections as revisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.people import CaseId, ScreenId, UserId
from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    LabConfirmation,
    LabStatus,
    Method,
    ScreenReason,
    Specimen,
    SubstanceResult,
    Validity,
    check_screen,
    correct,
    positives,
    unconfirmed,
)
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.validity import ValidityReadings

SETTINGS = ProgramSettings()
CHICAGO = ZoneInfo("America/Chicago")
PANEL = ("cocaine", "opiates", "methamphetamine")
NEG = SubstanceResult.NEGATIVE
POS = SubstanceResult.POSITIVE
COLLECTED_AT = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 10:00 in Chicago
NOTIFIED_AT = COLLECTED_AT - timedelta(hours=2)
DUE_BY = NOTIFIED_AT + timedelta(hours=8)
CALLED_IN = {"notified_at": NOTIFIED_AT, "due_by": DUE_BY}


def screen(**overrides: Any) -> DrugScreen:
    fields: dict[str, Any] = {
        "id": ScreenId("screen-1"),
        "case_id": CaseId("case-1"),
        "person": "Ada Okafor",
        "collected_at": COLLECTED_AT,
        "reason": ScreenReason.RANDOM,
        "panel": PANEL,
        "results": dict.fromkeys(PANEL, NEG),
        "recorded_by": UserId("u-coordinator"),
    }
    fields.update(overrides)
    return DrugScreen(**fields)


def lab_screen(**overrides: Any) -> DrugScreen:
    fields: dict[str, Any] = {"method": Method.LAB, "chain_of_custody": "CCF-0042"}
    fields.update(overrides)
    return screen(**fields)


def refusal(candidate: DrugScreen, settings: ProgramSettings = SETTINGS) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_screen(candidate, settings)
    assert isinstance(caught.value, KnownError)
    return caught.value.message


# --- valid screens ------------------------------------------------------------------------------


VALID: dict[str, DrugScreen] = {
    "instant, all negative": screen(),
    "instant, one positive": screen(results={"cocaine": POS, "opiates": NEG,
                                             "methamphetamine": NEG}),
    "observed oral fluid": screen(specimen=Specimen.ORAL_FLUID, observed=True),
    "the whole program panel": screen(panel=SETTINGS.panel,
                                      results=dict.fromkeys(SETTINGS.panel, NEG)),
    "dilute, results missing": screen(validity=Validity.DILUTE, results={}),
    "refused": screen(attendance=Attendance.REFUSED, results={}),
    "no-show, no panel": screen(attendance=Attendance.NO_SHOW, panel=(), results={},
                                **CALLED_IN),
    "scheduled no-show, due-by only": screen(reason=ScreenReason.SCHEDULED, panel=(),
                                             attendance=Attendance.NO_SHOW, results={},
                                             due_by=DUE_BY),
    "random, call-in times kept": screen(**CALLED_IN),
    "random, collected after the due-by time": screen(
        notified_at=NOTIFIED_AT, due_by=COLLECTED_AT - timedelta(minutes=1)),
    "random, collected the minute of the notice": screen(notified_at=COLLECTED_AT,
                                                         due_by=DUE_BY),
    "random, recorded before call-in times were kept": screen(),
    "readings at the edges of plausible": screen(readings=ValidityReadings(
        creatinine=Decimal(0), specific_gravity=Decimal("1.0000"), ph=Decimal(0))),
    "readings at the upper edges": screen(readings=ValidityReadings(
        creatinine=Decimal(1000), specific_gravity=Decimal("1.0500"), ph=Decimal(14),
        oxidant=True)),
    "specific gravity to four decimals, a trailing zero": screen(readings=ValidityReadings(
        specific_gravity=Decimal("1.00300"))),
    "no readings on oral fluid": screen(specimen=Specimen.ORAL_FLUID,
                                        readings=ValidityReadings()),
    "lab, pending": lab_screen(lab=LabConfirmation(status=LabStatus.PENDING)),
    "lab, confirmed the same day": lab_screen(
        lab=LabConfirmation(status=LabStatus.CONFIRMED_NEGATIVE, on=date(2026, 3, 9))),
    "lab, confirmed later": lab_screen(
        results={"cocaine": POS, "opiates": NEG, "methamphetamine": NEG},
        lab=LabConfirmation(status=LabStatus.CONFIRMED_POSITIVE, on=date(2026, 3, 12))),
    "refused lab screen, no custody form": screen(attendance=Attendance.REFUSED, results={},
                                                  method=Method.LAB),
}


@pytest.mark.parametrize("candidate", VALID.values(), ids=VALID.keys())
def test_valid_screens_are_accepted(candidate: DrugScreen) -> None:
    check_screen(candidate, SETTINGS)


# --- refused screens ----------------------------------------------------------------------------


INVALID: dict[str, tuple[DrugScreen, str]] = {
    "no person": (screen(person="  "), "Name the person screened."),
    "result off the screen's panel": (
        screen(results={**dict.fromkeys(PANEL, NEG), "barbiturates": POS}),
        "There is a result for barbiturates, which is not on this screen's panel."),
    "panel substance off the program's panel": (
        screen(panel=(*PANEL, "kratom"), results={**dict.fromkeys(PANEL, NEG), "kratom": NEG}),
        "kratom is not on the program's panel."),
    "collected with no panel": (screen(panel=(), results={}),
                                "Choose the panel that was tested."),
    "a valid screen missing a result": (
        screen(results={"cocaine": NEG, "opiates": NEG}),
        "Record a result for methamphetamine."),
    "refused with results": (screen(attendance=Attendance.REFUSED),
                             "A screen marked refused has no results."),
    "no-show with a lab confirmation": (
        screen(attendance=Attendance.NO_SHOW, results={},
               lab=LabConfirmation(status=LabStatus.PENDING), **CALLED_IN),
        "A screen marked no-show has no results."),
    "no-show without the due-by time": (
        screen(attendance=Attendance.NO_SHOW, results={}, reason=ScreenReason.SCHEDULED),
        "A no-show needs the time the specimen was due by."),
    "notice without the due-by time": (screen(notified_at=NOTIFIED_AT),
                                       "Give the time the specimen was due by."),
    "random due-by without the notice": (screen(due_by=DUE_BY),
                                         "Give the time the person was told to come."),
    "due-by at the notice time": (
        screen(notified_at=NOTIFIED_AT, due_by=NOTIFIED_AT),
        "The due-by time must be after the time the person was told to come."),
    "collected before the notice": (
        screen(notified_at=COLLECTED_AT + timedelta(minutes=1), due_by=DUE_BY),
        "The collection is before the person was told to come: check the notice time."),
    "readings on a refusal": (
        screen(attendance=Attendance.REFUSED, results={},
               readings=ValidityReadings(ph=Decimal(7))),
        "A screen marked refused has no validity readings."),
    "readings on oral fluid": (
        screen(specimen=Specimen.ORAL_FLUID, readings=ValidityReadings(ph=Decimal(7))),
        "Creatinine, specific gravity, pH and oxidants are readings of a urine specimen; "
        "this one is oral fluid."),
    "creatinine above 1000": (
        screen(readings=ValidityReadings(creatinine=Decimal("1000.01"))),
        "Creatinine 1000.01 is outside 0 mg/dL to 1000 mg/dL: check the reading."),
    "negative creatinine": (
        screen(readings=ValidityReadings(creatinine=Decimal("-1"))),
        "Creatinine -1 is outside 0 mg/dL to 1000 mg/dL: check the reading."),
    "specific gravity below 1": (
        screen(readings=ValidityReadings(specific_gravity=Decimal("0.9990"))),
        "Specific gravity 0.9990 is outside 1.0000 to 1.0500: check the reading."),
    "specific gravity above 1.05": (
        screen(readings=ValidityReadings(specific_gravity=Decimal("1.0501"))),
        "Specific gravity 1.0501 is outside 1.0000 to 1.0500: check the reading."),
    "specific gravity to five decimals": (
        screen(readings=ValidityReadings(specific_gravity=Decimal("1.00305"))),
        "Specific gravity is read to at most 4 decimal places."),
    "pH above 14": (screen(readings=ValidityReadings(ph=Decimal("14.1"))),
                    "pH 14.1 is outside 0 to 14: check the reading."),
    "pH not a number": (screen(readings=ValidityReadings(ph=Decimal("NaN"))),
                        "pH must be a number."),
    "lab without custody form": (lab_screen(chain_of_custody=" "),
                                 "A lab screen needs its chain-of-custody form number."),
    "confirmation without a date": (
        lab_screen(lab=LabConfirmation(status=LabStatus.CONFIRMED_POSITIVE)),
        "Give the date of the lab confirmation."),
    "confirmation before collection": (
        lab_screen(lab=LabConfirmation(status=LabStatus.CONFIRMED_NEGATIVE, on=date(2026, 3, 8))),
        "A lab confirmation cannot come before the collection."),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_screens_are_refused(case: tuple[DrugScreen, str]) -> None:
    candidate, message = case
    assert refusal(candidate) == message


def test_the_programs_own_panel_decides() -> None:
    narrow = ProgramSettings(panel=("cocaine", "opiates"))
    assert refusal(screen(), narrow) == "methamphetamine is not on the program's panel."


def test_every_problem_is_named_at_once() -> None:
    message = refusal(lab_screen(person="", chain_of_custody="",
                                 results={"cocaine": NEG, "fentanyl": POS}))
    assert "Name the person screened." in message
    assert "result for fentanyl" in message
    assert "Record a result for opiates, methamphetamine." in message
    assert "chain-of-custody" in message


def test_positives_lists_the_positive_substances() -> None:
    mixed = screen(results={"cocaine": POS, "opiates": SubstanceResult.INCONCLUSIVE,
                            "methamphetamine": POS})
    assert positives(mixed) == ["cocaine", "methamphetamine"]
    assert positives(screen()) == []


def test_the_collection_day_is_the_programs_day() -> None:
    # Regression: 20:00 CDT on 9 March is 01:00 UTC on 10 March; as stored (UTC) the collection
    # once counted as 10 March and a lab date of 9 March was refused.
    evening = datetime(2026, 3, 9, 20, 0, tzinfo=CHICAGO)
    confirmed = LabConfirmation(status=LabStatus.CONFIRMED_NEGATIVE, on=date(2026, 3, 9))
    check_screen(lab_screen(collected_at=evening, lab=confirmed), SETTINGS)
    check_screen(lab_screen(collected_at=evening.astimezone(UTC), lab=confirmed), SETTINGS)


# --- corrections --------------------------------------------------------------------------------


def test_a_correction_is_the_next_revision_with_its_reason() -> None:
    first = screen()
    fixed = replace(first, results={**first.results, "cocaine": POS})
    second = correct(first, fixed, reason="Misread the cocaine strip.", settings=SETTINGS)
    assert second.revision == 2
    assert second.correction_reason == "Misread the cocaine strip."
    assert second.results["cocaine"] is POS
    # The earlier revision is untouched.
    assert first.revision == 1
    assert first.results["cocaine"] is NEG
    assert first.correction_reason == ""
    third = correct(second, replace(second, comments="Donor on prescribed opioids."),
                    reason="Add the prescription.", settings=SETTINGS)
    assert third.revision == 3


def test_the_revision_follows_the_current_one_not_the_corrected_copy() -> None:
    current = screen(revision=4)
    result = correct(current, replace(current, revision=1), reason="Typo.", settings=SETTINGS)
    assert result.revision == 5


@pytest.mark.parametrize("reason", ["", "  \n"])
def test_a_correction_needs_a_reason(reason: str) -> None:
    with pytest.raises(RuleViolation, match="Give the reason for the correction"):
        correct(screen(), screen(comments="x"), reason=reason, settings=SETTINGS)


@pytest.mark.parametrize("other", [
    {"id": ScreenId("screen-2")},
    {"case_id": CaseId("case-2")},
], ids=["other screen", "other case"])
def test_a_correction_is_of_the_same_screen(other: dict[str, Any]) -> None:
    with pytest.raises(RuleViolation, match="A correction must be of the same screen"):
        correct(screen(), screen(**other), reason="Typo.", settings=SETTINGS)


def test_a_correction_must_itself_follow_the_rules() -> None:
    bad = screen(results={"cocaine": NEG, "opiates": NEG, "methamphetamine": NEG, "PCP": NEG})
    with pytest.raises(RuleViolation, match="result for PCP"):
        correct(screen(), bad, reason="Added PCP.", settings=SETTINGS)


# --- call-in times and confirmation -------------------------------------------------------------


def test_late_for_the_call_in_only_when_collected_after_the_due_by_time() -> None:
    assert not screen(**CALLED_IN).late_for_call_in
    assert not screen(notified_at=NOTIFIED_AT, due_by=COLLECTED_AT).late_for_call_in  # on time
    late = screen(notified_at=NOTIFIED_AT, due_by=COLLECTED_AT - timedelta(seconds=1))
    assert late.late_for_call_in
    assert not screen().late_for_call_in  # no due-by time recorded
    missed = screen(attendance=Attendance.NO_SHOW, results={}, notified_at=NOTIFIED_AT,
                    due_by=COLLECTED_AT - timedelta(hours=1))
    assert not missed.late_for_call_in  # a no-show is not a late collection


def test_a_screen_recorded_before_call_in_times_can_still_get_its_lab_result() -> None:
    older = screen(results={"cocaine": POS, "opiates": NEG, "methamphetamine": NEG})
    confirmed = correct(older, replace(older, lab=LabConfirmation(
        status=LabStatus.CONFIRMED_POSITIVE, on=date(2026, 3, 11))),
        reason="lab result recorded", settings=SETTINGS)
    assert confirmed.revision == 2 and confirmed.notified_at is None


def test_every_reading_problem_is_named_at_once() -> None:
    message = refusal(screen(readings=ValidityReadings(
        creatinine=Decimal(2000), specific_gravity=Decimal("1.2"), ph=Decimal(15))))
    assert "Creatinine 2000" in message and "Specific gravity 1.2" in message \
        and "pH 15" in message


@pytest.mark.parametrize(("candidate", "expected"), [
    (screen(), False),
    (screen(results={"cocaine": POS, "opiates": NEG, "methamphetamine": NEG}), True),
    (screen(results={"cocaine": POS, "opiates": NEG, "methamphetamine": NEG},
            lab=LabConfirmation(status=LabStatus.PENDING)), True),
    (screen(results={"cocaine": POS, "opiates": NEG, "methamphetamine": NEG},
            lab=LabConfirmation(status=LabStatus.CONFIRMED_POSITIVE, on=date(2026, 3, 10))),
     False),
    (lab_screen(results={"cocaine": POS, "opiates": NEG, "methamphetamine": NEG}), False),
], ids=["negative", "instant positive", "lab pending", "lab confirmed", "lab screen's own"])
def test_unconfirmed(candidate: DrugScreen, expected: bool) -> None:
    assert unconfirmed(candidate) is expected
