"""The key file: the data key wrapped by a key derived from the passphrase.

Layout (JSON, one file beside the database):
`{"format", "key_id", "kdf": {...Argon2id parameters and salt...}, "wrapped_key", "changed_at"}`.
`wrapped_key` is AES-256-GCM of the data key under the key-encryption key, with associated data
binding it to the key id and the KDF parameters, so neither can be swapped. Changing the
passphrase rewraps this one key with a fresh salt and nonce; records are not touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.crypto.aead import NONCE_LENGTH, DataKey
from fieldapp.crypto.kdf import KdfParams, derive_key, new_params
from fieldapp.domain.errors import KeyFileDamaged, WrongPassphrase
from fieldapp.domain.passphrase import normalise

FORMAT = "fieldapp-key/1"


@dataclass(frozen=True, kw_only=True)
class KeyFile:
    """A wrapped data key and everything needed to unwrap it, except the passphrase."""

    key_id: str
    kdf: KdfParams
    wrapped_key: bytes
    changed_at: str

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "key_id": self.key_id,
                "kdf": self.kdf.to_json(),
                "wrapped_key": self.wrapped_key.hex(),
                "changed_at": self.changed_at,
            },
            indent=2,
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> KeyFile:
        """Parse a key file; malformed content or a KDF below the floor is `KeyFileDamaged`."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyFileDamaged("The key file is not readable; it may be damaged.") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KeyFileDamaged("The key file is not a FieldApp key file.")
        kdf = KdfParams.from_json(data.get("kdf"))
        try:
            key_id = str(data["key_id"])
            wrapped = bytes.fromhex(str(data["wrapped_key"]))
            changed_at = str(data.get("changed_at", ""))
        except (KeyError, ValueError) as exc:
            raise KeyFileDamaged("The key file is incomplete; it may be damaged.") from exc
        return cls(key_id=key_id, kdf=kdf, wrapped_key=wrapped, changed_at=changed_at)


def create(passphrase: str, *, now: str, kdf: KdfParams | None = None) -> tuple[KeyFile, DataKey]:
    """Make a new random data key and wrap it under `passphrase`."""
    data_key = DataKey.generate()
    return wrap(data_key, passphrase, now=now, kdf=kdf), data_key


def wrap(data_key: DataKey, passphrase: str, *, now: str, kdf: KdfParams | None = None) -> KeyFile:
    """Wrap `data_key` under a key derived from `passphrase` with fresh salt and nonce."""
    params = kdf or new_params()
    kek = derive_key(_encode(passphrase), params)
    nonce = os.urandom(NONCE_LENGTH)
    wrapped = nonce + AESGCM(kek).encrypt(
        nonce, data_key.material(), _wrap_binding(data_key.key_id, params)
    )
    return KeyFile(key_id=data_key.key_id, kdf=params, wrapped_key=wrapped, changed_at=now)


def unwrap(key_file: KeyFile, passphrase: str) -> DataKey:
    """Return the data key, or raise `WrongPassphrase`. Slow: never on the UI thread."""
    kek = derive_key(_encode(passphrase), key_file.kdf)
    nonce, body = key_file.wrapped_key[:NONCE_LENGTH], key_file.wrapped_key[NONCE_LENGTH:]
    try:
        material = AESGCM(kek).decrypt(nonce, body, _wrap_binding(key_file.key_id, key_file.kdf))
    except InvalidTag as exc:
        raise WrongPassphrase() from exc
    return DataKey(material, key_file.key_id)


def _encode(passphrase: str) -> bytes:
    return normalise(passphrase).encode("utf-8")


def _wrap_binding(key_id: str, kdf: KdfParams) -> bytes:
    return json.dumps(["fieldapp/keywrap/v1", key_id, kdf.to_json()], sort_keys=True).encode()
