"""One sync of a profile with its program's server: push the outbox, pull what changed, verify.

The order of a sync (CouchDB's replicator and Anki's USNs are the models):
1. the program's rules, the caller's team (names for reports), and keys for every scope a
   waiting change will be sealed under;
2. push: freeze a batch (bounded by count and bytes), send it, settle each op's answer, repeat;
3. pull: pages after the checkpoint, each applied with its checkpoint in one transaction;
4. share keys the server says a member is missing, retry documents that waited for a key;
5. verify: compare an order-independent digest with the server's; on a mismatch send again what
   the server lacks and pull everything again (local changes waiting to go up are kept).

Every call goes through the one client (`sync/client/http.py`): network failures and 5xx
answers are retried with exponential backoff and jitter, the same ops with the same ids; a
refusal (4xx) is not. Cancelling stops between steps, and every step is one transaction, so a
cancelled or killed sync loses nothing and doubles nothing.

Thread rule: `sync()` runs on any thread except the UI's; every database step goes through
`db`, which runs it on the database worker.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import TypeAdapter

from fieldapp.crypto.identity import Identity, b64
from fieldapp.crypto.signing import key_statement, verifies
from fieldapp.domain.audit import Action
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KeyFileDamaged, KnownError, RuleViolation
from fieldapp.services import case_keys, enrolment
from fieldapp.services.case_keys import KEY_KIND
from fieldapp.services.enrolment import ServerRefused
from fieldapp.services.kept import kept_of
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.enrol import JSON_OBJECT, TEAM, remember_team, wiped_if_revoked
from sync.client.forget import forget_elsewhere
from sync.client.http import (
    KEPT_FOR_LATER,
    RETRIED,
    Backoff,
    Transport,
    enrolled_client,
)
from sync.client.pins import Pins
from sync.client.replica import KeyRing, Replica, Settled

log = logging.getLogger(__name__)

T = TypeVar("T")
DbCall = Callable[[Callable[[], Any]], Any]

# The shapes of answers that have no model of their own (the program's rules and the team are
# check-in's, sync/client/enrol.py): checked like every other answer, so a 200 that is not the
# protocol (a captive portal, a broken proxy) is retried and then reported as the server not
# answering properly, instead of failing somewhere inside the sync.
WRAPPED_KEYS = TypeAdapter(list[wire.WrappedKey])
MEMBERS = TypeAdapter(list[wire.Member])
NO_CONTENT = TypeAdapter(None)
# sync_state: scopes whose first key was made here and is not on the server yet (JSON list).
OWED_KEYS = "owed_keys"


class SyncCancelled(KnownError):
    """The person stopped the sync; everything done so far is kept, nothing is doubled."""


class NotEnrolled(KnownError):
    """This profile has no server to sync with."""


@dataclass(frozen=True)
class Progress:
    phase: str       # "sending", "receiving", "checking"
    done: int
    total: int       # 0 when not known


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    problems: int = 0
    waiting: int = 0
    verified: bool = False
    forgotten: list[str] = field(default_factory=list)  # scopes removed from this laptop
    held_back: int = 0          # server documents this laptop could not apply (see held_back)
    set_aside: int = 0          # of those, the ones that named another case than they came in
    keys_set_aside: int = 0     # key versions shared with this user that do not open
    repaired: int = -1          # -1: no repair was needed
    seconds: float = 0.0
    finished_at: str = ""


def direct(fn: Callable[[], T]) -> T:
    return fn()


class SyncEngine:
    """Thread rule: see the module; one sync at a time per profile."""

    def __init__(self, session: Session, *, db: DbCall = direct,
                 transport: Transport | None = None, timeout: float = 10.0,
                 backoff: Backoff = RETRIED, sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random,
                 max_ops: int = wire.MAX_BATCH_OPS, page: int = wire.MAX_PAGE) -> None:
        self._session, self._db = session, db
        self._transport, self._timeout = transport, timeout
        self._backoff, self._sleep, self._rng = backoff, sleep, rng
        self._max_ops, self._page = max_ops, page
        self._lock = threading.Lock()

    # -- the whole sync ----------------------------------------------------------------------

    def sync(self, *, progress: Callable[[Progress], None] | None = None,
             cancel: threading.Event | None = None) -> SyncReport:
        if not self._lock.acquire(blocking=False):
            raise RuleViolation("A sync is already running.")
        try:
            return self._sync(progress or (lambda _: None), cancel or threading.Event())
        finally:
            self._lock.release()

    def _sync(self, progress: Callable[[Progress], None], cancel: threading.Event
              ) -> SyncReport:
        started = time.perf_counter()
        enrolled = self._db(lambda: enrolment.enrolment_of(self._session))
        if enrolled is None:
            raise NotEnrolled("This profile is not connected to a server; everything stays on "
                              "this computer.")
        report = SyncReport()
        self._cancel = cancel
        with wiped_if_revoked(self._session, db=self._db), enrolled_client(
                enrolled, timeout=self._timeout, backoff=self._backoff, sleep=self._sleep,
                rng=self._rng, transport=self._transport, unreachable=KEPT_FOR_LATER,
                before_each=self._check_cancel) as server:
            self._server = server
            self._visible: set[str] | None = None  # the scopes the server last said
            self._user_id = str(enrolled["user"]["id"])
            self._identity = self._own_identity()
            program = self._server.call("GET", "/v1/program", model=JSON_OBJECT)
            try:
                self._db(lambda: enrolment.adopt_program(self._session, program))
            except RuleViolation as exc:  # the server's rules, not this laptop's, are at fault
                raise ServerRefused("The program's rules sent by the server could not be used "
                                    "on this laptop; nothing was changed. Tell your "
                                    "administrator.") from exc
            self._team()
            keys = self._db(self._keyring)
            self._push(keys, report, progress)
            self._share_owed(keys)
            self._pull(keys, report, progress)
            self._verify(keys, report, progress)
        report.waiting, report.conflicts, report.problems = self._db(self._counts)
        report.held_back = self._db(lambda: len(self._replica().held_back()))
        report.set_aside = self._db(lambda: len(self._replica().set_aside()))
        report.keys_set_aside = self._db(lambda: len(self._replica().keys_set_aside()))
        if report.held_back:
            log.warning("sync: %d document(s) from the server could not be applied here",
                        report.held_back)
        report.finished_at = self._db(lambda: iso(self._session.workspace().now()))
        self._db(lambda: self._replica().set_state("last_success", report.finished_at))
        report.seconds = time.perf_counter() - started
        log.info("sync: pushed %d, pulled %d, outcomes %s in %.2f s", report.pushed,
                 report.pulled, report.outcomes, report.seconds)
        return report

    def _push(self, keys: KeyRing, report: SyncReport, progress: Callable[[Progress], None]
              ) -> None:
        total = self._db(lambda: self._replica().waiting())
        self._ensure_keys(self._db(lambda: self._replica().pending_scopes()), keys)
        while True:
            self._check_cancel()
            ops = self._db(lambda: self._replica().freeze(keys, self._identity,
                                                          max_ops=self._max_ops))
            if not ops:
                return
            result = self._server.call("POST", "/v1/sync/push", model=wire.PushResult,
                                       json=wire.Push(ops=ops).model_dump(mode="json"))
            answers = result.answers
            theirs = [a.theirs for a in answers if a.theirs is not None]
            self._pin_people({d.author for d in theirs})
            self._fetch_keys(self._db(partial(self._missing, theirs, keys)), keys)
            settled: Settled = self._db(partial(self._settle, answers, keys))
            for outcome, count in settled.outcomes.items():
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + count
            for scope in settled.new_scopes:
                self._share(scope, keys)
            report.pushed += len(ops)
            progress(Progress("sending", report.pushed, max(total, report.pushed)))
            if not settled.outcomes:
                return  # the server answered none of what was sent: stop rather than spin

    def _pull(self, keys: KeyRing, report: SyncReport, progress: Callable[[Progress], None]
              ) -> None:
        needs: set[str] = set()
        rotate: set[str] = set()
        while True:
            self._check_cancel()
            since = self._db(lambda: self._replica().checkpoint())
            page = self._server.call("GET", "/v1/sync/pull", model=wire.Page,
                                     params={"since": since, "limit": self._page})
            needs.update(page.needs_keys)
            rotate.update(page.rotate)
            self._pin_people({d.author for d in page.docs if d.table != wire.ALLOCATIONS})
            self._fetch_keys(self._db(partial(self._missing, page.docs, keys)), keys)
            report.pulled += self._db(partial(self._apply, page, keys))
            progress(Progress("receiving", report.pulled, 0))
            if not page.more:
                break
        for scope in sorted(rotate):
            self._rotate(scope, keys)
        for scope in sorted(needs - rotate):
            try:
                self._share(scope, keys)
            except ServerRefused as exc:  # one scope's keys must not stop the sync
                log.warning("sync: keys for a scope could not be shared again: %s", exc)
        waiting = self._db(lambda: self._replica().inbox_keys())
        if waiting:
            self._fetch_keys(waiting, keys)
        self._pin_people(self._db(lambda: self._replica().unknown_authors()))
        report.pulled += self._db(lambda: self._replica().retry_inbox(keys))
        if page.scopes is not None:
            self._visible = set(page.scopes)
            self._forget_elsewhere(page.scopes, keys, report)

    def _forget_elsewhere(self, visible: list[str], keys: KeyRing, report: SyncReport
                          ) -> None:
        """Remove cases and ledgers this user may no longer hold, and their keys; one with
        unsettled work only after the grace period, that work kept for the person
        (`sync/client/forget.py`)."""
        def forget() -> list[str]:
            db, key = self._session.vault().open_parts()
            with db.atomic():  # records, keys, kept work and the audit entry together
                return remove(db, key)

        def remove(db: Any, key: Any) -> list[str]:
            workspace = self._session.workspace()
            done = forget_elsewhere(db, key, visible, now=workspace.now())
            gone = done.scopes
            if gone:
                records = self._session.records()
                for opened in records.all():
                    body = opened.body or {}
                    if opened.row["kind"] == KEY_KIND and body.get("case_id") in gone:
                        records.remove(str(opened.row["id"]))
                with workspace.unit() as stores:
                    for scope in gone:
                        workspace.audit(stores, Action.RECORDS_REMOVED, scope,
                                        why="no longer on this person's caseload",
                                        kept_for_them=done.kept.get(scope, 0))
            return gone
        for scope in self._db(forget):
            report.forgotten.append(scope)
            for version in [v for (s, v) in keys.keys if s == scope]:
                keys.keys.pop((scope, version), None)

    def _verify(self, keys: KeyRing, report: SyncReport, progress: Callable[[Progress], None]
                ) -> None:
        self._check_cancel()
        progress(Progress("checking", 0, 0))
        server = self._server.call("GET", "/v1/sync/digest", model=wire.Digest)
        mine = self._db(lambda: self._replica().digest(self._visible))
        if mine == server:
            report.verified = True
            return
        log.warning("sync: digest differs (%d here, %d on the server); repairing", mine.count,
                    server.count)
        manifest = self._server.call("GET", "/v1/sync/manifest", model=wire.Manifest)
        report.repaired = self._db(
            lambda: self._replica().repair(manifest.entries, self._visible))
        self._push(keys, report, progress)
        self._pull(keys, report, progress)
        server = self._server.call("GET", "/v1/sync/digest", model=wire.Digest)
        report.verified = self._db(lambda: self._replica().digest(self._visible)) == server

    # -- keys --------------------------------------------------------------------------------

    def _keyring(self) -> KeyRing:
        return KeyRing(case_keys.case_keys(self._session))

    def _ensure_keys(self, scopes: set[str], keys: KeyRing) -> None:
        """A key for each scope: fetched if the server has one for me, otherwise made here
        (and shared now, or right after the push that creates a new case)."""
        for scope in sorted(s for s in scopes if keys.newest(s) is None):
            known = self._fetch_keys({scope}, keys, missing_ok=True)
            if keys.newest(scope) is not None:
                continue
            self._remember(keys, scope, 1, os.urandom(32), owed=True)
            if known:
                try:
                    self._share(scope, keys)
                except ServerRefused:
                    # Another device made the first key meanwhile: use theirs instead.
                    self._forget(keys, scope, 1)
                    self._fetch_keys({scope}, keys)

    def _fetch_keys(self, scopes: set[str], keys: KeyRing, *, missing_ok: bool = False
                    ) -> bool:
        """Download, check and open my sealed copies; False if the server does not know the
        scope. A copy is taken only if a member of the scope sealed it and signed it with the
        key this laptop pinned for them; any other is set aside (said under Needs attention)."""
        identity = self._identity
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
            signers = self._signers_of(scope) if new else {}
            for item in new:
                version = item.version
                signing_key = signers.get(item.signer or "")
                if signing_key is None or not verifies(signing_key, key_statement(
                        scope, version, self._user_id, item.wrapped_key, item.signer or ""),
                        item.signature):
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

    def _share(self, scope: str, keys: KeyRing) -> None:
        """Seal every version I hold to every member with a key pair, and upload."""
        held = {v: k for (s, v), k in keys.keys.items() if s == scope}
        if not held:
            return
        members = self._server.call("GET", f"/v1/cases/{scope}/members", model=MEMBERS)
        trusted = self._db(partial(self._trusted, members))
        upload = case_keys.sealed_copies(scope, held, [(m.user_id, m.public_key)
                                                       for m in trusted],
                                         signer=self._identity, signer_id=self._user_id)
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
                if pins.observe(m.user_id, m.public_key, m.signing_key) is not None
                and pins.trusts(m.user_id, m.public_key, m.signing_key)]

    def _signers_of(self, scope: str) -> dict[str, str]:
        """The pinned signing keys of the scope's members (and mine): who may seal its keys."""
        members = self._server.call("GET", f"/v1/cases/{scope}/members", model=MEMBERS)
        trusted = self._db(partial(self._trusted, members))
        found = {m.user_id: str(m.signing_key) for m in trusted}
        found[self._user_id] = self._identity.signing_key
        return found

    def _pin_people(self, people: set[str]) -> None:
        """Pin, on first sight, the keys of authors this laptop has no key for yet."""
        known = self._db(lambda: set(self._pins().signing_keys()))
        for person in sorted(people - known - {"server"}):
            try:
                found = self._server.call("GET", f"/v1/people/{person}", model=wire.PersonKeys)
            except ServerRefused:
                continue  # not a person of this program: what they "wrote" stays aside
            self._db(partial(self._observe, found))

    def _observe(self, person: wire.PersonKeys) -> None:
        self._pins().observe(person.user_id, person.public_key, person.signing_key)

    def _pins(self) -> Pins:
        db, _ = self._session.vault().open_parts()
        return Pins(db, now=iso(self._session.workspace().now()))

    def _rotate(self, scope: str, keys: KeyRing) -> None:
        """Someone who held the scope's newest key is no longer a member (reassigned, moved to
        another team): make the next version and share it with those who remain, so what is
        written from now on is closed to them. If another member's laptop rotated first, the
        server keeps theirs and this laptop fetches it instead."""
        newest = keys.newest(scope)
        if newest is None:
            return
        version = newest[0] + 1
        self._remember(keys, scope, version, os.urandom(32), owed=True)
        try:
            self._share(scope, keys)
        except ServerRefused:
            self._forget(keys, scope, version)
            self._fetch_keys({scope}, keys)
            return
        log.info("sync: a member left %s; its key is now version %d", scope, version)

    def _share_owed(self, keys: KeyRing) -> None:
        """Share again the first keys made here whose sharing failed (the server unreachable
        between making and sharing, or the push that creates their case lost): until the server
        has a copy, no other member can read what was sealed under them."""
        for scope in sorted(self._db(self._owed)):
            try:
                self._share(scope, keys)
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
            for opened in records.all():
                body = opened.body or {}
                if opened.row["kind"] == KEY_KIND and body.get("case_id") == scope and \
                        int(body.get("version", 0)) == version:
                    records.remove(str(opened.row["id"]))
            self._owe(scope, owed=False)
        self._db(remove)
        keys.keys.pop((scope, version), None)

    # -- the wire ----------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise SyncCancelled("Sync was stopped. Everything is kept; the rest goes next time.")

    # -- database steps ----------------------------------------------------------------------

    def _replica(self) -> Replica:
        db, key = self._session.vault().open_parts()
        return Replica(db, key, user_id=self._user_id,
                       now=iso(self._session.workspace().now()))

    def _missing(self, docs: list[wire.Doc], keys: KeyRing) -> set[str]:
        return self._replica().missing_keys(docs, keys)

    def _settle(self, answers: list[wire.Answer], keys: KeyRing) -> Settled:
        return self._replica().settle(answers, keys)

    def _apply(self, page: wire.Page, keys: KeyRing) -> int:
        return self._replica().apply_page(page, keys)

    def _team(self) -> None:
        """The team's names, kept for reports; a server older than this laptop (no such
        route) leaves the names as they were rather than stopping every sync."""
        try:
            team = self._server.call("GET", "/v1/team", model=TEAM)
        except ServerRefused as exc:
            if exc.status != HTTPStatus.NOT_FOUND:
                raise
            log.info("the server does not list teams yet; names in reports stay as they were")
            return
        self._db(partial(remember_team, self._session, team))
        self._db(partial(self._pin_team, team))

    def _pin_team(self, team: list[wire.StaffInfo]) -> None:
        pins = self._pins()
        for person in team:
            if person.id != self._user_id:
                pins.observe(person.id, person.public_key, person.signing_key)

    def _counts(self) -> tuple[int, int, int]:
        replica = self._replica()
        return replica.waiting(), len(replica.conflicts()), len(replica.problems())


def status_of(session: Session) -> dict[str, Any]:
    """For the status area: last success, items waiting, what needs attention (on the database
    worker)."""
    enrolled = enrolment.enrolment_of(session)
    replica = replica_of(session, enrolled=enrolled)
    return {"enrolled": enrolled is not None,
            "server": enrolled["server_url"] if enrolled else "",
            "last_success": replica.state("last_success"), "waiting": replica.waiting(),
            "conflicts": replica.conflicts(), "problems": replica.problems(),
            "set_aside": replica.set_aside(), "keys_set_aside": replica.keys_set_aside(),
            "keys_changed": [p.user_id for p in Pins(replica.db, now=replica.now).changed()],
            "kept": kept_of(session).count()}


def replica_of(session: Session, *, enrolled: dict[str, Any] | None = None) -> Replica:
    """The replica of an open profile (the database worker); `enrolled`, if already read, saves
    opening the profile's records again."""
    db, key = session.vault().open_parts()
    enrolled = enrolled or enrolment.enrolment_of(session)
    user = str(enrolled["user"]["id"]) if enrolled else ""
    return Replica(db, key, user_id=user, now=iso(session.workspace().now()))
