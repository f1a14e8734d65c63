"""One sync of a profile with its program's server: push the outbox, pull what changed, verify.

The order of a sync (CouchDB's replicator and Anki's USNs are the models):
1. the program's rules, the caller's team (names for reports, and the person's own keys: made
   anew if the server says they are due, `sync/client/rekey.py`), and keys for every scope a
   waiting change will be sealed under, each moved to a new version first if the server says it
   must be (someone left it, or a laptop was revoked);
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

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any, TypeVar

from fieldapp.domain.audit import Action
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.services import enrolment
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
from sync.client.key_exchange import DbCall, KeyExchange
from sync.client.pins import Pins
from sync.client.rekey import ELSEWHERE_STATE, Rekey
from sync.client.replica import KeyRing, Replica, Settled

log = logging.getLogger(__name__)

T = TypeVar("T")

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
            self._keys = KeyExchange(self._session, server, db=self._db, user_id=self._user_id,
                                     replica=self._replica)
            program = self._server.call("GET", "/v1/program", model=JSON_OBJECT)
            try:
                self._db(lambda: enrolment.adopt_program(self._session, program))
            except RuleViolation as exc:  # the server's rules, not this laptop's, are at fault
                raise ServerRefused("The program's rules sent by the server could not be used "
                                    "on this laptop; nothing was changed. Tell your "
                                    "administrator.") from exc
            me = self._team()
            keys = self._keys.keyring()
            self._keys.identity = Rekey(self._session, server, db=self._db,
                                        user_id=self._user_id, replica=self._replica,
                                        ).check(me, self._keys.identity, keys)
            self._push(keys, report, progress)
            self._keys.share_owed(keys)
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
        if total:
            # What goes up is sealed now, under each scope's newest key: a scope that must move
            # to a new version (someone left it, or a laptop was revoked) moves first, so what
            # was written offline meanwhile is closed to them too. A pull past the end of the
            # sequence carries no documents, only what the server says of the keys.
            ahead = self._server.call("GET", "/v1/sync/pull", model=wire.Page,
                                      params={"since": 2**53, "limit": 1})
            self._rotate(set(ahead.rotate), ahead.scopes, keys)
        self._keys.ensure(self._db(lambda: self._replica().pending_scopes()), keys)
        while True:
            self._check_cancel()
            ops = self._db(lambda: self._replica().freeze(keys, self._keys.identity,
                                                          max_ops=self._max_ops))
            if not ops:
                return
            result = self._server.call("POST", "/v1/sync/push", model=wire.PushResult,
                                       json=wire.Push(ops=ops).model_dump(mode="json"))
            answers = result.answers
            theirs = [a.theirs for a in answers if a.theirs is not None]
            self._keys.pin_people({d.author for d in theirs})
            self._keys.fetch(self._db(partial(self._missing, theirs, keys)), keys)
            settled: Settled = self._db(partial(self._settle, answers, keys))
            for outcome, count in settled.outcomes.items():
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + count
            for scope in settled.new_scopes:
                self._keys.share(scope, keys)
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
            self._keys.pin_people({d.author for d in page.docs if d.table != wire.ALLOCATIONS})
            self._keys.fetch(self._db(partial(self._missing, page.docs, keys)), keys)
            report.pulled += self._db(partial(self._apply, page, keys))
            progress(Progress("receiving", report.pulled, 0))
            if not page.more:
                break
        self._rotate(rotate, page.scopes, keys)
        for scope in sorted(needs - rotate):
            try:
                self._keys.share(scope, keys)
            except ServerRefused as exc:  # one scope's keys must not stop the sync
                log.warning("sync: keys for a scope could not be shared again: %s", exc)
        waiting = self._db(lambda: self._replica().inbox_keys())
        if waiting:
            self._keys.fetch(waiting, keys)
        self._keys.pin_people(self._db(lambda: self._replica().unknown_authors()))
        report.pulled += self._db(lambda: self._replica().retry_inbox(keys))
        waiting = self._db(lambda: self._replica().inbox_keys())
        if waiting:
            # Documents that passed their checks only now (their author's new key accepted)
            # may need a key version this laptop has not fetched: fetch, and try once more.
            known = len(keys.keys)
            self._keys.fetch(waiting, keys)
            if len(keys.keys) > known:
                report.pulled += self._db(lambda: self._replica().retry_inbox(keys))
        if page.scopes is not None:
            self._visible = set(page.scopes)
            self._forget_elsewhere(page.scopes, keys, report)

    def _rotate(self, rotate: set[str], visible: list[str] | None, keys: KeyRing) -> None:
        """Move to a new key version the scopes the server names (`rotate`, changed in place
        to what is left for this sync) and those whose newest version was sealed by a member
        whose new key is not accepted here (a laptop of theirs revoked): that version is not
        taken, and what is written here must not stay under the older one, which the revoked
        laptop opens."""
        if visible is not None:
            self._keys.look_past_undecided(set(visible), keys)
        for scope, version in sorted(self._keys.undecided.items()):
            held = keys.newest(scope)
            if held is not None and held[0] < version:
                rotate.discard(scope)
                self._keys.rotate(scope, keys, above=version)
        for scope in sorted(rotate):
            self._keys.rotate(scope, keys)

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
                for opened in records.of_kind(KEY_KIND):
                    if (opened.body or {}).get("case_id") in gone:
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

    def _team(self) -> wire.StaffInfo | None:
        """The team's names, kept for reports, and the server's entry for this laptop's
        person (their keys); a server older than this laptop (no such route) leaves the names
        as they were rather than stopping every sync."""
        try:
            team = self._server.call("GET", "/v1/team", model=TEAM)
        except ServerRefused as exc:
            if exc.status != HTTPStatus.NOT_FOUND:
                raise
            log.info("the server does not list teams yet; names in reports stay as they were")
            return None
        self._db(partial(remember_team, self._session, team))
        self._keys.pin_team(team)
        return next((person for person in team if person.id == self._user_id), None)

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
            "kept": kept_of(session).count(),
            # This person's own keys: a new recovery code to store, or keys to take up.
            "own_keys": int(enrolment.new_recovery_code_of(session) is not None)
            + int(replica.state(ELSEWHERE_STATE) == "1")}


def replica_of(session: Session, *, enrolled: dict[str, Any] | None = None) -> Replica:
    """The replica of an open profile (the database worker); `enrolled`, if already read, saves
    opening the profile's records again."""
    db, key = session.vault().open_parts()
    enrolled = enrolled or enrolment.enrolment_of(session)
    user = str(enrolled["user"]["id"]) if enrolled else ""
    return Replica(db, key, user_id=user, now=iso(session.workspace().now()))
