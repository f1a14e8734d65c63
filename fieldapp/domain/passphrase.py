"""The passphrase policy, after NIST SP 800-63B rev. 4 (section 3.1.1.2).

A passphrase is the only thing between a lost laptop and treatment records, so it is a
single-factor secret: at least 15 characters, any characters at all (spaces, accents, emoji), no
composition rules and no forced changes. What is refused is what an attacker tries first: common
and breached-looking values, repetitions and keyboard or alphabet runs, and values made of the
app's or the user's own name. Length counts Unicode code points after NFKC normalisation, which
is also the form that is fed to the key derivation, so the same passphrase typed on another
keyboard layout still opens the profile.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

MIN_LENGTH = 15
MAX_LENGTH = 1024

# Words that say nothing secret about this app's passphrases.
_CONTEXT_WORDS = ("fieldapp", "field", "app", "recovery", "intact", "family", "coordinator")

_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7",
    "1q2w3e4r5t6y7u8i9o0p",
)


def normalise(passphrase: str) -> str:
    """Return the NFKC form of a passphrase: the form that is checked and derived from."""
    return unicodedata.normalize("NFKC", passphrase)


def passphrase_problems(
    passphrase: str,
    *,
    blocklist: Collection[str],
    context_words: Iterable[str] = (),
) -> list[str]:
    """Return every reason to refuse `passphrase`, as sentences; an empty list means accept.

    `blocklist` holds lowercase values with only letters and digits (see `skeleton`).
    `context_words` are the user's own details, such as their name.
    """
    text = normalise(passphrase)
    if len(text) < MIN_LENGTH:
        return [
            f"Use at least {MIN_LENGTH} characters; a few ordinary words with spaces work well "
            f"(this one has {len(text)})."
        ]
    if len(text) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if text.strip() != text:
        # Leading or trailing spaces are invisible in a password field and easily lost.
        return ["Remove the spaces at the start or end; spaces between words are welcome."]
    # Letters and digits carry the meaning; a passphrase of only symbols or emoji is judged on
    # its own characters.
    core = skeleton(text) or text.casefold()
    problems: list[str] = []
    if _is_common(core, blocklist):
        problems.append(
            "This passphrase is on the list of common or breached passwords; choose another."
        )
    elif _is_repetitive(core) or _is_run(core):
        problems.append(
            "This passphrase repeats itself or follows the keyboard or the alphabet; "
            "choose words that are not in a pattern."
        )
    elif _mostly_context(core, context_words):
        problems.append(
            "This passphrase is mostly your name or the name of the app; add words of your own."
        )
    return problems


def skeleton(text: str) -> str:
    """Fold a value to lowercase letters and digits, the form blocklists are compared in."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if ch.isalnum())


def _is_common(core: str, blocklist: Collection[str]) -> bool:
    if core in blocklist:
        return True
    # Breached lists are full of common values padded with digits: "password2024!!" and the like.
    stripped = core.strip("0123456789")
    if stripped and stripped in blocklist:
        return True
    return any(_is_repeat_of(core, word) for word in _units(core) if word in blocklist)


def _units(core: str) -> Iterable[str]:
    for size in range(1, len(core) // 2 + 1):
        if len(core) % size == 0:
            yield core[:size]


def _is_repeat_of(core: str, unit: str) -> bool:
    return len(unit) > 0 and unit * (len(core) // len(unit)) == core


def _is_repetitive(core: str) -> bool:
    if len(set(core)) <= 3:
        return True
    return any(_is_repeat_of(core, unit) for unit in _units(core))


def _is_run(core: str) -> bool:
    for run in _RUNS:
        # Long enough to hold the whole core wherever it starts in the run: three turns let
        # the alphabet three times and "abc" through (found by mutation testing).
        cycle = run * (len(core) // len(run) + 2)
        if core in cycle or core in cycle[::-1]:
            return True
    return False


def _mostly_context(core: str, context_words: Iterable[str]) -> bool:
    words = [skeleton(w) for w in (*_CONTEXT_WORDS, *context_words)]
    rest = core
    for word in sorted((w for w in words if len(w) >= 3), key=len, reverse=True):
        rest = rest.replace(word, "")
    rest = re.sub(r"\d", "", rest)
    return len(rest) < 8
