"""Case keys during a sync: fetching and checking the copies sealed to me, making a scope's first
key or its next version, sharing every version with the members whose keys this laptop trusts,
and pinning colleagues' keys as the server shows them (`sync/client/pins.py`).

What a key is and how a copy is sealed and signed is the service's
(`fieldapp/services/case_keys.py`); the rules a copy must pass are in docs/architecture.md §12.

Thread rule: as the sync engine's, any thread but the UI's; every database step goes through
`db`, which runs it on the database worker.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import TypeAdapter

from fieldapp.crypto.identity import Identity, b64
from fieldapp.crypto.signing import key_statement, verifies
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KeyFileDamaged, RuleViolation
from fieldapp.services import case_keys, enrolment
from fieldapp.services.case_keys import KEY_KIND
from fieldapp.services.enrolment import ServerRefused
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.http import ServerClient
from sync.client.pins import Pins
from sync.client.replica import KeyRing, Replica

log = logging.getLogger(__name__)

DbCall = Callable[[Callable[[], Any]], Any]
# The shapes of answers that have no model of their own: checked like every other answer, so a
# 200 that is not the protocol (a captive portal, a broken proxy) is retried and then reported
# as the server not answering properly, instead of failing somewhere inside the sync.
WRAPPED_KEYS = TypeAdapter(list[wire.WrappedKey])
MEMBERS = TypeAdapter(list[wire.Member])
NO_CONTENT = TypeAdapter(None)
# sync_state: scopes whose first key was made here and is not on the server yet (JSON list).
OWED_KEYS = "owed_keys"
# sync_state: the colleagues' new keys (user id and signing key) whose versions were looked for
# in every scope held here (JSON list; `look_past_undecided`).
LOOKED_PAST = "looked_past_undecided"


class KeyExchange:
    """One sync's dealings in keys with the server. Attributes: identity (this profile's key
    pairs, which sign every op and every copy it shares)."""

    def __init__(self, session: Session, server: ServerClient, *, db: DbCall, user_id: str,
                 replica: Callable[[], Replica]) -> None:
        self._session, self._server, self._db = session, server, db
        self._user_id, self._replica = user_id, replica
        self.identity = self._own_identity()
        # Scopes with a version this laptop cannot take yet (its sealer's new key is not
        # accepted here): the highest such version of each.
        self.undecided: dict[str, int] = {}

    def keyring(self) -> KeyRing:
        """Every case key this profile holds, read from the vault."""
        ring: KeyRing = self._db(lambda: KeyRing(case_keys.case_keys(self._session)))
        return ring

    def ensure(self, scopes: set[str], keys: KeyRing) -> None:
        """A key for each scope: fetched if the server has one for me, otherwise made here
        (and shared now, or right after the push that creates a new case)."""
        for scope in sorted(s for s in scopes if keys.newest(s) is None):
            known = self.fetch({scope}, keys, missing_ok=True)
            if keys.newest(scope) is not None:
                continue
            self._remember(keys, scope, 1, os.urandom(32), owed=True)
            if known:
                try:
                    self.share(scope, keys)
                except ServerRefused:
                    # Another device made the first key meanwhile: use theirs instead.
                    self._forget(keys, scope, 1)
                    self.fetch({scope}, keys)

    def fetch(self, scopes: set[str], keys: KeyRing, *, missing_ok: bool = False
                    ) -> bool:
        """Download, check and open my sealed copies; False if the server does not know the
        scope. A copy is taken only if a member of the scope sealed it and signed it with the
        key this laptop pinned for them; any other is set aside (said under Needs attention)."""
        identity = self.identity
        known = True
        for scope in sorted(scopes):
            try:
                items = self._server.call("GET", f"/v1/cases/{scope}/keys",
                                          model=WRAPPED_KEYS)
            except ServerRefused:
                if not missing_ok:
                    continue
                known = False
                continue
            new = [item for item in items if keys.get(scope, item.version) is None]
            signers, undecided = self._signers_of(scope) if new else ({}, set())
            for item in new:
                version = item.version
                statement = key_statement(scope, version, self._user_id, item.wrapped_key,
                                          item.signer or "")
                if not any(verifies(key, statement, item.signature)
                           for key in signers.get(item.signer or "", ())):
                    if item.signer in undecided:
                        # Sealed by a member whose new key this laptop's person has not
                        # accepted yet (Needs attention says so): taken once they do.
                        self.undecided[scope] = max(version, self.undecided.get(scope, 0))
                        continue
                    # Not sealed by a member whose key this laptop trusts (planted by the
                    # server, or by someone not on the case): never used.
                    self._aside_key(scope, version)
                    continue
                try:
                    key = identity.open_key(item.wrapped_key, case_id=scope,
                                            version=version, user_id=self._user_id)
                except KeyFileDamaged:
                    # Damaged, or planted by a member for someone else: set aside and said
                    # under Needs attention; what it sealed waits, everything else syncs.
                    self._aside_key(scope, version)
                    continue
                self._remember(keys, scope, version, key)
                self._db(partial(self._set_key_aside, scope, version, False))
        return known

    def _aside_key(self, scope: str, version: int) -> None:
        """Set a key version aside here and refuse my copy on the server, so a member who
        holds the version seals it to me again (their copy, signed by them, replaces it)."""
        self._db(partial(self._set_key_aside, scope, version, True))
        try:
            self._server.call("DELETE", f"/v1/cases/{scope}/keys/{version}", model=NO_CONTENT)
        except ServerRefused:
            log.info("sync: a key copy set aside here was already gone from the server")

    def share(self, scope: str, keys: KeyRing) -> None:
        """Seal every version I hold to every member with a key pair, and upload."""
        held = {v: k for (s, v), k in keys.keys.items() if s == scope}
        if not held:
            return
        members = self._server.call("GET", f"/v1/cases/{scope}/members", model=MEMBERS)
        trusted = self._db(partial(self._trusted, members))
        upload = case_keys.sealed_copies(scope, held, [(m.user_id, m.public_key)
                                                       for m in trusted],
                                         signer=self.identity, signer_id=self._user_id)
        if upload:
            self._server.call("PUT", f"/v1/cases/{scope}/keys", model=NO_CONTENT,
                              json={"keys": upload})
        self._db(partial(self._owe, scope, owed=False))

    # -- whose keys this laptop trusts (sync/client/pins.py) ---------------------------------

    def _own_identity(self) -> Identity:
        def own() -> Identity:
            identity = enrolment.identity_of(self._session)
            if identity is None:
                raise RuleViolation("This profile has no key pair; enrol it again.")
            self._pins().pin_own(self._user_id, identity.public_key, identity.signing_key)
            return identity
        found: Identity = self._db(own)
        return found

    def _trusted(self, members: list[wire.Member]) -> list[wire.Member]:
        """The members whose keys the server gave are the ones pinned here (pinned now if first
        seen). A member whose key changed gets nothing until this laptop's person accepts the
        new key (Needs attention); everyone else is shared with as usual."""
        pins = self._pins()
        return [m for m in members
                if pins.trusted(m.user_id, m.public_key, m.signing_key)]

    def _signers_of(self, scope: str) -> tuple[dict[str, tuple[str, ...]], set[str]]:
        """The pinned signing keys of the scope's members (and mine), each with the keys they
        had before: who may seal its keys. Also the members whose keys are changing (replaced
        and not yet accepted here, or due to be): what they sealed waits, it is not refused."""
        members = self._server.call("GET", f"/v1/cases/{scope}/members", model=MEMBERS)
        trusted = {m.user_id for m in self._db(partial(self._trusted, members))}
        pinned = self._db(lambda: self._pins().signing_keys())
        found = {user: pinned.get(user, ()) for user in trusted}
        found[self._user_id] = (self.identity.signing_key, *pinned.get(self._user_id, ()))
        return found, {m.user_id for m in members if m.user_id not in trusted}

    def look_past_undecided(self, visible: set[str], keys: KeyRing) -> None:
        """While a colleague's new key waits for this laptop's person (a laptop of theirs was
        revoked, and one that remains made new keys and rotated their cases), look for the
        versions they sealed in every scope held here: one that cannot be taken yet is noted
        in `undecided`, so this laptop moves its scope past it (`rotate`) rather than keep
        writing under a version the revoked laptop can open."""
        offers = self._db(lambda: sorted(f"{p.user_id} {p.offered_signing}"
                                         for p in self._pins().changed()))
        looked = set(jsonlib.loads(self._db(lambda: self._replica().state(LOOKED_PAST, "[]"))))
        if set(offers) <= looked:
            # Once per new key offered: what its holder seals later comes with what they write
            # (a document under a version not held here is fetched for, and noted then).
            return
        self.fetch({scope for scope, _ in keys.keys} & visible, keys)
        self._db(lambda: self._replica().set_state(LOOKED_PAST, jsonlib.dumps(offers)))

    def pin_people(self, people: set[str]) -> None:
        """Pin, on first sight, the keys of authors this laptop has no key for yet."""
        known = self._db(lambda: set(self._pins().signing_keys()))
        for person in sorted(people - known - {"server"}):
            try:
                found = self._server.call("GET", f"/v1/people/{person}", model=wire.PersonKeys)
            except ServerRefused:
                continue  # not a person of this program: what they "wrote" stays aside
            self._db(partial(self._observe, found))

    def _observe(self, person: wire.PersonKeys) -> None:
        self._pins().observe(person.user_id, person.public_key, person.signing_key,
                             person.former_signing_keys)

    def _pins(self) -> Pins:
        db, _ = self._session.vault().open_parts()
        return Pins(db, now=iso(self._session.workspace().now()))

    def rotate(self, scope: str, keys: KeyRing, *, above: int = 0) -> None:
        """Someone who held the scope's newest key is no longer a member (reassigned, moved to
        another team) or their keys were exposed (a laptop revoked): make the next version
        (above `above` too, a version that exists but cannot be taken here) and share it with
        those who remain, so what is written from now on is closed to them. If another
        member's laptop rotated first, the server keeps theirs and this laptop fetches it."""
        newest = keys.newest(scope)
        if newest is None:
            return
        version = max(newest[0], above) + 1
        self._remember(keys, scope, version, os.urandom(32), owed=True)
        try:
            self.share(scope, keys)
        except ServerRefused:
            self._forget(keys, scope, version)
            self.fetch({scope}, keys)
            return
        log.info("sync: a member left %s; its key is now version %d", scope, version)

    def share_owed(self, keys: KeyRing) -> None:
        """Share again the first keys made here whose sharing failed (the server unreachable
        between making and sharing, or the push that creates their case lost): until the server
        has a copy, no other member can read what was sealed under them."""
        for scope in sorted(self._db(self._owed)):
            try:
                self.share(scope, keys)
            except ServerRefused:
                log.info("sync: a key made here cannot be shared yet; trying again next time")

    def _remember(self, keys: KeyRing, scope: str, version: int, key: bytes, *,
                  owed: bool = False) -> None:
        """Keep a key in the vault; `owed`: made here, so the server must still get it (kept
        in the same transaction, so no crash can leave a key nobody else will ever receive)."""
        def keep() -> None:
            db, _ = self._session.vault().open_parts()
            with db.atomic():
                self._session.records().add(
                    kind=KEY_KIND, body={"case_id": scope, "version": version, "key": b64(key)})
                if owed:
                    self._owe(scope, owed=True)
        self._db(keep)
        keys.keys[(scope, version)] = key

    def _set_key_aside(self, scope: str, version: int, aside: bool) -> None:
        self._replica().set_key_aside(scope, version, aside=aside)

    def _owed(self) -> set[str]:
        return set(jsonlib.loads(self._replica().state(OWED_KEYS, "[]")))

    def _owe(self, scope: str, *, owed: bool) -> None:
        scopes = self._owed()
        if (scope in scopes) != owed:
            scopes = scopes | {scope} if owed else scopes - {scope}
            self._replica().set_state(OWED_KEYS, jsonlib.dumps(sorted(scopes)))

    def _forget(self, keys: KeyRing, scope: str, version: int) -> None:
        def remove() -> None:
            records = self._session.records()
            for opened in records.of_kind(KEY_KIND):
                body = opened.body or {}
                if body.get("case_id") == scope and int(body.get("version", 0)) == version:
                    records.remove(str(opened.row["id"]))
            self._owe(scope, owed=False)
        self._db(remove)
        keys.keys.pop((scope, version), None)

    def pin_team(self, team: list[wire.StaffInfo]) -> None:
        """Pin, on first sight, the keys of the caller's team as the server lists them."""
        self._db(partial(self._pin_team, team))

    def _pin_team(self, team: list[wire.StaffInfo]) -> None:
        pins = self._pins()
        for person in team:
            if person.id != self._user_id:
                pins.observe(person.id, person.public_key, person.signing_key,
                             person.former_signing_keys or ())
