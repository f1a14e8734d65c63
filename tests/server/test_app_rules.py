"""The server's endpoint rules and its gate, in process: the real app (`create_app`) over a real
`ServerStore` in a temporary folder, spoken to through httpx's ASGI transport, or as raw ASGI
messages where a body must stall, trickle or lie about its length. No server process, so each
rule's boundary is a fast test, cheap enough for mutation testing (docs/testing.md).

The program: team north (supervisor sup1, the SUD supervisor; recovery coordinator rc1; intact
worker iw1) and team south (supervisor sup2, coordinator rc2), and administrator adm. Case c1 is
rc1's and iw1's, c2 is rc2's (south), c3 is north's and nobody's. People are set up with the
calls the admin command line makes; devices are enrolled through the real POST /v1/enrol.

The same rules end to end, through a running server: tests/server/test_authz_matrix.py,
test_limits.py, test_enrolment.py and tests/sync/.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import anyio
import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from fieldapp import __version__
from fieldapp.crypto.identity import Identity
from fieldapp.crypto.signing import key_statement
from sync import protocol as wire
from sync.server.app import (
    AUTH_FAILURE_LIMIT,
    ENROL_LIMIT,
    WINDOW,
    Who,
    _named,
    create_app,
)
from sync.server.cli import DEFAULT_SETTINGS
from sync.server.limits import Timeouts, set_timeouts, size_text
from sync.server.store import ServerStore
from tests.conftest import FakeClock

PROGRAM = "Riverbend Family Recovery"
HERE = ("10.0.0.2", 40000)       # the address of the tests' requests
SETUP = ("10.0.0.1", 40000)      # the address devices are enrolled from
USERS = {  # id: (name, role, team, supervises)
    "sup1": ("Sam Supervisor", "supervisor", "north", "SUD"),
    "rc1": ("Rosa Coordinator", "recovery coordinator", "north", None),
    "iw1": ("Ian Worker", "intact worker", "north", None),
    "sup2": ("Sue Supervisor", "supervisor", "south", None),
    "rc2": ("Ruth Coordinator", "recovery coordinator", "south", None),
    "adm": ("Ada Admin", "admin", None, None),
}
NOT_FOUND = {"error": "not_found", "message": "No such case on your caseload.", "wipe": False}
NOT_ADMIN = {"error": "forbidden", "message": "Administrators manage people and devices and do "
             "not read case records.", "wipe": False}
ONLY_ADMIN = {"error": "forbidden", "message": "Only an administrator manages devices.",
              "wipe": False}
NOT_ENROLLED = {"error": "not_enrolled", "message": "This device is not enrolled with the server.",
                "wipe": False}
REVOKED = {"error": "device_revoked", "message": "This device has been revoked. Its FieldApp "
           "data will be removed.", "wipe": True}
AUTH_SLOW = {"error": "slow_down", "message": "Too many failed sign-ins; wait a few minutes.",
             "wipe": False}
ENROL_SLOW = {"error": "slow_down", "message": "Too many enrolment attempts; wait a few minutes.",
              "wipe": False}
_ids = itertools.count(1)


@dataclass
class Server:
    """The app, its clock and store, and a device token per person (enrolled when first used)."""

    app: FastAPI
    clock: FakeClock
    store: ServerStore
    tokens: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, *, who: str | None = None, token: str | None = None,
             address: tuple[str, int] = HERE, **kwargs: Any) -> httpx.Response:
        """One request as `who` (their laptop's token) or with `token` as the bearer token."""
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            token = self.token(who)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return asyncio.run(_send(self.app, method, path, address, headers=headers, **kwargs))

    def enrol(self, user_id: str, *, address: tuple[str, int] = SETUP, keys: bool = True
              ) -> httpx.Response:
        """POST /v1/enrol with a fresh code for `user_id` (made as `fieldapp-server code` does)."""
        body: dict[str, Any] = {"code": self.store.create_code(user_id, now=self.clock()),
                                "device_name": f"{user_id} laptop"}
        if keys:
            body |= {"public_key": f"pk{user_id}", "wrapped_private_key": f"wpk{user_id}"}
        return self.call("POST", "/v1/enrol", json=body, address=address)

    def token(self, user_id: str) -> str:
        if user_id not in self.tokens:
            enrolled = self.enrol(user_id)
            assert enrolled.status_code == 200, enrolled.text
            self.tokens[user_id] = enrolled.json()["device_token"]
            self.devices[user_id] = enrolled.json()["device_id"]
        return self.tokens[user_id]

    def revoked_token(self, user_id: str) -> str:
        """The token of another of `user_id`'s laptops, revoked as `fieldapp-server revoke` does."""
        enrolled = self.enrol(user_id).json()
        self.store.revoke_device(enrolled["device_id"], now=self.clock())
        return str(enrolled["device_token"])

    def audit(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        return [(actor, action, subject, json.loads(details))
                for _, _, actor, action, subject, details in self.store.audit_entries()]

    def keys(self, case_id: str) -> set[tuple[int, str, str]]:
        return {(version, user, key) for user in USERS
                for version, key, _, _ in self.store.keys_for(case_id, user)}


async def _send(app: FastAPI, method: str, path: str, address: tuple[str, int],
                **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=address)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, path, **kwargs)


def make_server(root: Path, clock: FakeClock, *, settings: dict[str, Any] | None = None,
                initialised: bool = True, **limits: int) -> Server:
    """The program above, set up with the admin command line's calls, and its app."""
    app = create_app(root / "data", clock=clock, **limits)
    store: ServerStore = app.state.ctx.store
    stamp = clock().isoformat()
    if initialised:
        store.init_program(PROGRAM, dict(DEFAULT_SETTINGS) if settings is None else settings)
    store.add_team("north", "North team")
    store.add_team("south", "South team")
    for user_id, (name, role, team, supervises) in USERS.items():
        store.add_user(user_id, name, role, team, now=stamp, supervises=supervises)
    store.add_case("c1", team_id="north", coordinator_id="rc1", intact_worker_id="iw1", now=stamp)
    store.add_case("c2", team_id="south", coordinator_id="rc2", intact_worker_id=None, now=stamp)
    store.add_case("c3", team_id="north", coordinator_id=None, intact_worker_id=None, now=stamp)
    return Server(app, clock, store)


@dataclass(frozen=True)
class Template:
    """A data folder with the program set up and everyone's laptop enrolled, copied for each
    test (building it takes longer than most tests)."""

    data: Path
    tokens: dict[str, str]
    devices: dict[str, str]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("template")
    made = make_server(root, FakeClock())
    for user_id in USERS:
        enrolled = made.enrol(user_id, address=("10.9.9.9", 1))
        assert enrolled.status_code == 200, enrolled.text
        made.tokens[user_id] = enrolled.json()["device_token"]
        made.devices[user_id] = enrolled.json()["device_id"]
    made.store.close()
    return Template(root / "data", made.tokens, made.devices)


def copied(template: Template, root: Path, clock: FakeClock, *,
           settings: dict[str, Any] | None = None, **limits: int) -> Server:
    """A server over a copy of the template (with these rules, as `init` sets them)."""
    shutil.copytree(template.data, root / "data")
    app = create_app(root / "data", clock=clock, **limits)
    made = Server(app, clock, app.state.ctx.store, dict(template.tokens), dict(template.devices))
    if settings is not None:
        made.store.init_program(PROGRAM, settings)
    return made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(tmp_path: Path, clock: FakeClock, template: Template) -> Iterator[Server]:
    made = copied(template, tmp_path, clock)
    yield made
    made.store.close()


def op(table: str, scope: str, plain: dict[str, Any], *, sealed: str = "c2VhbGVk",
       record_id: str | None = None) -> dict[str, Any]:
    """A new record's op as a laptop sends it."""
    record_id = record_id or f"r-{next(_ids)}"
    return {"op_id": f"op-{next(_ids):012d}-xxxx", "table": table, "record_id": record_id,
            "scope": scope, "base_rev": 0, "plain": plain, "key_version": 1, "sealed": sealed,
            "payload_hash": hashlib.sha256(record_id.encode()).hexdigest()}


def note(case: str, author: str, *, sealed: str = "c2VhbGVk") -> dict[str, Any]:
    return op("visit_notes", case, {"case_id": case, "author": author, "status": "draft"},
              sealed=sealed)


# -- who sees which cases -------------------------------------------------------------------


def test_each_person_lists_exactly_their_caseload(server: Server) -> None:
    """Workers list the cases they are assigned to (as coordinator or as intact worker);
    supervisors their team's, unassigned ones included; the administrator none (403)."""
    listed = {who: [c["id"] for c in server.call("GET", "/v1/cases", who=who).json()]
              for who in ("rc1", "iw1", "rc2", "sup1", "sup2")}
    assert listed == {"rc1": ["c1"], "iw1": ["c1"], "rc2": ["c2"], "sup1": ["c1", "c3"],
                      "sup2": ["c2"]}
    answer = server.call("GET", "/v1/cases", who="adm")
    assert (answer.status_code, answer.json()) == (403, NOT_ADMIN)


def test_a_case_reads_whole_for_its_members(server: Server) -> None:
    """GET a case: its members get it as the server holds it; a supervisor gets the one asked
    for among the team's."""
    c1 = {"id": "c1", "status": "open", "coordinator_id": "rc1", "intact_worker_id": "iw1",
          "team_id": "north", "sealed_details": None, "referred_by": None}
    for who in ("rc1", "iw1", "sup1"):
        answer = server.call("GET", "/v1/cases/c1", who=who)
        assert (answer.status_code, answer.json()) == (200, c1)
    assert server.call("GET", "/v1/cases/c3", who="sup1").json()["id"] == "c3"
    assert server.call("GET", "/v1/cases/c2", who="sup2").json()["team_id"] == "south"


def test_a_case_off_the_caseload_answers_as_a_missing_one(server: Server) -> None:
    """Another team's case, or one of the team's the worker is not assigned to, answers 404
    exactly as a case that does not exist: nothing tells it exists."""
    for who, case in (("rc1", "c2"), ("sup1", "c2"), ("rc2", "c1"), ("sup2", "c3"),
                      ("rc1", "c3"), ("iw1", "c3"), ("rc1", "c404")):
        for endpoint in ("", "/members", "/keys"):
            hidden = server.call("GET", f"/v1/cases/{case}{endpoint}", who=who)
            assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND), (who, case)


def test_the_administrator_reads_no_records(server: Server) -> None:
    """An administrator manages people and devices: every read of cases, keys, members, the
    team and the records is refused 403, with the sentence their laptop shows."""
    for path in ("/v1/cases/c1", "/v1/cases/c1/members", "/v1/cases/c1/keys",
                 "/v1/cases/ledger:rc1/members", "/v1/team", "/v1/sync/pull", "/v1/sync/digest",
                 "/v1/sync/manifest"):
        answer = server.call("GET", path, who="adm")
        assert (answer.status_code, answer.json()) == (403, NOT_ADMIN), path


def test_every_role_against_every_endpoint(server: Server) -> None:
    """Coordinator, intact worker and supervisor use every endpoint but the device ones on a
    case of theirs; the administrator only me, the program and the device ones (403 on the
    rest, and the workers 403 on the device ones)."""
    def key(version: int) -> dict[str, Any]:
        return {"keys": [{"version": version, "user_id": "sup1", "wrapped_key": "a2V5"}]}

    endpoints = [("GET", "/v1/me"), ("GET", "/v1/program"), ("GET", "/v1/team"),
                 ("GET", "/v1/cases"), ("GET", "/v1/cases/c1"), ("GET", "/v1/cases/c1/members"),
                 ("GET", "/v1/cases/c1/keys"), ("PUT", "/v1/cases/c1/keys"),
                 ("GET", "/v1/devices"), ("POST", "/v1/devices/0000000000000000/revoke"),
                 ("POST", "/v1/sync/push"), ("GET", "/v1/sync/pull"), ("GET", "/v1/sync/digest"),
                 ("GET", "/v1/sync/manifest")]
    worker = [200, 200, 200, 200, 200, 200, 200, 204, 403, 403, 200, 200, 200, 200]
    expected = {"rc1": worker, "iw1": worker, "sup1": worker,
                "adm": [200, 200, 403, 403, 403, 403, 403, 403, 200, 404, 403, 403, 403, 403]}
    for n, (who, statuses) in enumerate(expected.items(), start=1):
        answers = [server.call(method, path, who=who, json=key(n) if method == "PUT" else {
            "ops": [note("c1", who)]} if path.endswith("push") else None).status_code
            for method, path in endpoints]
        assert answers == statuses, who


def test_the_administrator_writes_no_records_or_keys(server: Server) -> None:
    """Nor does an administrator push records or share keys: 403, and nothing is stored."""
    pushed = server.call("POST", "/v1/sync/push", who="adm", json={"ops": [note("c1", "adm")]})
    assert (pushed.status_code, pushed.json()) == (403, NOT_ADMIN)
    shared = server.call("PUT", "/v1/cases/c1/keys", who="adm",
                         json={"keys": [{"version": 1, "user_id": "rc1", "wrapped_key": "a2V5"}]})
    assert (shared.status_code, shared.json()) == (403, NOT_ADMIN)
    assert server.keys("c1") == set()
    assert server.call("GET", "/v1/sync/digest", who="sup1").json()["count"] == 0


# -- members and keys -----------------------------------------------------------------------


def test_members_of_a_case_are_its_workers_and_the_teams_supervisors(server: Server) -> None:
    """A case's key holders: its coordinator, its intact worker and its team's supervisors,
    each with their role and public key; an unassigned case's, the supervisors only."""
    for who in ("rc1", "iw1", "sup1"):
        server.token(who)
    members = server.call("GET", "/v1/cases/c1/members", who="rc1").json()
    assert members == [
        {"user_id": "iw1", "role": "intact worker", "public_key": "pkiw1", "signing_key": None,
         "keys_due": False},
        {"user_id": "rc1", "role": "recovery coordinator", "public_key": "pkrc1",
         "signing_key": None,
         "keys_due": False},
        {"user_id": "sup1", "role": "supervisor", "public_key": "pksup1", "signing_key": None,
         "keys_due": False}]
    assert server.call("GET", "/v1/cases/c3/members", who="sup1").json() == [
        {"user_id": "sup1", "role": "supervisor", "public_key": "pksup1", "signing_key": None,
         "keys_due": False}]


def test_a_ledgers_members_are_its_worker_and_their_supervisors(server: Server) -> None:
    """A mileage ledger's scope is open to its worker and their team's supervisors; another
    worker of the team, or another team, gets 404 as for a case."""
    assert [m["user_id"] for m in
            server.call("GET", "/v1/cases/ledger:rc1/members", who="rc1").json()] == \
        ["rc1", "sup1"]
    assert server.call("GET", "/v1/cases/ledger:rc1/members", who="sup1").status_code == 200
    for who in ("iw1", "sup2", "rc2"):
        answer = server.call("GET", "/v1/cases/ledger:rc1/members", who=who)
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND)


def test_keys_go_to_members_and_each_reads_only_their_own(server: Server) -> None:
    """A member shares a key version with the case's members (204, empty); each member then
    reads only the copy wrapped for them, in version order."""
    upload = {"keys": [{"version": v, "user_id": u, "wrapped_key": f"k{v}{u}"}
                       for v in (2, 1) for u in ("rc1", "iw1", "sup1")]}
    put = server.call("PUT", "/v1/cases/c1/keys", who="rc1", json=upload)
    assert (put.status_code, put.content) == (204, b"")
    for who in ("rc1", "iw1", "sup1"):
        assert server.call("GET", "/v1/cases/c1/keys", who=who).json() == [
            {"version": 1, "user_id": who, "wrapped_key": f"k1{who}", "signer": "rc1",
             "signature": None},
            {"version": 2, "user_id": who, "wrapped_key": f"k2{who}", "signer": "rc1",
             "signature": None}]
    assert server.call("GET", "/v1/cases/c3/keys", who="sup1").json() == []


def signed_in(server: Server, user_id: str) -> Identity:
    """A new supervisor of the north team, `user_id`, enrolled with a real key pair (their
    laptop's), so the server checks what they sign."""
    server.store.add_user(user_id, "Sid Signer", "supervisor", "north",
                          now=server.clock().isoformat())
    identity = Identity.generate()
    answer = server.call("POST", "/v1/enrol", address=SETUP, json={
        "code": server.store.create_code(user_id, now=server.clock()),
        "device_name": f"{user_id} laptop", "public_key": identity.public_key,
        "signing_key": identity.signing_key, "wrapped_private_key": "d3JhcHBlZA=="})
    assert answer.status_code == 200, answer.text
    server.tokens[user_id] = answer.json()["device_token"]
    return identity


def test_a_key_is_shared_only_in_ones_own_name(server: Server) -> None:
    """A copy that names another member as its signer is refused whole (403), signed or not."""
    upload = {"keys": [{"version": 1, "user_id": "iw1", "wrapped_key": "a2V5", "signer": "iw1"}]}
    answer = server.call("PUT", "/v1/cases/c1/keys", who="rc1", json=upload)
    assert (answer.status_code, answer.json()["error"]) == (403, "not_the_signer")
    assert server.keys("c1") == set()


def test_a_key_copy_carries_its_sharers_signature(server: Server) -> None:
    """Someone with a registered signing key shares only copies they signed: one copy signed
    wrongly refuses the upload (422) and stores nothing; signed ones are stored and handed to
    their recipient with who signed them."""
    sid = signed_in(server, "sup3")
    good = {"version": 1, "user_id": "sup3", "wrapped_key": "a2V5", "signer": "sup3",
            "signature": sid.sign(key_statement("c3", 1, "sup3", "a2V5", "sup3"))}
    forged = {**good, "user_id": "sup1", "wrapped_key": "b3RoZXI="}
    for bad in ({**good, "signature": None}, {**good, "wrapped_key": "b3RoZXI="}):
        answer = server.call("PUT", "/v1/cases/c3/keys", who="sup3", json={"keys": [bad]})
        assert (answer.status_code, answer.json()["error"]) == (422, "bad_signature")
    answer = server.call("PUT", "/v1/cases/c3/keys", who="sup3", json={"keys": [good, forged]})
    assert (answer.status_code, answer.json()["error"]) == (422, "bad_signature")
    assert server.store.keys_for("c3", "sup3") == []
    assert server.call("PUT", "/v1/cases/c3/keys", who="sup3",
                       json={"keys": [good]}).status_code == 204
    assert server.call("GET", "/v1/cases/c3/keys", who="sup3").json() == [good]


def test_a_change_carries_its_authors_signature(server: Server) -> None:
    """Someone with a registered signing key: an unsigned change, or one whose signature does
    not cover what was sent, is refused and changes nothing; a signed one is applied."""
    sid = signed_in(server, "sup3")
    sent = op("random_schedules", "c1", {"case_id": "c1", "created_by": "sup3"})

    def signed(op: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in op.items() if k not in ("op_id", "signature")}
        return {**op, "signature": sid.sign(wire.op_statement(
            "sup3", op_id=op["op_id"], deleted=False, **fields))}

    altered = {**signed(sent), "plain": {**sent["plain"], "status": "signed"},
               "op_id": f"op-{next(_ids):012d}-xxxx"}
    for bad in ({**sent, "op_id": f"op-{next(_ids):012d}-xxxx"}, altered):
        answer = server.call("POST", "/v1/sync/push", who="sup3", json={"ops": [bad]}).json()
        assert answer["answers"][0]["outcome"] == "rejected"
        assert "not signed with your key" in answer["answers"][0]["reason"]
    answer = server.call("POST", "/v1/sync/push", who="sup3", json={"ops": [signed(sent)]})
    assert answer.json()["answers"][0]["outcome"] == "applied"
    docs = server.call("GET", "/v1/sync/pull", who="sup3").json()["docs"]
    assert [(d["record_id"], d["signature"], d["author"]) for d in docs] == [
        (sent["record_id"], signed(sent)["signature"], "sup3")]


def test_every_change_of_a_large_push_is_checked(server: Server) -> None:
    """A push large enough to be checked on several threads: the one change whose signature
    does not cover what was sent is refused, every other one is applied."""
    sid = signed_in(server, "sup3")
    ops = []
    for n in range(70):
        sent = op("random_schedules", "c1", {"case_id": "c1", "created_by": "sup3"})
        fields = {k: v for k, v in sent.items() if k != "op_id"}
        signature = sid.sign(wire.op_statement("sup3", op_id=sent["op_id"], deleted=False,
                                               **fields))
        ops.append({**sent, "signature": signature,
                    "plain": {**sent["plain"], "case_id": "c2"} if n == 41 else sent["plain"]})
    answers = server.call("POST", "/v1/sync/push", who="sup3", json={"ops": ops}).json()
    outcomes = [a["outcome"] for a in answers["answers"]]
    assert outcomes == ["applied"] * 41 + ["rejected"] + ["applied"] * 28
    assert "not signed with your key" in answers["answers"][41]["reason"]


def test_anyone_in_the_program_reads_a_persons_public_keys(server: Server) -> None:
    """A person's public keys, to check what they signed, for any member of the program (no
    caseload needed); a person the program does not have is 404."""
    sid = signed_in(server, "sup3")
    answer = server.call("GET", "/v1/people/sup3", who="rc2")
    assert answer.json() == {"user_id": "sup3", "public_key": sid.public_key,
                             "signing_key": sid.signing_key, "former_signing_keys": []}
    missing = server.call("GET", "/v1/people/nobody", who="rc2")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert server.call("GET", "/v1/people/sup3").status_code == 401


def test_key_versions_and_sharing_are_audited(server: Server) -> None:
    """Who may read what changes when a key version is added: each new version is audited with
    the device that sent it, then the sharing with its recipients; sharing a version again
    audits the sharing only."""
    server.token("rc1")
    device = server.devices["rc1"]
    before = len(server.audit())
    two = {"keys": [{"version": 1, "user_id": "rc1", "wrapped_key": "a2V5"},
                    {"version": 2, "user_id": "sup1", "wrapped_key": "a2V5"},
                    {"version": 2, "user_id": "rc1", "wrapped_key": "a2V5"}]}
    assert server.call("PUT", "/v1/cases/c1/keys", who="rc1", json=two).status_code == 204
    again = {"keys": [{"version": 1, "user_id": "iw1", "wrapped_key": "a2V5"}]}
    assert server.call("PUT", "/v1/cases/c1/keys", who="rc1", json=again).status_code == 204
    assert server.audit()[before:] == [
        ("rc1", "key version added", "c1", {"version": 1, "device": device}),
        ("rc1", "key version added", "c1", {"version": 2, "device": device}),
        ("rc1", "case keys shared", "c1", {"device": device, "to": ["rc1", "sup1"]}),
        ("rc1", "case keys shared", "c1", {"device": device, "to": ["iw1"]})]


def test_a_key_for_a_non_member_is_refused_whole(server: Server) -> None:
    """A key for someone outside the case: 403 not_a_member, and not even the members' keys of
    the same upload are stored or audited."""
    before = server.audit()
    for recipients in (["rc2"], ["iw1", "sup2"], ["adm"], ["nobody"]):
        upload = {"keys": [{"version": 1, "user_id": u, "wrapped_key": "a2V5"}
                           for u in recipients]}
        answer = server.call("PUT", "/v1/cases/c1/keys", who="rc1", json=upload)
        assert (answer.status_code, answer.json()) == (403, {
            "error": "not_a_member", "message": "Keys can be given only to the case's members.",
            "wipe": False})
    assert server.keys("c1") == set()
    assert server.audit() == before


def test_a_key_upload_to_a_hidden_case_reveals_nothing(server: Server) -> None:
    """PUT keys to another team's case answers 404 whether or not the recipient is one of its
    members, exactly as for a missing case."""
    answers = [server.call("PUT", f"/v1/cases/{case}/keys", who="rc1",
                           json={"keys": [{"version": 1, "user_id": u, "wrapped_key": "a2V5"}]})
               for case, u in (("c2", "rc2"), ("c2", "rc1"), ("c404", "rc2"), ("c3", "sup1"))]
    assert {(a.status_code, a.text) for a in answers} == {(404, json.dumps(
        NOT_FOUND, separators=(",", ":")))}
    assert server.keys("c2") == server.keys("c3") == set()


def test_a_key_version_made_elsewhere_first_is_refused(server: Server) -> None:
    """Two laptops that each made version 1 offline: the second learns that theirs lost (409
    key_taken), and the first copy stands."""
    first = {"keys": [{"version": 1, "user_id": "rc1", "wrapped_key": "Zmlyc3Q"}]}
    assert server.call("PUT", "/v1/cases/c1/keys", who="rc1", json=first).status_code == 204
    second = {"keys": [{"version": 1, "user_id": "iw1", "wrapped_key": "c2Vjb25k"}]}
    answer = server.call("PUT", "/v1/cases/c1/keys", who="iw1", json=second)
    assert (answer.status_code, answer.json()) == (409, {
        "error": "key_taken", "message": "Version 1 of this key was made on another device "
        "first; fetch it instead.", "wipe": False})
    assert server.keys("c1") == {(1, "rc1", "Zmlyc3Q")}


def test_a_member_cannot_plant_a_key_version_out_of_sequence(server: Server) -> None:
    """A coordinator uploads version 1,000,000 of a case's key for every member (the attack of
    issue 19): refused, nothing stored, and the next rotation still has its version. New
    versions continue the sequence without a gap."""
    member = [{"user_id": u, "wrapped_key": "cGxhbnRlZA"} for u in ("rc1", "iw1", "sup1")]
    planted = server.call("PUT", "/v1/cases/c1/keys", who="rc1",
                          json={"keys": [{"version": 1_000_000, **m} for m in member]})
    assert (planted.status_code, planted.json()) == (409, {
        "error": "key_version_skipped", "message": "The next version of this key is 1; "
        "version 1000000 cannot be added.", "wipe": False})
    assert server.keys("c1") == set()
    with_a_gap = server.call("PUT", "/v1/cases/c1/keys", who="rc1", json={"keys": [
        {"version": 1, **member[0]}, {"version": 3, **member[0]}]})
    assert (with_a_gap.status_code, with_a_gap.json()["message"]) == (
        409, "The next version of this key is 2; version 3 cannot be added.")
    assert server.keys("c1") == set()
    first = server.call("PUT", "/v1/cases/c1/keys", who="rc1",
                        json={"keys": [{"version": 1, **m} for m in member]})
    assert first.status_code == 204
    rotation = server.call("PUT", "/v1/cases/c1/keys", who="sup1",
                           json={"keys": [{"version": 2, **m} for m in member]})
    assert rotation.status_code == 204
    skipped = server.call("PUT", "/v1/cases/c1/keys", who="iw1",
                          json={"keys": [{"version": 4, **m} for m in member]})
    assert (skipped.status_code, skipped.json()["message"]) == (
        409, "The next version of this key is 3; version 4 cannot be added.")
    assert {v for v, _, _ in server.keys("c1")} == {1, 2}


# -- people and devices ---------------------------------------------------------------------


def test_me_and_the_program(server: Server) -> None:
    """Everyone, the administrator included, reads who they are and the program's rules."""
    assert server.call("GET", "/v1/me", who="iw1").json() == {
        "id": "iw1", "name": "Ian Worker", "role": "intact worker", "team_id": "north"}
    assert server.call("GET", "/v1/me", who="adm").json()["team_id"] is None
    assert server.call("GET", "/v1/program", who="adm").json() == {"name": PROGRAM,
                                                                   **DEFAULT_SETTINGS}


def test_the_team_lists_the_callers_colleagues_by_name(server: Server) -> None:
    """The caller's team, the caller included and no other team; a supervisor's capacity only
    where it is set (a laptop older than it refuses a key it does not know)."""
    north = [{"id": "iw1", "name": "Ian Worker", "role": "intact worker",
              "public_key": "pkiw1"},
             {"id": "rc1", "name": "Rosa Coordinator", "role": "recovery coordinator",
              "public_key": "pkrc1"},
             {"id": "sup1", "name": "Sam Supervisor", "role": "supervisor", "supervises": "SUD",
              "public_key": "pksup1"}]
    assert server.call("GET", "/v1/team", who="rc1").json() == north
    assert server.call("GET", "/v1/team", who="sup1").json() == north
    assert [p["id"] for p in server.call("GET", "/v1/team", who="sup2").json()] == ["rc2", "sup2"]


def test_only_the_administrator_lists_devices(server: Server) -> None:
    """The device list is the administrator's: every device with its dates, revoked ones too;
    anyone else 403."""
    server.clock.advance(60)
    server.revoked_token("iw1")
    stamp = FakeClock()().isoformat()
    listed = server.call("GET", "/v1/devices", who="adm").json()
    assert [d for d in listed if d["id"] == server.devices["rc1"]] == [{
        "id": server.devices["rc1"], "user_id": "rc1", "name": "rc1 laptop",
        "enrolled_at": stamp, "revoked_at": None}]
    assert sorted(((d["user_id"], d["revoked_at"]) for d in listed), key=str) == sorted(
        [(user, None) for user in USERS] + [("iw1", server.clock().isoformat())], key=str)
    for who in ("rc1", "iw1", "sup1"):
        answer = server.call("GET", "/v1/devices", who=who)
        assert (answer.status_code, answer.json()) == (403, ONLY_ADMIN)


def test_the_administrator_revokes_a_device_and_it_is_told_to_wipe(server: Server) -> None:
    """Revoke: 204, audited, and the laptop's next request gets 401 device_revoked with the wipe
    order; a device already revoked, or unknown, is 404; nobody else may revoke (403)."""
    server.token("iw1")
    victim = server.devices["iw1"]
    for who in ("rc1", "sup1", "iw1"):
        refused = server.call("POST", f"/v1/devices/{victim}/revoke", who=who)
        assert (refused.status_code, refused.json()) == (403, ONLY_ADMIN)
    assert server.call("GET", "/v1/me", who="iw1").status_code == 200
    server.clock.advance(60)
    answer = server.call("POST", f"/v1/devices/{victim}/revoke", who="adm")
    assert (answer.status_code, answer.content) == (204, b"")
    assert server.audit()[-1] == ("adm", "device revoked", victim, {})
    assert {d.id: d.revoked_at for d in server.store.devices()}[victim] == \
        server.clock().isoformat()
    gone = server.call("GET", "/v1/me", who="iw1")
    assert (gone.status_code, gone.json()) == (401, REVOKED)
    for device in (victim, "0000000000000000"):
        again = server.call("POST", f"/v1/devices/{device}/revoke", who="adm")
        assert (again.status_code, again.json()) == (404, {
            "error": "unknown_device", "message": f"No active device {device}.", "wipe": False})


# -- enrolment and readiness ----------------------------------------------------------------


def test_enrolment_gives_the_device_its_token_keys_and_the_program(server: Server) -> None:
    """A good code: the device's id and token, the person, their keys (registered by the first
    device) and the program; the enrolment is audited; the token then signs in."""
    answer = server.enrol("rc1")
    body = answer.json()
    assert answer.status_code == 200
    assert body["user"] == {"id": "rc1", "name": "Rosa Coordinator",
                            "role": "recovery coordinator", "team_id": "north"}
    assert body["key_material"] == {"public_key": "pkrc1", "wrapped_private_key": "wpkrc1",
                                    "signing_key": None, "former_signing_keys": []}
    assert body["program"] == {"name": PROGRAM, **DEFAULT_SETTINGS}
    assert server.audit()[-1] == ("rc1", "device enrolled", body["device_id"], {})
    me = server.call("GET", "/v1/me", token=body["device_token"])
    assert me.json()["id"] == "rc1"


def test_enrolment_without_keys_gives_none(server: Server) -> None:
    """A person whose first laptop sent no keys has none to give a second one."""
    server.store.add_user("rc3", "Rita Coordinator", "recovery coordinator", "north",
                          now=server.clock().isoformat())
    assert server.enrol("rc3", keys=False).json()["key_material"] is None
    assert server.enrol("rc3", keys=False).json()["key_material"] is None


def test_a_bad_code_is_refused_with_what_to_do(server: Server) -> None:
    """A mistyped, used or expired code: 403 bad_code and the sentence that says to ask again."""
    answer = server.call("POST", "/v1/enrol", json={"code": "abcdef-abcdef-abcdef",
                                                    "device_name": "laptop"})
    assert (answer.status_code, answer.json()) == (403, {
        "error": "bad_code", "message": "This enrolment code is not valid: it may be mistyped, "
        "already used or expired. Ask for a new one.", "wipe": False})


def test_enrolment_before_set_up_keeps_the_code(tmp_path: Path, clock: FakeClock) -> None:
    """Before `init`, enrolment answers 503 not_initialised and leaves the code unspent; /ready
    says the same; after `init` the same code enrols."""
    server = make_server(tmp_path, clock, initialised=False)
    code = server.store.create_code("rc1", now=clock())
    body = {"code": code, "device_name": "laptop"}
    unset = {"error": "not_initialised", "message": "The program has not been set up on this "
             "server.", "wipe": False}
    answer = server.call("POST", "/v1/enrol", json=body)
    assert (answer.status_code, answer.json()) == (503, unset)
    ready = server.call("GET", "/ready")
    assert (ready.status_code, ready.json()) == (503, unset)
    server.store.init_program(PROGRAM, dict(DEFAULT_SETTINGS))
    assert server.call("POST", "/v1/enrol", json=body).status_code == 200
    assert server.call("GET", "/ready").json() == {"status": "ready", "version": __version__}
    assert server.call("GET", "/health").json() == {"status": "ok", "version": __version__}
    server.store.close()


def test_ready_says_when_the_database_cannot_be_read(server: Server) -> None:
    """/ready answers 503 database_unavailable when the database does not answer."""
    server.store.close()
    answer = server.call("GET", "/ready")
    assert (answer.status_code, answer.json()) == (503, {
        "error": "database_unavailable", "message": "The server's database cannot be read.",
        "wipe": False})


# -- records ----------------------------------------------------------------------------------


def test_a_worker_syncs_and_the_push_is_audited(server: Server) -> None:
    """A member pushes a note: applied, audited with its outcome counts and the device; it is
    pulled page by page, and the digest and manifest count it."""
    server.token("rc1")
    ops = [note("c1", "rc1"), note("c1", "rc1"), note("c2", "rc1")]
    answer = server.call("POST", "/v1/sync/push", who="rc1", json={"ops": ops})
    assert [a["outcome"] for a in answer.json()["answers"]] == ["applied", "applied", "rejected"]
    assert server.audit()[-1] == ("rc1", "records pushed", server.devices["rc1"],
                                  {"applied": 2, "rejected": 1})
    first = server.call("GET", "/v1/sync/pull", who="iw1", params={"limit": 1}).json()
    assert ([d["record_id"] for d in first["docs"]], first["more"]) == ([ops[0]["record_id"]], True)
    rest = server.call("GET", "/v1/sync/pull", who="iw1", params={"since": first["next"]}).json()
    assert ([d["record_id"] for d in rest["docs"]], rest["more"]) == ([ops[1]["record_id"]], False)
    assert server.call("GET", "/v1/sync/digest", who="sup1").json()["count"] == 2
    assert server.call("GET", "/v1/sync/digest", who="rc2").json()["count"] == 0
    assert [e["record_id"] for e in server.call("GET", "/v1/sync/manifest", who="iw1")
            .json()["entries"]] == [ops[0]["record_id"], ops[1]["record_id"]]


def test_a_batch_carries_at_most_its_sealed_allowance(server: Server) -> None:
    """Exactly MAX_BATCH_BYTES of sealed content in one push is taken; one character more is
    refused 413 with the limit in words, and nothing of it is stored."""
    per = wire.MAX_BATCH_BYTES // 8
    full = [note("c1", "rc1", sealed="A" * per) for _ in range(8)]
    assert server.call("POST", "/v1/sync/push", who="rc1", json={"ops": full}).status_code == 200
    over = [note("c1", "rc1", sealed="A" * per) for _ in range(7)] + [
        note("c1", "rc1", sealed="A" * (per + 1))]
    answer = server.call("POST", "/v1/sync/push", who="rc1", json={"ops": over})
    assert (answer.status_code, answer.json()) == (413, {
        "error": "too_large", "message": "A batch carries at most 2,000,000 characters of sealed "
        "content.", "wipe": False})
    assert server.call("GET", "/v1/sync/digest", who="rc1").json()["count"] == 8


def test_the_programs_storage_quota_and_mileage_cap_apply(tmp_path: Path,
                                                          clock: FakeClock,
        template: Template) -> None:
    """Pushes are judged by the program's own rules: its storage quota in MB (the change that
    passes it is kept on the laptop) and its monthly mileage cap."""
    settings = {**DEFAULT_SETTINGS, "storage_quota_mb": 1, "mileage_cap": "120"}
    server = copied(template, tmp_path, clock, settings=settings)
    ops = [note("c1", "rc1", sealed="A" * 250_000) for _ in range(5)]
    answers = server.call("POST", "/v1/sync/push", who="rc1", json={"ops": ops}).json()["answers"]
    assert [a["outcome"] for a in answers] == ["applied"] * 4 + ["rejected"]
    assert answers[4]["reason"].startswith("Your storage on the server is full (1 MB)")
    trip = op("trips", "ledger:iw1", {"worker_id": "iw1", "month": "2026-11",
                                      "trip_date": "2026-11-02", "total_miles": "200",
                                      "recorded_at": clock().isoformat()})
    assert server.call("POST", "/v1/sync/push", who="iw1", json={"ops": [trip]}).json()[
        "answers"][0]["outcome"] == "applied"
    docs = server.call("GET", "/v1/sync/pull", who="iw1").json()["docs"]
    assert [d["plain"]["cap"] for d in docs if d["table"] == wire.ALLOCATIONS] == ["120"]
    server.store.close()


def test_a_program_with_only_some_rules_takes_the_defaults(tmp_path: Path,
                                                           clock: FakeClock,
        template: Template) -> None:
    """Rules not stored are the defaults: a push is judged under them."""
    server = copied(template, tmp_path, clock, settings={"mileage_cap": "120"})
    answer = server.call("POST", "/v1/sync/push", who="rc1", json={"ops": [note("c1", "rc1")]})
    assert answer.json()["answers"][0]["outcome"] == "applied"
    server.store.close()


def test_rules_that_cannot_be_used_stop_the_push(tmp_path: Path, clock: FakeClock,
        template: Template) -> None:
    """Rules set by hand that are not valid: a push is refused 503 bad_settings, saying why and
    whom to tell, and nothing is stored."""
    server = copied(template, tmp_path, clock, settings={**DEFAULT_SETTINGS, "version": 99})
    answer = server.call("POST", "/v1/sync/push", who="rc1", json={"ops": [note("c1", "rc1")]})
    assert (answer.status_code, answer.json()) == (503, {
        "error": "bad_settings", "message": "The program's rules on this server cannot be used "
        "(These settings come from a newer FieldApp; update FieldApp.); tell your "
        "administrator.", "wipe": False})
    assert server.call("GET", "/v1/sync/digest", who="rc1").json()["count"] == 0
    server.store.close()


# -- the framework's own answers -----------------------------------------------------------


def test_an_invalid_request_says_where_never_what(server: Server) -> None:
    """A request the schema refuses: 422 invalid_request naming where and what is wrong (the
    first five problems), never echoing the value sent."""
    keys = [{"version": 0, "user_id": "rc1", "wrapped_key": "secretvalue"}] * 6
    answer = server.call("PUT", "/v1/cases/c1/keys", who="rc1", json={"keys": keys})
    where = "; ".join(f"body.keys.{n}.version: Input should be greater than or equal to 1"
                      for n in range(5))
    assert (answer.status_code, answer.json()) == (422, {
        "error": "invalid_request", "message": f"The request is not valid ({where}).",
        "wipe": False})


def test_the_frameworks_refusals_are_named(server: Server) -> None:
    """No such page: 404 not_found; a method a page does not answer: 405 with its Allow; a body
    that is not text: 400 bad_request. All in the laptop's problem format."""
    missing = server.call("GET", "/v2/nothing")
    assert (missing.status_code, missing.json()) == (404, {
        "error": "not_found", "message": "No such page on this server.", "wipe": False})
    method = server.call("DELETE", "/v1/cases")
    assert (method.status_code, method.json(), method.headers["allow"]) == (405, {
        "error": "method_not_allowed", "message": "This page does not answer that method.",
        "wipe": False}, "GET")
    garbled = server.call("PUT", "/v1/cases/c1/keys", who="rc1", content=b"\xff\xfe{",
                          headers={"Content-Type": "application/json"})
    assert (garbled.status_code, garbled.json()) == (400, {
        "error": "bad_request", "message": "The request could not be read.", "wipe": False})


def test_any_other_status_is_named_from_its_phrase() -> None:
    """A framework refusal with no sentence of ours is named after its HTTP phrase (snake case),
    or bad_request when the status has none."""
    for status, name in ((413, "request_entity_too_large"), (207, "multi_status"),
                         (203, "non_authoritative_information"), (599, "bad_request")):
        assert _named(status) == (name, "The request could not be read.")


def test_the_api_describes_itself_and_every_refusal(server: Server) -> None:
    """The API's own description (what the schema fuzzing and a client's author read) names the
    server and its version, and gives every operation the problem format for each refusal
    status the server answers: 400, 401, 403, 404, 405, 408, 409, 413, 422, 429 and 503."""
    document = server.call("GET", "/openapi.json").json()
    assert (document["info"]["title"], document["info"]["version"]) == \
        ("FieldApp central server", __version__)
    refusals = {"400", "401", "403", "404", "405", "408", "409", "413", "422", "429", "503"}
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            documented = {status for status, answer in operation["responses"].items()
                          if answer.get("content", {}).get("application/json", {})
                          .get("schema") == problem_ref}
            assert documented == refusals, (method, path)


def test_without_a_clock_the_server_keeps_utc_time(tmp_path: Path) -> None:
    """A server started without a test clock dates enrolments in UTC, and codes made now are
    valid now."""
    app = create_app(tmp_path / "data")
    store: ServerStore = app.state.ctx.store
    store.init_program(PROGRAM, dict(DEFAULT_SETTINGS))
    store.add_team("north", "North team")
    store.add_user("rc1", "Rosa Coordinator", "recovery coordinator", "north", now="")
    code = store.create_code("rc1", now=datetime.now(UTC))
    answer = asyncio.run(_send(app, "POST", "/v1/enrol", HERE,
                               json={"code": code, "device_name": "laptop"}))
    assert answer.status_code == 200, answer.text
    enrolled = datetime.fromisoformat(store.devices()[0].enrolled_at)
    assert enrolled.utcoffset() == timedelta(0)
    assert abs(enrolled - datetime.now(UTC)) < timedelta(minutes=1)
    store.close()


def test_a_route_outside_the_api_never_finds_a_caller(server: Server) -> None:
    """The gate signs in /v1 only: a route elsewhere that asks for the caller is refused 401,
    never given someone's identity."""
    @server.app.get("/elsewhere")
    def elsewhere(who: Who) -> str:
        return who[1].id

    answer = server.call("GET", "/elsewhere", who="rc1")
    assert (answer.status_code, answer.json()) == (401, NOT_ENROLLED)


def test_requests_are_logged_without_tokens_or_values(server: Server,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The access log and the gate's refusals log method, route template, status and time;
    never a token, a case id from the path or a query value."""
    token = server.token("rc1")
    with caplog.at_level(logging.INFO, logger="fieldapp.server"):
        server.call("GET", "/v1/cases/c1", who="rc1", params={"q": "needle"})
        server.call("GET", "/v1/cases/c1", token="wrong-token-haystack")
        server.call("GET", "/v2/nothing")
        server.call("POST", "/v2/nothing", content=b"x" * (wire.MAX_OTHER_BYTES + 1))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "fieldapp.server"]
    assert [{k: v for k, v in line.items() if k != "ms"} for line in lines] == [
        {"method": "GET", "route": "/v1/cases/{case_id}", "status": 200},
        {"method": "GET", "route": "/v1/cases/{case_id}", "status": 401},
        {"method": "GET", "route": "(unmatched)", "status": 404},
        {"method": "POST", "route": "(unmatched)", "status": 413}]
    assert all(0 <= line["ms"] < 10_000 and round(line["ms"], 1) == line["ms"]
               for line in lines)
    assert not any(s in caplog.text for s in (token, "haystack", "needle", "c1"))


# -- the gate: sign-in and its limits ---------------------------------------------------------


def test_missing_or_unknown_tokens_are_not_enrolled(server: Server) -> None:
    """No token, an empty one, an unknown one, or a known one in another scheme: 401
    not_enrolled; the known token, with spaces around it, signs in."""
    token = server.token("rc1")
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nope"},
                    {"Authorization": f"Basic {token}"}):
        answer = server.call("GET", "/v1/me", headers=headers)
        assert (answer.status_code, answer.json()) == (401, NOT_ENROLLED)
    signed = server.call("GET", "/v1/me", headers={"Authorization": f"Bearer {token}  "})
    assert signed.json()["id"] == "rc1"


def test_failed_sign_ins_are_limited_per_address_and_window(tmp_path: Path,
                                                            clock: FakeClock,
        template: Template) -> None:
    """Exactly N failed sign-ins per address are answered 401; the N+1th is 429 slow_down, from
    that address only, until the window has passed. A real device still signs in."""
    server = copied(template, tmp_path, clock, auth_failure_limit=3)
    good = server.token("rc1")
    for _ in range(3):
        assert server.call("GET", "/v1/me", token="guess").status_code == 401
    for _ in range(2):
        slow = server.call("GET", "/v1/me")  # no token counts as a failure too
        assert (slow.status_code, slow.json()) == (429, AUTH_SLOW)
    assert server.call("GET", "/v1/me", token="guess", address=("10.0.0.3", 40000)
                       ).status_code == 401
    assert server.call("GET", "/v1/me", token="guess", address=(HERE[0], 51234)
                       ).status_code == 429
    assert server.call("GET", "/v1/me", token=good).status_code == 200
    clock.advance(WINDOW.total_seconds() - 1)
    assert server.call("GET", "/v1/me", token="guess").status_code == 429
    clock.advance(1)
    assert server.call("GET", "/v1/me", token="guess").status_code == 401
    server.store.close()


def test_the_default_failure_limit(server: Server) -> None:
    """By default a client address may fail to sign in AUTH_FAILURE_LIMIT times a window."""
    answers = [server.call("GET", "/v1/cases", token="guess").status_code
               for _ in range(AUTH_FAILURE_LIMIT + 1)]
    assert answers == [401] * AUTH_FAILURE_LIMIT + [429]


def test_a_revoked_device_is_told_to_wipe_however_often_it_asks(tmp_path: Path,
                                                               clock: FakeClock,
        template: Template) -> None:
    """A revoked device's token: 401 device_revoked with the wipe order, on every endpoint and
    every time (it is no failed sign-in, so it never turns into 429); nothing runs for it."""
    server = copied(template, tmp_path, clock, auth_failure_limit=2)
    revoked = server.revoked_token("rc1")
    for method, path in [("GET", "/v1/me"), ("GET", "/v1/cases/c1/keys"),
                         ("POST", "/v1/sync/push"), ("GET", "/v1/devices"), ("GET", "/v1/me")]:
        answer = server.call(method, path, token=revoked, json={"ops": [note("c1", "rc1")]}
                             if method == "POST" else None)
        assert (answer.status_code, answer.json()) == (401, REVOKED)
    assert server.call("GET", "/v1/sync/digest", who="rc1").json()["count"] == 0
    server.store.close()


def test_pages_that_take_no_token_do_not_count_failures(tmp_path: Path,
                                                       clock: FakeClock,
        template: Template) -> None:
    """/health, /ready, the API's description, a page that does not exist and a method a page
    does not answer ask for no token and count no failed sign-in."""
    server = copied(template, tmp_path, clock, auth_failure_limit=1)
    for _ in range(2):
        assert server.call("GET", "/health").status_code == 200
        assert server.call("GET", "/ready").status_code == 200
        assert server.call("GET", "/openapi.json").status_code == 200
        assert server.call("GET", "/v1/nothing").status_code == 404
        assert server.call("POST", "/v1/cases").status_code == 405
    assert server.call("GET", "/v1/me").status_code == 401
    assert server.call("GET", "/v1/me").status_code == 429
    server.store.close()


def test_enrolment_attempts_are_limited_per_address_and_window(tmp_path: Path,
                                                               clock: FakeClock,
        template: Template) -> None:
    """Exactly N enrolment attempts per address (bad codes count); the N+1th is 429 even with a
    good code, which stays unspent and enrols once the window has passed. Failed sign-ins and
    enrolment attempts are counted apart."""
    server = copied(template, tmp_path, clock, enrol_limit=2, auth_failure_limit=1)
    for _ in range(2):
        assert server.call("GET", "/v1/me", token="guess").status_code in (401, 429)
    bad = {"code": "abcdef-abcdef-abcdef", "device_name": "laptop"}
    assert server.call("POST", "/v1/enrol", json=bad).status_code == 403
    assert server.enrol("rc1", address=HERE).status_code == 200
    code = server.store.create_code("iw1", now=clock())
    good = {"code": code, "device_name": "laptop"}
    slow = server.call("POST", "/v1/enrol", json=good)
    assert (slow.status_code, slow.json()) == (429, ENROL_SLOW)
    assert server.call("POST", "/v1/enrol", json=good, address=("10.0.0.3", 1)
                       ).status_code == 200
    assert server.enrol("iw1", address=HERE).status_code == 429
    clock.advance(WINDOW.total_seconds())
    assert server.enrol("iw1", address=HERE).status_code == 200
    server.store.close()


def test_the_default_enrolment_limit(server: Server) -> None:
    """By default a client address may try to enrol ENROL_LIMIT times a window."""
    bad = {"code": "abcdef-abcdef-abcdef", "device_name": "laptop"}
    answers = [server.call("POST", "/v1/enrol", json=bad).status_code
               for _ in range(ENROL_LIMIT + 1)]
    assert answers == [403] * ENROL_LIMIT + [429]


# -- the gate: bodies, raw -------------------------------------------------------------------


@dataclass
class Raw:
    """What the gate sent for one raw request, and how many messages of the body it read."""

    sent: list[dict[str, Any]]
    read: int
    seconds: float

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    def problem(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.sent[1]["body"])
        return found

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


Receive = Callable[[int], Awaitable[dict[str, Any]]]


def parts(*chunks: bytes, then: str = "end") -> Receive:
    """The body in `chunks`, then: "end" (the last chunk ends it), "stall" (nothing more
    comes), "disconnect" (the client leaves) or "more" (the last chunk again, for ever)."""
    async def receive(n: int) -> dict[str, Any]:
        await anyio.sleep(0)
        if n < len(chunks):
            last = n == len(chunks) - 1 and then == "end"
            return {"type": "http.request", "body": chunks[n], "more_body": not last}
        if then == "more":
            return {"type": "http.request", "body": chunks[-1], "more_body": True}
        if then == "disconnect":
            return {"type": "http.disconnect"}
        await anyio.sleep_forever()
        raise AssertionError
    return receive


def raw(server: Server, method: str, path: str, receive: Receive, *,
        headers: list[tuple[str, str]], client: tuple[str, int] | None = HERE) -> Raw:
    """One request as an ASGI server passes it, the body coming as `receive` gives it."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": client,
             "server": ("testserver", 80),
             "headers": [(k.lower().encode(), v.encode("latin-1"))
                         for k, v in [("Content-Type", "application/json"), *headers]]}
    sent: list[dict[str, Any]] = []
    count = 0

    async def receiving() -> dict[str, Any]:
        nonlocal count
        count += 1
        return await receive(count - 1)

    async def send(message: Message) -> None:
        sent.append(dict(message))

    async def run() -> None:
        with anyio.fail_after(5):
            await server.app(scope, receiving, send)

    started = time.monotonic()
    anyio.run(run)
    return Raw(sent, count, time.monotonic() - started)


def bearer(server: Server, who: str = "rc1") -> tuple[str, str]:
    return ("Authorization", f"Bearer {server.token(who)}")


def test_a_declared_body_over_the_routes_limit_is_refused_unread(tmp_path: Path,
                                                                  clock: FakeClock,
                                                                  template: Template) -> None:
    """A Content-Length over the route's limit: 413 too_large with the limit in words, before a
    byte of the body or the token is looked at (no sign-in or enrolment counted), and the
    connection closes once what was coming is drained."""
    server = copied(template, tmp_path, clock, auth_failure_limit=1, enrol_limit=1)
    before = server.audit()
    for method, path, limit, words in (
            ("POST", "/v1/enrol", wire.MAX_ENROL_BYTES, "262 kB"),
            ("PUT", "/v1/cases/c1/keys", wire.MAX_KEY_UPLOAD_BYTES, "6.6 MB"),
            ("POST", "/v1/sync/push", wire.MAX_PUSH_BYTES, "2.1 MB"),
            ("POST", "/v1/devices/d1/revoke", wire.MAX_OTHER_BYTES, "4 kB"),
            ("GET", "/v1/nothing", wire.MAX_OTHER_BYTES, "4 kB")):
        declared = [("Content-Length", str(limit + 1))]
        answer = raw(server, method, path, parts(b"x" * 10), headers=declared)
        assert (answer.status, answer.problem()) == (413, {
            "error": "too_large", "message": f"The request is larger than the server accepts "
            f"(at most {words}).", "wipe": False}), path
        assert answer.headers[b"connection"] == b"close"
        assert answer.read == 1  # drained, never read as a body
        assert [m.get("more_body", False) for m in answer.sent[1:]] == [True, False]
        assert answer.seconds < 0.9
    assert server.call("GET", "/v1/me").status_code == 401  # no sign-in was counted
    assert server.enrol("rc1", address=HERE).status_code == 200  # nor an enrolment
    assert server.audit()[len(before):] == [("rc1", "device enrolled", ANY, {})]
    server.store.close()


def test_a_body_of_exactly_the_limit_reaches_the_route(server: Server) -> None:
    """A body of exactly the route's limit, declared or chunked, is read and handed to the
    route (the JSON ones find it is not JSON: 422); one byte more, chunked, is cut at 413."""
    for method, path, limit, route_says in (
            ("POST", "/v1/enrol", wire.MAX_ENROL_BYTES, "invalid_request"),
            ("PUT", "/v1/cases/c1/keys", wire.MAX_KEY_UPLOAD_BYTES, "invalid_request"),
            ("POST", "/v1/sync/push", wire.MAX_PUSH_BYTES, "invalid_request"),
            ("POST", "/v1/devices/d1/revoke", wire.MAX_OTHER_BYTES, "unknown_device")):
        for headers in ([("Content-Length", str(limit))], [("Transfer-Encoding", "chunked")]):
            answer = raw(server, method, path, parts(b" " * (limit - 1), b"{"),
                         headers=[*headers, bearer(server, "adm")])
            assert answer.problem()["error"] == route_says, (path, answer.sent[:2])
        cut = raw(server, method, path, parts(b" " * limit, b"{", b"never"),
                  headers=[("Transfer-Encoding", "chunked"), bearer(server, "adm")])
        assert (cut.status, cut.problem()["error"]) == (413, "too_large")
        assert cut.read == 3  # the refused body is drained to its end


def test_a_chunked_body_reaches_the_route_whole(server: Server) -> None:
    """A key upload in three parts is given to the route as one body."""
    body = json.dumps({"keys": [{"version": 1, "user_id": "rc1", "wrapped_key": "a2V5"}]})
    third = len(body) // 3
    answer = raw(server, "PUT", "/v1/cases/c1/keys",
                 parts(body[:third].encode(), body[third:2 * third].encode(),
                       body[2 * third:].encode()),
                 headers=[("Transfer-Encoding", "chunked"), bearer(server)])
    assert answer.status == 204
    assert server.keys("c1") == {(1, "rc1", "a2V5")}


def test_a_final_part_need_not_say_it_is_the_last(server: Server) -> None:
    """A body message without `more_body` ends the body, and one without `body` adds nothing
    to it (ASGI's defaults)."""
    upload = json.dumps({"keys": [{"version": 1, "user_id": "rc1", "wrapped_key": "a2V5"}]})

    async def receive(n: int) -> dict[str, Any]:
        if n == 0:
            return {"type": "http.request", "body": upload.encode(), "more_body": True}
        if n == 1:
            return {"type": "http.request"}
        await anyio.sleep_forever()
        raise AssertionError

    answer = raw(server, "PUT", "/v1/cases/c1/keys", receive, headers=[bearer(server)])
    assert answer.status == 204
    assert server.keys("c1") == {(1, "rc1", "a2V5")}


def test_a_stalled_body_gets_408_at_once(server: Server,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """No part of the body for `chunk` seconds: 408 too_slow, the connection closed at once
    (nothing is coming to drain); the refusal is logged with the milliseconds it took."""
    set_timeouts(server.app, Timeouts(chunk=0.05, deadline=30))
    with caplog.at_level(logging.INFO, logger="fieldapp.server"):
        answer = raw(server, "POST", "/v1/sync/push", parts(b"{", then="stall"),
                     headers=[("Content-Length", "100"), bearer(server)])
    [logged] = [json.loads(r.getMessage()) for r in caplog.records]
    assert {k: v for k, v in logged.items() if k != "ms"} == {
        "method": "POST", "route": "/v1/sync/push", "status": 408}
    assert isinstance(logged["ms"], float)
    assert 50 <= logged["ms"] < 1000
    assert (answer.status, answer.problem()) == (408, {
        "error": "too_slow", "message": "The request took too long to arrive; it was not "
        "taken. Try again on a better connection.", "wipe": False})
    assert answer.headers[b"connection"] == b"close"
    assert len(answer.sent) == 2
    assert answer.sent[1]["more_body"] is False
    assert answer.read == 2
    assert answer.seconds < 1


def test_a_trickling_body_gets_408_at_the_deadline(server: Server) -> None:
    """Parts that keep coming, each in time, but not the whole within `deadline`: 408."""
    set_timeouts(server.app, Timeouts(chunk=1, deadline=0.2))

    async def receive(_: int) -> dict[str, Any]:
        await anyio.sleep(0.02)
        return {"type": "http.request", "body": b" ", "more_body": True}

    answer = raw(server, "POST", "/v1/sync/push", receive,
                 headers=[("Transfer-Encoding", "chunked"), bearer(server)])
    assert answer.status == 408
    assert 0.15 < answer.seconds < 1


def test_a_client_that_leaves_gets_no_answer(server: Server) -> None:
    """A client that disconnects while its body comes gets nothing, and nothing is stored."""
    answer = raw(server, "POST", "/v1/sync/push", parts(b"{", then="disconnect"),
                 headers=[("Transfer-Encoding", "chunked"), bearer(server)])
    assert answer.sent == []
    assert server.call("GET", "/v1/sync/digest", who="rc1").json()["count"] == 0


def test_a_refusal_before_the_body_leaves_the_connection_open(server: Server) -> None:
    """A refusal of a request with no body coming (none declared, or Content-Length 0) answers
    in one message and keeps the connection."""
    for headers in ([], [("Content-Length", "0")]):
        answer = raw(server, "POST", "/v1/devices/d1/revoke", parts(b""),
                     headers=[*headers, ("Authorization", "Bearer guess")])
        assert (answer.status, answer.problem()) == (401, NOT_ENROLLED)
        assert b"connection" not in answer.headers
        assert [m.get("more_body", False) for m in answer.sent[1:]] == [False]
        assert answer.read == 0


def test_a_refused_body_is_drained_for_at_most_8_mib(server: Server) -> None:
    """After refusing a body still coming, the gate reads and drops 8 MiB of it at most, then
    closes: a byte short of 8 MiB it reads on; at 8 MiB it stops."""
    mib = b" " * (1 << 20)
    answer = raw(server, "GET", "/v1/me", parts(mib, then="more"),
                 headers=[("Transfer-Encoding", "chunked"), bearer(server)])
    assert answer.status == 413
    assert answer.read == 1 + 8
    answer = raw(server, "GET", "/v1/me", parts(mib, b" " * ((8 << 20) - 1), b" ", then="more"),
                 headers=[("Transfer-Encoding", "chunked"), bearer(server)])
    assert answer.read == 1 + 2


def test_a_refused_body_that_stalls_is_dropped_after_a_second(server: Server) -> None:
    """A refused body that stops coming is waited for a second at most, then closed."""
    answer = raw(server, "POST", "/v1/enrol", parts(b"x", b"y", then="stall"),
                 headers=[("Content-Length", str(wire.MAX_ENROL_BYTES + 1))])
    assert answer.status == 413
    assert answer.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert 0.9 < answer.seconds < 2


def test_a_refused_body_that_ends_or_leaves_is_closed_at_once(server: Server) -> None:
    """Draining stops at the body's last part (one without `more_body` too) or when the
    client leaves."""
    async def unsaid(n: int) -> dict[str, Any]:
        if n == 0:
            return {"type": "http.request", "body": b"x"}
        await anyio.sleep_forever()
        raise AssertionError

    for receive in (parts(b"x", b"y"), parts(b"x", b"y", then="disconnect"), unsaid):
        answer = raw(server, "POST", "/v1/enrol", receive,
                     headers=[("Content-Length", str(wire.MAX_ENROL_BYTES + 1))])
        assert answer.status == 413
        assert answer.seconds < 0.9


def test_an_unreadable_length_is_not_a_declared_one(server: Server) -> None:
    """A Content-Length that is not a number is no declaration: the body is read and counted
    as it comes."""
    answer = raw(server, "GET", "/v1/me", parts(b""),
                 headers=[("Content-Length", "12x"), bearer(server)])
    assert answer.status == 200


def test_the_first_authorization_header_is_the_one(server: Server) -> None:
    """With two Authorization headers, the first is the one signed in with (as Starlette
    reads headers)."""
    good, other = bearer(server), ("Authorization", "Bearer guess")
    assert raw(server, "GET", "/v1/me", parts(b""), headers=[good, other]).status == 200
    assert raw(server, "GET", "/v1/me", parts(b""), headers=[other, good]).status == 401


def test_requests_without_a_client_address_share_one_limit(tmp_path: Path,
                                                          clock: FakeClock,
        template: Template) -> None:
    """Requests whose address the ASGI server does not give are counted together."""
    server = copied(template, tmp_path, clock, auth_failure_limit=1)
    statuses = [raw(server, "GET", "/v1/me", parts(b""), headers=[], client=None).status
                for _ in range(2)]
    assert statuses == [401, 429]
    assert server.call("GET", "/v1/me").status_code == 401
    server.store.close()


def test_lifespan_events_pass_through_the_gate(server: Server) -> None:
    """The gate handles HTTP only: the app's start-up and shut-down events reach it."""
    sent: list[dict[str, Any]] = []
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(message: Message) -> None:
        sent.append(dict(message))

    async def run() -> None:
        await server.app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    anyio.run(run)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]


def test_limits_are_said_in_words_people_read() -> None:
    """A byte limit as the refusal says it: kB below a million bytes, MB with one decimal from
    there."""
    assert [size_text(n) for n in (999_999, 1_000_000, 1_050_000, 262_144, 2_149_999, 4096)] \
        == ["1000 kB", "1.0 MB", "1.1 MB", "262 kB", "2.1 MB", "4 kB"]


def test_the_window_is_ten_minutes() -> None:
    """The attempt limits count over ten minutes."""
    assert timedelta(minutes=10) == WINDOW
