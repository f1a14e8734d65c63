"""Drug screens: results only on the panel, panels on the program's, corrections as revisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
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
)
from fieldapp.domain.settings import ProgramSettings

SETTINGS = ProgramSettings()
CHICAGO = ZoneInfo("America/Chicago")
PANEL = ("cocaine", "opiates", "methamphetamine")
NEG = SubstanceResult.NEGATIVE
POS = SubstanceResult.POSITIVE
COLLECTED_AT = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 10:00 in Chicago


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
    "no-show, no panel": screen(attendance=Attendance.NO_SHOW, panel=(), results={}),
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
               lab=LabConfirmation(status=LabStatus.PENDING)),
        "A screen marked no-show has no results."),
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
