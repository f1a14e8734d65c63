"""When and how the open profile syncs: by hand, on a timer, after local changes, when the server
comes back; one sync at a time on its own thread, with backoff while the server is down.

Thread rule: the controller lives on the UI thread and its timers run there. A sync runs on a
Python thread of its own (network, key work); every database step of it goes to the vault's
thread through `DbWorker.call`. The UI thread never waits on any of them, except when the
window closes (`join`). Results come back through queued Qt signals.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtNetwork import QNetworkInformation

from fieldapp.domain.errors import KnownError
from fieldapp.services import enrolment
from fieldapp.services.enrolment import DeviceRevoked, ServerUnreachable
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import on_profile
from sync import protocol as wire
from sync.client.engine import (
    NotEnrolled,
    Progress,
    SyncCancelled,
    SyncEngine,
    SyncReport,
    status_of,
)
from sync.client.http import probe
from sync.client.rekey import KeysReplacedElsewhere
from sync.client.replica import Replica

log = logging.getLogger(__name__)

T = TypeVar("T")
STOPPED = "Sync was stopped. Everything is kept; the rest goes next time."
NOTHING_TO_SYNC = ("This laptop is not connected to a server, so there is nothing to sync. "
                   "To connect: Settings → Connect to your program's server.")


@dataclass(frozen=True)
class SyncOptions:
    """Timing (milliseconds unless named otherwise) and batch size; tests use small values."""

    period_ms: int = 5 * 60_000        # sync this often while all is well
    debounce_ms: int = 30_000          # after the last local change
    start_delay_ms: int = 3_000        # after unlocking (an enrolment syncs at once)
    retry_first_ms: int = 15_000       # backoff while the server is down: doubles ...
    retry_max_ms: int = 10 * 60_000    # ... up to this, with jitter
    probe_seconds: float = 3.0         # GET /health
    request_seconds: float = 10.0      # each request of a sync
    batch_ops: int = wire.MAX_BATCH_OPS


@dataclass(frozen=True)
class SyncState:
    """What the status area shows. `retry_at` is on `time.monotonic()`'s scale."""

    enrolled: bool | None = None       # None: not known yet
    last_success: str = ""             # ISO time on the app's clock, "" if never
    waiting: int = 0
    attention: int = 0                 # conflicts, refused changes, documents set aside
    running: bool = False
    phase: str = ""                    # connecting, sending, receiving, checking
    done: int = 0
    total: int = 0
    note: str = ""                     # a short sentence about the last attempt
    detail: str = ""                   # the longer explanation (tooltip)
    retry_at: float | None = None
    no_network: bool = False


@dataclass
class _Job:
    cancel: threading.Event
    thread: threading.Thread | None = None


class SyncController(QObject):
    """Runs the sync of one open, enrolled profile and says how it is going.

    Attributes:
        ctx: the open profile's context (session, task runner, clock).
        state: the latest `SyncState`.

    Signals:
        progressed(str, int, int): phase, done, total; emitted on the sync thread (Qt queues
            it to QObject slots on the UI thread).
        state_changed(object): a new `SyncState` (UI thread).
        synced(object): a sync finished; carries its `SyncReport` (UI thread).
        revoked(str): the server revoked this device and the profile was wiped (UI thread).
    """

    progressed = Signal(str, int, int)
    state_changed = Signal(object)
    synced = Signal(object)
    revoked = Signal(str)
    _ended = Signal(object)

    def __init__(self, ctx: UiContext, *, options: SyncOptions = SyncOptions(),
                 rng: Callable[[], float] = random.random, parent: QObject | None = None
                 ) -> None:
        super().__init__(parent)
        self.ctx, self.options, self._rng = ctx, options, rng
        self.state = SyncState()
        self._job: _Job | None = None
        self._stopped = threading.Event()
        self._failures = 0
        self._counting = False
        self._watching = False
        self._sync_on_start = False
        self._again = False  # a turn came while a sync ran: take it soon after
        self._stuck = 0      # left waiting by the last sync (no key for it yet): not new work
        self._keys_changed = 0  # colleagues' changed keys, as last counted (not in a report)
        self._kept = 0  # the one item for work kept for its author, as last counted (idem)
        self._retry = self._timer(self.request, single=True)
        self._debounce = self._timer(self.request_if_idle, single=True)
        self._first = self._timer(self.request_if_idle, single=True)
        self._period = self._timer(self.request_if_idle, single=False)
        self.progressed.connect(self._progress, Qt.ConnectionType.QueuedConnection)
        self._ended.connect(self._finish, Qt.ConnectionType.QueuedConnection)

    def _timer(self, slot: Callable[[], None], *, single: bool) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        return timer

    # -- starting and stopping ---------------------------------------------------------------

    def start(self, *, sync_now: bool = False) -> None:
        """Read the profile's sync facts; if it is enrolled, start the timers (and a sync)."""
        self._sync_on_start = sync_now
        on_profile(self.ctx.runner, self.ctx.session, status_of, owner=self) \
            .done(self._started).run()

    def _started(self, status: dict[str, Any]) -> None:
        if self._stopped.is_set():
            return
        self._keys_changed = len(status.get("keys_changed", ()))
        self._kept = _kept(status)
        self._set(enrolled=bool(status["enrolled"]), last_success=status["last_success"],
                  waiting=int(status["waiting"]),
                  attention=_attention(status))
        if not status["enrolled"]:
            if self._sync_on_start:  # F5 pressed while this was being read
                self._set(note=NOTHING_TO_SYNC)
            return
        self._watch()
        self._period.start(self.options.period_ms)
        if self._sync_on_start:
            self.request()
        else:
            self._first.start(self.options.start_delay_ms)

    def _watch(self) -> None:
        if self._watching:
            return
        self._watching = True
        # Saves and edits run through the task runner; when it goes idle, count what waits.
        self.ctx.runner.records_changed.connect(self._records_changed)
        info = network_information()
        if info is not None:
            info.reachabilityChanged.connect(self._reachability)
            self._reachability(info.reachability())

    def stop(self) -> None:
        """Stop for good (lock, wipe, close): cancel a running sync and every timer. Answers
        that arrive later are dropped; the controller deletes itself once its thread ended."""
        self._stopped.set()
        for timer in (self._retry, self._debounce, self._first, self._period):
            timer.stop()
        if self._job is not None:
            self._job.cancel.set()
        else:
            self.deleteLater()

    def join(self, timeout: float = 3.0) -> None:
        """Wait a little for the sync thread to end (closing the window only: this blocks).

        A thread still waiting on the network after that is harmless: it is a daemon, and the
        stopped controller refuses every database step it would take next."""
        job = self._job
        if job is not None and job.thread is not None:
            job.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._job is not None

    # -- when to sync ------------------------------------------------------------------------

    def sync_now(self) -> None:
        """The person asked: sync now, whatever the backoff says."""
        self.request(manual=True)

    def cancel(self) -> None:
        """Stop the running sync between two steps; what was done is kept."""
        if self._job is not None:
            self._job.cancel.set()
            self._set(phase="stopping")

    def request_if_idle(self) -> None:
        """A timer's turn: skipped while backing off (the retry timer has its own turn)."""
        if not self._retry.isActive():
            self.request()

    def request(self, *, manual: bool = False) -> None:
        if self._stopped.is_set():
            return
        if self.state.enrolled is None:
            # Asked before the profile's sync facts are read (F5 right after unlocking): the
            # start syncs once it knows the profile is enrolled, rather than drop the request.
            self._sync_on_start = True
            return
        if not self.state.enrolled:
            if manual:  # the person asked: say why nothing happens, and how to change it
                self._set(note=NOTHING_TO_SYNC)
            return
        if self._job is not None:
            self._again = self._again or not manual
            return
        self._retry.stop()
        self._debounce.stop()
        self._first.stop()
        job = _Job(cancel=threading.Event())
        job.thread = threading.Thread(target=self._run, args=(job,), name="fieldapp-sync",
                                      daemon=True)
        self._job = job
        self._set(running=True, phase="connecting", done=0, total=0, note="", detail="",
                  retry_at=None)
        # A full garbage collection walks every object alive and holds the GIL meanwhile:
        # ~28 ms for the app's ~70,000, the longest UI stall of a big sync (bench/
        # sync_stall.py). Objects alive now are left out of collections until the sync ends.
        gc.freeze()
        job.thread.start()

    def _records_changed(self) -> None:
        # Count what waits to go up after each change (one count out at a time).
        if self._counting or self._stopped.is_set():
            return
        self._counting = True
        session = self.ctx.session

        def count() -> int:
            db, key = session.vault().open_parts()
            return Replica(db, key, user_id="", now="").waiting()
        on_profile(self.ctx.runner, session, lambda _: count(), owner=self).done(self._counted) \
            .failed(_not_counted, after_failure=self._count_over).run()

    def _counted(self, waiting: int) -> None:
        self._counting = False
        if self._stopped.is_set():
            return
        if waiting > self._stuck:  # new work waits: sync a while after the last burst of it
            self._debounce.start(self.options.debounce_ms)
        if not self.state.running:
            self._set(waiting=waiting)

    def _count_over(self) -> None:
        self._counting = False

    def _reachability(self, reachability: QNetworkInformation.Reachability) -> None:
        # A hint, never a gate: a server on this computer or the local network may answer
        # while the system says "disconnected"; the probe decides.
        down = reachability == QNetworkInformation.Reachability.Disconnected
        was_down = self.state.no_network
        self._set(no_network=down)
        if not down and (was_down or self._retry.isActive()):
            self.request()  # the network changed for the better: try now rather than wait

    # -- the sync thread ---------------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        try:
            result: SyncReport | BaseException = self._attempt(job)
        except BaseException as exc:  # carried to the UI thread; a bug is raised there
            result = exc
        try:
            self._ended.emit((job, result))
        except RuntimeError:  # the window went away without waiting for this thread
            log.debug("sync ended after its window closed")

    def _attempt(self, job: _Job) -> SyncReport:
        session = self.ctx.session
        enrolled = self._db(lambda: enrolment.enrolment_of(session))
        if enrolled is None:
            raise NotEnrolled("This profile is not connected to a server.")
        # A cheap look before the real work: is the server there at all?
        probe(str(enrolled["server_url"]), verify=enrolled["verify"],
              timeout=self.options.probe_seconds)
        engine = SyncEngine(session, db=self._db, timeout=self.options.request_seconds,
                            sleep=lambda seconds: _pause(job.cancel, seconds),
                            max_ops=self.options.batch_ops)

        def progress(step: Progress) -> None:
            self.progressed.emit(step.phase, step.done, step.total)
        return engine.sync(progress=progress, cancel=job.cancel)

    def _db(self, fn: Callable[[], T]) -> T:
        """One database step on the database worker; refused once the controller stopped (the
        check runs there, so no step of an old sync runs after the lock queued behind it)."""
        stopped = self._stopped

        def guarded() -> T:
            if stopped.is_set():
                raise SyncCancelled(STOPPED)
            return fn()
        return self.ctx.runner.worker.call(guarded)

    # -- back on the UI thread ---------------------------------------------------------------

    def _progress(self, phase: str, done: int, total: int) -> None:
        if self._job is None or self._job.cancel.is_set():
            return
        if phase == "sending":  # what the server has answered no longer waits
            self._set(phase=phase, done=done, total=total, waiting=max(0, total - done))
        else:
            self._set(phase=phase, done=done, total=total)

    def _finish(self, ended: tuple[_Job, SyncReport | BaseException]) -> None:
        job, result = ended
        if job.thread is not None:
            job.thread.join()  # it is past its last step: this returns at once
        gc.unfreeze()  # collected again from now on, garbage made during the sync included
        self._job = None
        if self._stopped.is_set():
            if not isinstance(result, (SyncReport, KnownError, RuntimeError)):
                log.error("sync failed after it was stopped", exc_info=result)
            self.deleteLater()
            return
        self._set(running=False, phase="", done=0, total=0)
        if isinstance(result, SyncReport):
            self._succeeded(result)
        elif isinstance(result, DeviceRevoked):
            self.stop()
            self.revoked.emit(result.message)
        elif isinstance(result, SyncCancelled):
            self._set(note="Sync stopped; the rest goes next time.", detail=result.message)
            self._recount()
        elif isinstance(result, NotEnrolled):
            self._set(enrolled=False)
        elif isinstance(result, KnownError):
            self._failed(result)
        else:
            raise result

    def _succeeded(self, report: SyncReport) -> None:
        self._failures, self._stuck = 0, report.waiting
        self._set(last_success=report.finished_at, waiting=report.waiting,
                  attention=report.conflicts + report.problems + report.set_aside
                  + report.keys_set_aside + self._keys_changed + self._kept, note="",
                  detail=_summary(report), retry_at=None)
        self._recount()  # the sync may have seen a colleague's key change: count it
        if self._again:
            self._again = False
            self._debounce.start(self.options.debounce_ms)
        self.synced.emit(report)

    def _failed(self, error: KnownError) -> None:
        delay = min(self.options.retry_max_ms, self.options.retry_first_ms * 2 ** self._failures)
        delay = max(1, int(delay * (0.5 + self._rng() / 2)))
        self._failures = min(self._failures + 1, 30)
        if isinstance(error, KeysReplacedElsewhere):
            # Trying again cannot help until the person enters the new code (which syncs).
            self._set(note="Waiting for your new recovery code.", detail=error.message,
                      retry_at=None)
            self._recount()
            return
        if not isinstance(error, ServerUnreachable):
            note = "The server said no."
        else:
            note = "No network." if self.state.no_network else "Server not reachable."
        self._set(note=note, detail=error.message, retry_at=time.monotonic() + delay / 1000)
        self._retry.start(delay)
        self._recount()

    def _recount(self) -> None:
        """After a sync: read the counts again (some of it was done, or a colleague's key
        changed, which a report does not count)."""
        on_profile(self.ctx.runner, self.ctx.session, status_of, owner=self) \
            .done(self._recounted).failed(_not_counted).run()

    def _recounted(self, status: dict[str, Any]) -> None:
        if not self._stopped.is_set():
            self._keys_changed = len(status.get("keys_changed", ()))
            self._kept = _kept(status)
            self._set(waiting=int(status["waiting"]), last_success=status["last_success"],
                      attention=_attention(status))

    def refresh(self) -> None:
        """Read the counts again (after someone settled a conflict or a refused change)."""
        self._recount()

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        self.state_changed.emit(self.state)


def _pause(cancel: threading.Event, seconds: float) -> None:
    """The engine's wait between retries; a cancel cuts it short."""
    cancel.wait(seconds)


def _summary(report: SyncReport) -> str:
    checked = "checked against the server" if report.verified else "not yet in step with the server"
    return f"Sent {report.pushed}, received {report.pulled} in {report.seconds:.1f} s; {checked}."



_network: list[QNetworkInformation | None] = []


def network_information() -> QNetworkInformation | None:
    """Qt's view of the network, loaded once; None where no backend is available (then whether
    the network is up is unknown, and the probe and the backoff decide alone)."""
    if not _network:
        loaded = QNetworkInformation.instance() is not None or \
            QNetworkInformation.loadDefaultBackend()
        info = QNetworkInformation.instance() if loaded else None
        if info is not None and not info.supports(QNetworkInformation.Feature.Reachability):
            info = None
        _network.append(info)
    return _network[0]


def _attention(status: dict[str, Any]) -> int:
    """What a person should look at: conflicts, refused changes, documents and keys set
    aside, colleagues whose key changed, and work kept for them (one item, as listed)."""
    return len(status["conflicts"]) + len(status["problems"]) + \
        len(status.get("set_aside", ())) + len(status.get("keys_set_aside", ())) + \
        len(status.get("keys_changed", ())) + _kept(status) + int(status.get("own_keys", 0))


def _kept(status: dict[str, Any]) -> int:
    """1 while anything is kept for its author: Needs attention lists it as one item."""
    return 1 if status.get("kept") else 0


def _not_counted(_: KnownError) -> None:
    """A count that could not be read (the profile locked meanwhile): the next one will be."""
