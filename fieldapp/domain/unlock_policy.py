"""How long to wait after wrong passphrases.

The first few mistakes cost nothing (people mistype); after that each wrong passphrase doubles the
wait, up to a quarter of an hour. The count survives restarting the app and is cleared by a right
passphrase. This slows guessing at the keyboard; the Argon2id cost is what slows an offline attack.
"""

from __future__ import annotations

from datetime import datetime

FREE_ATTEMPTS = 3
FIRST_DELAY_SECONDS = 5.0
MAX_DELAY_SECONDS = 15 * 60.0


def delay_after(failures: int) -> float:
    """Seconds to wait before the next attempt, after `failures` wrong passphrases in a row."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    # The exponent is capped first: an edited count of a million must not overflow a float.
    doublings = min(failures - FREE_ATTEMPTS, 32)
    return min(FIRST_DELAY_SECONDS * 2.0**doublings, MAX_DELAY_SECONDS)


def seconds_left(*, failures: int, last_failure: datetime | None, now: datetime) -> float:
    """How long until an attempt is accepted; a clock that moved backwards never extends it."""
    delay = delay_after(failures)
    if delay == 0 or last_failure is None:
        return 0.0
    elapsed = max(0.0, (now - last_failure).total_seconds())
    return max(0.0, delay - elapsed)
