"""The recovery code that wraps the server's copy of a person's private keys: 120 random bits
written for people, read back however they copied it, and the only thing that opens the copy
(the passphrase does not). A damaged or older copy is said to be damaged, a wrong code to be
wrong, and neither opens anything."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.crypto.identity import (
    RECOVERY_ALPHABET,
    Identity,
    b64,
    new_recovery_code,
    recovery_secret,
    unwrap_from_server,
    wrap_for_server,
)
from fieldapp.crypto.kdf import new_params
from fieldapp.domain.errors import KeyFileDamaged, WrongRecoveryCode
from tests.conftest import PASSPHRASE

SHAPE = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}$")
CODE = "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS"


def same_keys(a: Identity, b: Identity) -> bool:
    return (a.private_bytes(), a.signing_bytes()) == (b.private_bytes(), b.signing_bytes())


def test_a_new_code_is_six_groups_of_four_crockford_symbols() -> None:
    codes = {new_recovery_code() for _ in range(200)}
    assert all(SHAPE.match(code) for code in codes)
    assert len(codes) == 200
    # 24 symbols of a 32-symbol alphabet: 120 bits, every symbol used
    assert len(RECOVERY_ALPHABET) == 32 and len(set(RECOVERY_ALPHABET)) == 32
    symbols = "".join(codes).replace("-", "")
    assert set(symbols) == set(RECOVERY_ALPHABET)
    # evenly drawn: 4,800 symbols, about 150 of each
    assert max(symbols.count(s) for s in RECOVERY_ALPHABET) < 250
    assert all(len(recovery_secret(code)) == 15 for code in codes)


@pytest.mark.parametrize("typed", [
    CODE,
    CODE.lower(),
    CODE.replace("-", ""),
    CODE.replace("-", " "),
    f"  {CODE.replace('-', ' - ')}\n",
    "7QK2-M9XD-OA1B-ZZ34-HJKM-NPRS",  # O for 0
    "7QK2-M9XD-0AIB-ZZ34-HJKM-NPRS",  # I for 1
    "7qk2m9xd0alb zz34hjkm-nprs",      # l for 1, lower case, run together
])
def test_a_code_is_read_however_a_person_copied_it(typed: str) -> None:
    assert recovery_secret(typed) == recovery_secret(CODE)


def test_each_symbol_counts() -> None:
    """No two codes that differ in one place stand for the same secret."""
    assert recovery_secret(CODE) != recovery_secret("7QK2-M9XD-0A1B-ZZ34-HJKM-NPRT")
    assert recovery_secret("0000-0000-0000-0000-0000-0000") == bytes(15)
    assert recovery_secret("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ") == b"\xff" * 15
    assert recovery_secret("0000-0000-0000-0000-0000-0001") == bytes(14) + b"\x01"
    assert recovery_secret("1000-0000-0000-0000-0000-0000") == b"\x08" + bytes(14)


TOO_SHORT = ("A recovery code has 24 letters and digits in six groups of four; this one has "
             "23. Check what you typed.")


@pytest.mark.parametrize(("typed", "said"), [
    (CODE[:-1], TOO_SHORT),
    (CODE + "7", TOO_SHORT.replace("has 23", "has 25")),
    ("", TOO_SHORT.replace("has 23", "has 0")),
    (CODE.replace("7", "U", 1), "A recovery code has only letters and digits, never U. Check "
                                "what you typed."),
    (CODE.replace("Q", "*", 1).replace("K", "U"), "A recovery code has only letters and digits, "
                                                  "never * or U. Check what you typed."),
])
def test_what_is_not_a_code_is_said_plainly(typed: str, said: str) -> None:
    with pytest.raises(WrongRecoveryCode) as wrong:
        recovery_secret(typed)
    assert wrong.value.message == said


def test_the_code_opens_the_copy_and_nothing_else_does() -> None:
    me = Identity.generate()
    blob = wrap_for_server(me, CODE)
    assert same_keys(unwrap_from_server(blob, CODE.lower().replace("-", " ")), me)
    with pytest.raises(WrongRecoveryCode, match="does not open your key"):
        unwrap_from_server(blob, "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRT")
    with pytest.raises(WrongRecoveryCode):
        unwrap_from_server(blob, PASSPHRASE)


def test_the_copy_holds_nothing_from_a_passphrase() -> None:
    """No key-derivation parameters, no passphrase in sight: only salt, nonce and ciphertext."""
    data = json.loads(base64.urlsafe_b64decode(wrap_for_server(Identity.generate(), CODE)))
    assert set(data) == {"format", "salt", "nonce", "sealed"}
    assert data["format"] == "fieldapp/identity/recovery/v3"


# A copy made by this FieldApp once: every later FieldApp must open it (the server keeps it for
# years), so the derivation (HKDF-SHA256, its salt and info) and the format cannot drift.
KNOWN_COPY = (
    "eyJmb3JtYXQiOiAiZmllbGRhcHAvaWRlbnRpdHkvcmVjb3ZlcnkvdjMiLCAic2FsdCI6ICIyOTIxNjI4MDQ3ZTVj"
    "NjljMzBhODcyNDFiMWJjYTA3NSIsICJub25jZSI6ICJlMjBkMjM5NTc4MWYyZTU0YmMxMzQwNGQiLCAic2VhbGVk"
    "IjogImU5OGNiMTY1MWJhZDAzOTkwZjc5Njg0MmQ2ZTFjMTI4NDcxZDJmODVkYjM5MjhjYTNhZDM4ODZmZjI1N2I1"
    "MDIyMmM3YjNhNDU5Yjk0MThlMjQ3NmE2ZDYyMGRjYzQzOWQyNTJhNGUzODY3N2IzMjM1ZmI0NmIyMjBiYzc4MzY1"
    "NTFkNDUyMzg3MGFlZDQ2NTI4MWJjZjA2YmRlZDE5M2EifQ==")


def test_a_copy_made_before_opens_the_same_keys() -> None:
    known = unwrap_from_server(KNOWN_COPY, CODE)
    assert (known.private_bytes(), known.signing_bytes()) == (bytes(range(32)),
                                                              bytes(range(32, 64)))


def test_two_copies_of_one_key_under_one_code_differ() -> None:
    me = Identity.generate()
    assert wrap_for_server(me, CODE) != wrap_for_server(me, CODE)


def _blob(**fields: object) -> str:
    return b64(json.dumps(fields).encode())


def _valid_fields() -> dict[str, object]:
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(
        wrap_for_server(Identity.generate(), CODE)))
    return data


def _older_copy() -> str:
    """What FieldApp sent before recovery codes: the keys under an Argon2id key."""
    return _blob(kdf=new_params().to_json(), nonce="00" * 12, sealed="00" * 80)


@pytest.mark.parametrize(("blob", "said"), [
    ("not base64 at all!", "is damaged"),
    (b64(b"not json"), "is damaged"),
    (b64(b"[1, 2]"), "is damaged"),
    (_blob(format="fieldapp/identity/recovery/v9", salt="00", nonce="00", sealed="00"),
     "is damaged"),
    (_blob(**{**_valid_fields(), "salt": "zz"}), "is damaged"),
    (_blob(**{**_valid_fields(), "nonce": "00" * 8}), "is damaged"),
    (_blob(**{**_valid_fields(), "salt": "00" * 15}), "is damaged"),
    (_blob(**{k: v for k, v in _valid_fields().items() if k != "sealed"}), "is damaged"),
    (_older_copy(), "made by an older FieldApp, under your passphrase"),
])
def test_a_damaged_or_older_copy_is_said_to_be_damaged(blob: str, said: str) -> None:
    with pytest.raises(KeyFileDamaged, match=re.escape(said)):
        unwrap_from_server(blob, CODE)


def test_a_copy_of_the_wrong_length_is_damaged_not_a_key() -> None:
    """Sealed correctly under the code but not 64 bytes of keys: refused, not half-read."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415

    from fieldapp.crypto.identity import _recovery_key  # noqa: PLC0415

    fields = _valid_fields()
    salt, nonce = bytes.fromhex(str(fields["salt"])), bytes.fromhex(str(fields["nonce"]))
    short = AESGCM(_recovery_key(recovery_secret(CODE), salt)).encrypt(
        nonce, bytes(63), str(fields["format"]).encode())
    with pytest.raises(KeyFileDamaged, match="is damaged; nothing was changed"):
        unwrap_from_server(_blob(**{**fields, "sealed": short.hex()}), CODE)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(RECOVERY_ALPHABET), min_size=24, max_size=24))
def test_any_code_opens_what_it_wrapped(symbols: list[str]) -> None:
    code = "".join(symbols)
    me = Identity.generate()
    assert same_keys(unwrap_from_server(wrap_for_server(me, code), code), me)
