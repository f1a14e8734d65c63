"""Content keys for a case, shared with exactly the people entitled to read it.

A case's records will be sealed (by sync) under the case's content key, so every member needs
it: the coordinator, the intact worker and the team's supervisors. A member who holds the key
seals it to each member's public key and uploads the sealed copies; the server only stores them.
Reassigning a case: share again and the new member gets every version. Removing someone: rotate
to a new version shared only with who remains, so what is written afterwards is closed to them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from fieldapp.crypto.identity import b64, seal_key, unb64
from fieldapp.domain.errors import RuleViolation
from fieldapp.services import enrolment
from fieldapp.services.session import Session

KEY_KIND = "case key"


def case_keys(session: Session) -> dict[tuple[str, int], bytes]:
    """Every case key this profile holds, by (case id, version)."""
    found = {}
    for opened in session.records().all():
        if opened.row["kind"] == KEY_KIND and opened.body is not None:
            body = opened.body
            found[(body["case_id"], int(body["version"]))] = unb64(body["key"])
    return found


def share(session: Session, case_id: str, *, rotate: bool = False) -> int:
    """Seal every version of the case's key (plus a new one with `rotate`, or the first one)
    to each current member and upload; returns the newest version."""
    keys = {v: k for (c, v), k in case_keys(session).items() if c == case_id}
    keys.update(fetch(session, case_id))
    if rotate or not keys:
        version = max(keys, default=0) + 1
        keys[version] = os.urandom(32)
        session.records().add(kind=KEY_KIND, body={"case_id": case_id, "version": version,
                                                   "key": b64(keys[version])})
    members = _call(session, "GET", f"/v1/cases/{case_id}/members")
    missing = [m["user_id"] for m in members if not m["public_key"]]
    if missing:
        raise RuleViolation(f"{', '.join(missing)} has not enrolled a device yet; share the "
                            "key again once they have.")
    upload = sealed_copies(case_id, keys, [(m["user_id"], m["public_key"]) for m in members])
    _call(session, "PUT", f"/v1/cases/{case_id}/keys", json={"keys": upload})
    return max(keys)


def sealed_copies(scope: str, keys: Mapping[int, bytes],
                  members: Iterable[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """Every version of a scope's key sealed to every member who has a key pair, as the key
    upload carries them. Every version goes to every current member: a new member reads the
    family's history, and someone no longer on the case never receives a version made after
    they left."""
    return [{"version": v, "user_id": user_id,
             "wrapped_key": seal_key(keys[v], to_public_key=public_key, case_id=scope,
                                     version=v, user_id=user_id)}
            for user_id, public_key in members if public_key for v in sorted(keys)]


def fetch(session: Session, case_id: str) -> dict[int, bytes]:
    """Download and open the case's keys sealed to this user; remember them in the vault."""
    identity = enrolment.identity_of(session)
    me = _enrolled(session)["user"]["id"]
    if identity is None:
        raise RuleViolation("This profile has no key pair yet; enrol it first.")
    held = {v for (c, v) in case_keys(session) if c == case_id}
    opened: dict[int, bytes] = {}
    for item in _call(session, "GET", f"/v1/cases/{case_id}/keys"):
        version = int(item["version"])
        opened[version] = identity.open_key(item["wrapped_key"], case_id=case_id,
                                            version=version, user_id=me)
        if version not in held:
            session.records().add(kind=KEY_KIND, body={"case_id": case_id, "version": version,
                                                       "key": b64(opened[version])})
    return opened


def _enrolled(session: Session) -> dict[str, Any]:
    found = enrolment.enrolment_of(session)
    if found is None:
        raise RuleViolation("This profile is not enrolled with a server yet.")
    return found


def _call(session: Session, method: str, path: str, *, json: dict[str, Any] | None = None
          ) -> Any:
    found = _enrolled(session)
    return enrolment.request(found, method, path, json=json)
