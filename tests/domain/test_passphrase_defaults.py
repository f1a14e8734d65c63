"""Keyboard runs of every layout the policy names, typed across the keys or down the columns,
at the minimum length: each is refused as a pattern."""

from __future__ import annotations

import pytest

from fieldapp.domain.passphrase import passphrase_problems

PATTERN = ("This passphrase repeats itself or follows the keyboard or the alphabet; choose words "
           "that are not in a pattern.")


@pytest.mark.parametrize("run", [
    "qwertzuiopasdfgh",        # German layout, across
    "azertyuiopqsdfgh",        # French layout, across
    "1qaz2wsx3edc4rfv",        # down the columns, left to right
    "zaq1xsw2cde3vfr4",        # up the columns
    "1q2w3e4r5t6y7u8i9o0p",    # the top two rows in turn
])
def test_a_keyboard_run_is_refused_as_a_pattern(run: str) -> None:
    assert passphrase_problems(run, blocklist=set()) == [PATTERN]
    assert passphrase_problems(run[::-1], blocklist=set()) == [PATTERN]
