"""Joining a program's server, the part on this laptop: the key pair, keeping the enrolment
and the records written before it, the program's rules, the wipe order, and the errors a call
to the server ends in. The calls themselves are sync.client's (`sync/client/enrol.py`).

Thread rule: the database worker (or the command line's only thread).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldapp.crypto.identity import (
    Identity,
    b64,
    unb64,
    unwrap_from_server,
    wrap_for_server,
)
from fieldapp.domain.audit import Action
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KeyFileDamaged, KnownError, RuleViolation, WrongRecoveryCode
from fieldapp.domain.settings import ProgramSettings
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.reattribute import reattribute
from fieldapp.storage.settings_store import load_settings, save_settings

log = logging.getLogger(__name__)

ENROLMENT_KIND = "enrolment"
IDENTITY_KIND = "identity"
# New keys made here because the server said this person's were due to be replaced, kept until
# the server takes them (so a crash between the two neither loses them nor makes two pairs).
PENDING_KIND = "identity_pending"
# The recovery code of keys replaced here, kept (sealed) until the person has seen it.
NEW_CODE_KIND = "recovery_code_new"
# What a person is told about the recovery code shown once after a first enrolment (the window
# and the command line say the same).
RECOVERY_CODE_WORDS = (
    "This is your recovery code. You need it to set up FieldApp on a replacement laptop if "
    "this one is lost, stolen or broken: with it your key, and so your cases, come back. It is "
    "shown only this once. FieldApp does not keep it, on this laptop or on the server, so "
    "nobody can tell it to you again, not even your administrator. Print it or write it down "
    "and keep it somewhere safe, away from this laptop.")
# The same, for the code of keys this laptop replaced (a laptop of the person's revoked): kept
# sealed here until the person says they stored it.
NEW_RECOVERY_CODE_WORDS = (
    "You need it on each of your other laptops (Settings, Take up new keys…) and to set up a "
    "replacement laptop. Your old code no longer opens anything. FieldApp keeps this one on "
    "this laptop, sealed, only until you say you stored it, and never on the server: after "
    "that nobody can tell it to you again, not even your administrator. Print it or write it "
    "down and keep it somewhere safe, away from this laptop.")
# Said when a replacement laptop gives up on the recovery code: the server spent the code.
ENROLMENT_CODE_SPENT = (
    "Your enrolment code has been used, but your key was not opened, so nothing was kept on "
    "this laptop. Find the recovery code you stored when you first connected FieldApp, then "
    "ask your administrator for a new enrolment code, and to revoke the laptop this attempt "
    "enrolled, telling them it never opened your key (it is listed under your name, enrolled "
    "just now).")


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
    # The recovery code to show the person once (a first enrolment only; "" otherwise). Held
    # only in memory: never stored, never logged, never in a repr.
    recovery_code: str = field(default="", repr=False)


@dataclass(frozen=True)
class Admission:
    """The server's answer to an enrolment, held in memory until this laptop keeps it.

    A replacement laptop needs the person's recovery code to open their key pair, which may
    take more than one try; the enrolment code is spent by then, so the answer waits here
    rather than being asked for again. Nothing in it is stored until `store_enrolment`.

    Attributes:
        answer: what the server answered (the device's credential among it).
        identity: the key pair this laptop sent.
        new_code: the recovery code the sent copy of the private keys is wrapped under.
        server_url, verify: where the server is and how its certificate is checked.
    """

    answer: dict[str, Any] = field(repr=False)
    identity: Identity = field(repr=False)
    new_code: str = field(repr=False)
    server_url: str
    verify: bool | str

    @property
    def recovering(self) -> bool:
        """The user already has a key pair on the server (a replacement laptop): the
        recovery code they stored opens it."""
        material: dict[str, Any] = self.answer.get("key_material") or {}
        return bool(material) and material["public_key"] != self.identity.public_key


def applicant(session: Session) -> Identity:
    """The key pair this open profile enrols with: its own, or a new one (kept only once the
    server accepts it). Refused when the profile is already enrolled."""
    if _find(session, ENROLMENT_KIND) is not None:
        raise RuleViolation("This profile is already enrolled with a server.")
    return _identity(session) or Identity.generate()


def enrol_request(identity: Identity, *, code: str, recovery_code: str, device_name: str
                  ) -> dict[str, Any]:
    """What enrolling sends: the one-time code, the public keys, and the private keys wrapped
    under `recovery_code` (so a replacement laptop can recover them; the server never sees it).
    The server keeps the wrapped copy only at the user's first enrolment."""
    return {"code": code.strip(), "device_name": device_name,
            "public_key": identity.public_key, "signing_key": identity.signing_key,
            "wrapped_private_key": wrap_for_server(identity, recovery_code)}


def store_enrolment(session: Session, admission: Admission, *, recovery_code: str = ""
                    ) -> Enrolment:
    """Keep what the server answered an enrolment: the device's credential, the user's key pair
    (recovered with `recovery_code` when the user already had one), who the profile belongs
    to, the program's rules; the records written before joining become the user's.

    On a replacement laptop, `WrongRecoveryCode` when the code is missing or does not open the
    key pair, and `KeyFileDamaged` when what opens is not the key pair the server registered;
    either way nothing is stored and `admission` can be tried again with another code.
    """
    answer, identity, recovered = admission.answer, admission.identity, False
    material: dict[str, Any] = answer.get("key_material") or {}
    if admission.recovering:
        if not recovery_code.strip():
            raise WrongRecoveryCode(
                "You already use FieldApp on another laptop: enter the recovery code you "
                "printed or stored when you first connected, to open your key here.")
        identity = unwrap_from_server(material["wrapped_private_key"], recovery_code)
        if (identity.public_key, identity.signing_key) != (
                material["public_key"], material.get("signing_key")):
            # What opened is not the key pair the server says is this user's: trust neither.
            raise KeyFileDamaged("The key material from the server does not match itself; "
                                 "nothing was changed. Tell your administrator.")
        recovered = True
    server_url, verify = admission.server_url, admission.verify
    user = answer["user"]
    records = session.records()
    db, key = session.vault().open_parts()
    local_id = session.actor().user_id
    with db.atomic():  # the identity, the credential, who the profile belongs to, and the
        # records written before joining: together
        adopted = reattribute(db, key, old=local_id, new=str(user["id"]))
        records.add(kind=IDENTITY_KIND, body=_identity_body(identity))
        for former in material.get("former_signing_keys") or ():
            # Signing keys the person had before theirs were replaced: they check what the
            # person signed then (first sight of the person's keys on this laptop).
            db.execute("INSERT OR IGNORE INTO former_signing_keys VALUES (?, ?, ?)",
                       [str(user["id"]), str(former), iso(session.workspace().now())])
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
                     adopted=adopted.total,
                     # Shown only when the server kept the copy wrapped under it: a first
                     # enrolment (the code made for a replacement laptop wraps nothing kept).
                     recovery_code=admission.new_code if material and not recovered else "")


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


def pending_identity(session: Session) -> tuple[Identity, str] | None:
    """New keys made here that the server has not taken yet, and their recovery code."""
    found = _find(session, PENDING_KIND)
    if found is None:
        return None
    return _opened_identity(found), str(found["recovery_code"])


def keep_pending(session: Session, identity: Identity, recovery_code: str) -> None:
    """Keep new keys (and the code that wraps the server's copy) before sending them."""
    db, _ = session.vault().open_parts()
    with db.atomic():
        _remove_kind(session, PENDING_KIND)
        session.records().add(kind=PENDING_KIND, body={**_identity_body(identity),
                                                        "recovery_code": recovery_code})


def drop_pending(session: Session) -> None:
    """Another laptop's new keys were taken first: this one's are never used."""
    db, _ = session.vault().open_parts()
    with db.atomic():
        _remove_kind(session, PENDING_KIND)


def take_up(session: Session, identity: Identity, *, new_code: str = "", reason: str = ""
            ) -> None:
    """`identity` becomes this profile's key pair, in one transaction: made here (`new_code`:
    its recovery code, kept sealed until the person has seen it; `reason`: why the old keys
    had to go) or made on another of the person's laptops and opened with its code."""
    db, _ = session.vault().open_parts()
    workspace = session.workspace()
    with db.atomic():
        _remove_kind(session, IDENTITY_KIND)
        _remove_kind(session, PENDING_KIND)
        session.records().add(kind=IDENTITY_KIND, body=_identity_body(identity))
        if new_code:
            _remove_kind(session, NEW_CODE_KIND)
            session.records().add(kind=NEW_CODE_KIND, body={
                "recovery_code": new_code, "reason": reason, "at": iso(workspace.now())})
        with workspace.unit() as stores:
            workspace.audit(stores, Action.KEYS_REPLACED if new_code else Action.KEYS_TAKEN_UP,
                            session.actor().user_id, reason=reason or None)
    log.info("this profile's keys were replaced" if new_code else
             "this profile took up keys replaced on another laptop")


def new_recovery_code_of(session: Session) -> dict[str, str] | None:
    """The recovery code of keys replaced here, with why and when, until the person saw it."""
    found = _find(session, NEW_CODE_KIND)
    return None if found is None else {k: str(v) for k, v in found.items()}


def recovery_code_seen(session: Session) -> None:
    """The person has written the new recovery code down: it is no longer kept anywhere."""
    db, _ = session.vault().open_parts()
    with db.atomic():
        _remove_kind(session, NEW_CODE_KIND)


def _identity_body(identity: Identity) -> dict[str, Any]:
    return {"private_key": b64(identity.private_bytes()), "public_key": identity.public_key,
            "signing_private": b64(identity.signing_bytes()),
            "signing_key": identity.signing_key}


def _remove_kind(session: Session, kind: str) -> None:
    records = session.records()
    for opened in records.of_kind(kind):
        records.remove(str(opened.row["id"]))


def enrolment_of(session: Session) -> dict[str, Any] | None:
    """The stored credential and server address (sealed in the vault), if enrolled."""
    return _find(session, ENROLMENT_KIND)


def _identity(session: Session) -> Identity | None:
    found = _find(session, IDENTITY_KIND)
    if found is None:
        return None
    if "signing_private" not in found:
        raise KeyFileDamaged("This profile was enrolled before FieldApp signed what it sends; "
                             "enrol it again with a new code from your administrator.")
    return _opened_identity(found)


def _opened_identity(found: dict[str, Any]) -> Identity:
    return Identity.from_private(unb64(found["private_key"]), unb64(found["signing_private"]))


def _find(session: Session, kind: str) -> dict[str, Any] | None:
    for opened in session.records().of_kind(kind):
        if opened.body is not None:
            return opened.body
    return None
