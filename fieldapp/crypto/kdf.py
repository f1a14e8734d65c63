"""Argon2id key derivation with its parameters kept beside the result.

The parameters travel with the wrapped key (see `keyfile`), so a later version can raise the
defaults without breaking old profiles; a passphrase change never lowers them. Stored parameters
below `FLOOR` (or absurdly above a ceiling) are refused before any derivation: an attacker who
edits the key file to a cheap setting gains nothing, because the app will not use it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from fieldapp.domain.errors import KeyFileDamaged

KEY_LENGTH = 32
SALT_LENGTH = 16


@dataclass(frozen=True, kw_only=True)
class KdfParams:
    """Argon2id settings: memory in KiB, passes, lanes, and a salt unique to the profile."""

    salt: bytes
    memory_kib: int
    iterations: int
    lanes: int

    def to_json(self) -> dict[str, object]:
        return {
            "algorithm": "argon2id",
            "salt": self.salt.hex(),
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
        }

    @classmethod
    def from_json(cls, data: object) -> KdfParams:
        """Parse stored parameters; anything malformed or below the floor is `KeyFileDamaged`."""
        if not isinstance(data, dict) or data.get("algorithm") != "argon2id":
            raise KeyFileDamaged("The key file names no key-derivation method FieldApp knows.")
        try:
            params = cls(
                salt=bytes.fromhex(str(data["salt"])),
                memory_kib=_positive_int(data["memory_kib"]),
                iterations=_positive_int(data["iterations"]),
                lanes=_positive_int(data["lanes"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise KeyFileDamaged("The key file's key-derivation settings are damaged.") from exc
        params.check_floor()
        return params

    def check_floor(self) -> None:
        """Refuse settings weaker than `FLOOR` or beyond `CEILING`, whoever wrote them.

        The ceiling stops an edited key file from making an unlock exhaust memory or hang.
        """
        if (
            self.memory_kib > CEILING_MEMORY_KIB
            or self.iterations > CEILING_ITERATIONS
            or self.lanes > CEILING_LANES
        ):
            raise KeyFileDamaged(
                "The key file asks for more key-derivation work than this computer should do "
                "(it may have been tampered with); the profile was not opened."
            )
        if (
            self.memory_kib < FLOOR.memory_kib
            or self.iterations < FLOOR.iterations
            or self.lanes < FLOOR.lanes
            or len(self.salt) < SALT_LENGTH
        ):
            raise KeyFileDamaged(
                "The key file asks for weaker key protection than FieldApp allows "
                f"(at least {FLOOR.memory_kib // 1024} MiB, {FLOOR.iterations} passes, "
                f"{FLOOR.lanes} lanes). It may have been tampered with; the profile was not "
                "opened."
            )


def _positive_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError("not a positive integer")
    return value


CEILING_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
CEILING_ITERATIONS = 64
CEILING_LANES = 64

# RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes (about 0.15 s on a 2-core box).
FLOOR = KdfParams(salt=b"\0" * SALT_LENGTH, memory_kib=64 * 1024, iterations=3, lanes=4)


def new_params(*, memory_kib: int = FLOOR.memory_kib, iterations: int = FLOOR.iterations,
               lanes: int = FLOOR.lanes) -> KdfParams:
    """Fresh parameters with a random salt; never below the floor."""
    params = KdfParams(
        salt=os.urandom(SALT_LENGTH), memory_kib=memory_kib, iterations=iterations, lanes=lanes
    )
    params.check_floor()
    return params


def strengthened(current: KdfParams) -> KdfParams:
    """Fresh parameters at least as strong as `current` and the floor, with a new salt."""
    return new_params(memory_kib=max(current.memory_kib, FLOOR.memory_kib),
                      iterations=max(current.iterations, FLOOR.iterations),
                      lanes=max(current.lanes, FLOOR.lanes))


def derive_key(passphrase: bytes, params: KdfParams) -> bytes:
    """Derive a 256-bit key-encryption key. Slow by design: never call it on the UI thread."""
    params.check_floor()
    return argon2id(passphrase, params)


def argon2id(
    passphrase: bytes, params: KdfParams, *, secret: bytes | None = None, ad: bytes | None = None,
    length: int = KEY_LENGTH,
) -> bytes:
    """Raw Argon2id with no floor, for known-answer tests against RFC 9106."""
    kdf = Argon2id(
        salt=params.salt,
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
        secret=secret,
        ad=ad,
    )
    return kdf.derive(passphrase)
