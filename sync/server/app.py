"""The central server's HTTP API (FastAPI: the OpenAPI document and request validation come
from the same declarations, which is what the schema fuzzing in the tests relies on).

Every endpoint checks the caller's device, user, role and caseload. A case the caller may not
see answers 404, exactly as a case that does not exist, so nothing leaks about other caseloads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import fastapi
from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as InPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fieldapp import __version__
from fieldapp.crypto.signing import key_statement, verifies
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import Role
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import SupervisorCapacity
from sync import protocol as wire
from sync.server.limits import CALLER, Gate, Refused
from sync.server.records import RecordSync, scope_members, scopes_for
from sync.server.store import Device, ServerStore, StoreError, User

log = logging.getLogger("fieldapp.server")

ENROL_LIMIT = 10          # attempts per client address and window
AUTH_FAILURE_LIMIT = 30   # bad tokens per client address and window
WINDOW = timedelta(minutes=10)
WORKER_ROLES = {Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER}
HTTP_ERRORS = {404: ("not_found", "No such page on this server."),
               405: ("method_not_allowed", "This page does not answer that method.")}
# A key scope in a path: a case id or `ledger:<user id>`, nothing else.
ScopeId = Annotated[str, fastapi.Path(pattern=wire.SCOPE_PATTERN, max_length=100)]


class Context:
    """What every request handler needs: the store, the clock and the attempt limits."""

    def __init__(self, store: ServerStore, now: Callable[[], datetime], *,
                 enrol_limit: int = ENROL_LIMIT,
                 auth_failure_limit: int = AUTH_FAILURE_LIMIT) -> None:
        self.store, self.now = store, now
        self.records = RecordSync(store)
        self.enrol_limit, self.auth_failure_limit = enrol_limit, auth_failure_limit

    def visible(self, user: User) -> list[dict[str, Any]]:
        """The cases `user` may read: assigned (workers) or their team's (supervisors)."""
        _not_admin(user)
        return self.store.cases_of(user)

    def members_of(self, user: User, scope: str) -> list[User]:
        """The members of a key scope the caller may read (404 otherwise, as for a case)."""
        _not_admin(user)
        if scope not in scopes_for(self.store, user):
            raise Refused(404, "not_found", "No such case on your caseload.")
        return scope_members(self.store, scope)

    def program_settings(self) -> ProgramSettings:
        """The program's rules, read by the laptops' own code; a 503 if they cannot be used
        (set by hand in the database: `init --settings` refuses what is not valid)."""
        rules = {k: v for k, v in _program(self.store).items() if k != "name"}
        try:
            return ProgramSettings.from_json({**ProgramSettings().to_json(), **rules})
        except RuleViolation as exc:
            raise Refused(503, "bad_settings", f"The program's rules on this server cannot be "
                          f"used ({exc.message}); tell your administrator.") from exc

    def one_case(self, user: User, case_id: str) -> dict[str, Any]:
        for case in self.visible(user):
            if case["id"] == case_id:
                return case
        raise Refused(404, "not_found", "No such case on your caseload.")

    def audit(self, actor: str, action: str, subject: str, **details: Any) -> None:
        self.store.audit(at=self.now().isoformat(), actor=actor, action=action, subject=subject,
                         details=details)


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def caller(request: Request, authorization: Annotated[str | None, Header()] = None
           ) -> tuple[Device, User]:
    """The enrolled, unrevoked device behind the request's bearer token, and its user, as the
    gate found them before the body was read (sync/server/limits.py: the token, the failed
    sign-in limit and the wipe order are checked there). `authorization` documents the header."""
    who: tuple[Device, User] | None = getattr(request.state, CALLER, None)
    if who is None:  # the gate signs in every /v1 request: a route elsewhere asked for a caller
        raise Refused(401, "not_enrolled", "This device is not enrolled with the server.")
    return who


Who = Annotated[tuple[Device, User], Depends(caller)]
Ctx = Annotated[Context, Depends(context)]


def create_app(data_dir: Path, *, clock: Callable[[], datetime] | None = None,
               enrol_limit: int = ENROL_LIMIT,
               auth_failure_limit: int = AUTH_FAILURE_LIMIT) -> FastAPI:
    """The API over the store in `data_dir`; limits count attempts per address per window."""
    store = ServerStore(data_dir)
    problem = {"model": wire.Problem}
    app = FastAPI(title="FieldApp central server", version=__version__,
                  responses={status: problem
                             for status in (400, 401, 403, 404, 405, 408, 409, 413, 422, 429,
                                            503)})
    app.state.ctx = Context(store, clock or (lambda: datetime.now(UTC)), enrol_limit=enrol_limit,
                            auth_failure_limit=auth_failure_limit)

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(exc.problem.model_dump(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, never the value sent: echoing input is how NaN or a lone surrogate
        # once turned a bad request into a server error, and how content reaches a log.
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                          for e in exc.errors()[:5])
        problem = wire.Problem(error="invalid_request", message=f"The request is not valid "
                               f"({where}).")
        return JSONResponse(problem.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The framework's own answers (404, 405, ...), named truly and with their headers
        # (a 405 keeps its Allow).
        error, message = _named(exc.status_code)
        return JSONResponse(wire.Problem(error=error, message=message).model_dump(),
                            status_code=exc.status_code, headers=exc.headers)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Any) -> Response:
        # Method, route template, status and time: never bodies, tokens or query values.
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        log.info(json.dumps({"method": request.method,
                             "route": getattr(route, "path", "(unmatched)"),
                             "status": response.status_code,
                             "ms": round((time.perf_counter() - started) * 1000, 1)}))
        return response

    app.add_middleware(Gate)  # outermost: size, sign-in and timeouts before a body is read
    _people_routes(app)
    _own_keys_routes(app)
    _case_routes(app)
    _device_routes(app)
    _sync_routes(app)
    return app


def _people_routes(app: FastAPI) -> None:
    @app.get("/health", response_model=wire.Health)
    def health() -> wire.Health:
        """Liveness: the process answers (nothing more is checked)."""
        return wire.Health(status="ok", version=__version__)

    @app.get("/ready", response_model=wire.Health, responses={503: {"model": wire.Problem}})
    def ready(ctx: Ctx) -> wire.Health:
        """Readiness: the database answers and the program is set up (`init`)."""
        try:
            ctx.store.program()
        except StoreError as exc:
            raise Refused(503, exc.code, exc.message) from exc
        except sqlite3.Error as exc:
            raise Refused(503, "database_unavailable", "The server's database cannot be "
                          "read.") from exc
        return wire.Health(status="ready", version=__version__)

    @app.post(f"{wire.API}/enrol", response_model=wire.EnrolResponse)
    def enrol(body: wire.EnrolRequest, ctx: Ctx) -> wire.EnrolResponse:
        # The attempt was counted (and refused above the limit) by the gate, before the body.
        program = _program(ctx.store)  # before the code is spent: a set-up server only
        try:
            device, token, user = ctx.store.enrol(
                body.code, device_name=body.device_name, public_key=body.public_key,
                wrapped_private_key=body.wrapped_private_key, now=ctx.now(),
                signing_key=body.signing_key)
        except StoreError as exc:
            raise Refused(403, exc.code, exc.message) from exc
        ctx.audit(user.id, "device enrolled", device.id)
        keys = None
        if user.public_key and user.wrapped_private_key:
            keys = _material(ctx.store, user)
        return wire.EnrolResponse(device_id=device.id, device_token=token, user=_info(user),
                                  key_material=keys, program=program)

    @app.get(f"{wire.API}/me", response_model=wire.UserInfo)
    def me(who: Who) -> wire.UserInfo:
        return _info(who[1])

    @app.get(f"{wire.API}/program")
    def program(who: Who, ctx: Ctx) -> dict[str, object]:
        return _program(ctx.store)

    # Without None values: a laptop older than `supervises` refuses a key it does not know.
    @app.get(f"{wire.API}/team", response_model=list[wire.StaffInfo],
             response_model_exclude_none=True)
    def team(who: Who, ctx: Ctx) -> list[wire.StaffInfo]:
        """The caller's team by name (the caller included), for the names in reports, and
        which supervisor is the intact one and which the SUD one."""
        _not_admin(who[1])  # as for cases: an administrator's laptop holds no records
        team = ctx.store.team_of(who[1].id)
        former = ctx.store.former_signing_keys_of(u.id for u in team)
        return [wire.StaffInfo(id=u.id, name=u.name, role=Role(u.role),
                               supervises=SupervisorCapacity(u.supervises)
                               if u.supervises else None, public_key=u.shared_keys[0],
                               signing_key=u.shared_keys[1],
                               keys_due=True if u.keys_due else None,
                               former_signing_keys=former.get(u.id))
                for u in team]

    @app.get(f"{wire.API}/people/{{user_id}}", response_model=wire.PersonKeys)
    def person(user_id: ScopeId, who: Who, ctx: Ctx) -> wire.PersonKeys:
        """Someone's public keys, to check what they signed (a former member's notes, a
        supervisor of another team who reviewed one): public, so any member may ask."""
        found = ctx.store.user(user_id)
        if found is None:
            raise Refused(404, "not_found", "There is no such person in this program.")
        public_key, signing_key = found.shared_keys
        return wire.PersonKeys(user_id=found.id, public_key=public_key, signing_key=signing_key,
                               former_signing_keys=ctx.store.former_signing_keys(found.id))


def _own_keys_routes(app: FastAPI) -> None:
    """The caller's own keys: taken up by another of their laptops, or replaced when due."""
    @app.get(f"{wire.API}/me/keys", response_model=wire.KeyMaterial)
    def my_keys(who: Who, ctx: Ctx) -> wire.KeyMaterial:
        """The caller's keys as registered, the private ones wrapped under their recovery code:
        what another of their laptops takes up after one replaced them."""
        _not_admin(who[1])
        user = who[1]
        if user.public_key is None or user.wrapped_private_key is None:
            raise Refused(404, "not_found", "You have no keys on this server yet.")
        return _material(ctx.store, user)

    @app.put(f"{wire.API}/me/keys", response_model=wire.KeysReplaced)
    def replace_my_keys(body: wire.NewKeys, who: Who, ctx: Ctx) -> wire.KeysReplaced:
        """New keys from one of the caller's laptops, when theirs are due to be replaced (a
        laptop of theirs revoked, or reset by the administrator): see `store.replace_keys`.
        Each copy must be signed with the new signing key, in the caller's own name."""
        device, user = who
        _not_admin(user)
        if not all(verifies(body.signing_key, key_statement(c.scope, c.version, user.id,
                                                            c.wrapped_key, user.id),
                            c.signature) for c in body.copies):
            raise Refused(422, "bad_signature", "A key copy is not signed with the new key; "
                                                "nothing was changed.")
        try:
            reason = ctx.store.replace_keys(
                user.id, public_key=body.public_key, signing_key=body.signing_key,
                wrapped_private_key=body.wrapped_private_key,
                copies=[(c.scope, c.version, c.wrapped_key, c.signature) for c in body.copies],
                scopes=set(scopes_for(ctx.store, user).all()), now=ctx.now())
        except StoreError as exc:
            raise Refused(409, exc.code, exc.message) from exc
        ctx.audit(user.id, "keys replaced", user.id, device=device.id, reason=reason,
                  copies=len(body.copies))
        return wire.KeysReplaced(reason=reason)


def _case_routes(app: FastAPI) -> None:
    @app.get(f"{wire.API}/cases", response_model=list[wire.CaseInfo])
    def cases(who: Who, ctx: Ctx) -> list[wire.CaseInfo]:
        return [wire.CaseInfo(**c) for c in ctx.visible(who[1])]

    @app.get(f"{wire.API}/cases/{{case_id}}", response_model=wire.CaseInfo)
    def case(case_id: ScopeId, who: Who, ctx: Ctx) -> wire.CaseInfo:
        return wire.CaseInfo(**ctx.one_case(who[1], case_id))

    # A key scope is a case, or a worker's mileage ledger (`ledger:<user id>`).
    @app.get(f"{wire.API}/cases/{{case_id}}/members", response_model=list[wire.Member])
    def members(case_id: ScopeId, who: Who, ctx: Ctx) -> list[wire.Member]:
        return [wire.Member(user_id=m.id, role=Role(m.role), public_key=m.shared_keys[0],
                            signing_key=m.shared_keys[1], keys_due=m.keys_due is not None)
                for m in ctx.members_of(who[1], case_id)]

    @app.get(f"{wire.API}/cases/{{case_id}}/keys", response_model=list[wire.WrappedKey])
    def keys(case_id: ScopeId, who: Who, ctx: Ctx) -> list[wire.WrappedKey]:
        ctx.members_of(who[1], case_id)
        return [wire.WrappedKey(version=v, user_id=who[1].id, wrapped_key=k, signer=signer,
                                signature=signature)
                for v, k, signer, signature in ctx.store.keys_for(case_id, who[1].id)]

    @app.delete(f"{wire.API}/cases/{{case_id}}/keys/{{version}}", status_code=204,
                responses={404: {"model": wire.Problem}})
    def refuse_key(case_id: ScopeId, version: Annotated[int, InPath(ge=1, le=1_000_000)],
                   who: Who, ctx: Ctx) -> Response:
        """The caller's own copy of a version does not open or verify on their laptop: it
        goes, and the server asks a member who holds the version to share it again."""
        ctx.members_of(who[1], case_id)
        if not ctx.store.refuse_key(case_id, version, who[1].id):
            raise Refused(404, "not_found", "You hold no copy of this version of the key.")
        ctx.audit(who[1].id, "key copy refused", case_id, version=version, device=who[0].id)
        return Response(status_code=204)

    @app.put(f"{wire.API}/cases/{{case_id}}/keys", status_code=204)
    def put_keys(case_id: ScopeId, body: wire.KeyUpload, who: Who, ctx: Ctx) -> Response:
        members = ctx.members_of(who[1], case_id)
        entitled = {m.id for m in members}
        due = {m.id for m in members if m.keys_due is not None}
        if {k.user_id for k in body.keys} - entitled:
            raise Refused(403, "not_a_member", "Keys can be given only to the case's members.")
        if {k.user_id for k in body.keys} & due:
            raise Refused(409, "keys_due", "A member's keys are being replaced; their copy "
                          "waits for the new keys. Nothing was stored.")
        uploader = who[1]
        if any(k.signer not in (None, uploader.id) for k in body.keys):
            raise Refused(403, "not_the_signer", "A key can be shared only in your own name.")
        if uploader.signing_key is not None and not all(verifies(
                uploader.signing_key, key_statement(case_id, k.version, k.user_id,
                                                         k.wrapped_key, uploader.id),
                k.signature) for k in body.keys):
            raise Refused(422, "bad_signature", "A shared key is not signed with your key; "
                                                "nothing was stored.")
        try:
            new = ctx.store.put_keys(case_id, [(k.version, k.user_id, k.wrapped_key,
                                                k.signature) for k in body.keys],
                                     uploader=uploader.id)
        except StoreError as exc:
            raise Refused(409, exc.code, exc.message) from exc
        for version in new:  # who may read what changes: a new key version
            ctx.audit(who[1].id, "key version added", case_id, version=version,
                      device=who[0].id)
        ctx.audit(who[1].id, "case keys shared", case_id, device=who[0].id,
                  to=sorted({k.user_id for k in body.keys}))
        return Response(status_code=204)


def _device_routes(app: FastAPI) -> None:
    @app.get(f"{wire.API}/devices", response_model=list[wire.DeviceInfo])
    def devices(who: Who, ctx: Ctx) -> list[wire.DeviceInfo]:
        _admin(who[1])
        return [wire.DeviceInfo(id=d.id, user_id=d.user_id, name=d.name,
                                enrolled_at=d.enrolled_at, revoked_at=d.revoked_at)
                for d in ctx.store.devices()]

    @app.post(f"{wire.API}/devices/{{device_id}}/revoke", status_code=204)
    def revoke(device_id: str, who: Who, ctx: Ctx) -> Response:
        _admin(who[1])
        try:
            ctx.store.revoke_device(device_id, now=ctx.now())
        except StoreError as exc:
            raise Refused(404, exc.code, exc.message) from exc
        ctx.audit(who[1].id, "device revoked", device_id)
        return Response(status_code=204)

    @app.post(f"{wire.API}/people/{{user_id}}/reset-keys", status_code=204)
    def reset_keys(user_id: ScopeId, who: Who, ctx: Ctx) -> Response:
        _admin(who[1])
        try:
            ctx.store.reset_keys(user_id, now=ctx.now())
        except StoreError as exc:
            raise Refused(404 if exc.code == "unknown_user" else 409, exc.code,
                          exc.message) from exc
        ctx.audit(who[1].id, "keys reset", user_id)
        return Response(status_code=204)


def _sync_routes(app: FastAPI) -> None:
    @app.post(f"{wire.API}/sync/push", response_model=wire.PushResult)
    def push(body: wire.Push, who: Who, ctx: Ctx) -> wire.PushResult:
        user = who[1]
        ctx.visible(user)  # administrators hold no records
        if sum(len(op.sealed or "") for op in body.ops) > wire.MAX_BATCH_BYTES:
            raise Refused(413, "too_large", f"A batch carries at most "
                          f"{wire.MAX_BATCH_BYTES:,} characters of sealed content.")
        settings = ctx.program_settings()
        try:
            answers = ctx.records.push(user, body.ops, device_id=who[0].id,
                                       now=ctx.now().isoformat(), cap=settings.mileage_cap,
                                       quota=settings.storage_quota_mb * 2**20)
        except StoreError as exc:
            raise Refused(409, exc.code, exc.message) from exc
        counts: dict[str, int] = {}
        for answer in answers:
            counts[answer.outcome] = counts.get(answer.outcome, 0) + 1
        ctx.audit(user.id, "records pushed", who[0].id, **counts)
        return wire.PushResult(answers=answers)

    @app.get(f"{wire.API}/sync/pull", response_model=wire.Page)
    def pull(who: Who, ctx: Ctx, since: Annotated[int, Query(ge=0, le=2**53)] = 0,
             limit: Annotated[int, Query(ge=1, le=wire.MAX_PAGE)] = wire.MAX_PAGE
             ) -> wire.Page:
        ctx.visible(who[1])
        return ctx.records.pull(who[1], since, limit=limit)

    @app.get(f"{wire.API}/sync/digest", response_model=wire.Digest)
    def digest(who: Who, ctx: Ctx) -> wire.Digest:
        ctx.visible(who[1])
        return ctx.records.digest(who[1])

    @app.get(f"{wire.API}/sync/manifest", response_model=wire.Manifest)
    def manifest(who: Who, ctx: Ctx) -> wire.Manifest:
        ctx.visible(who[1])
        return wire.Manifest(entries=ctx.records.manifest(who[1]))


def _named(status: int) -> tuple[str, str]:
    """The error code and sentence of one of the framework's own refusals."""
    if status in HTTP_ERRORS:
        return HTTP_ERRORS[status]
    try:
        name = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        name = "bad_request"
    return name, "The request could not be read."


def _not_admin(user: User) -> None:
    if user.role == Role.ADMIN:
        raise Refused(403, "forbidden", "Administrators manage people and devices and do "
                      "not read case records.")


def _admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Refused(403, "forbidden", "Only an administrator manages devices.")


def _info(user: User) -> wire.UserInfo:
    return wire.UserInfo(id=user.id, name=user.name, role=Role(user.role),
                         team_id=user.team_id)


def _material(store: ServerStore, user: User) -> wire.KeyMaterial:
    assert user.public_key is not None and user.wrapped_private_key is not None
    return wire.KeyMaterial(public_key=user.public_key,
                            wrapped_private_key=user.wrapped_private_key,
                            signing_key=user.signing_key,
                            former_signing_keys=store.former_signing_keys(user.id))


def _program(store: ServerStore) -> dict[str, object]:
    try:
        return store.program()
    except StoreError as exc:
        raise Refused(503, exc.code, exc.message) from exc
