"""Counting wrong passphrases across restarts of the app."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from fieldapp.domain.clock import Clock, iso
from fieldapp.domain.errors import UnlockDelayed
from fieldapp.domain.unlock_policy import FREE_ATTEMPTS, delay_after, seconds_left
from fieldapp.storage.files import atomic_write


class UnlockThrottle:
    """The wrong-passphrase count of one profile, kept in a small file beside the key file.

    A damaged count file is read as the end of the free attempts, never as zero, so spoiling the
    file cannot buy extra guesses.
    """

    def __init__(self, path: Path, *, clock: Clock) -> None:
        self._path = path
        self._clock = clock

    def seconds_left(self) -> float:
        failures, last = self._read()
        return seconds_left(failures=failures, last_failure=last, now=self._clock())

    def check(self) -> None:
        """Raise `UnlockDelayed` while the profile is refusing attempts."""
        wait = self.seconds_left()
        if wait > 0:
            raise UnlockDelayed(wait)

    def record_failure(self) -> float:
        """Count one more wrong passphrase; returns the wait before the next attempt."""
        failures, _ = self._read()
        failures += 1
        atomic_write(self._path, json.dumps(
            {"failures": failures, "last_failure": iso(self._clock())}).encode())
        return delay_after(failures)

    def record_success(self) -> None:
        if self._path.exists():
            atomic_write(self._path, json.dumps({"failures": 0, "last_failure": None}).encode())

    def _read(self) -> tuple[int, datetime | None]:
        try:
            data = json.loads(self._path.read_bytes())
            failures = max(0, int(data["failures"]))
            last = data["last_failure"]
            when = datetime.fromisoformat(last) if last else None
            if when is not None and when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return failures, when
        except FileNotFoundError:
            return 0, None
        except (ValueError, KeyError, TypeError, OverflowError):
            # Counted from when the file was last written, so the wait does run out.
            written = datetime.fromtimestamp(self._path.stat().st_mtime, UTC)
            return FREE_ATTEMPTS, written
