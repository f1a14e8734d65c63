"""A person's key pair, and keys wrapped to people.

Each user has an X25519 key pair made on their first device, to open what is sealed to them, and
an Ed25519 key pair beside it, to sign what they write and the keys they share
(`fieldapp/crypto/signing.py` says what a signature covers). The private keys never leave a
device unwrapped: locally they are sealed in the vault; for the server (so a replacement laptop
can recover them) they are wrapped under a key derived from a recovery code shown once, at the
user's first enrolment, never from the passphrase. Content keys that several people share (a
case's key) are sealed to each member's public key: an ephemeral X25519 exchange, HKDF-SHA256,
then AES-256-GCM bound to the case, key version and recipient, the way ODK wraps a submission
key to a form's public key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.domain.errors import KeyFileDamaged, WrongRecoveryCode

_RAW = serialization.Encoding.Raw
_NONCE = 12
_SALT = 16
# The server's copy of the private keys: the sealing key's 32 bytes, then the signing key's,
# under a key from the recovery code. (v2 was the same under an Argon2id key from the passphrase.)
_RECOVERY = b"fieldapp/identity/recovery/v3"
_DAMAGED = "The copy of your key on the server is damaged; nothing was changed. Tell your " \
           "administrator."
_OLDER = ("The copy of your key on the server was made by an older FieldApp, under your "
          "passphrase, and a recovery code cannot open it; nothing was changed. Tell your "
          "administrator.")
# Crockford's base32: no I, L, O or U, so what is read aloud or copied by hand is not mistaken.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_SYMBOLS = 24  # 5 bits each: 120 random bits
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


class Identity:
    """A user's two key pairs. Attributes: public_key (the X25519 sealing key) and signing_key
    (the Ed25519 verifying key), both base64 text."""

    def __init__(self, private: X25519PrivateKey, signer: Ed25519PrivateKey) -> None:
        self._private, self._signer = private, signer
        public = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        self.public_key = b64(public)
        self.signing_key = b64(signer.public_key().public_bytes(
            _RAW, serialization.PublicFormat.Raw))

    @classmethod
    def generate(cls) -> Identity:
        return cls(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())

    @classmethod
    def from_private(cls, raw: bytes, signing: bytes) -> Identity:
        return cls(X25519PrivateKey.from_private_bytes(raw),
                   Ed25519PrivateKey.from_private_bytes(signing))

    def private_bytes(self) -> bytes:
        return self._private.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                           serialization.NoEncryption())

    def signing_bytes(self) -> bytes:
        return self._signer.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())

    def sign(self, statement: bytes) -> str:
        """An Ed25519 signature of `statement` (see `fieldapp/crypto/signing.py`)."""
        return b64(self._signer.sign(statement))

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


def new_recovery_code() -> str:
    """A fresh recovery code: 24 Crockford base32 symbols (120 random bits), written for people
    in six groups of four (``7QK2-M9XD-...``)."""
    symbols = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_SYMBOLS))
    return "-".join(symbols[at:at + 4] for at in range(0, RECOVERY_SYMBOLS, 4))


def recovery_secret(code: str) -> bytes:
    """The 15 random bytes a recovery code stands for, read the way people copy it: any case,
    spaces and dashes anywhere, O for 0 and I or L for 1. `WrongRecoveryCode` (saying what is
    wrong with it) when it is not a recovery code at all."""
    text = "".join(code.upper().replace("-", " ").split()).translate(_READ_AS)
    strangers = sorted({symbol for symbol in text if symbol not in RECOVERY_ALPHABET})
    if strangers:
        raise WrongRecoveryCode(f"A recovery code has only letters and digits, never "
                                f"{' or '.join(strangers)}. Check what you typed.")
    if len(text) != RECOVERY_SYMBOLS:
        raise WrongRecoveryCode(f"A recovery code has {RECOVERY_SYMBOLS} letters and digits in "
                                f"six groups of four; this one has {len(text)}. Check what you "
                                "typed.")
    value = 0
    for symbol in text:
        value = value * 32 + RECOVERY_ALPHABET.index(symbol)
    return value.to_bytes(RECOVERY_SYMBOLS * 5 // 8, "big")


def wrap_for_server(identity: Identity, recovery_code: str) -> str:
    """The private keys wrapped under the recovery code, as the server keeps them (opaque to it).

    The key is HKDF-SHA256 of the code's 120 random bits, not a slow password hash. Stretching
    helps a secret a person chose, whose guesses can be tried likeliest first; a random code
    has no likely guesses: an attacker holding this blob must try 2**119 codes on average, about
    2**99 seconds (10**22 years) at a million a second. A slow KDF would multiply that by at
    most ~2**20 and cost every enrolment and recovery a quarter of a second.
    The salt makes two users' blobs independent; the format string (bound as associated data)
    makes a blob of another format or purpose fail instead of opening.
    """
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    key = _recovery_key(recovery_secret(recovery_code), salt)
    sealed = AESGCM(key).encrypt(nonce, identity.private_bytes() + identity.signing_bytes(),
                                 _RECOVERY)
    return b64(json.dumps({"format": _RECOVERY.decode(), "salt": salt.hex(),
                           "nonce": nonce.hex(), "sealed": sealed.hex()}).encode())


def unwrap_from_server(blob: str, recovery_code: str) -> Identity:
    """Recover the private keys on a replacement laptop with the recovery code.

    `KeyFileDamaged` if the blob is not one this FieldApp made (damaged, or an older copy
    wrapped under a passphrase); `WrongRecoveryCode` if the code does not open it.
    """
    salt, nonce, sealed = _recovery_parts(blob)
    key = _recovery_key(recovery_secret(recovery_code), salt)
    try:
        raw = AESGCM(key).decrypt(nonce, sealed, _RECOVERY)
    except InvalidTag as exc:
        raise WrongRecoveryCode() from exc
    if len(raw) != 64:
        raise KeyFileDamaged(_DAMAGED)
    return Identity.from_private(raw[:32], raw[32:])


def _recovery_parts(blob: str) -> tuple[bytes, bytes, bytes]:
    """The salt, nonce and sealed keys of a server copy; `KeyFileDamaged` for any other shape."""
    try:
        data = json.loads(unb64(blob))
        if not isinstance(data, dict):
            raise KeyFileDamaged(_DAMAGED)
        if data.get("format") != _RECOVERY.decode():
            raise KeyFileDamaged(_OLDER if "kdf" in data else _DAMAGED)
        salt, nonce = bytes.fromhex(data["salt"]), bytes.fromhex(data["nonce"])
        sealed = bytes.fromhex(data["sealed"])
    except (ValueError, KeyError, TypeError) as exc:  # ValueError: not base64, JSON or hex
        raise KeyFileDamaged(_DAMAGED) from exc
    if (len(salt), len(nonce)) != (_SALT, _NONCE):
        raise KeyFileDamaged(_DAMAGED)
    return salt, nonce, sealed


def _recovery_key(secret: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=_RECOVERY).derive(secret)


def _kek(shared: bytes, ephemeral_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public,
                info=b"fieldapp/casekey/v1").derive(shared)


def _binding(case_id: str, version: int, user_id: str) -> bytes:
    return json.dumps(["fieldapp/casekey/v1", case_id, version, user_id]).encode()
