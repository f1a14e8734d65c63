"""The audit entry's hash is a fixed function of its fields: a log written by one FieldApp
verifies on another, so the canonical form is pinned here byte for byte, with text that is not
ASCII."""

from __future__ import annotations

import hashlib

from fieldapp.domain.audit import GENESIS, chain, entry_hash, first_break

# The canonical form: the fields as a compact JSON array, keys sorted, text left as UTF-8.
CANONICAL = ('["' + GENESIS + '",1,"2026-03-01T10:00:00+00:00","u-1","sign","note-1",'
             '{"late":false,"worker":"José Núñez"}]')


def test_an_entrys_hash_is_sha256_of_its_canonical_form() -> None:
    expected = hashlib.sha256(CANONICAL.encode("utf-8")).hexdigest()
    assert entry_hash(prev_hash=GENESIS, seq=1, at="2026-03-01T10:00:00+00:00", actor="u-1",
                      action="sign", subject="note-1",
                      details={"worker": "José Núñez", "late": False}) == expected


def test_an_entry_written_with_that_hash_verifies() -> None:
    entry = chain(None, at="2026-03-01T10:00:00+00:00", actor="u-1", action="sign",
                  subject="note-1", details={"worker": "José Núñez", "late": False})
    assert entry.hash == hashlib.sha256(CANONICAL.encode("utf-8")).hexdigest()
    assert first_break([entry]) is None
