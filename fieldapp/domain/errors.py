"""Errors a person can act on, split from bugs.

Every class here is a `KnownError`: the UI and the command line show its message as it is, in
plain words, and never a traceback. Anything that is not a `KnownError` is a bug and is allowed to
surface as one. Messages never contain sealed content.
"""

from __future__ import annotations


class KnownError(Exception):
    """A failure with a cause the user can understand and usually fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WeakPassphrase(KnownError):
    """The chosen passphrase breaks the passphrase policy.

    Attributes:
        problems: every reason it was refused, each a sentence.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class WrongPassphrase(KnownError):
    """The passphrase does not open this profile."""

    def __init__(self, *, retry_after: float = 0.0) -> None:
        message = "That passphrase does not open this profile."
        if retry_after > 0:
            message += f" Wait {format_wait(retry_after)} before trying again."
        super().__init__(message)
        self.retry_after = retry_after


class UnlockDelayed(KnownError):
    """Too many wrong passphrases: the profile refuses attempts for a while.

    Attributes:
        seconds_left: how long until the next attempt is accepted.
    """

    def __init__(self, seconds_left: float) -> None:
        super().__init__(
            "Too many wrong passphrases. "
            f"Wait {format_wait(seconds_left)} before trying again."
        )
        self.seconds_left = seconds_left


class ProfileMissing(KnownError):
    """No profile exists at the given folder."""


class ProfileExists(KnownError):
    """A profile already exists where a new one was to be created."""


class KeyFileDamaged(KnownError):
    """The key file is unreadable, malformed or below the key-derivation floor."""


class DatabaseUnusable(KnownError):
    """The database file is corrupt, foreign or from a newer FieldApp.

    It is never overwritten; the message offers a restore from backup where one exists.
    """


class VaultLocked(KnownError):
    """An operation needed the data key, but the vault is locked."""

    def __init__(self) -> None:
        super().__init__("The profile is locked. Unlock it with your passphrase first.")


class RecordTampered(KnownError):
    """A sealed record failed authentication: it was altered, moved or damaged.

    Attributes:
        table: the table the record lives in.
        record_id: the record's id (routing metadata, never sealed content).
    """

    def __init__(self, *, table: str, record_id: str) -> None:
        super().__init__(
            f"Record {record_id} in {table} has been altered or damaged and cannot be opened. "
            "Other records are not affected; restore it from a backup or sync."
        )
        self.table = table
        self.record_id = record_id


class RecordNotFound(KnownError):
    """No record has the given id."""


class StaleRevision(KnownError):
    """The record changed since it was read; the change was not saved."""


class BackupUnusable(KnownError):
    """A backup file cannot be opened or fails its checks."""


def format_wait(seconds: float) -> str:
    """Say a wait in words: '45 seconds', '2 minutes'."""
    whole = max(1, round(seconds))
    if whole < 90:
        return f"{whole} second" + ("" if whole == 1 else "s")
    minutes = round(whole / 60)
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


class ProfileInUse(KnownError):
    """Another FieldApp window or command has this profile open."""

    def __init__(self) -> None:
        super().__init__(
            "This profile is already open in another FieldApp window or command. "
            "Close that one first."
        )


class RuleViolation(KnownError):
    """A record or action breaks a program rule; nothing was written."""


class NotPermitted(KnownError):
    """The person's role or caseload does not allow this action; nothing was written."""


class WrongRecoveryCode(KnownError):
    """A recovery code that does not open the copy of the person's key on the server, or that
    is not a recovery code at all (the message then says what is wrong with it)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or (
            "That recovery code does not open your key. Check it group by group against the "
            "code you printed or stored when you first connected FieldApp, and try again."))
