"""Signatures: what each one covers, checking one, and the fingerprint a person compares.

A signature is Ed25519 (`Identity.sign`) over a statement: canonical JSON (sorted keys, no
spaces, UTF-8) of a list that begins with what kind of statement it is, so a signature made for
one purpose never passes for another. A shared key's statement is here (the service that seals
keys signs it too); an op's is the protocol's (`sync/protocol.py`, `op_statement`).

A fingerprint is what two people compare, in person or by phone, to know the keys their
laptops pinned for each other are the keys the other person holds (as Signal's safety numbers
do): 30 digits in six groups of five, from SHA-256 of the user id and both public keys, so a
server that wanted another key to show the same number would need about 2**100 attempts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FINGERPRINT_DIGITS = 30
# Below this many items, one thread: starting threads costs more than they save.
TOGETHER = 64

T = TypeVar("T")
R = TypeVar("R")


def canonical(statement: list[Any]) -> bytes:
    """The bytes a signature covers: the same for the same values on every laptop."""
    return json.dumps(statement, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


def key_statement(scope: str, version: int, user_id: str, wrapped_key: str, signer: str
                  ) -> bytes:
    """What the signer of a shared key signs: which key, for whom, by whom."""
    return canonical(["fieldapp/keyshare/v1", scope, version, user_id, wrapped_key, signer])


def verifies(signing_key: str, statement: bytes, signature: str | None) -> bool:
    """True only if `signature` is `signing_key`'s signature of `statement`; anything malformed
    (no signature, not base64, a key of the wrong length) is simply not a signature."""
    if not signature:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(signing_key)).verify(_unb64(signature),
                                                                       statement)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def fingerprint(user_id: str, public_key: str, signing_key: str) -> str:
    """A person's fingerprint: '01234 56789 ...', six groups of five digits."""
    digest = hashlib.sha256(canonical(["fieldapp/fingerprint/v1", user_id, public_key,
                                       signing_key])).digest()
    digits = f"{int.from_bytes(digest, 'big') % 10**FINGERPRINT_DIGITS:0{FINGERPRINT_DIGITS}d}"
    return " ".join(digits[i:i + 5] for i in range(0, FINGERPRINT_DIGITS, 5))


def on_every_core(work: Callable[[Sequence[T]], list[R]], items: Sequence[T]) -> list[R]:
    """`work` over `items` in as many slices as there are cores, results in order. The library
    releases the GIL while it signs and checks, so two threads sign or check 10,000 in half the
    time of one; the threads end with the call."""
    cores = os.cpu_count() or 1
    if len(items) < TOGETHER or cores == 1:
        return work(items)
    size = -(-len(items) // cores)
    with ThreadPoolExecutor(max_workers=cores, thread_name_prefix="signatures") as pool:
        chunks = pool.map(work, [items[i:i + size] for i in range(0, len(items), size)])
        return [result for chunk in chunks for result in chunk]


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())
