"""A person's keys replaced: when a laptop of theirs is revoked, or their administrator resets
their keys (a lost recovery code, keys someone else may know).

A revoked laptop holds its person's private keys, and with them every case key ever sealed to
that person; rotating case keys alone would seal the next version to the same person, whose keys
it holds. So the server marks the person's keys as due (`fieldapp-server revoke`, `reset-keys`),
stops handing them to anyone, and asks for every scope they hold to move to a new key version.
Then, at the start of a sync (`Rekey.check`):

- a laptop of the person whose keys are due makes new key pairs and a new recovery code, keeps
  them (sealed, in one transaction) before sending, sends them with every case key it holds
  sealed to them (`PUT /v1/me/keys`), and only then uses them. The new code is shown to the
  person under Needs attention until they say they have it. A crash anywhere in between either
  sends the same pair again or finds the server already has it; two laptops doing this at once
  leave the first pair, and the second learns it lost (`keys_not_due`);
- another laptop of the person, whose keys are no longer the server's, stops before sending
  anything (`KeysReplacedElsewhere`; its changes wait) until the person enters the new recovery
  code there (`take_up`);
- colleagues' laptops see a changed key, shown with both fingerprints, and share nothing with
  it until their person accepts it (`sync/client/pins.py`); the old signing key stays trusted
  for what it signed before.

Thread rule: as the sync engine's, any thread but the UI's; every database step goes through
`db`, which runs it on the database worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from fieldapp.crypto.identity import (
    Identity,
    new_recovery_code,
    unwrap_from_server,
    wrap_for_server,
)
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KeyFileDamaged, KnownError
from fieldapp.services import case_keys, enrolment
from fieldapp.services.enrolment import ServerRefused
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.http import ServerClient, Transport, enrolled_client
from sync.client.pins import Pins
from sync.client.replica import KeyRing, Replica

log = logging.getLogger(__name__)

DbCall = Callable[[Callable[[], Any]], Any]
CONFLICT = 409


class KeysReplacedElsewhere(KnownError):
    """The person's keys were replaced on another of their laptops: this one sends nothing until
    the new recovery code is entered here (`take_up`)."""


# sync_state: "1" while this laptop's keys are not the person's any more (Needs attention).
ELSEWHERE_STATE = "keys_replaced_elsewhere"
REPLACED_ELSEWHERE = (
    "Your keys were replaced on another of your laptops (because a laptop of yours was revoked, "
    "or your administrator reset them). Enter the new recovery code shown there, under Settings, "
    "Take up new keys, to sync this laptop again. Its changes wait here, untouched.")


class Rekey:
    """One sync's check of its person's own keys against the server's."""

    def __init__(self, session: Session, server: ServerClient, *, db: DbCall, user_id: str,
                 replica: Callable[[], Replica]) -> None:
        self._session, self._server, self._db, self._user_id = session, server, db, user_id
        self._replica = replica

    def check(self, me: wire.StaffInfo | None, identity: Identity, keys: KeyRing) -> Identity:
        """The key pair to sync with: `identity`, or new keys made now because the server says
        the person's are due. `KeysReplacedElsewhere` if another laptop replaced them."""
        pending: tuple[Identity, str] | None = self._db(
            partial(enrolment.pending_identity, self._session))
        if me is None:
            return identity
        try:
            made = self._check(me, pending, identity, keys)
        except KeysReplacedElsewhere:
            self._db(lambda: self._replica().set_state(ELSEWHERE_STATE, "1"))
            raise
        if self._db(lambda: self._replica().state(ELSEWHERE_STATE)):
            self._db(lambda: self._replica().set_state(ELSEWHERE_STATE, ""))
        return made

    def _check(self, me: wire.StaffInfo, pending: tuple[Identity, str] | None,
               identity: Identity, keys: KeyRing) -> Identity:
        if me.keys_due:
            return self._replace(pending, keys)
        if pending is not None:
            made, code = pending
            if me.public_key == made.public_key:  # sent before a crash, and taken
                self._take_up(made, new_code=code, reason="")
                return made
            self._db(partial(enrolment.drop_pending, self._session))
        if me.public_key is not None and (me.public_key, me.signing_key) != (
                identity.public_key, identity.signing_key):
            if identity.signing_key in (me.former_signing_keys or ()):
                raise KeysReplacedElsewhere(REPLACED_ELSEWHERE)
            # Not a replacement of this laptop's keys (those always become former keys): a
            # server that swapped them. Nothing is sealed to them here; the person's colleagues
            # see them as changed.
            log.warning("sync: the server gives keys for this person that are not this "
                        "laptop's; they are not used")
        return identity

    def _replace(self, pending: tuple[Identity, str] | None, keys: KeyRing) -> Identity:
        if pending is None:
            pending = Identity.generate(), new_recovery_code()
            self._db(partial(enrolment.keep_pending, self._session, *pending))
        made, code = pending
        body = wire.NewKeys(public_key=made.public_key, signing_key=made.signing_key,
                            wrapped_private_key=wrap_for_server(made, code),
                            copies=own_copies(made, self._user_id, keys))
        try:
            answer = self._server.call("PUT", "/v1/me/keys", model=wire.KeysReplaced,
                                       json=body.model_dump(mode="json"))
        except ServerRefused as exc:
            if exc.status != CONFLICT:
                raise
            # Another laptop of the person replaced them first: its keys are the person's.
            self._db(partial(enrolment.drop_pending, self._session))
            raise KeysReplacedElsewhere(REPLACED_ELSEWHERE) from exc
        self._take_up(made, new_code=code, reason=answer.reason)
        log.info("sync: this person's keys were replaced (%s)", answer.reason)
        return made

    def _take_up(self, made: Identity, *, new_code: str, reason: str) -> None:
        self._db(partial(keep_identity, self._session, made, self._user_id, new_code=new_code,
                         reason=reason))


def own_copies(identity: Identity, user_id: str, keys: KeyRing) -> list[wire.OwnCopy]:
    """Every case key version held here sealed to `identity` and signed with it, the newest
    versions first if there are more than the server takes in one request (the rest come from
    colleagues, who share what a member lacks)."""
    held = sorted(keys.keys.items(), key=lambda item: -item[0][1])[:wire.MAX_OWN_COPIES]
    copies = []
    for (scope, version), key in held:
        for copy in case_keys.sealed_copies(scope, {version: key},
                                            [(user_id, identity.public_key)],
                                            signer=identity, signer_id=user_id):
            copies.append(wire.OwnCopy(scope=scope, version=version,
                                       wrapped_key=copy["wrapped_key"],
                                       signature=copy["signature"]))
    return copies


def keep_identity(session: Session, identity: Identity, user_id: str, *, new_code: str = "",
                  reason: str = "", former: list[str] | None = None) -> None:
    """`identity` becomes the profile's key pair and its own pin, in one transaction; the pin it
    replaces (and `former`, the server's list, at a moment this laptop trusts) stays trusted
    for what it signed before."""
    db, _ = session.vault().open_parts()
    with db.atomic():
        enrolment.take_up(session, identity, new_code=new_code, reason=reason)
        pins = Pins(db, now=iso(session.workspace().now()))
        pins.pin_own(user_id, identity.public_key, identity.signing_key)
        pins.add_former(user_id, [k for k in former or () if k != identity.signing_key])
        db.execute("DELETE FROM sync_state WHERE name = ?", [ELSEWHERE_STATE])


def take_up(session: Session, recovery_code: str, *, transport: Transport | None = None
            ) -> None:
    """On a laptop of the person whose keys another laptop replaced: open the new keys with the
    recovery code shown there and use them from now on. `WrongRecoveryCode` if the code does
    not open them, `KeyFileDamaged` if what opens is not the server's registered pair; either
    way nothing changes.

    Thread rule: the database worker (or the command line's only thread); the call blocks."""
    enrolled = enrolment.require_enrolment(session)
    user_id = str(enrolled["user"]["id"])
    with enrolled_client(enrolled, transport=transport) as server:
        material = server.call("GET", "/v1/me/keys", model=wire.KeyMaterial)
    identity = unwrap_from_server(material.wrapped_private_key, recovery_code)
    if (identity.public_key, identity.signing_key) != (material.public_key,
                                                       material.signing_key):
        raise KeyFileDamaged("The keys from the server do not match themselves; nothing was "
                             "changed. Tell your administrator.")
    keep_identity(session, identity, user_id)
