"""Enrolment codes and device revocation, against the real server and its admin command line.

A code works once, within its lifetime; expired, spent and guessed codes are refused alike and
make no device. The first device registers the person's key material and every later device gets
the same back (a replaced laptop recovers its keys). Enrolment attempts are limited per address.
A device revoked from the command line is told to wipe itself on its next contact, and the
audit log shows both the enrolment and the revocation.

The module's tests share one server and make nine enrolment attempts in all, within the ten the
server allows an address per window; the rate-limit test has a server of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from sync.server.store import ServerStore
from tests.server.conftest import RunningServer


def _expired_code(server: RunningServer) -> str:
    """A code made 25 hours ago (in-process, on the live data folder): expired an hour ago."""
    store = ServerStore(server.data_dir)
    try:
        return store.create_code("rc1", now=datetime.now(UTC) - timedelta(hours=25))
    finally:
        store.close()


def _spent_code(server: RunningServer) -> str:
    """A good code, used once successfully."""
    code = server.new_code("rc1")
    first = server.enrol_with(code, device_name="first use")
    assert first.status_code == 200, first.text
    return code


def _guessed_code(_: RunningServer) -> str:
    """A code of the right shape that nobody issued."""
    return "-".join(secrets.token_hex(3) for _ in range(3))


BAD_CODES: dict[str, Callable[[RunningServer], str]] = {
    "expired": _expired_code, "reused": _spent_code, "guessed": _guessed_code}


@pytest.mark.parametrize("kind", BAD_CODES)
def test_bad_codes_are_refused_and_make_no_device(server: RunningServer, kind: str) -> None:
    """Expired, reused and guessed codes: 403 bad_code (the same answer for each), no device,
    nothing else changed."""
    code = BAD_CODES[kind](server)
    before = server.snapshot()
    response = server.enrol_with(code, device_name=f"{kind} attempt", public_key="cGs",
                                 wrapped_private_key="d3Br")
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "bad_code"
    assert body["wipe"] is False
    assert "device_token" not in body
    assert "mistyped, already used or expired" in body["message"]
    assert server.snapshot() == before
    assert f"{kind} attempt" not in server.cli("devices").stdout


def test_good_code_enrols_one_signed_in_device(server: RunningServer) -> None:
    """A fresh code enrols exactly one device, whose token then signs in as its person (that it
    works only once is the "reused" case above)."""
    code = server.new_code("sup1")
    devices_before = len(server.snapshot()["devices"])
    response = server.enrol_with(code, device_name="sup1 desk")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["id"] == "sup1"
    assert body["program"]["name"]
    assert len(server.snapshot()["devices"]) == devices_before + 1
    me = server.request("GET", "/v1/me", token=body["device_token"])
    assert (me.status_code, me.json()["id"]) == (200, "sup1")


def test_later_devices_get_the_first_devices_key_material(server: RunningServer) -> None:
    """The first device registers key material; a replacement laptop (new code, no keys of its
    own) gets exactly that back, and a device offering other keys cannot replace them."""
    first = server.enrol_device("iw1", device_name="old laptop", public_key="cHVibGljLWl3MQ",
                                wrapped_private_key="d3JhcHBlZC1pdzE")
    registered = {"public_key": "cHVibGljLWl3MQ", "wrapped_private_key": "d3JhcHBlZC1pdzE",
                  "signing_key": None, "former_signing_keys": []}
    assert first["key_material"] == registered
    replacement = server.enrol_device("iw1", device_name="new laptop")
    assert replacement["key_material"] == registered
    assert replacement["device_id"] != first["device_id"]
    assert replacement["device_token"] != first["device_token"]
    intruder = server.enrol_device("iw1", device_name="third laptop", public_key="b3RoZXI",
                                   wrapped_private_key="b3RoZXItd3JhcHBlZA")
    assert intruder["key_material"] == registered
    users = {row[0]: row for row in server.snapshot()["users"]}
    assert users["iw1"][4:6] == ("cHVibGljLWl3MQ", "d3JhcHBlZC1pdzE")
    for device in (first, replacement, intruder):
        me = server.request("GET", "/v1/me", token=device["device_token"])
        assert me.status_code == 200, me.text


def test_revoked_device_is_told_to_wipe_and_the_audit_shows_it(server: RunningServer) -> None:
    """`revoke DEVICE` on the command line: the device's next call is 401 device_revoked with
    wipe, `devices` lists it as revoked, and `audit` shows its enrolment and its revocation."""
    enrolled = server.enrol_device("rc2", device_name="rc2 tablet")
    device_id, token = enrolled["device_id"], enrolled["device_token"]
    assert server.request("GET", "/v1/cases", token=token).status_code == 200

    revoke = server.cli("revoke", device_id)
    assert device_id in revoke.stdout

    for method, path in (("GET", "/v1/me"), ("GET", "/v1/cases"), ("GET", "/v1/cases/c2")):
        response = server.request(method, path, token=token)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "device_revoked"
        assert response.json()["wipe"] is True

    listed = [line for line in server.cli("devices").stdout.splitlines() if device_id in line]
    assert len(listed) == 1
    assert "revoked" in listed[0]
    assert "active" not in listed[0]

    audit = server.cli("audit").stdout.splitlines()
    enrolment = [line for line in audit if "device enrolled" in line and device_id in line]
    revocation = [line for line in audit if " revoke " in line and device_id in line]
    assert len(enrolment) == 1 and "rc2" in enrolment[0], audit
    assert len(revocation) == 1, audit
    assert audit.index(enrolment[0]) < audit.index(revocation[0])


def test_enrolment_attempts_are_limited_per_address(fresh_server: RunningServer) -> None:
    """Ten attempts from 127.0.0.1 in the window are answered; the eleventh is 429 even with a
    valid code, and spends nothing and enrols nothing."""
    for _ in range(10):
        guessed = fresh_server.enrol_with(_guessed_code(fresh_server), device_name="guess")
        assert (guessed.status_code, guessed.json()["error"]) == (403, "bad_code")
    code = fresh_server.new_code("rc1")
    before = fresh_server.snapshot()
    for _ in range(2):
        limited = fresh_server.enrol_with(code, device_name="after the limit")
        assert limited.status_code == 429, limited.text
        assert limited.json()["error"] == "slow_down"
        assert "device_token" not in limited.json()
    assert fresh_server.snapshot() == before
    assert fresh_server.snapshot()["devices"] == []
