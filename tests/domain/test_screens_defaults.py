"""A drug screen recorded with only what the form requires: a lab screen still needs its
chain-of-custody form number (none is assumed), and nothing else is claimed for the person that
the collector did not record: not an observed collection, not a comment."""

from __future__ import annotations

from fieldapp.domain.screens import Method
from tests.domain.test_screens import refusal, screen


def test_a_lab_screen_recorded_without_its_custody_form_is_refused() -> None:
    assert refusal(screen(method=Method.LAB)) == \
        "A lab screen needs its chain-of-custody form number."


def test_a_screen_not_marked_observed_was_not_observed_and_has_no_comments() -> None:
    recorded = screen()
    assert (recorded.observed, recorded.chain_of_custody, recorded.comments) == (False, "", "")
