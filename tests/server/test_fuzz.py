"""Property-based fuzzing of the central server's HTTP API, in process.

Schemathesis reads the app's own `/openapi.json` and generates requests for every operation
(valid ones for all of them, invalid bodies for the two that take a body). Each request to an
authenticated operation is sent several times: with the Authorization header schemathesis
generated, with none, with a stranger's token, a revoked device's token, and the token of an
enrolled device of each role. Every response must be no 5xx, carry a status the operation
documents and the documented content type, and have a body matching the documented schema. A
plain Hypothesis test then posts arbitrary JSON to `/v1/enrol`.

Requests go through httpx's ASGITransport (no network, and no threads left running); examples
are bounded and the generation derandomised, so a run is repeatable and takes seconds.

The inputs that broke the server when this fuzzing was first run (NaN, Infinity and lone
surrogates in JSON, bodies that are not UTF-8, ids with a slash, enrolment before `init`) are kept
as plain regression tests at the end.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NotSet

from sync.protocol import Role
from sync.server.app import AUTH_FAILURE_LIMIT, ENROL_LIMIT, WINDOW, create_app
from sync.server.cli import DEFAULT_SETTINGS
from sync.server.store import ServerStore
from tests.conftest import FakeClock

BASE = "http://testserver"
EXAMPLES = 25  # per operation and generation mode

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)

# No 5xx; a documented status; the documented content type; a body matching the schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

OPERATIONS = [
    "GET /health",
    "GET /ready",
    "POST /v1/enrol",
    "GET /v1/me",
    "GET /v1/program",
    "GET /v1/team",
    "GET /v1/people/{user_id}",
    "POST /v1/people/{user_id}/reset-keys",
    "GET /v1/me/keys",
    "PUT /v1/me/keys",
    "GET /v1/cases",
    "GET /v1/cases/{case_id}",
    "GET /v1/cases/{case_id}/members",
    "GET /v1/cases/{case_id}/keys",
    "PUT /v1/cases/{case_id}/keys",
    "DELETE /v1/cases/{case_id}/keys/{version}",
    "GET /v1/devices",
    "POST /v1/devices/{device_id}/revoke",
    "POST /v1/sync/push",
    "GET /v1/sync/pull",
    "GET /v1/sync/digest",
    "GET /v1/sync/manifest",
]

# Only a request body can be made invalid here: path parameters and the optional Authorization
# header are free-form strings, so the other operations have no negative cases.
WITH_BODY = ["POST /v1/enrol", "PUT /v1/cases/{case_id}/keys", "POST /v1/sync/push",
             "GET /v1/sync/pull", "PUT /v1/me/keys"]
RUNS = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in WITH_BODY]

@dataclass
class Api:
    """The app over a prepared data folder, and what a caller could know about it."""

    app: Any
    clock: FakeClock
    tokens: dict[str, str]                 # who -> bearer token; "revoked" is a revoked device
    case_ids: list[str]
    spare_devices: list[str]              # devices the admin may revoke during a run
    codes: list[str]                      # unspent enrolment codes
    members: dict[str, list[str]] = field(default_factory=dict)  # case -> its members' ids

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return asyncio.run(_send(self.app, method, url, **kwargs))

    def schema(self) -> Any:
        response = self.request("GET", "/openapi.json")
        assert response.status_code == 200
        return schemathesis.openapi.from_dict(response.json())


async def _send(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    # raise_app_exceptions=False: an unhandled error comes back as the 500 a client would get.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        return await client.request(method, url, **kwargs)


def _prepare(data: Path, clock: FakeClock, *, initialised: bool = True) -> dict[str, Any]:
    """A program with two teams, one person of each role, three cases and enrolled devices."""
    store = ServerStore(data)
    stamp = clock().isoformat()
    if initialised:
        store.init_program("Fuzz County Intact Family Recovery", dict(DEFAULT_SETTINGS))
    store.add_team("north", "North team")
    store.add_team("south", "South team")
    people = [("ada", "Ada Admin", Role.ADMIN, None),
              ("sam", "Sam Supervisor", Role.SUPERVISOR, "north"),
              ("cora", "Cora Coordinator", Role.RECOVERY_COORDINATOR, "north"),
              ("ivan", "Ivan Intact", Role.INTACT_WORKER, "north"),
              ("sol", "Sol Coordinator", Role.RECOVERY_COORDINATOR, "south")]
    for user_id, name, role, team in people:
        store.add_user(user_id, name, role.value, team, now=stamp)
    store.add_case("n-1", team_id="north", coordinator_id="cora", intact_worker_id="ivan",
                   now=stamp)
    store.add_case("n-2", team_id="north", coordinator_id="cora", intact_worker_id=None,
                   now=stamp)
    store.add_case("s-1", team_id="south", coordinator_id="sol", intact_worker_id=None,
                   now=stamp)
    # Three versions of each case's key for each member: a copy to refuse (DELETE) exists.
    for case_id, members in (("n-1", ("cora", "ivan", "sam")), ("n-2", ("cora", "sam")),
                             ("s-1", ("sol",))):
        store.put_keys(case_id, [(v, m, "a2V5", None) for v in (1, 2, 3) for m in members],
                       uploader=members[0])

    def enrol(user_id: str, device: str) -> tuple[str, str]:
        code = store.create_code(user_id, now=clock())
        enrolled, token, _ = store.enrol(code, device_name=device, public_key="cHVibGlj",
                                         wrapped_private_key="d3JhcHBlZA==", now=clock())
        return enrolled.id, token

    tokens = {user_id: enrol(user_id, f"{name}'s laptop")[1] for user_id, name, *_ in people}
    # The revoked laptop is of someone on no case: a revoke makes its person's keys due, which
    # would close every key upload to them.
    store.add_user("rex", "Rex Revoked", Role.RECOVERY_COORDINATOR.value, "south", now=stamp)
    revoked_id, tokens["revoked"] = enrol("rex", "Rex's old laptop")
    store.revoke_device(revoked_id, now=clock())
    store.reset_keys("sol", now=clock())  # so a laptop of Sol's can replace them (PUT /me/keys)
    spare = [enrol("ivan", f"Ivan's spare {n}")[0] for n in range(3)]
    codes = [store.create_code(user_id, now=clock()) for user_id in ("sol", "ivan", "sam")]
    store.close()
    return {"tokens": tokens, "spare_devices": spare, "codes": codes}


@pytest.fixture
def api(tmp_path: Path, clock: FakeClock) -> Iterator[Api]:
    prepared = _prepare(tmp_path / "data", clock)
    app = create_app(tmp_path / "data", clock=clock)
    yield Api(app=app, clock=clock, case_ids=["n-1", "n-2", "s-1"],
              members={"n-1": ["cora", "ivan", "sam"], "n-2": ["cora", "sam"], "s-1": ["sol"]},
              **prepared)
    app.state.ctx.store.close()


def test_every_operation_is_fuzzed(api: Api) -> None:
    """A new endpoint must be added to OPERATIONS (and so to the fuzzing)."""
    labels = [result.ok().label for result in api.schema().get_all_operations()]
    assert sorted(labels) == sorted(OPERATIONS)


# Who calls: every generated request is sent as each of these in turn: with the header
# schemathesis generated, with none, with a stranger's token, a revoked device's, and an
# enrolled device's of each role (administrator, supervisor, coordinator, intact worker, and a
# coordinator of the other team).
CALLERS = ["generated", "none", "stranger", "revoked", "ada", "sam", "cora", "ivan", "sol"]


def _headers(case: Any, caller: str, api: Api) -> dict[str, str]:
    headers = {name: str(value) for name, value in (case.headers or {}).items()}
    if caller == "generated":
        return headers
    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    if caller == "stranger":
        headers["Authorization"] = "Bearer not-a-token-this-server-issued"
    elif caller != "none":
        headers["Authorization"] = f"Bearer {api.tokens[caller]}"
    return headers


def _aim(case: Any, target: int, api: Api) -> None:
    """Point some generated cases at things that exist, so the deeper paths run too."""
    if not target:
        return
    params = case.path_parameters or {}
    if "case_id" in params:
        params["case_id"] = api.case_ids[target % len(api.case_ids)]
    if "device_id" in params:
        params["device_id"] = api.spare_devices[target % len(api.spare_devices)]
    if "user_id" in params:
        params["user_id"] = ["cora", "ivan", "sam", "sol"][target % 4]
    if "version" in params:
        params["version"] = 1 + target % 3
    body = case.body
    if case.path == "/v1/cases/{case_id}/keys" and isinstance(body, dict):
        members = api.members.get(params.get("case_id", ""), [])
        keys = body.get("keys")
        for n, key in enumerate(keys if isinstance(keys, list) else []):
            if isinstance(key, dict) and members:
                key["user_id"] = members[n % len(members)]
            # JSON Schema counts 513.0 as an integer; the server, like every laptop's JSON,
            # wants 513. Without this, whether any key upload got through depended on how
            # often the generator wrote a whole number with ".0" (it varied with what else
            # the test run had imported: CI failed on it).
            if isinstance(key, dict) and isinstance(key.get("version"), float) and \
                    key["version"].is_integer():
                key["version"] = int(key["version"])
            if isinstance(key, dict) and target == 1:  # a first key: a new version is the next
                key["version"] = 1
    if case.path == "/v1/me/keys" and isinstance(body, dict) and target == 1:
        body["copies"] = []  # copies with generated signatures are refused (422)
    if case.path == "/v1/enrol" and isinstance(body, dict):
        body["code"] = api.codes[target % len(api.codes)]


def _call(api: Api, case: Any, headers: dict[str, str]) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers}
    if not isinstance(case.body, NotSet):
        # As schemathesis's JSON serializer does: raw bytes (negative cases) go as they are.
        body = case.body
        kwargs["content"] = body if isinstance(body, bytes) else json.dumps(body, default=str)
        kwargs["headers"] = {"Content-Type": case.media_type or "application/json", **headers}
    url = case.operation.schema.build_request_url(case, BASE)
    return api.request(case.method, url, params=case.query or None, **kwargs)


@pytest.mark.parametrize(("label", "mode"), RUNS, ids=[f"{m.value} {lbl}" for lbl, m in RUNS])
def test_fuzz_operation(api: Api, label: str, mode: GenerationMode) -> None:
    method, path = label.split(" ", 1)
    operation = api.schema()[path][method]
    seen: Counter[int] = Counter()

    authenticated = operation.get_parameter("authorization", "header") is not None
    callers = CALLERS if authenticated else CALLERS[:1]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), target=st.integers(0, 3))
    def run(case: Any, target: int) -> None:
        # Each example in a fresh rate-limit window, so the limits do not hide the deeper
        # paths (test_rate_limited_answers_match_the_schema covers them).
        api.clock.advance(WINDOW.total_seconds())
        _aim(case, target, api)
        for caller in callers:
            response = _call(api, case, _headers(case, caller, api))
            seen[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except BaseException as exc:
                exc.add_note(f"Sent as: {caller}")
                raise

    run()
    if mode is GenerationMode.POSITIVE:
        assert any(200 <= status < 300 for status in seen), (
            f"the fuzz of {label} never got past the refusals: {dict(seen)}")


def test_rate_limited_answers_match_the_schema(api: Api) -> None:
    schema = api.schema()
    enrol = schema["/v1/enrol"]["POST"]
    for _ in range(ENROL_LIMIT + 1):
        response = api.request("POST", "/v1/enrol",
                               json={"code": "not-a-code", "device_name": "laptop"})
    assert response.status_code == 429
    enrol.Case(body={"code": "not-a-code", "device_name": "laptop"}).validate_response(
        response, checks=CHECKS)
    me = schema["/v1/me"]["GET"]
    for _ in range(AUTH_FAILURE_LIMIT + 1):
        response = api.request("GET", "/v1/me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 429
    me.Case().validate_response(response, checks=CHECKS)
    # A valid token still works while the address is being slowed down.
    valid = {"Authorization": f"Bearer {api.tokens['sam']}"}
    assert api.request("GET", "/v1/me", headers=valid).status_code == 200


# -- a plain Hypothesis fuzz of enrolment ------------------------------------------------------

# Any text, lone UTF-16 surrogates included (json.dumps writes them as \udXXX escapes), and
# floats with NaN and Infinity (written as the non-standard NaN/Infinity that Python reads).
_text = st.text(st.characters(exclude_categories=[]), max_size=80)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12)


def _enrol_bodies(codes: list[str]) -> st.SearchStrategy[Any]:
    """Well-formed requests (some with a real code), loosely shaped ones, and any JSON at all."""
    blob = st.from_regex(r"[A-Za-z0-9+/=_-]{1,64}", fullmatch=True)
    code = st.sampled_from(codes) | st.text(min_size=8, max_size=64)
    well_formed = st.fixed_dictionaries(
        {"code": code, "device_name": st.text(min_size=1, max_size=100)},
        optional={"public_key": blob | st.none(), "wrapped_private_key": blob | st.none()})
    loose = st.fixed_dictionaries({}, optional={
        "code": code | _json, "device_name": _text | _json,
        "public_key": blob | _text | _json, "wrapped_private_key": blob | _text | _json,
    }).flatmap(lambda body: st.dictionaries(_text, _json, max_size=2).map(
        lambda extra: {**extra, **body}))
    return well_formed | loose | _json


def test_enrol_survives_random_json(api: Api) -> None:
    documented = {int(status) for status in api.request("GET", "/openapi.json").json()
                  ["paths"]["/v1/enrol"]["post"]["responses"]}
    statuses: Counter[int] = Counter()

    @settings(max_examples=150, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(body=_enrol_bodies(api.codes), fresh_window=st.booleans())
    def run(body: Any, fresh_window: bool) -> None:
        if fresh_window:
            api.clock.advance(WINDOW.total_seconds())
        response = api.request("POST", "/v1/enrol", content=json.dumps(body),
                               headers={"Content-Type": "application/json"})
        statuses[response.status_code] += 1
        assert response.status_code < 500, (response.status_code, response.text)
        assert response.status_code in documented, (response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        if response.status_code != 200:  # every refusal is a Problem
            assert set(response.json()) == {"error", "message", "wipe"}, response.text

    run()
    assert statuses[200] and statuses[403] and statuses[422], dict(statuses)


# -- inputs that broke the server when this fuzzing first ran ----------------------------------


@dataclass(frozen=True)
class Probe:
    """One request: the operation it is for, the URL sent, who sends it and the raw body."""

    method: str
    path: str
    url: str
    caller: str | None
    content: bytes | None


ONCE_BROKEN = [
    # 500: FastAPI's json.loads accepts NaN and Infinity, and its 422 answer echoed the input,
    # which Starlette's JSONResponse cannot write.
    pytest.param(Probe("POST", "/v1/enrol", "/v1/enrol", None,
                       b'{"code": NaN, "device_name": "laptop"}'), id="enrol-nan"),
    pytest.param(Probe("PUT", "/v1/cases/{case_id}/keys", "/v1/cases/n-1/keys", "cora",
                       b'{"keys": [{"version": Infinity}]}'), id="put-keys-infinity"),
    # 500: a lone surrogate echoed in the 422 answer cannot be encoded as UTF-8.
    pytest.param(Probe("POST", "/v1/enrol", "/v1/enrol", None,
                       b'{"code": "\\ud800abcdefgh", "device_name": "laptop"}'),
                 id="enrol-lone-surrogate"),
    # FastAPI's own 400 {"detail": ...}: an undocumented status, and not a Problem.
    pytest.param(Probe("POST", "/v1/enrol", "/v1/enrol", None,
                       b'{"code": "\xff\xfe", "device_name": "laptop"}'), id="enrol-not-utf8"),
    # Starlette's own 404 {"detail": "Not Found"} for an id with a slash: not a Problem.
    pytest.param(Probe("GET", "/v1/cases/{case_id}", "/v1/cases/a%2Fb", "cora", None),
                 id="case-id-with-slash"),
]


@pytest.mark.parametrize("probe", ONCE_BROKEN)
def test_inputs_that_once_broke_the_server(api: Api, probe: Probe) -> None:
    headers = {"Content-Type": "application/json"}
    if probe.caller:
        headers["Authorization"] = f"Bearer {api.tokens[probe.caller]}"
    response = api.request(probe.method, probe.url, content=probe.content, headers=headers)
    operation = api.schema()[probe.path][probe.method]
    # The values only name the operation's parameters; validation looks at the response.
    names = re.findall(r"{(\w+)}", probe.path)
    operation.Case(path_parameters=dict.fromkeys(names, "x")).validate_response(
        response, checks=CHECKS)
    assert set(response.json()) == {"error", "message", "wipe"}


def test_before_init_enrolment_is_refused_without_spending_the_code(
        tmp_path: Path, clock: FakeClock) -> None:
    """Once a 503 that no operation documented, after the code was spent and a device made.

    A 503 is the right answer here (the program is not set up yet), so this test checks the
    status is documented and the body is a Problem, rather than "no 5xx".
    """
    data = tmp_path / "data"
    prepared = _prepare(data, clock, initialised=False)
    app = create_app(data, clock=clock)
    store = app.state.ctx.store
    try:
        schema = schemathesis.openapi.from_dict(
            asyncio.run(_send(app, "GET", "/openapi.json")).json())
        devices = len(store.devices())
        body = {"code": prepared["codes"][0], "device_name": "laptop"}
        refused = asyncio.run(_send(app, "POST", "/v1/enrol", json=body))
        assert refused.status_code == 503
        assert refused.json()["error"] == "not_initialised"
        schema["/v1/enrol"]["POST"].Case(body=body).validate_response(
            refused, checks=[status_code_conformance, response_schema_conformance])
        program = asyncio.run(_send(app, "GET", "/v1/program", headers={
            "Authorization": f"Bearer {prepared['tokens']['cora']}"}))
        assert program.status_code == 503
        schema["/v1/program"]["GET"].Case().validate_response(
            program, checks=[status_code_conformance, response_schema_conformance])
        assert len(store.devices()) == devices, "a device was registered"

        store.init_program("Fuzz County Intact Family Recovery", dict(DEFAULT_SETTINGS))
        assert asyncio.run(_send(app, "POST", "/v1/enrol", json=body)).status_code == 200
    finally:
        store.close()
