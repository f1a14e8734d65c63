"""Results nobody entered: which substances a screen still needs a result for."""

from __future__ import annotations

import pytest

from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    SubstanceResult,
    Validity,
    check_screen,
    results_to_enter,
)
from tests.domain.test_screens import CALLED_IN, NEG, PANEL, POS, SETTINGS, refusal, screen


def test_a_valid_specimen_needs_every_result_in_panel_order() -> None:
    assert results_to_enter(screen(results={})) == list(PANEL)
    assert results_to_enter(screen(results={"opiates": POS})) == ["cocaine", "methamphetamine"]
    assert results_to_enter(screen()) == []


def test_the_refusal_names_every_substance_still_to_enter() -> None:
    assert refusal(screen(results={"opiates": NEG})) == \
        "Record a result for cocaine, methamphetamine."


NONE_NEEDED: dict[str, DrugScreen] = {
    "refused": screen(attendance=Attendance.REFUSED, results={}),
    "no-show": screen(attendance=Attendance.NO_SHOW, results={}, **CALLED_IN),
    **{f"{v} specimen": screen(validity=v, results={})
       for v in (Validity.DILUTE, Validity.ADULTERATED, Validity.SUBSTITUTED,
                 Validity.INVALID)},
}


@pytest.mark.parametrize("candidate", NONE_NEEDED.values(), ids=NONE_NEEDED.keys())
def test_no_result_is_needed_where_results_do_not_apply(candidate: DrugScreen) -> None:
    assert results_to_enter(candidate) == []
    check_screen(candidate, SETTINGS)  # recordable with nothing entered


def test_an_inconclusive_is_an_entered_result() -> None:
    assert results_to_enter(screen(results=dict.fromkeys(PANEL,
                                                         SubstanceResult.INCONCLUSIVE))) == []
