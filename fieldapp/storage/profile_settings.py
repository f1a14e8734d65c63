"""The settings of one profile, each declared once: its name, its type, its default, its limits.

A profile keeps them in its `vault_meta` table, beside the facts of the vault itself (its key,
its owner). The session reads and writes them only through these declarations and the pages take
their limits and defaults from here, so a setting's facts are never written twice
(tests/services/test_profile_settings.py fails when one is).

Thread rule: `read` and `write` run on the database worker, like every use of the connection.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from fieldapp.domain.errors import RuleViolation


@dataclass(frozen=True)
class IntSetting:
    """A whole-number setting of one profile.

    Attributes:
        name: its row in the profile's `vault_meta` table.
        default: its value in a profile where nobody changed it.
        lowest: the smallest value a person may choose.
        highest: the largest value a person may choose.
        refusal: what the person is told when they choose a value outside those.
    """

    name: str
    default: int
    lowest: int
    highest: int
    refusal: str

    def read(self, db: sqlite_utils.Database) -> int:
        """The profile's value; the default when it was never set."""
        row = db.execute("SELECT value FROM vault_meta WHERE name = ?", [self.name]).fetchone()
        return int(row[0]) if row else self.default

    def write(self, db: sqlite_utils.Database, value: int) -> None:
        """Keep `value`; `RuleViolation` (and nothing kept) when it is out of the limits."""
        if not self.lowest <= value <= self.highest:
            raise RuleViolation(self.refusal)
        with db.atomic():
            db.table("vault_meta").upsert({"name": self.name, "value": str(value)}, pk="name")


AUTO_LOCK_MINUTES = IntSetting(
    name="auto_lock_minutes", default=15, lowest=1, highest=240,
    refusal="Choose between 1 minute and 4 hours.")
"""Minutes without a key pressed or the mouse used before the app locks itself."""

PROFILE_SETTINGS: tuple[IntSetting, ...] = (AUTO_LOCK_MINUTES,)
