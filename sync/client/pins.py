"""Colleagues' keys as this laptop first saw them: trust on first use, then only on a decision.

The server hands out everyone's public keys (the team list, a case's members, a person's keys)
and could hand out its own instead. So a laptop pins the keys it first sees for each person and
afterwards trusts only those: it seals case keys only to pinned keys and accepts only what a
pinned key signed. A different key offered later is kept beside the pin, shown under Needs
attention with both fingerprints, and trusted only when this laptop's person accepts it after
comparing the fingerprint with its owner (`accept`). Comparing fingerprints while nothing has
changed marks the pin verified, which closes the gap trust on first use leaves: a server that
lied at the first sight is found out the first time two people compare.

Thread rule: the database worker; every public method is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from fieldapp.crypto.signing import fingerprint


@dataclass(frozen=True)
class Pin:
    """One colleague's pinned keys, and a different pair offered since (None: nothing new)."""

    user_id: str
    public_key: str
    signing_key: str
    pinned_at: str
    verified_at: str | None
    offered_public: str | None
    offered_signing: str | None
    offered_at: str | None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.user_id, self.public_key, self.signing_key)

    @property
    def changed(self) -> bool:
        """The server now offers keys this laptop does not trust for this person."""
        return self.offered_public is not None

    @property
    def offered_fingerprint(self) -> str | None:
        if self.offered_public is None or self.offered_signing is None:
            return None
        return fingerprint(self.user_id, self.offered_public, self.offered_signing)


_COLUMNS = ("user_id, public_key, signing_key, pinned_at, verified_at, offered_public, "
            "offered_signing, offered_at")


class Pins:
    """The pinned keys of one profile."""

    def __init__(self, db: sqlite_utils.Database, *, now: str) -> None:
        self.db, self.now = db, now

    def get(self, user_id: str) -> Pin | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM pinned_keys WHERE user_id = ?",  # noqa: S608
                              [user_id]).fetchone()
        return None if row is None else Pin(*row)

    def all(self) -> list[Pin]:
        return [Pin(*row) for row in self.db.execute(
            f"SELECT {_COLUMNS} FROM pinned_keys ORDER BY user_id").fetchall()]  # noqa: S608

    def changed(self) -> list[Pin]:
        return [pin for pin in self.all() if pin.changed]

    def signing_keys(self) -> dict[str, tuple[str, ...]]:
        """Every pinned signing key, by user, then the keys they had before (what they signed
        before their keys were replaced): what a signature is checked against."""
        found: dict[str, tuple[str, ...]] = {str(u): (str(k),) for u, k in self.db.execute(
            "SELECT user_id, signing_key FROM pinned_keys").fetchall()}
        for user_id, key in self.db.execute("SELECT user_id, signing_key FROM "
                                            "former_signing_keys ORDER BY until").fetchall():
            if user_id in found and key not in found[user_id]:
                found[user_id] = (*found[user_id], str(key))
        return found

    def former(self, user_id: str) -> list[str]:
        return [str(k) for (k,) in self.db.execute(
            "SELECT signing_key FROM former_signing_keys WHERE user_id = ? ORDER BY until",
            [user_id]).fetchall()]

    def add_former(self, user_id: str, signing_keys: list[str] | tuple[str, ...]) -> None:
        """Signing keys `user_id` had before: trusted to check what they signed then. Only
        from a moment this laptop trusts for the person's keys (first sight, its own keys)."""
        for key in signing_keys:
            self.db.execute("INSERT OR IGNORE INTO former_signing_keys VALUES (?, ?, ?)",
                            [user_id, key, self.now])

    def observe(self, user_id: str, public_key: str | None, signing_key: str | None,
                former: list[str] | tuple[str, ...] = ()) -> Pin | None:
        """What the server says `user_id`'s keys are: pinned on first sight (with the signing
        keys they had before, `former`, taken only then); the same keys again change nothing;
        different keys are kept as an offer, never trusted by themselves. Returns the pin
        (None: the person has no keys yet)."""
        if not public_key or not signing_key:
            return self.get(user_id)
        with self.db.atomic():
            pin = self.get(user_id)
            if pin is None:
                self.db.execute("INSERT INTO pinned_keys (user_id, public_key, signing_key, "
                                "pinned_at) VALUES (?, ?, ?, ?)",
                                [user_id, public_key, signing_key, self.now])
                self.add_former(user_id, [k for k in former if k != signing_key])
            elif (pin.public_key, pin.signing_key) == (public_key, signing_key):
                if pin.changed:  # the server went back to the pinned keys: nothing to decide
                    self._set_offer(user_id, None, None, None)
            elif (pin.offered_public, pin.offered_signing) != (public_key, signing_key):
                self._set_offer(user_id, public_key, signing_key, self.now)
        return self.get(user_id)

    def pin_own(self, user_id: str, public_key: str, signing_key: str) -> None:
        """This laptop's own person: their keys are the ones this profile holds (the ones
        pinned before, if different, kept as former keys: they signed what came before)."""
        with self.db.atomic():
            pin = self.get(user_id)
            if pin is not None and pin.signing_key != signing_key:
                self.add_former(user_id, [pin.signing_key])
            self.db.execute("INSERT OR REPLACE INTO pinned_keys (user_id, public_key, "
                            "signing_key, pinned_at, verified_at) VALUES (?, ?, ?, ?, ?)",
                            [user_id, public_key, signing_key, self.now, self.now])

    def trusted(self, user_id: str, public_key: str | None, signing_key: str | None) -> bool:
        """Whether the keys the server gives for `user_id` are the ones this laptop trusts:
        observed first (`observe`: pinned on first sight, kept as an offer if different), so
        only a first sight or the pinned keys again are trusted."""
        pin = self.observe(user_id, public_key, signing_key)
        return pin is not None and (pin.public_key, pin.signing_key) == (public_key,
                                                                         signing_key)

    def accept(self, user_id: str) -> Pin:
        """The person compared the new fingerprint with its owner: the offered keys become the
        pin (verified, as they were compared)."""
        with self.db.atomic():
            pin = self.get(user_id)
            if pin is None or pin.offered_public is None or pin.offered_signing is None:
                raise ValueError(f"no new key offered for {user_id}")
            self.add_former(user_id, [pin.signing_key])  # it signed what came before
            self.db.execute("UPDATE pinned_keys SET public_key = ?, signing_key = ?, "
                            "pinned_at = ?, verified_at = ?, offered_public = NULL, "
                            "offered_signing = NULL, offered_at = NULL WHERE user_id = ?",
                            [pin.offered_public, pin.offered_signing, self.now, self.now,
                             user_id])
        accepted = self.get(user_id)
        assert accepted is not None
        return accepted

    def verify(self, user_id: str) -> None:
        """The person compared the pinned fingerprint with its owner and they match."""
        with self.db.atomic():
            self.db.execute("UPDATE pinned_keys SET verified_at = ? WHERE user_id = ?",
                            [self.now, user_id])

    def _set_offer(self, user_id: str, public: str | None, signing: str | None,
                   at: str | None) -> None:
        self.db.execute("UPDATE pinned_keys SET offered_public = ?, offered_signing = ?, "
                        "offered_at = ? WHERE user_id = ?", [public, signing, at, user_id])
