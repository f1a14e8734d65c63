"""Drug screens at the edges of their rules: several substances off a panel, several problems
at once, readings at the last decimal allowed and one past it, and the exact words of a
refused correction (the coordinator recording the screen acts on each of them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import ScreenId
from fieldapp.domain.screens import check_screen, correct
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.validity import ValidityReadings
from tests.domain.test_screens import NEG, PANEL, SETTINGS, refusal, screen


def test_every_substance_off_the_programs_panel_is_named_in_one_list() -> None:
    narrow = ProgramSettings(panel=("cocaine",))
    assert refusal(screen(), narrow) == \
        "opiates, methamphetamine is not on the program's panel."


def test_every_result_off_the_screens_panel_is_named_in_one_list() -> None:
    extra = {**dict.fromkeys(PANEL, NEG), "PCP": NEG, "kratom": NEG}
    assert refusal(screen(results=extra)) == \
        "There is a result for PCP, kratom, which is not on this screen's panel."


def test_several_problems_are_sentences_one_after_the_other() -> None:
    assert refusal(screen(person=" ", panel=(), results={})) == \
        "Name the person screened. Choose the panel that was tested."


@pytest.mark.parametrize(("reading", "value", "decimals"), [
    ("creatinine", "20.25", 2),
    ("ph", "6.55", 2),
    ("specific_gravity", "1.0035", 4),
])
def test_a_reading_to_its_last_decimal_is_accepted_and_one_more_is_refused(
        reading: str, value: str, decimals: int) -> None:
    read: dict[str, Any] = {reading: Decimal(value)}
    check_screen(screen(readings=ValidityReadings(**read)), SETTINGS)
    one_more: dict[str, Any] = {reading: Decimal(value + "1")}
    finer = ValidityReadings(**one_more)
    label = {"creatinine": "Creatinine", "ph": "pH", "specific_gravity": "Specific gravity"}
    assert refusal(screen(readings=finer)) == \
        f"{label[reading]} is read to at most {decimals} decimal places."


def test_a_correction_without_a_reason_is_refused_in_these_words() -> None:
    with pytest.raises(RuleViolation) as caught:
        correct(screen(), screen(comments="x"), reason=" ", settings=SETTINGS)
    assert caught.value.message == "Give the reason for the correction."


def test_a_correction_of_another_screen_is_refused_in_these_words() -> None:
    with pytest.raises(RuleViolation) as caught:
        correct(screen(), screen(id=ScreenId("screen-2")), reason="Typo.", settings=SETTINGS)
    assert caught.value.message == "A correction must be of the same screen."
