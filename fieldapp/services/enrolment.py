"""Joining a program's server, the part on this laptop: the key pair, keeping the enrolment
and the records written before it, the program's rules, the wipe order, and the errors a call
to the server ends in. The calls themselves are sync.client's (`sync/client/enrol.py`).

Thread rule: the database worker (or the command line's only thread).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fieldapp.crypto.identity import Identity, b64, unb64, unwrap_from_server, wrap_for_server
from fieldapp.domain.audit import Action
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.settings import ProgramSettings
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.reattribute import reattribute
from fieldapp.storage.settings_store import load_settings, save_settings

log = logging.getLogger(__name__)

ENROLMENT_KIND = "enrolment"
IDENTITY_KIND = "identity"


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


def applicant(session: Session) -> Identity:
    """The key pair this open profile enrols with: its own, or a new one (kept only once the
    server accepts it). Refused when the profile is already enrolled."""
    if _find(session, ENROLMENT_KIND) is not None:
        raise RuleViolation("This profile is already enrolled with a server.")
    return _identity(session) or Identity.generate()


def enrol_request(identity: Identity, *, code: str, passphrase: str, device_name: str
                  ) -> dict[str, Any]:
    """What enrolling sends: the one-time code, the public key, and the private key wrapped by
    the passphrase (so a replacement laptop can recover it; the server never sees it)."""
    return {"code": code.strip(), "device_name": device_name,
            "public_key": identity.public_key,
            "wrapped_private_key": wrap_for_server(identity, passphrase)}


def store_enrolment(session: Session, answer: dict[str, Any], *, identity: Identity,
                    passphrase: str, server_url: str, verify: bool | str) -> Enrolment:
    """Keep what the server answered an enrolment: the device's credential, the user's key pair
    (recovered with the passphrase when the user already had one), who the profile belongs
    to, the program's rules; the records written before joining become the user's."""
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


def require_enrolment(session: Session) -> dict[str, Any]:
    """The stored credential and server address; refused when the profile is not enrolled."""
    found = _find(session, ENROLMENT_KIND)
    if found is None:
        raise RuleViolation("This profile is not enrolled with a server yet.")
    return found


def obey_wipe(session: Session, *, db: Callable[[Callable[[], None]], Any] | None = None
              ) -> None:
    """The wipe order of a revoked device: lock the profile (through `db`, the database worker,
    when called from another), then remove every file of it."""
    paths = session.profile.paths
    if db is None:
        session.lock()
    else:
        db(session.lock)
    wipe(paths)


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


def identity_of(session: Session) -> Identity | None:
    return _identity(session)


def enrolment_of(session: Session) -> dict[str, Any] | None:
    """The stored credential and server address (sealed in the vault), if enrolled."""
    return _find(session, ENROLMENT_KIND)


def _identity(session: Session) -> Identity | None:
    found = _find(session, IDENTITY_KIND)
    return Identity.from_private(unb64(found["private_key"])) if found else None


def _find(session: Session, kind: str) -> dict[str, Any] | None:
    for opened in session.records().all():
        if opened.row["kind"] == kind and opened.body is not None:
            return opened.body
    return None
