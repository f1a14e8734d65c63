"""AES-256-GCM sealing: spec known answers, our blob framing, binding, tamper detection, wiping."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import assume, given
from hypothesis import strategies as st

from fieldapp.crypto.aead import FORMAT_VERSION, NONCE_LENGTH, Binding, DataKey, SealBroken


@dataclasses.dataclass(frozen=True)
class Vector:
    key: bytes
    iv: bytes
    plaintext: bytes
    aad: bytes
    ciphertext: bytes
    tag: bytes


def _vector(key: str, iv: str, plaintext: str, aad: str, *, ciphertext: str, tag: str) -> Vector:
    return Vector(*(bytes.fromhex(v) for v in (key, iv, plaintext, aad, ciphertext, tag)))


# McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", appendix B, test cases 13-16
# (the 256-bit-key cases with 96-bit IVs).
_K15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
_IV15 = "cafebabefacedbaddecaf888"
_P15 = (
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
_C15 = (
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
)
VECTORS = {
    "test case 13": _vector("00" * 32, "00" * 12, "", "", ciphertext="",
                            tag="530f8afbc74536b9a963b4f1c4cb738b"),
    "test case 14": _vector("00" * 32, "00" * 12, "00" * 16, "",
                            ciphertext="cea7403d4d606b6e074ec5d3baf39d18",
                            tag="d0d1c8a799996bf0265b98b5d48ab919"),
    "test case 15": _vector(_K15, _IV15, _P15, "", ciphertext=_C15,
                            tag="b094dac5d93471bdec1a502270e3cc6c"),
    "test case 16": _vector(_K15, _IV15, _P15[:120], "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                            ciphertext=_C15[:120], tag="76fc6ece0f4e1768cddf8853bb2d551b"),
}
TC16 = VECTORS["test case 16"]

# Test case 16's key, IV and plaintext sealed the way DataKey does it, for this binding: the
# ciphertext is the spec's (GCM's keystream does not depend on the associated data) and the tag
# is the one for our associated data. This pins the blob layout and the binding's encoding.
GOLDEN_BINDING = Binding(table="records", record_id="test-case-16", revision=16,
                         key_id="feffe992")
GOLDEN_AAD = b'["fieldapp/seal/v1", "records", "test-case-16", 16, "feffe992"]'
GOLDEN_TAG = bytes.fromhex("5501f9611b84f00e07151070453f6694")
GOLDEN_BLOB = bytes([0x01]) + TC16.iv + TC16.ciphertext + GOLDEN_TAG

KEY = DataKey.generate()
NAMES = st.text(max_size=40)
REVISIONS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _binding(key: DataKey = KEY, *, table: str = "records", record_id: str = "r-1",
             revision: int = 1) -> Binding:
    return Binding(table=table, record_id=record_id, revision=revision, key_id=key.key_id)


# --- known answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS.values(), ids=VECTORS.keys())
def test_spec_vectors_hold_for_the_aes_gcm_we_build_on(vector: Vector) -> None:
    aead = AESGCM(vector.key)
    sealed = aead.encrypt(vector.iv, vector.plaintext, vector.aad or None)
    assert sealed == vector.ciphertext + vector.tag
    assert aead.decrypt(vector.iv, sealed, vector.aad or None) == vector.plaintext


@pytest.mark.parametrize("vector", VECTORS.values(), ids=VECTORS.keys())
def test_data_key_opens_spec_vectors_framed_as_our_blobs(vector: Vector) -> None:
    # The spec's AAD cannot be a Binding's, so the tag is recomputed for the binding's AAD; the
    # ciphertext bytes stay the spec's, and DataKey must find the nonce and body where we put them.
    key = DataKey(vector.key, "0123abcd")
    binding = _binding(key, record_id="vector")
    tag = AESGCM(vector.key).encrypt(vector.iv, vector.plaintext, binding.associated_data())[-16:]
    blob = bytes([FORMAT_VERSION]) + vector.iv + vector.ciphertext + tag
    assert key.open(blob, binding) == vector.plaintext


def test_golden_blob_opens_and_pins_the_format() -> None:
    assert FORMAT_VERSION == 1
    assert NONCE_LENGTH == 12
    assert GOLDEN_BINDING.associated_data() == GOLDEN_AAD
    key = DataKey(TC16.key, "feffe992")
    assert key.open(GOLDEN_BLOB, GOLDEN_BINDING) == TC16.plaintext


def test_golden_tag_is_bound_to_our_associated_data() -> None:
    # The same bytes with the spec's own tag (for the spec's AAD) must not open as ours.
    key = DataKey(TC16.key, "feffe992")
    spec_framed = bytes([0x01]) + TC16.iv + TC16.ciphertext + TC16.tag
    with pytest.raises(SealBroken):
        key.open(spec_framed, GOLDEN_BINDING)


def test_seal_output_is_version_nonce_then_aes_gcm_under_the_binding() -> None:
    binding = _binding(record_id="layout", revision=7)
    blob = KEY.seal(b"a sealed body", binding)
    assert blob[0] == FORMAT_VERSION
    nonce = blob[1 : 1 + NONCE_LENGTH]
    body = blob[1 + NONCE_LENGTH :]
    assert len(body) == len(b"a sealed body") + 16
    plain = AESGCM(KEY.material()).decrypt(nonce, body, binding.associated_data())
    assert plain == b"a sealed body"
    with pytest.raises(InvalidTag):
        AESGCM(KEY.material()).decrypt(nonce, body, None)


def test_associated_data_is_json_so_no_separator_can_be_smuggled() -> None:
    one = Binding(table="a", record_id='b", "c', revision=1, key_id="k")
    other = Binding(table='a", "b', record_id="c", revision=1, key_id="k")
    assert one.associated_data() != other.associated_data()
    assert json.loads(one.associated_data()) == ["fieldapp/seal/v1", "a", 'b", "c', 1, "k"]


# --- round trips and binding --------------------------------------------------------------------


def test_seal_open_round_trip() -> None:
    binding = _binding()
    assert KEY.open(KEY.seal(b"hello", binding), binding) == b"hello"
    assert KEY.open(KEY.seal(b"", binding), binding) == b""


@given(plaintext=st.binary(max_size=2048), table=NAMES, record_id=NAMES, revision=REVISIONS)
def test_round_trip_for_any_content_and_place(
    plaintext: bytes, table: str, record_id: str, revision: int
) -> None:
    binding = _binding(table=table, record_id=record_id, revision=revision)
    blob = KEY.seal(plaintext, binding)
    assert len(blob) == 1 + NONCE_LENGTH + len(plaintext) + 16
    assert KEY.open(blob, binding) == plaintext


@given(
    plaintext=st.binary(max_size=256), table=NAMES, record_id=NAMES, revision=REVISIONS,
    field=st.sampled_from(["table", "record_id", "revision"]), data=st.data(),
)
def test_opening_with_any_other_place_is_refused(
    *, plaintext: bytes, table: str, record_id: str, revision: int, field: str, data: st.DataObject
) -> None:
    binding = _binding(table=table, record_id=record_id, revision=revision)
    blob = KEY.seal(plaintext, binding)
    new_value = data.draw(REVISIONS if field == "revision" else NAMES, label=field)
    assume(new_value != getattr(binding, field))
    changes: dict[str, Any] = {field: new_value}
    elsewhere = dataclasses.replace(binding, **changes)
    with pytest.raises(SealBroken):
        KEY.open(blob, elsewhere)


@given(plaintext=st.binary(max_size=256), data=st.data())
def test_flipping_any_single_bit_is_refused(plaintext: bytes, data: st.DataObject) -> None:
    binding = _binding(record_id="bits")
    blob = bytearray(KEY.seal(plaintext, binding))
    bit = data.draw(st.integers(min_value=0, max_value=len(blob) * 8 - 1), label="bit")
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SealBroken):
        KEY.open(bytes(blob), binding)


def test_every_bit_of_one_blob_is_covered() -> None:
    # The exhaustive version of the property above, for one small blob.
    binding = _binding(record_id="every-bit")
    blob = KEY.seal(b"twelve bytes", binding)
    for bit in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(SealBroken):
            KEY.open(bytes(flipped), binding)


@pytest.mark.parametrize("length", [0, 1, 13, 1 + NONCE_LENGTH + 15])
def test_too_short_blobs_are_refused(length: int) -> None:
    blob = KEY.seal(b"", _binding())[:length]
    with pytest.raises(SealBroken, match="not a sealed blob"):
        KEY.open(blob, _binding())


def test_truncated_or_extended_blobs_are_refused() -> None:
    blob = KEY.seal(b"some body text", _binding())
    for bad in (blob[:-1], blob + b"\0", blob[:-5]):
        with pytest.raises(SealBroken):
            KEY.open(bad, _binding())


def test_a_blob_for_another_key_id_is_refused() -> None:
    blob = KEY.seal(b"x", _binding())
    with pytest.raises(SealBroken, match="another key"):
        KEY.open(blob, dataclasses.replace(_binding(), key_id="someoneelse"))


def test_sealing_for_another_key_id_is_a_bug() -> None:
    with pytest.raises(ValueError, match="another key"):
        KEY.seal(b"x", dataclasses.replace(_binding(), key_id="someoneelse"))


def test_another_key_with_the_same_id_cannot_open() -> None:
    impostor = DataKey(bytes(32), KEY.key_id)
    blob = KEY.seal(b"secret", _binding())
    with pytest.raises(SealBroken, match="authentication failed"):
        impostor.open(blob, _binding())


def test_data_keys_are_32_bytes() -> None:
    for length in (0, 16, 31, 33):
        with pytest.raises(ValueError, match="32 bytes"):
            DataKey(bytes(length), "id")


def test_generated_keys_are_distinct() -> None:
    keys = [DataKey.generate() for _ in range(20)]
    assert len({k.material() for k in keys}) == 20
    assert len({k.key_id for k in keys}) == 20
    assert all(len(k.key_id) == 16 for k in keys)


# --- nonces -------------------------------------------------------------------------------------


def test_nonces_do_not_repeat_over_100000_seals() -> None:
    binding = _binding(record_id="nonces")
    nonces = {KEY.seal(b"", binding)[1 : 1 + NONCE_LENGTH] for _ in range(100_000)}
    assert len(nonces) == 100_000


def test_sealing_the_same_content_twice_gives_different_blobs() -> None:
    binding = _binding()
    assert KEY.seal(b"same", binding) != KEY.seal(b"same", binding)


# --- wiping -------------------------------------------------------------------------------------


def test_wipe_makes_the_key_unusable() -> None:
    key = DataKey.generate()
    binding = _binding(key)
    blob = key.seal(b"before the wipe", binding)
    before = key.wiped
    key.wipe()
    assert (before, key.wiped) == (False, True)
    uses: list[Callable[[], bytes]] = [
        lambda: key.seal(b"x", binding), lambda: key.open(blob, binding), key.material,
    ]
    for use in uses:
        with pytest.raises(RuntimeError, match="wiped"):
            use()


def test_wipe_overwrites_the_key_bytes_and_can_be_repeated() -> None:
    key = DataKey.generate()
    assert any(key.material())
    key.wipe()
    key.wipe()
    # The documented effect of wipe(): the buffer that held the key is now all zeros.
    assert bytes(key._key) == bytes(32)
