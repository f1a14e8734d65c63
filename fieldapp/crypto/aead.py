"""Sealing with AES-256-GCM: a fresh nonce per write, bound to where the ciphertext lives.

A sealed blob is `version (1 byte) | nonce (12 bytes) | ciphertext and tag`. Its associated data
names the table, record id, revision and key id, so a blob that is altered, copied to another row,
or put back under a different revision number fails authentication and is reported as tampering.
(Rolling a whole row back, blob and revision together, is not detectable here; sync's
verification against the server is what catches that.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_LENGTH = 12
_HEADER = bytes([FORMAT_VERSION])


class SealBroken(Exception):
    """A blob failed authentication or is not a sealed blob at all."""


@dataclass(frozen=True, kw_only=True)
class Binding:
    """Where a sealed blob belongs; it becomes the blob's associated data."""

    table: str
    record_id: str
    revision: int
    key_id: str

    def associated_data(self) -> bytes:
        # JSON keeps the fields unambiguous: no separator can be smuggled inside a value.
        return json.dumps(
            ["fieldapp/seal/v1", self.table, self.record_id, self.revision, self.key_id]
        ).encode()


class DataKey:
    """The random 256-bit key that seals a profile's records, with its id.

    The key lives in a `bytearray` so `wipe()` can overwrite it when the vault locks. Python may
    still hold copies elsewhere (inside the AESGCM object, freed buffers, swap): full-disk
    encryption is still recommended.

    Attributes:
        key_id: a short random id stored beside every blob this key sealed.
    """

    def __init__(self, key: bytes, key_id: str) -> None:
        if len(key) != 32:
            raise ValueError("a data key is 32 bytes")
        self._key = bytearray(key)
        self.key_id = key_id
        self._aead: AESGCM | None = AESGCM(bytes(self._key))

    @classmethod
    def generate(cls) -> DataKey:
        return cls(AESGCM.generate_key(bit_length=256), os.urandom(8).hex())

    def material(self) -> bytes:
        """The raw key, for wrapping only."""
        self._check()
        return bytes(self._key)

    def seal(self, plaintext: bytes, binding: Binding) -> bytes:
        """Encrypt `plaintext` for the place `binding` names, with a fresh random nonce."""
        aead = self._check()
        if binding.key_id != self.key_id:
            raise ValueError("binding names another key")
        nonce = os.urandom(NONCE_LENGTH)
        return _HEADER + nonce + aead.encrypt(nonce, plaintext, binding.associated_data())

    def open(self, blob: bytes, binding: Binding) -> bytes:
        """Decrypt a blob sealed for `binding`; raise `SealBroken` if anything does not match."""
        aead = self._check()
        if binding.key_id != self.key_id:
            raise SealBroken("sealed with another key")
        if len(blob) < 1 + NONCE_LENGTH + 16 or blob[:1] != _HEADER:
            raise SealBroken("not a sealed blob")
        nonce = blob[1 : 1 + NONCE_LENGTH]
        try:
            return aead.decrypt(nonce, blob[1 + NONCE_LENGTH :], binding.associated_data())
        except InvalidTag as exc:
            raise SealBroken("authentication failed") from exc

    def wipe(self) -> None:
        """Overwrite the key bytes and drop the cipher; the key is unusable afterwards."""
        for i in range(len(self._key)):
            self._key[i] = 0
        self._aead = None

    @property
    def wiped(self) -> bool:
        return self._aead is None

    def _check(self) -> AESGCM:
        if self._aead is None:
            raise RuntimeError("data key used after it was wiped")
        return self._aead
