"""The key file: wrapping the data key under the passphrase, and refusing edited key files."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from typing import Any

import pytest

from fieldapp.crypto import keyfile
from fieldapp.crypto.aead import DataKey
from fieldapp.crypto.kdf import FLOOR, KdfParams
from fieldapp.crypto.keyfile import FORMAT, KeyFile
from fieldapp.domain.errors import KeyFileDamaged, WrongPassphrase
from tests.conftest import OTHER_PASSPHRASE, PASSPHRASE

NOW = "2026-11-24T09:30:00.000000+00:00"
LATER = "2026-12-01T17:05:00.000000+00:00"
FLOOR_MESSAGE = "weaker key protection than FieldApp allows"


@pytest.fixture(scope="module")
def created() -> tuple[KeyFile, bytes]:
    """One key file made under PASSPHRASE, with the data key material it wraps."""
    key_file, key = keyfile.create(PASSPHRASE, now=NOW)
    return key_file, key.material()


def _edited(key_file: KeyFile, **changes: Any) -> bytes:
    """The key file's bytes with top-level JSON fields replaced (`kdf` merged, not replaced)."""
    data = json.loads(key_file.to_bytes())
    kdf_changes = changes.pop("kdf", {})
    data["kdf"].update(kdf_changes)
    data.update(changes)
    return json.dumps(data).encode()


def _without(key_file: KeyFile, field: str) -> bytes:
    data = json.loads(key_file.to_bytes())
    del data[field]
    return json.dumps(data).encode()


# --- round trip ---------------------------------------------------------------------------------


def test_create_then_unwrap_gives_back_the_data_key(created: tuple[KeyFile, bytes]) -> None:
    key_file, material = created
    opened = keyfile.unwrap(key_file, PASSPHRASE)
    assert opened.material() == material
    assert opened.key_id == key_file.key_id
    assert key_file.changed_at == NOW


def test_key_file_survives_its_byte_form(created: tuple[KeyFile, bytes]) -> None:
    key_file, material = created
    parsed = KeyFile.from_bytes(key_file.to_bytes())
    assert parsed == key_file
    assert keyfile.unwrap(parsed, PASSPHRASE).material() == material


def test_key_file_layout_and_no_key_in_the_clear(created: tuple[KeyFile, bytes]) -> None:
    key_file, material = created
    raw = key_file.to_bytes()
    data = json.loads(raw)
    assert set(data) == {"format", "key_id", "kdf", "wrapped_key", "changed_at"}
    assert data["format"] == FORMAT == "fieldapp-key/1"
    assert data["kdf"]["algorithm"] == "argon2id"
    assert data["kdf"]["memory_kib"] >= FLOOR.memory_kib
    # nonce + 32-byte key + 16-byte tag
    assert len(bytes.fromhex(data["wrapped_key"])) == 12 + 32 + 16
    assert material.hex().encode() not in raw
    assert material not in raw


def test_wrong_passphrase_is_refused(created: tuple[KeyFile, bytes]) -> None:
    key_file, _ = created
    with pytest.raises(WrongPassphrase, match="does not open this profile"):
        keyfile.unwrap(key_file, OTHER_PASSPHRASE)


@pytest.mark.parametrize("typed", [PASSPHRASE.upper(), PASSPHRASE + " ", PASSPHRASE[:-1]],
                         ids=["upper case", "trailing space", "one character short"])
def test_near_misses_are_wrong_passphrases(created: tuple[KeyFile, bytes], typed: str) -> None:
    key_file, _ = created
    with pytest.raises(WrongPassphrase):
        keyfile.unwrap(key_file, typed)


# --- normalisation ------------------------------------------------------------------------------

COMPOSED = "caf\u00e9 au lait on the quay"
DECOMPOSED = "cafe\u0301 au lait on the quay"


def test_composed_and_decomposed_accents_are_different_strings() -> None:
    # Otherwise the next test would prove nothing.
    assert COMPOSED != DECOMPOSED
    assert unicodedata.normalize("NFKC", DECOMPOSED) == COMPOSED


@pytest.mark.parametrize(("made_with", "typed"), [(COMPOSED, DECOMPOSED), (DECOMPOSED, COMPOSED)],
                         ids=["composed then decomposed", "decomposed then composed"])
def test_either_form_of_an_accent_opens_the_same_key(made_with: str, typed: str) -> None:
    key_file, key = keyfile.create(made_with, now=NOW)
    assert keyfile.unwrap(key_file, typed).material() == key.material()


def test_compatibility_forms_open_the_same_key() -> None:
    # NFKC, not NFC: full-width letters from an East Asian keyboard fold to ASCII.
    key_file, key = keyfile.create("copper kettle blue bridge", now=NOW)
    full_width = "\uff43\uff4f\uff50\uff50\uff45\uff52 kettle blue bridge"
    assert keyfile.unwrap(key_file, full_width).material() == key.material()


# --- damaged or edited key files ----------------------------------------------------------------


def test_from_bytes_refuses_garbage() -> None:
    with pytest.raises(KeyFileDamaged, match="not readable"):
        KeyFile.from_bytes(b"\xff\xfe\x00\x9c binary garbage \x80")


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"format": "fieldapp-key/1"', b"{,}"],
                         ids=["empty", "words", "cut short", "broken"])
def test_from_bytes_refuses_non_json(raw: bytes) -> None:
    with pytest.raises(KeyFileDamaged, match="not readable"):
        KeyFile.from_bytes(raw)


@pytest.mark.parametrize("raw", [b"[]", b'"fieldapp-key/1"', b"null", b"{}",
                                 b'{"format": "fieldapp-key/2"}', b'{"format": "FIELDAPP-KEY/1"}'],
                         ids=["list", "string", "null", "empty object", "newer format",
                              "format in capitals"])
def test_from_bytes_refuses_other_formats(raw: bytes) -> None:
    with pytest.raises(KeyFileDamaged, match="not a FieldApp key file"):
        KeyFile.from_bytes(raw)


def test_from_bytes_refuses_a_wrong_format_field(created: tuple[KeyFile, bytes]) -> None:
    key_file, _ = created
    with pytest.raises(KeyFileDamaged, match="not a FieldApp key file"):
        KeyFile.from_bytes(_edited(key_file, format="fieldapp-key/0"))


@pytest.mark.parametrize("field", ["key_id", "wrapped_key", "kdf"])
def test_from_bytes_refuses_missing_fields(created: tuple[KeyFile, bytes], field: str) -> None:
    key_file, _ = created
    with pytest.raises(KeyFileDamaged):
        KeyFile.from_bytes(_without(key_file, field))


@pytest.mark.parametrize("wrapped", ["not hex", "abc", 12345, None])
def test_from_bytes_refuses_a_bad_wrapped_key(created: tuple[KeyFile, bytes],
                                              wrapped: object) -> None:
    key_file, _ = created
    with pytest.raises(KeyFileDamaged, match="incomplete"):
        KeyFile.from_bytes(_edited(key_file, wrapped_key=wrapped))


DOWNGRADES = {
    "memory": {"memory_kib": 8},
    "iterations": {"iterations": 1},
    "lanes": {"lanes": 1},
    "salt": {"salt": "00"},
    "everything": {"memory_kib": 8, "iterations": 1, "lanes": 1},
}


@pytest.mark.parametrize("kdf", DOWNGRADES.values(), ids=DOWNGRADES.keys())
def test_a_downgraded_kdf_header_is_refused_on_reading(
    created: tuple[KeyFile, bytes], kdf: dict[str, object]
) -> None:
    key_file, _ = created
    with pytest.raises(KeyFileDamaged) as raised:
        KeyFile.from_bytes(_edited(key_file, kdf=kdf))
    assert FLOOR_MESSAGE in raised.value.message
    assert "may have been tampered with" in raised.value.message


def test_a_downgraded_kdf_is_refused_before_deriving(created: tuple[KeyFile, bytes]) -> None:
    # A KeyFile built past from_bytes: had unwrap derived a key from the cheap settings, the
    # wrong key-encryption key would surface as WrongPassphrase. KeyFileDamaged with the floor
    # message shows the settings were refused before any derivation.
    key_file, _ = created
    cheap = KdfParams(salt=key_file.kdf.salt, memory_kib=8, iterations=1, lanes=1)
    downgraded = dataclasses.replace(key_file, kdf=cheap)
    with pytest.raises(KeyFileDamaged, match=FLOOR_MESSAGE):
        keyfile.unwrap(downgraded, PASSPHRASE)


def test_create_refuses_settings_below_the_floor() -> None:
    cheap = KdfParams(salt=bytes(16), memory_kib=1024, iterations=3, lanes=4)
    with pytest.raises(KeyFileDamaged, match=FLOOR_MESSAGE):
        keyfile.create(PASSPHRASE, now=NOW, kdf=cheap)


def test_an_edited_key_id_does_not_unwrap(created: tuple[KeyFile, bytes]) -> None:
    key_file, _ = created
    edited = KeyFile.from_bytes(_edited(key_file, key_id="0000000000000000"))
    assert edited.key_id != key_file.key_id
    assert edited.kdf == key_file.kdf and edited.wrapped_key == key_file.wrapped_key
    with pytest.raises(WrongPassphrase):
        keyfile.unwrap(edited, PASSPHRASE)


def test_an_edited_salt_does_not_unwrap(created: tuple[KeyFile, bytes]) -> None:
    key_file, _ = created
    salt = bytes(b ^ 0xFF for b in key_file.kdf.salt).hex()
    edited = KeyFile.from_bytes(_edited(key_file, kdf={"salt": salt}))
    with pytest.raises(WrongPassphrase):
        keyfile.unwrap(edited, PASSPHRASE)


@pytest.mark.parametrize("index", [0, 12, 30, -1], ids=["nonce", "first key byte", "key", "tag"])
def test_an_edited_wrapped_key_does_not_unwrap(created: tuple[KeyFile, bytes], index: int) -> None:
    key_file, _ = created
    wrapped = bytearray(key_file.wrapped_key)
    wrapped[index] ^= 0x01
    with pytest.raises(WrongPassphrase):
        keyfile.unwrap(dataclasses.replace(key_file, wrapped_key=bytes(wrapped)), PASSPHRASE)


# --- changing the passphrase --------------------------------------------------------------------


def test_rewrap_keeps_the_key_with_a_new_salt(created: tuple[KeyFile, bytes]) -> None:
    key_file, material = created
    key = keyfile.unwrap(key_file, PASSPHRASE)
    rewrapped = keyfile.wrap(key, OTHER_PASSPHRASE, now=LATER)
    assert rewrapped.key_id == key_file.key_id
    assert rewrapped.changed_at == LATER
    assert rewrapped.kdf.salt != key_file.kdf.salt
    assert rewrapped.wrapped_key[:12] != key_file.wrapped_key[:12], "fresh nonce"
    assert keyfile.unwrap(rewrapped, OTHER_PASSPHRASE).material() == material
    with pytest.raises(WrongPassphrase):
        keyfile.unwrap(rewrapped, PASSPHRASE)


def test_wrapping_a_wiped_key_is_refused() -> None:
    key = DataKey.generate()
    key.wipe()
    with pytest.raises(RuntimeError, match="wiped"):
        keyfile.wrap(key, PASSPHRASE, now=NOW)
