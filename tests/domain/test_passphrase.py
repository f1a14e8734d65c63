"""The passphrase policy (NIST SP 800-63B rev. 4), checked against the real shipped blocklist."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from fieldapp.domain.passphrase import (
    MAX_LENGTH,
    MIN_LENGTH,
    normalise,
    passphrase_problems,
    skeleton,
)
from fieldapp.storage.resources import passphrase_blocklist

BLOCKLIST = passphrase_blocklist()

# What each kind of refusal says; a case expecting `None` expects no problem at all.
MESSAGES = {
    "short": "Use at least 15 characters",
    "long": "Use at most 1024 characters",
    "spaces": "Remove the spaces at the start or end",
    "common": "list of common or breached passwords",
    "pattern": "repeats itself or follows the keyboard or the alphabet",
    "context": "mostly your name or the name of the app",
}

LONG_200 = (
    "the ferry leaves at dawn while gulls argue over bread crusts and an old man in a green "
    "coat counts lobster pots on the pier, humming a song his mother sang about rivers, salt "
    "and seven borrowed boats."
)
# Not a repetition: every chunk has its own number.
LONG_1024 = "".join(f"{n} little herons " for n in range(80))[: MAX_LENGTH - 1] + "q"


@dataclass(frozen=True)
class Case:
    passphrase: str
    expected: str | None
    context_words: Sequence[str] = ()


CASES = {
    # length, counted in code points after NFKC
    "14 characters": Case("river stone ha", "short"),
    "empty": Case("", "short"),
    "15 characters": Case("river stone ham", None),
    "200 characters": Case(LONG_200, None),
    "1024 characters": Case(LONG_1024, None),
    "1025 characters": Case("x" * 1025, "long"),
    "200 kilobytes": Case(LONG_200 * 1000, "long"),
    # spaces
    "leading space": Case(" river stone lamp post", "spaces"),
    "trailing space": Case("river stone lamp post ", "spaces"),
    "trailing tab": Case("river stone lamp post\t", "spaces"),
    "spaces between words": Case("river   stone   lamp", None),
    # any characters at all
    "polish": Case("łódź żółć ścieżka", None),
    "greek": Case("καλημέρα κόσμε φίλε", None),
    "japanese": Case("日本語のパスフレーズを使います", None),
    "accents": Case("café résumé naïve", None),
    "words and emoji, 15 code points": Case("moss 🦊 fern 🌲🌊🦉", None),
    "words and emoji, 14 code points": Case("moss 🦊 fern 🌲🌊", "short"),
    "one emoji repeated": Case("🦊" * 16, "pattern"),
    "two emoji alternating": Case("🦊🌲" * 8, "pattern"),
    # no composition rules
    "all lowercase words": Case("the cat sat on the warm mat", None),
    "lowercase with no digits or symbols": Case("my recovery plan for the spring garden", None),
    # common and breached values
    "passwordpassword": Case("passwordpassword", "common"),
    "Password123456789!": Case("Password123456789!", "common"),
    "correct horse battery staple": Case("correct horse battery staple", "common"),
    "iloveyouiloveyou": Case("iloveyouiloveyou", "common"),
    "PASSWORD2024!!!!": Case("PASSWORD2024!!!!", "common"),
    "Dragon Dragon Dragon": Case("Dragon Dragon Dragon", "common"),
    # repetitions and runs
    "abcabcabcabcabcabc": Case("abcabcabcabcabcabc", "pattern"),
    "one letter repeated": Case("zzzzzzzzzzzzzzzzzz", "pattern"),
    "two letters alternating": Case("xyxyxyxyxyxyxyxyxy", "pattern"),
    "qwertyuiopasdfgh": Case("qwertyuiopasdfgh", "pattern"),
    "keyboard run backwards": Case("hgfdsapoiuytrewq", "pattern"),
    "alphabet backwards": Case("zyxwvutsrqponmlk", "pattern"),
    "keyboard columns": Case("1qaz2wsx3edc4rfv", "pattern"),
    "alphabet with spaces": Case("abcdefghij klmn", "pattern"),
    # the app's and the user's own words
    "FieldApp FieldApp 2026": Case("FieldApp FieldApp 2026", "context"),
    "fieldapp coordinator 2026": Case("fieldapp coordinator 2026", "context"),
    "recovery family intact": Case("Recovery Family Intact", "context"),
    "own name as context": Case("Margarethe Okonkwo 1984", "context",
                                ("Margarethe", "Okonkwo")),
    "own full name as one context word": Case("Margarethe Okonkwo 1984", "context",
                                              ("Margarethe Okonkwo",)),
    "same name, not the user's": Case("Margarethe Okonkwo 1984", None),
    "own name plus enough words": Case("Margarethe walks the long coast road", None,
                                       ("Margarethe", "Okonkwo")),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_policy_table(case: Case) -> None:
    problems = passphrase_problems(case.passphrase, blocklist=BLOCKLIST,
                                   context_words=case.context_words)
    if case.expected is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert MESSAGES[case.expected] in problems[0]


def test_table_lengths_are_what_the_names_say() -> None:
    assert len(CASES["14 characters"].passphrase) == MIN_LENGTH - 1
    assert len(CASES["15 characters"].passphrase) == MIN_LENGTH
    assert len(LONG_200) == 200
    assert len(CASES["1024 characters"].passphrase) == MAX_LENGTH
    assert len(CASES["1025 characters"].passphrase) == MAX_LENGTH + 1
    assert len(CASES["words and emoji, 15 code points"].passphrase) == 15


def test_the_short_message_counts_code_points() -> None:
    # 14 code points, 23 UTF-8 bytes, 17 UTF-16 units: the count shown must be 14.
    text = "moss 🦊 fern 🌲🌊"
    assert len(text.encode("utf-8")) == 23
    assert len(text.encode("utf-16-le")) // 2 == 17
    (problem,) = passphrase_problems(text, blocklist=BLOCKLIST)
    assert "(this one has 14)" in problem


def test_length_is_counted_after_nfkc() -> None:
    decomposed = "cafe\u0301 noir roug"  # 15 code points typed, 14 after NFKC
    assert len(decomposed) == 15
    (problem,) = passphrase_problems(decomposed, blocklist=BLOCKLIST)
    assert "(this one has 14)" in problem
    assert passphrase_problems("cafe\u0301 noir rouge", blocklist=BLOCKLIST) == []
    ligature = "\ufb01eld notes bay"  # the "fi" ligature: 14 typed, 15 after NFKC
    assert len(ligature) == 14
    assert passphrase_problems(ligature, blocklist=BLOCKLIST) == []


def test_digit_runs_are_refused() -> None:
    for run in ("1234567890123456", "0987654321098765"):
        assert passphrase_problems(run, blocklist=BLOCKLIST) != []


@pytest.mark.parametrize("run", ["1234567890123456", "0987654321098765", "7890123456789012"])
def test_digit_runs_are_refused_as_a_keyboard_run(run: str) -> None:
    # A run that wraps past 0 is still a run (the digit row once read "...89001..." cyclically,
    # so these were refused only as "mostly your name").
    (problem,) = passphrase_problems(run, blocklist=BLOCKLIST)
    assert MESSAGES["pattern"] in problem


def test_a_passphrase_of_distinct_emoji_is_accepted() -> None:
    # skeleton() drops every emoji; the policy must not judge an empty core as "repetitive".
    emoji = "🦊🌲🏔🌊🦉🍄🌙⭐🔥🪵🌿🐻🦌🌧🍂"
    assert len(emoji) == len(set(emoji)) == 15
    assert passphrase_problems(emoji, blocklist=BLOCKLIST) == []


def test_context_words_are_compared_folded() -> None:
    phrase = "Okonkwo Margarethe 1984"
    assert passphrase_problems(phrase, blocklist=BLOCKLIST) == []
    problems = passphrase_problems(phrase, blocklist=BLOCKLIST,
                                   context_words=["okonkwo", "MARGARETHE"])
    assert len(problems) == 1
    assert MESSAGES["context"] in problems[0]


def test_short_context_words_are_ignored() -> None:
    # Words under three letters would eat ordinary syllables out of every passphrase.
    phrase = "an ox at an inn by the sea"
    assert passphrase_problems(phrase, blocklist=BLOCKLIST, context_words=["an", "ox"]) == []


def test_only_one_problem_is_reported_per_passphrase() -> None:
    # Common, repetitive and made of a context word at once: the policy names the first only.
    problems = passphrase_problems("passwordpassword", blocklist=BLOCKLIST,
                                   context_words=["password"])
    assert len(problems) == 1


def test_the_shipped_blocklist_is_folded_and_loaded() -> None:
    assert len(BLOCKLIST) > 100
    assert {"password", "iloveyou", "correcthorsebatterystaple"} <= BLOCKLIST
    assert all(word == skeleton(word) for word in BLOCKLIST)
    assert not any(word.startswith("#") for word in BLOCKLIST)
    assert "" not in BLOCKLIST


def test_an_empty_blocklist_lets_common_words_through() -> None:
    # The "common" rows above are refused because of the list, not by accident of another rule.
    assert passphrase_problems("correct horse battery staple", blocklist=frozenset()) == []


# --- skeleton and normalise ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Password123!", "password123"),
    ("Café Straße ÉLAN", "cafestrasseelan"),
    ("cafe\u0301", "cafe"),
    ("P@ss w0rd-2024", "pssw0rd2024"),
    ("correct horse battery staple", "correcthorsebatterystaple"),
    ("  !!  ", ""),
    ("🦊🌲", ""),
    ("日本語", "日本語"),
    ("ΚΑΛΗΜΈΡΑ", "καλημερα"),
])
def test_skeleton(text: str, expected: str) -> None:
    assert skeleton(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("cafe\u0301", "caf\u00e9"),
    ("caf\u00e9", "caf\u00e9"),
    ("\ufb01eld", "field"),
    ("\uff43\uff41\uff46\uff45", "cafe"),
    ("x\u00b2", "x2"),
    ("plain ascii words", "plain ascii words"),
    (" spaces kept ", " spaces kept "),
])
def test_normalise_is_nfkc(text: str, expected: str) -> None:
    assert normalise(text) == expected
    assert normalise(expected) == expected
    assert unicodedata.is_normalized("NFKC", normalise(text))
