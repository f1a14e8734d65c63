"""The exact words of every error a person acts on (they are shown as they are, never as a
traceback), and a wait said in words at its edges: under a second, one second, 89 seconds, and
the switch to minutes at 90."""

from __future__ import annotations

import pytest

from fieldapp.domain.errors import (
    KnownError,
    ProfileInUse,
    RecordTampered,
    UnlockDelayed,
    VaultLocked,
    WeakPassphrase,
    WrongPassphrase,
    format_wait,
)


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "1 second"),
    (0.4, "1 second"),
    (1, "1 second"),
    (1.6, "2 seconds"),
    (2, "2 seconds"),
    (60, "60 seconds"),
    (89, "89 seconds"),
    (89.4, "89 seconds"),
    (90, "2 minutes"),
    (150, "2 minutes"),
    (151, "3 minutes"),
    (1800, "30 minutes"),
])
def test_a_wait_is_said_in_seconds_under_90_and_in_minutes_from_90(seconds: float,
                                                                   words: str) -> None:
    assert format_wait(seconds) == words


def test_a_known_error_shows_its_message_as_it_is() -> None:
    error = KnownError("Plain words.")
    assert error.message == "Plain words."
    assert str(error) == "Plain words."


def test_a_weak_passphrase_gives_every_reason_in_one_message() -> None:
    error = WeakPassphrase(["It is too short.", "It is a common word."])
    assert error.problems == ["It is too short.", "It is a common word."]
    assert error.message == "It is too short. It is a common word."


def test_a_wrong_passphrase_without_a_wait_says_only_that() -> None:
    error = WrongPassphrase()
    assert error.message == "That passphrase does not open this profile."
    assert error.retry_after == 0.0


def test_a_wrong_passphrase_with_a_wait_says_how_long() -> None:
    error = WrongPassphrase(retry_after=30)
    assert error.message == ("That passphrase does not open this profile. "
                             "Wait 30 seconds before trying again.")
    assert error.retry_after == 30


def test_the_shortest_wait_after_a_wrong_passphrase_is_said_as_one_second() -> None:
    error = WrongPassphrase(retry_after=0.2)
    assert error.message == ("That passphrase does not open this profile. "
                             "Wait 1 second before trying again.")


def test_a_delayed_unlock_says_how_long_to_wait() -> None:
    error = UnlockDelayed(120)
    assert error.message == "Too many wrong passphrases. Wait 2 minutes before trying again."
    assert error.seconds_left == 120


def test_a_locked_vault_says_to_unlock() -> None:
    assert VaultLocked().message == "The profile is locked. Unlock it with your passphrase first."


def test_a_tampered_record_names_it_and_says_what_to_do() -> None:
    error = RecordTampered(table="notes", record_id="n-42")
    assert error.message == (
        "Record n-42 in notes has been altered or damaged and cannot be opened. "
        "Other records are not affected; restore it from a backup or sync.")
    assert (error.table, error.record_id) == ("notes", "n-42")


def test_a_profile_in_use_says_to_close_the_other_one() -> None:
    assert ProfileInUse().message == ("This profile is already open in another FieldApp window "
                                      "or command. Close that one first.")
