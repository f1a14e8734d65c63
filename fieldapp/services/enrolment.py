"""Joining a program's server: enrolment with a one-time code, check-in, and the wipe order.

Thread rule: the database worker (or the command line's only thread); network calls block.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from typing import Any

import httpx

from fieldapp.crypto.identity import Identity, b64, unb64, unwrap_from_server, wrap_for_server
from fieldapp.domain.audit import Action
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.people import Role, UserId
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import SupervisorCapacity
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.reattribute import reattribute
from fieldapp.storage.settings_store import load_settings, save_settings

log = logging.getLogger(__name__)

ENROLMENT_KIND = "enrolment"
IDENTITY_KIND = "identity"
TIMEOUT = httpx.Timeout(10.0)


class ServerUnreachable(KnownError):
    """The server could not be reached or answered with something that is not the protocol."""


class ServerRefused(KnownError):
    """The server said no, with a reason in plain words.

    Attributes:
        status: the HTTP status of the refusal (0 when not known).
    """

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RequestTooLarge(ServerRefused):
    """The server, or a proxy in front of it, refused a request as too large (HTTP 413):
    sending it again cannot help, so it is said as a refusal, not as "unreachable"."""


class DeviceRevoked(KnownError):
    """The server revoked this device; its local data has been removed."""


@dataclass(frozen=True)
class Enrolment:
    server_url: str
    device_id: str
    user_id: str
    role: str
    name: str
    recovered_key: bool
    adopted: int = 0  # records written before joining, now the user's; they go up at the
    # next sync, where the server judges each against the caseload


def enrol(session: Session, *, server_url: str, code: str, passphrase: str,
          device_name: str, verify: bool | str = True,
          transport: httpx.BaseTransport | None = None) -> Enrolment:
    """Enrol this open profile with a code; the user's key pair is made here or recovered."""
    if _find(session, ENROLMENT_KIND) is not None:
        raise RuleViolation("This profile is already enrolled with a server.")
    identity = _identity(session) or Identity.generate()
    body = {"code": code.strip(), "device_name": device_name,
            "public_key": identity.public_key,
            "wrapped_private_key": wrap_for_server(identity, passphrase)}
    answer = _call(server_url, "POST", "/v1/enrol", json=body, verify=verify,
                   transport=transport)
    recovered = False
    material = answer.get("key_material")
    if material and material["public_key"] != identity.public_key:
        # A replacement laptop: the user already has a key pair; recover it with the passphrase.
        identity = unwrap_from_server(material["wrapped_private_key"], passphrase)
        recovered = True
    user = answer["user"]
    records = session.records()
    db, key = session.vault().open_parts()
    local_id = session.actor().user_id
    with db.atomic():  # the identity, the credential, who the profile belongs to, and the
        # records written before joining: together
        adopted = reattribute(db, key, old=local_id, new=str(user["id"]))
        records.add(kind=IDENTITY_KIND, body={"private_key": b64(identity.private_bytes()),
                                              "public_key": identity.public_key})
        records.add(kind=ENROLMENT_KIND, body={
            "server_url": server_url, "device_id": answer["device_id"],
            "device_token": answer["device_token"], "user": user,
            "program": answer["program"], "verify": verify})
        for name, value in (("user_id", user["id"]), ("role", user["role"])):
            db.table("vault_meta").upsert({"name": name, "value": value}, pk="name")
        adopt_program(session, answer["program"])
        if adopted.total:
            workspace = session.workspace()
            with workspace.unit() as stores:
                workspace.audit(stores, Action.RECORDS_ADOPTED, str(user["id"]),
                                was=str(local_id), records=adopted.rows)
    log.info("enrolled as device %s", answer["device_id"])
    return Enrolment(server_url=server_url, device_id=answer["device_id"], user_id=user["id"],
                     role=user["role"], name=user["name"], recovered_key=recovered,
                     adopted=adopted.total)


def check_in(session: Session, *, transport: httpx.BaseTransport | None = None
             ) -> dict[str, Any]:
    """Ask the server who we are, and refresh the program's rules and the team's names; a
    revoked device wipes its profile and says so."""
    enrolment = _find(session, ENROLMENT_KIND)
    if enrolment is None:
        raise RuleViolation("This profile is not enrolled with a server yet.")
    try:
        me: dict[str, Any] = request(enrolment, "GET", "/v1/me", transport=transport)
        adopt_program(session, request(enrolment, "GET", "/v1/program", transport=transport))
        if me.get("role") != Role.ADMIN:  # an administrator has no team to name in reports
            team = request(enrolment, "GET", "/v1/team", transport=transport)
            remember_staff(session.workspace(), _staff(team))
    except DeviceRevoked:
        paths = session.profile.paths
        session.lock()
        wipe(paths)
        raise
    return me


def wipe(paths: ProfilePaths) -> None:
    """Remove every file of the profile: the wipe order of a revoked device."""
    if paths.root.exists():
        shutil.rmtree(paths.root)
    log.warning("profile wiped on the server's order")


def adopt_program(session: Session, program: dict[str, Any]) -> ProgramSettings:
    """The program's rules as the server hands them down replace this profile's copy."""
    db, _ = session.vault().open_parts()
    current = load_settings(db)
    rules = {k: v for k, v in program.items() if k != "name"}
    if isinstance(program.get("name"), str) and program["name"].strip():
        rules["program_name"] = program["name"].strip()
    settings = ProgramSettings.from_json({**current.to_json(), **rules})
    if settings != current:  # most check-ins and syncs bring the same rules: write nothing
        with db.atomic():
            save_settings(db, settings, now=iso(session.workspace().now()))
    return settings


def _staff(answer: Any) -> list[StaffMember]:
    """The server's team list (sync/protocol.py StaffInfo, read here without the wire models)."""
    try:
        return [StaffMember(user_id=UserId(str(p["id"])), name=str(p["name"]),
                            role=Role(p["role"]),
                            supervises=SupervisorCapacity(p["supervises"])
                            if p.get("supervises") else None) for p in answer]
    except (TypeError, KeyError, ValueError) as exc:
        raise ServerUnreachable("The server's answer was not understood.") from exc


def identity_of(session: Session) -> Identity | None:
    return _identity(session)


def enrolment_of(session: Session) -> dict[str, Any] | None:
    """The stored credential and server address (sealed in the vault), if enrolled."""
    return _find(session, ENROLMENT_KIND)


def request(enrolled: dict[str, Any], method: str, path: str, *,
            json: dict[str, Any] | None = None,
            transport: httpx.BaseTransport | None = None) -> Any:
    """An authenticated call to the enrolled server."""
    return _call(enrolled["server_url"], method, path, json=json, verify=enrolled["verify"],
                 token=enrolled["device_token"], transport=transport)


def _identity(session: Session) -> Identity | None:
    found = _find(session, IDENTITY_KIND)
    return Identity.from_private(unb64(found["private_key"])) if found else None


def _find(session: Session, kind: str) -> dict[str, Any] | None:
    for opened in session.records().all():
        if opened.row["kind"] == kind and opened.body is not None:
            return opened.body
    return None


def _call(server_url: str, method: str, path: str, *, verify: bool | str,
          json: dict[str, Any] | None = None, token: str | None = None,
          transport: httpx.BaseTransport | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=server_url, timeout=TIMEOUT, verify=verify,
                          transport=transport) as client:
            response = client.request(method, path, json=json, headers=headers)
        answer = None if response.status_code == 204 else response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ServerUnreachable(f"The server at {server_url} could not be reached or did not "
                                "answer as a FieldApp server; nothing was changed.") from exc
    if response.status_code >= 400:
        if not isinstance(answer, dict):
            raise ServerUnreachable("The server's answer was not understood.")
        if answer.get("wipe"):
            raise DeviceRevoked("This laptop's access was revoked by the program. Its FieldApp "
                                "data has been removed from it.")
        message = answer.get("message") or f"The server refused ({response.status_code})."
        raise ServerRefused(str(message), status=response.status_code)
    return answer
