"""Sharing a case's content key with its members, and fetching my sealed copies, on request.

The sync engine does the same as part of every sync (`KeyExchange.share` and `fetch`, in
sync/client/key_exchange.py); these are the steps on their own (no screen offers them yet; the
tests and a rotation by hand use them). What a key is and how it is sealed is the service's
(`fieldapp/services/case_keys.py`).

Thread rule: the database worker (or the command line's only thread); the calls block.
"""

from __future__ import annotations

import os

from fieldapp.crypto.identity import Identity, b64
from fieldapp.crypto.signing import key_statement, verifies
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KeyFileDamaged, RuleViolation
from fieldapp.services import enrolment
from fieldapp.services.case_keys import KEY_KIND, case_keys, sealed_copies
from fieldapp.services.session import Session
from sync.client.http import Transport, enrolled_client
from sync.client.pins import Pins


def share(session: Session, case_id: str, *, rotate: bool = False,
          transport: Transport | None = None) -> int:
    """Seal every version of the case's key (plus a new one with `rotate`, or the first one)
    to each current member and upload; returns the newest version."""
    keys = {v: k for (c, v), k in case_keys(session).items() if c == case_id}
    keys.update(fetch(session, case_id, transport=transport))
    if rotate or not keys:
        version = max(keys, default=0) + 1
        keys[version] = os.urandom(32)
        session.records().add(kind=KEY_KIND, body={"case_id": case_id, "version": version,
                                                   "key": b64(keys[version])})
    enrolled = enrolment.require_enrolment(session)
    identity, me = _identity(session), str(enrolled["user"]["id"])
    with enrolled_client(enrolled, transport=transport) as server:
        members = server.call("GET", f"/v1/cases/{case_id}/members")
        missing = [m["user_id"] for m in members if not m["public_key"]]
        if missing:
            raise RuleViolation(f"{', '.join(missing)} has not enrolled a device yet; share "
                                "the key again once they have.")
        pins = _pins(session)
        changed = [m["user_id"] for m in members
                   if not pins.trusted(m["user_id"], m["public_key"], m.get("signing_key"))]
        if changed:
            raise RuleViolation(f"The key of {', '.join(changed)} is not the one this laptop "
                                "knows; compare fingerprints under Needs attention first.")
        upload = sealed_copies(case_id, keys,
                               [(m["user_id"], m["public_key"]) for m in members],
                               signer=identity, signer_id=me)
        server.call("PUT", f"/v1/cases/{case_id}/keys", json={"keys": upload})
    return max(keys)


def fetch(session: Session, case_id: str, *, transport: Transport | None = None
          ) -> dict[int, bytes]:
    """Download and open the case's keys sealed to this user; remember them in the vault."""
    enrolled = enrolment.require_enrolment(session)
    identity, me = _identity(session), str(enrolled["user"]["id"])
    held = {v for (c, v) in case_keys(session) if c == case_id}
    opened: dict[int, bytes] = {}
    with enrolled_client(enrolled, transport=transport) as server:
        sealed = server.call("GET", f"/v1/cases/{case_id}/keys")
        members = server.call("GET", f"/v1/cases/{case_id}/members")
    pins = _pins(session)
    pins.pin_own(me, identity.public_key, identity.signing_key)
    signers = {me: identity.signing_key}
    for m in members:  # pinned on first sight, as a sync does; a changed key is not trusted
        if pins.trusted(m["user_id"], m["public_key"], m.get("signing_key")):
            signers[m["user_id"]] = str(m["signing_key"])
    for item in sealed:
        version = int(item["version"])
        signer = str(item.get("signer") or "")
        if signer not in signers or not verifies(signers[signer], key_statement(
                case_id, version, me, item["wrapped_key"], signer), item.get("signature")):
            raise KeyFileDamaged(f"Version {version} of this key was not shared by a member "
                                 "whose key this laptop knows; it was not used.")
        opened[version] = identity.open_key(item["wrapped_key"], case_id=case_id,
                                            version=version, user_id=me)
        if version not in held:
            session.records().add(kind=KEY_KIND, body={"case_id": case_id, "version": version,
                                                       "key": b64(opened[version])})
    return opened


def _identity(session: Session) -> Identity:
    identity = enrolment.identity_of(session)
    if identity is None:
        raise RuleViolation("This profile has no key pair yet; enrol it first.")
    return identity


def _pins(session: Session) -> Pins:
    db, _ = session.vault().open_parts()
    return Pins(db, now=iso(session.workspace().now()))
