"""The authorization matrix: every endpoint against every kind of caller, on the real server.

Callers: rc1 and iw1 (assigned to c1, team t1), rc2 (assigned to c2, team t2), sup1 (team t1),
sup2 (team t2), adm (administrator), no token, a made-up token, and a revoked device. Case
targets: c1 (t1, rc1 and iw1), c2 (t2, rc2) and c3 (t1, assigned to nobody, so a worker's
caseload differs from their team's). The allowed calls succeed; every other call gets the
expected refusal, whose body says nothing a caller could not already know (a hidden case answers
exactly as a case that does not exist), and leaves the server's database as it was.
"""

from __future__ import annotations

import base64
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sync.server.store import ServerStore
from tests.server.conftest import PROGRAM_NAME, USERS, RunningServer

WORKERS = ("rc1", "iw1", "rc2")
SUPERVISORS = ("sup1", "sup2")
PEOPLE = (*WORKERS, *SUPERVISORS, "adm")
UNAUTHENTICATED = ("no token", "bad token")
CALLERS = (*PEOPLE, *UNAUTHENTICATED, "revoked")

CASES = {  # id: (team, coordinator, intact worker)
    "c1": ("t1", "rc1", "iw1"),
    "c2": ("t2", "rc2", None),
    "c3": ("t1", None, None),
}
MEMBERS = {"c1": {"rc1", "iw1", "sup1"}, "c2": {"rc2", "sup2"}, "c3": {"sup1"}}
KEY_RECIPIENT = {"c1": "iw1", "c2": "rc2", "c3": "sup1"}  # a member of each case
MISSING_CASE = "c404"
MISSING_DEVICE = "0000000000000000"

CASE_ENDPOINTS = ("case", "members", "keys", "put keys")
OTHER_ENDPOINTS = ("me", "program", "cases", "devices", "revoke")


def caseload(user_id: str) -> set[str]:
    """The cases `user_id` may read: assigned ones for workers, the team's for supervisors."""
    _, role, team = USERS[user_id]
    if role == "supervisor":
        return {c for c, (case_team, _, _) in CASES.items() if case_team == team}
    return {c for c, (_, coordinator, worker) in CASES.items() if user_id in (coordinator, worker)}


@dataclass(frozen=True)
class Call:
    """One cell of the matrix: an endpoint (and case, for case endpoints) and a caller."""

    endpoint: str
    caller: str
    case: str | None = None

    @property
    def name(self) -> str:
        target = f"[{self.case}]" if self.case else ""
        return f"{self.endpoint}{target}-by-{self.caller.replace(' ', '-')}"


def _matrix() -> list[Call]:
    calls = [Call(endpoint, caller) for endpoint, caller in
             itertools.product(OTHER_ENDPOINTS, CALLERS)]
    for endpoint, case, caller in itertools.product(CASE_ENDPOINTS, CASES, CALLERS):
        # Failed sign-ins are limited to 30 per address and window, so token-less callers try
        # the case endpoints on c1 and c2 only (26 failures in all); c3 adds nothing for them.
        if caller in UNAUTHENTICATED and case == "c3":
            continue
        calls.append(Call(endpoint, caller, case))
    return calls


MATRIX = _matrix()


def expected(call: Call) -> tuple[int, str | None]:  # noqa: PLR0911 - one line per rule
    """(status, error code) the server must answer `call` with; error None means success."""
    if call.caller in UNAUTHENTICATED:
        return 401, "not_enrolled"
    if call.caller == "revoked":
        return 401, "device_revoked"
    if call.endpoint in ("me", "program"):
        return 200, None
    if call.endpoint in ("devices", "revoke"):
        if call.caller != "adm":
            return 403, "forbidden"
        return (200 if call.endpoint == "devices" else 204), None
    if call.caller == "adm":  # administrators do not read cases
        return 403, "forbidden"
    if call.endpoint == "cases":
        return 200, None
    assert call.case is not None
    if call.case not in caseload(call.caller):
        return 404, "not_found"
    return (204 if call.endpoint == "put keys" else 200), None


@dataclass
class World:
    """The module's server, with a device token for every caller."""

    server: RunningServer
    tokens: dict[str, str | None]

    def send(self, call: Call, *, case: str | None = None, device: str | None = None
             ) -> httpx.Response:
        """Make `call` (against `case` or `device` instead of its own target, when given)."""
        case = case or call.case
        method, path, body = {
            "me": ("GET", "/v1/me", None),
            "program": ("GET", "/v1/program", None),
            "cases": ("GET", "/v1/cases", None),
            "case": ("GET", f"/v1/cases/{case}", None),
            "members": ("GET", f"/v1/cases/{case}/members", None),
            "keys": ("GET", f"/v1/cases/{case}/keys", None),
            "put keys": ("PUT", f"/v1/cases/{case}/keys",
                         _key_upload(call, self.server.snapshot())),
            "devices": ("GET", "/v1/devices", None),
            "revoke": ("POST", f"/v1/devices/{device}/revoke", None),
        }[call.endpoint]
        return self.server.request(method, path, token=self.tokens[call.caller], json=body)


def _key_upload(call: Call, server: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """A valid key upload giving one member of the call's case a key only this call sends.

    Each call makes the case's next version (the server as `server` holds it): the first copy
    of a (version, member) stands, so a repeat would rightly change nothing, and a new version
    is always the current one plus one.
    """
    recipient = KEY_RECIPIENT[call.case or "c1"]
    wrapped = base64.b64encode(f"wrapped for {recipient} by {call.name}".encode()).decode()
    return {"keys": [{"version": _next_version(server, call.case or "c1"),
                      "user_id": recipient, "wrapped_key": wrapped}]}


def _next_version(server: dict[str, list[tuple[Any, ...]]], case: str) -> int:
    return 1 + max((int(row[1]) for row in server["case_keys"] if row[0] == case), default=0)


@pytest.fixture(scope="module")
def world(server: RunningServer) -> World:
    """Case c3 added, a device enrolled for everyone, and rc9's laptop revoked."""
    server.cli("case-add", "c3", "--team", "t1")
    tokens: dict[str, str | None] = {
        user: server.enrol(user, device_name=f"{user} laptop", public_key=f"pk-{user}",
                           wrapped_private_key=f"wpk-{user}")
        for user in PEOPLE}
    # The stolen laptop is of a coordinator on no case here: a revoke also marks its person's
    # keys as due to be replaced (withheld from member lists), which the matrix does not test.
    server.cli("user-add", "rc9", "--name", "Robin Lost", "--role", "recovery coordinator",
               "--team", "t1")
    lost = server.enrol_device("rc9", device_name="rc9 stolen laptop")
    server.cli("revoke", lost["device_id"])
    tokens["revoked"] = lost["device_token"]
    tokens["no token"] = None
    tokens["bad token"] = secrets.token_urlsafe(32)
    return World(server, tokens)


@pytest.fixture
def victim(server: RunningServer) -> Iterator[str]:
    """A fresh active device (rc9's spare laptop: rc9 is on no case, and a revoke makes its
    person's keys due) for a revoke call to aim at.

    Made in-process on the live data folder, so it does not spend the server's per-address
    enrolment allowance."""
    store = ServerStore(server.data_dir)
    try:
        code = store.create_code("rc9", now=datetime.now(UTC))
        device, _, _ = store.enrol(code, device_name="rc9 spare laptop", public_key=None,
                                   wrapped_private_key=None, now=datetime.now(UTC))
    finally:
        store.close()
    yield device.id


def _assert_problem(response: httpx.Response, error: str, *, wipe: bool = False) -> None:
    body = response.json()
    assert set(body) == {"error", "message", "wipe"}, body
    assert body["error"] == error, body
    assert body["wipe"] is wipe, body


def _assert_success_body(world: World, call: Call, response: httpx.Response,
                         before: dict[str, list[tuple[Any, ...]]]) -> None:
    """What a successful call must answer, and the one change it may make."""
    after = world.server.snapshot()
    if call.endpoint == "put keys":
        assert call.case is not None
        upload = _key_upload(call, before)["keys"][0]
        row = (call.case, upload["version"], upload["user_id"], upload["wrapped_key"])
        assert row in [tuple(r[:4]) for r in after["case_keys"]]
        assert {k: v for k, v in after.items() if k not in ("case_keys", "audit")} == \
            {k: v for k, v in before.items() if k not in ("case_keys", "audit")}
        new_version = all(r[0] != call.case or r[1] != upload["version"]
                          for r in before["case_keys"])
        assert [row[2:4] for row in after["audit"] if row not in before["audit"]] == \
            [*([(call.caller, "key version added")] if new_version else []),
             (call.caller, "case keys shared")]
        return
    if call.endpoint == "revoke":
        return  # checked by the caller, which knows the device
    assert after == before, "a read changed the server's data"
    body = response.json()
    if call.endpoint == "me":
        name, role, team = USERS[call.caller]
        assert body == {"id": call.caller, "name": name, "role": role, "team_id": team}
    elif call.endpoint == "program":
        assert body["name"] == PROGRAM_NAME
    elif call.endpoint == "cases":
        assert [c["id"] for c in body] == sorted(caseload(call.caller))
    elif call.endpoint == "case":
        team, coordinator, worker = CASES[str(call.case)]
        assert (body["id"], body["team_id"], body["coordinator_id"], body["intact_worker_id"]) \
            == (call.case, team, coordinator, worker)
    elif call.endpoint == "members":
        assert {m["user_id"] for m in body} == MEMBERS[str(call.case)]
        assert all(m["public_key"] == f"pk-{m['user_id']}" for m in body)
    elif call.endpoint == "keys":
        assert all(k["user_id"] == call.caller for k in body), body
    elif call.endpoint == "devices":
        assert {d["user_id"] for d in body} >= set(PEOPLE)
        assert all(set(d) == {"id", "user_id", "name", "enrolled_at", "revoked_at"} for d in body)


@pytest.mark.parametrize("call", MATRIX, ids=[c.name for c in MATRIX])
def test_matrix(world: World, call: Call, request: pytest.FixtureRequest) -> None:
    """The call gets exactly the expected answer; a refusal leaks nothing and changes nothing."""
    status, error = expected(call)
    victim = request.getfixturevalue("victim") if call.endpoint == "revoke" else MISSING_DEVICE
    before = world.server.snapshot()
    response = world.send(call, device=victim)
    assert response.status_code == status, response.text

    if error is None:
        _assert_success_body(world, call, response, before)
        if call.endpoint == "revoke":
            revoked = {row[0]: row[-1] for row in world.server.snapshot()["devices"]}
            assert revoked[victim] is not None
        return

    _assert_problem(response, error, wipe=call.caller == "revoked")
    assert world.server.snapshot() == before, "a refused call changed the server's data"
    if call.case is not None:
        assert call.case not in response.text
        if status == 404:  # a hidden case answers exactly as one that does not exist
            missing = world.send(call, case=MISSING_CASE)
            assert (missing.status_code, missing.json()) == (status, response.json())
    if call.endpoint == "revoke":  # a refused revoke says nothing about the device either
        assert victim not in response.text
        missing = world.send(call, device=MISSING_DEVICE)
        assert (missing.status_code, missing.json()) == (status, response.json())
    assert world.server.snapshot() == before


def test_matrix_covers_every_caller_and_endpoint() -> None:
    """The table is complete: each endpoint meets each caller, and every outcome occurs."""
    cells = {(c.endpoint, c.caller) for c in MATRIX}
    assert cells == set(itertools.product((*OTHER_ENDPOINTS, *CASE_ENDPOINTS), CALLERS))
    outcomes = {expected(c) for c in MATRIX}
    assert {(200, None), (204, None), (401, "not_enrolled"), (401, "device_revoked"),
            (403, "forbidden"), (404, "not_found")} <= outcomes


def test_case_lists_never_include_other_caseloads(world: World) -> None:
    """Each person's list holds exactly their caseload: never another team's or unassigned case."""
    for user in (*WORKERS, *SUPERVISORS):
        listed = world.server.request("GET", "/v1/cases", token=world.tokens[user]).json()
        teams = {c["team_id"] for c in listed}
        assert teams <= {USERS[user][2]}, (user, listed)
        assert {c["id"] for c in listed} == caseload(user)
    assert caseload("rc1") == {"c1"}
    assert caseload("sup1") == {"c1", "c3"}


def test_key_for_a_non_member_is_refused_and_nothing_is_stored(world: World) -> None:
    """A key for someone outside the case: 403 not_a_member, and not even the valid keys of the
    same upload are stored."""
    before = world.server.snapshot()
    for keys in ([{"version": 7, "user_id": "rc2", "wrapped_key": "c2VhbGVk"}],
                 [{"version": 7, "user_id": "iw1", "wrapped_key": "c2VhbGVk"},
                  {"version": 7, "user_id": "sup2", "wrapped_key": "c2VhbGVk"}]):
        response = world.server.request("PUT", "/v1/cases/c1/keys", token=world.tokens["rc1"],
                                        json={"keys": keys})
        assert response.status_code == 403, response.text
        _assert_problem(response, "not_a_member")
    assert world.server.snapshot() == before


def test_key_upload_to_a_hidden_case_does_not_reveal_its_members(world: World) -> None:
    """PUT to another team's case is 404 whether or not the recipient is one of its members,
    as for a case that does not exist: membership of hidden cases cannot be probed."""
    before = world.server.snapshot()
    answers = set()
    for case, recipient in (("c2", "rc2"), ("c2", "rc1"), (MISSING_CASE, "rc2")):
        response = world.server.request(
            "PUT", f"/v1/cases/{case}/keys", token=world.tokens["rc1"],
            json={"keys": [{"version": 1, "user_id": recipient, "wrapped_key": "c2VhbGVk"}]})
        answers.add((response.status_code, response.text))
    assert len(answers) == 1
    assert answers.pop()[0] == 404
    assert world.server.snapshot() == before


def test_keys_answer_only_the_callers_own(world: World) -> None:
    """GET keys gives each member only the keys wrapped for them, not their colleagues'."""
    version = _next_version(world.server.snapshot(), "c1")
    upload = {"keys": [{"version": version, "user_id": u, "wrapped_key": f"a2V5LWZvci0{u}"}
                       for u in sorted(MEMBERS["c1"])]}
    put = world.server.request("PUT", "/v1/cases/c1/keys", token=world.tokens["sup1"],
                               json=upload)
    assert put.status_code == 204, put.text
    for user in MEMBERS["c1"]:
        keys = world.server.request("GET", "/v1/cases/c1/keys", token=world.tokens[user]).json()
        assert {(k["version"], k["wrapped_key"]) for k in keys if k["version"] == version} == \
            {(version, f"a2V5LWZvci0{user}")}
        assert all(k["user_id"] == user for k in keys)
