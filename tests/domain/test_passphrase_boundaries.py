"""The passphrase policy at its edges: three distinct characters and four, a three-letter name
and a two-letter one, a name inside a longer name, a birth date after a name, a blocklisted
value of one character repeated; and every refusal word for word (the person choosing a
passphrase acts on it)."""

from __future__ import annotations

import pytest

from fieldapp.domain.passphrase import passphrase_problems
from fieldapp.storage.resources import passphrase_blocklist

BLOCKLIST = passphrase_blocklist()
COMMON = "This passphrase is on the list of common or breached passwords; choose another."
PATTERN = ("This passphrase repeats itself or follows the keyboard or the alphabet; choose words "
           "that are not in a pattern.")
CONTEXT = "This passphrase is mostly your name or the name of the app; add words of your own."


def problems(passphrase: str, *context_words: str) -> list[str]:
    return passphrase_problems(passphrase, blocklist=BLOCKLIST, context_words=context_words)


@pytest.mark.parametrize(("passphrase", "message"), [
    ("river stone ha", "Use at least 15 characters; a few ordinary words with spaces work well "
                       "(this one has 14)."),
    ("x" * 1025, "Use at most 1024 characters."),
    (" river stone lamp post",
     "Remove the spaces at the start or end; spaces between words are welcome."),
    ("passwordpassword", COMMON),
    ("qwertyuiopasdfgh", PATTERN),
    ("FieldApp FieldApp 2026", CONTEXT),
])
def test_each_refusal_in_these_words(passphrase: str, message: str) -> None:
    assert problems(passphrase) == [message]


def test_three_distinct_letters_are_a_pattern_and_four_are_not() -> None:
    assert problems("none noon neon no") == [PATTERN]      # n, o, e
    assert problems("none noon neon onto") == []           # n, o, e, t


def test_a_three_letter_name_counts_and_a_two_letter_one_does_not() -> None:
    assert problems("Ada Okafor Ada Okafor Ada 1984", "Ada", "Okafor") == [CONTEXT]
    assert problems("Bo Okafor Bo Okafor Bo Bo 1984", "Bo", "Okafor") == []


def test_a_name_inside_a_longer_name_is_taken_out_whole() -> None:
    # "Annalena" goes first, so "Lena" does not break it and leave "anna" standing.
    assert problems("Annalena 1999 sunrise", "Annalena", "Lena") == [CONTEXT]


def test_a_name_and_a_birth_date_are_mostly_the_persons_own_details() -> None:
    assert problems("Margarethe Okonkwo 1984-06-21", "Margarethe", "Okonkwo") == [CONTEXT]


def test_a_blocklisted_value_of_one_character_repeated_is_common() -> None:
    assert passphrase_problems("zzzzzzzzzzzzzzzz", blocklist=frozenset({"z"})) == [COMMON]


@pytest.mark.parametrize("turns", [1, 3, 4, 10])
def test_the_alphabet_run_however_many_times_is_a_pattern(turns: int) -> None:
    """Mutation testing found the alphabet three times and "abc" (81 characters) accepted: a
    run was checked only within three turns of itself."""
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    run = alphabet * turns + "abc"
    assert problems(run) == [PATTERN]
    assert problems(run[::-1]) == [PATTERN]
