"""Argon2id key derivation: the RFC 9106 known answer, the floor, and parsing stored settings."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from fieldapp.crypto.kdf import (
    FLOOR,
    KEY_LENGTH,
    SALT_LENGTH,
    KdfParams,
    argon2id,
    derive_key,
    new_params,
)
from fieldapp.domain.errors import KeyFileDamaged

# RFC 9106, section 5.3 (Argon2id test vector).
RFC_PASSWORD = bytes([0x01]) * 32
RFC_SALT = bytes([0x02]) * 16
RFC_SECRET = bytes([0x03]) * 8
RFC_AD = bytes([0x04]) * 12
RFC_PARAMS = KdfParams(salt=RFC_SALT, memory_kib=32, iterations=3, lanes=4)
RFC_TAG = bytes.fromhex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")

FLOOR_MESSAGE = "weaker key protection than FieldApp allows"


def _at_floor(**changes: Any) -> KdfParams:
    """FLOOR settings with a real-looking salt, with `changes` applied."""
    return dataclasses.replace(FLOOR, **{"salt": bytes(range(SALT_LENGTH)), **changes})


def _valid_json(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "algorithm": "argon2id",
        "salt": "00112233445566778899aabbccddeeff",
        "memory_kib": FLOOR.memory_kib,
        "iterations": FLOOR.iterations,
        "lanes": FLOOR.lanes,
    }
    data.update(changes)
    return data


# --- known answer -------------------------------------------------------------------------------


def test_argon2id_matches_rfc_9106_section_5_3() -> None:
    tag = argon2id(RFC_PASSWORD, RFC_PARAMS, secret=RFC_SECRET, ad=RFC_AD, length=32)
    assert tag == RFC_TAG


def test_argon2id_uses_secret_and_associated_data() -> None:
    # If either were silently dropped, the known answer above could only pass by accident;
    # here each one is shown to change the output.
    without_secret = argon2id(RFC_PASSWORD, RFC_PARAMS, ad=RFC_AD, length=32)
    without_ad = argon2id(RFC_PASSWORD, RFC_PARAMS, secret=RFC_SECRET, length=32)
    assert without_secret != RFC_TAG
    assert without_ad != RFC_TAG
    assert without_secret != without_ad


def test_argon2id_default_length_is_a_256_bit_key() -> None:
    assert len(argon2id(RFC_PASSWORD, RFC_PARAMS)) == KEY_LENGTH == 32


def test_rfc_parameters_are_below_the_floor_so_derive_key_refuses_them() -> None:
    with pytest.raises(KeyFileDamaged, match=FLOOR_MESSAGE):
        derive_key(RFC_PASSWORD, RFC_PARAMS)


# --- the floor ----------------------------------------------------------------------------------


def test_floor_is_rfc_9106_second_recommendation() -> None:
    assert (FLOOR.memory_kib, FLOOR.iterations, FLOOR.lanes) == (64 * 1024, 3, 4)
    assert SALT_LENGTH == 16


BELOW_FLOOR: dict[str, dict[str, Any]] = {
    "memory": {"memory_kib": FLOOR.memory_kib - 1},
    "iterations": {"iterations": FLOOR.iterations - 1},
    "lanes": {"lanes": FLOOR.lanes - 1},
    "salt length": {"salt": bytes(SALT_LENGTH - 1)},
}


@pytest.mark.parametrize("changes", BELOW_FLOOR.values(), ids=BELOW_FLOOR.keys())
def test_check_floor_refuses_each_setting_below_the_floor(changes: dict[str, Any]) -> None:
    with pytest.raises(KeyFileDamaged, match=FLOOR_MESSAGE):
        _at_floor(**changes).check_floor()


@pytest.mark.parametrize("changes", BELOW_FLOOR.values(), ids=BELOW_FLOOR.keys())
def test_derive_key_refuses_each_setting_below_the_floor(changes: dict[str, Any]) -> None:
    with pytest.raises(KeyFileDamaged, match=FLOOR_MESSAGE):
        derive_key(b"a passphrase of some length", _at_floor(**changes))


# new_params always draws a full-length salt, so only the numbers can be set too low.
NUMBERS_BELOW_FLOOR = {name: c for name, c in BELOW_FLOOR.items() if "salt" not in c}


@pytest.mark.parametrize("changes", NUMBERS_BELOW_FLOOR.values(), ids=NUMBERS_BELOW_FLOOR.keys())
def test_new_params_refuses_each_setting_below_the_floor(changes: dict[str, Any]) -> None:
    with pytest.raises(KeyFileDamaged, match=FLOOR_MESSAGE):
        new_params(**changes)


def test_settings_at_or_above_the_floor_pass() -> None:
    _at_floor().check_floor()
    _at_floor(memory_kib=FLOOR.memory_kib * 2, iterations=5, lanes=8,
              salt=bytes(32)).check_floor()


def test_derive_key_at_the_floor_is_deterministic_and_salted() -> None:
    params = _at_floor()
    first = derive_key(b"copper kettle", params)
    assert len(first) == KEY_LENGTH
    assert derive_key(b"copper kettle", params) == first
    assert derive_key(b"copper kettlf", params) != first
    other_salt = dataclasses.replace(params, salt=bytes(reversed(range(SALT_LENGTH))))
    assert derive_key(b"copper kettle", other_salt) != first


# --- stored settings ----------------------------------------------------------------------------


def test_json_round_trip() -> None:
    params = _at_floor(memory_kib=FLOOR.memory_kib * 2)
    data = params.to_json()
    assert data == _valid_json(memory_kib=FLOOR.memory_kib * 2,
                               salt=bytes(range(SALT_LENGTH)).hex())
    assert KdfParams.from_json(data) == params


UNKNOWN = "names no key-derivation method"
DAMAGED = "settings are damaged"
MALFORMED: dict[str, tuple[object, str]] = {
    "not a dict": (["argon2id"], UNKNOWN),
    "none": (None, UNKNOWN),
    "a string": ("argon2id", UNKNOWN),
    "wrong algorithm": (_valid_json(algorithm="argon2i"), UNKNOWN),
    "algorithm in capitals": (_valid_json(algorithm="ARGON2ID"), UNKNOWN),
    "no algorithm": ({k: v for k, v in _valid_json().items() if k != "algorithm"}, UNKNOWN),
    "no salt": ({k: v for k, v in _valid_json().items() if k != "salt"}, DAMAGED),
    "no memory": ({k: v for k, v in _valid_json().items() if k != "memory_kib"}, DAMAGED),
    "no iterations": ({k: v for k, v in _valid_json().items() if k != "iterations"}, DAMAGED),
    "no lanes": ({k: v for k, v in _valid_json().items() if k != "lanes"}, DAMAGED),
    "bool lanes": (_valid_json(lanes=True), DAMAGED),
    "bool iterations": (_valid_json(iterations=True), DAMAGED),
    "negative memory": (_valid_json(memory_kib=-FLOOR.memory_kib), DAMAGED),
    "zero iterations": (_valid_json(iterations=0), DAMAGED),
    "negative lanes": (_valid_json(lanes=-4), DAMAGED),
    "string memory": (_valid_json(memory_kib=str(FLOOR.memory_kib)), DAMAGED),
    "string iterations": (_valid_json(iterations="3"), DAMAGED),
    "float memory": (_valid_json(memory_kib=float(FLOOR.memory_kib)), DAMAGED),
    "null lanes": (_valid_json(lanes=None), DAMAGED),
    "salt not hex": (_valid_json(salt="zz112233445566778899aabbccddeeff"), DAMAGED),
    "salt odd length": (_valid_json(salt="0011223344556677889"), DAMAGED),
    "salt a number": (_valid_json(salt=12345), DAMAGED),
    "salt null": (_valid_json(salt=None), DAMAGED),
    "salt too short": (_valid_json(salt="00112233445566778899aabbccddee"), FLOOR_MESSAGE),
    "memory below floor": (_valid_json(memory_kib=FLOOR.memory_kib // 2), FLOOR_MESSAGE),
    "iterations below floor": (_valid_json(iterations=1), FLOOR_MESSAGE),
    "lanes below floor": (_valid_json(lanes=1), FLOOR_MESSAGE),
}


@pytest.mark.parametrize(("data", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_from_json_refuses_malformed_settings(data: object, message: str) -> None:
    with pytest.raises(KeyFileDamaged) as raised:
        KdfParams.from_json(data)
    # A KnownError: its message is shown to the person as it is, and says what is wrong.
    assert message in raised.value.message


def test_from_json_accepts_the_valid_baseline() -> None:
    # The table above only proves something if its unedited baseline parses.
    params = KdfParams.from_json(_valid_json())
    assert params.salt == bytes.fromhex("00112233445566778899aabbccddeeff")
    assert (params.memory_kib, params.iterations, params.lanes) == (65536, 3, 4)


# --- fresh settings -----------------------------------------------------------------------------


def test_new_params_defaults_to_the_floor_with_a_full_salt() -> None:
    params = new_params()
    assert (params.memory_kib, params.iterations, params.lanes) == (
        FLOOR.memory_kib, FLOOR.iterations, FLOOR.lanes)
    assert len(params.salt) == SALT_LENGTH
    assert params.salt != FLOOR.salt


def test_new_params_draws_distinct_random_salts() -> None:
    salts = [new_params().salt for _ in range(200)]
    assert len(set(salts)) == len(salts)


def test_new_params_can_go_above_the_floor() -> None:
    params = new_params(memory_kib=FLOOR.memory_kib * 2, iterations=4, lanes=8)
    assert (params.memory_kib, params.iterations, params.lanes) == (FLOOR.memory_kib * 2, 4, 8)
