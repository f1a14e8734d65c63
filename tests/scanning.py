"""Looking for a secret in files, in every form it could take on disk."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path


def _base64_fragments(raw: bytes) -> set[bytes]:
    """Base64 of `raw` at each byte alignment (standard and URL-safe alphabets), trimmed to the
    characters `raw` alone decides, so it is found inside any longer base64 text."""
    fragments = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\x00" * offset + raw)
            core = encoded.rstrip(b"=")
            if len(core) != len(encoded):
                core = core[:-1]  # the last character before padding mixes in fill bits
            fragments.add(core[(8 * offset + 5) // 6 :])
    return fragments


def encodings_of(secret: str) -> dict[str, set[bytes]]:
    """Every byte pattern `secret` would leave in a file, by encoding name."""
    raw = secret.encode("utf-8")
    return {
        "utf-8": {raw},
        "utf-16-le": {secret.encode("utf-16-le")},
        "utf-16-be": {secret.encode("utf-16-be")},
        "base64": _base64_fragments(raw),
        "hex": {raw.hex().encode(), raw.hex().upper().encode()},
    }


def found_in(files: Iterable[Path], secret: str) -> list[tuple[Path, str]]:
    """(file, encoding) for every file holding `secret` in some encoding."""
    patterns = encodings_of(secret)
    hits = []
    for path in files:
        data = path.read_bytes()
        hits += [(path, name) for name, needles in patterns.items()
                 if any(needle in data for needle in needles)]
    return hits
