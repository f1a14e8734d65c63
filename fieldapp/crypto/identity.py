"""A person's key pair, and keys wrapped to people.

Each user has an X25519 key pair made on their first device. The private key never leaves a
device unwrapped: locally it is sealed in the vault; for the server (so a replacement laptop can
recover it) it is wrapped under a key derived from the user's passphrase with Argon2id. Content
keys that several people share (a case's key) are sealed to each member's public key: an
ephemeral X25519 exchange, HKDF-SHA256, then AES-256-GCM bound to the case, key version and
recipient, the way ODK wraps a submission key to a form's public key.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.crypto.kdf import KdfParams, derive_key, new_params
from fieldapp.domain.errors import KeyFileDamaged, WrongPassphrase
from fieldapp.domain.passphrase import normalise

_RAW = serialization.Encoding.Raw
_NONCE = 12


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


class Identity:
    """A user's X25519 key pair. Attributes: public_key (base64 text)."""

    def __init__(self, private: X25519PrivateKey) -> None:
        self._private = private
        public = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        self.public_key = b64(public)

    @classmethod
    def generate(cls) -> Identity:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_private(cls, raw: bytes) -> Identity:
        return cls(X25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        return self._private.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                           serialization.NoEncryption())

    def open_key(self, wrapped: str, *, case_id: str, version: int, user_id: str) -> bytes:
        """Unseal a content key sealed to this identity; `KeyFileDamaged` if it does not open."""
        try:
            raw = unb64(wrapped)
            ephemeral = X25519PublicKey.from_public_bytes(raw[:32])
            key = _kek(self._private.exchange(ephemeral), raw[:32])
            return AESGCM(key).decrypt(raw[32:44], raw[44:],
                                       _binding(case_id, version, user_id))
        except (InvalidTag, ValueError) as exc:  # ValueError: too short, or not base64
            raise KeyFileDamaged("A shared case key could not be opened with your key.") from exc


def seal_key(content_key: bytes, *, to_public_key: str, case_id: str, version: int,
             user_id: str) -> str:
    """Seal `content_key` so only the holder of `to_public_key` can open it."""
    ephemeral = X25519PrivateKey.generate()
    eph_public = ephemeral.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(unb64(to_public_key)))
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_kek(shared, eph_public)).encrypt(nonce, content_key,
                                                      _binding(case_id, version, user_id))
    return b64(eph_public + nonce + sealed)


def wrap_for_server(identity: Identity, passphrase: str) -> str:
    """The private key wrapped under the passphrase, as the server keeps it (opaque to it)."""
    params = new_params()
    kek = derive_key(normalise(passphrase).encode(), params)
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(kek).encrypt(nonce, identity.private_bytes(), b"fieldapp/identity/v1")
    return b64(json.dumps({"kdf": params.to_json(), "nonce": nonce.hex(),
                           "sealed": sealed.hex()}).encode())


def unwrap_from_server(blob: str, passphrase: str) -> Identity:
    """Recover the private key on a new device; `WrongPassphrase` if it does not open."""
    try:
        data = json.loads(unb64(blob))
        params = KdfParams.from_json(data["kdf"])
        nonce, sealed = bytes.fromhex(data["nonce"]), bytes.fromhex(data["sealed"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileDamaged("The key material from the server is damaged.") from exc
    kek = derive_key(normalise(passphrase).encode(), params)
    try:
        return Identity.from_private(AESGCM(kek).decrypt(nonce, sealed, b"fieldapp/identity/v1"))
    except InvalidTag as exc:
        raise WrongPassphrase() from exc


def _kek(shared: bytes, ephemeral_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public,
                info=b"fieldapp/casekey/v1").derive(shared)


def _binding(case_id: str, version: int, user_id: str) -> bytes:
    return json.dumps(["fieldapp/casekey/v1", case_id, version, user_id]).encode()
