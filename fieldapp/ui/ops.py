"""The one way from a screen to the vault: a query or a change, run on the database worker.

    query(ctx, lambda ws: NoteService(ws).get(note_id), owner=self) \\
        .done(self._show).shown_in(self.message).run()
    change(ctx, lambda ws: NoteService(ws).sign(note_id), owner=self) \\
        .done(self._signed).shown_in(self.message, after_failure=self._enable).run()

The callable gets the open profile's `Workspace` on the worker (or the `Session`, for work on
the profile itself: unlock, lock, back up; or nothing, for work on the profiles folder). Its
answer comes back on the UI thread, in order, and is dropped if `owner` was deleted meanwhile.
An error a person can act on (`KnownError`) is shown in the label given to `shown_in`; anything
else is a bug and is raised. A change that succeeds is announced by the runner's
`records_changed`, which every page that lists records follows (`follow_changes`).

Thread rule: build and run operations on the UI thread; the callable runs on the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from fieldapp.domain.errors import KnownError
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.tasks import TaskRunner
from fieldapp.ui.widgets import set_error

T = TypeVar("T")


def _ignore(_: object) -> None:
    pass


class Op(Generic[T]):
    """One piece of work for the database worker and what the UI does with its answer.

    Built by `query`, `change`, `on_profile` or `on_files`; configured by chaining; sent by
    `run()`. Without `shown_in` or `failed`, every error is raised (a page that cannot fail in
    a way a person could act on).
    """

    def __init__(self, runner: TaskRunner, work: Callable[[], T], *, owner: QObject,
                 changes: bool) -> None:
        self._runner, self._work, self._owner, self._changes = runner, work, owner, changes
        self._done: Callable[[T], None] = _ignore
        self._label: QLabel | None = None
        self._after_failure: Callable[[], None] | None = None
        self._failed: Callable[[KnownError], None] | None = None
        self._arrived: Callable[[], None] | None = None
        self._settled: Callable[[], None] | None = None

    def done(self, on_done: Callable[[T], None]) -> Op[T]:
        """Call `on_done(result)` on the UI thread when the work succeeded."""
        self._done = on_done
        return self

    def shown_in(self, label: QLabel, *, after_failure: Callable[[], None] | None = None
                 ) -> Op[T]:
        """A `KnownError` is shown in `label`, as an error.

        `after_failure()` (enabling the buttons again) runs first on any failure, a bug too
        (before it is raised): a window never stays disabled.
        """
        self._label, self._after_failure = label, after_failure
        return self

    def failed(self, on_known: Callable[[KnownError], None], *,
               after_failure: Callable[[], None] | None = None) -> Op[T]:
        """A `KnownError` goes to `on_known` instead of a label (a page that says more or
        does something else); `after_failure` as for `shown_in`."""
        self._failed, self._after_failure = on_known, after_failure
        return self

    def arrived(self, hook: Callable[[], None]) -> Op[T]:
        """Call `hook()` first when the answer arrives, whatever it is, a bug included (a
        window counting its work in flight)."""
        self._arrived = hook
        return self

    def settled(self, hook: Callable[[], None]) -> Op[T]:
        """Call `hook()` after `done` or the failure was handled (not after a bug)."""
        self._settled = hook
        return self

    def run(self) -> None:
        """Submit the work; configure nothing after this."""
        presents = self._label is not None or self._failed is not None
        self._runner.run(self._work, on_success=self._succeeded,
                         on_error=self._present if presents or self._arrived else None,
                         owner=self._owner, changes=self._changes)

    def _succeeded(self, result: T) -> None:
        if self._arrived is not None:
            self._arrived()
        self._done(result)
        if self._settled is not None:
            self._settled()

    def _present(self, error: BaseException) -> None:
        if self._arrived is not None:
            self._arrived()
        if self._after_failure is not None:
            self._after_failure()
        if not isinstance(error, KnownError) or (self._label is None and self._failed is None):
            raise error
        if self._failed is not None:
            self._failed(error)
        else:
            assert self._label is not None
            set_error(self._label, error.message)
        if self._settled is not None:
            self._settled()


def query(ctx: UiContext, read: Callable[[Workspace], T], *, owner: QObject) -> Op[T]:
    """`read(workspace)` on the worker; it writes nothing, so nothing is announced."""
    session = ctx.session
    return Op(ctx.runner, lambda: read(session.workspace()), owner=owner, changes=False)


def change(ctx: UiContext, write: Callable[[Workspace], T], *, owner: QObject) -> Op[T]:
    """`write(workspace)` on the worker; its success is announced by `records_changed`."""
    session = ctx.session
    return Op(ctx.runner, lambda: write(session.workspace()), owner=owner, changes=True)


def on_profile(runner: TaskRunner, session: Session, work: Callable[[Session], T], *,
               owner: QObject, changes: bool = False) -> Op[T]:
    """`work(session)` on the worker: work on the profile itself (create, unlock, lock, back up,
    restore, its settings, its sync replica). `changes`: it writes records."""
    return Op(runner, lambda: work(session), owner=owner, changes=changes)


def on_files(runner: TaskRunner, work: Callable[[], T], *, owner: QObject) -> Op[T]:
    """`work()` on the worker: work on the profiles folder, outside any open vault."""
    return Op(runner, work, owner=owner, changes=False)


class Follower(QObject):
    """A page's ear for `records_changed`: its child, so it goes when the page goes.

    After a change the page reads again once: at the next turn of the event loop if it is on
    screen in the active window and nothing is in flight (so a read never overtakes an answer
    on its way), otherwise when it is there again (a page behind a dialog or a note autosaving
    as it is typed, or on another tab, whose showing reads it anyway). A page that reads
    itself after its own change does so through `reload`, which settles the change: one read
    per change, never two (a second `loaded` used to arrive after the person's next action).
    """

    def __init__(self, runner: TaskRunner, page: QWidget, refresh: Callable[[], Any]) -> None:
        super().__init__(page)
        self._runner, self._page, self._refresh = runner, page, refresh
        self._stale = False
        self._watched: QWidget | None = None
        runner.busy_changed.connect(self._busy_changed)

    def reload(self) -> None:
        """Read now: the page's own read after its own change (or any other reason)."""
        self._read()

    def changed(self) -> None:
        self._stale = True
        window = self._page.window()  # a page is put in its window after it is made
        if window is not self._watched:
            if self._watched is not None and shiboken6.isValid(self._watched):
                self._watched.removeEventFilter(self)
            window.installEventFilter(self)
            self._watched = window
        # After the change's own answer has been handled, which may read already (`reload`).
        QTimer.singleShot(0, self, self._catch_up)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.WindowActivate:
            self._catch_up()
        return False

    def _busy_changed(self, busy: bool) -> None:
        if not busy:
            self._catch_up()

    def _catch_up(self) -> None:
        if self._stale and not self._runner.busy and self._in_sight():
            self._read()

    def _in_sight(self) -> bool:
        return self._page.isVisible() and self._page.isActiveWindow()

    def _read(self) -> None:
        self._stale = False
        self._refresh()


def follow_changes(ctx: UiContext, page: QWidget, refresh: Callable[[], Any]) -> Follower:
    """Call `refresh()` once after every change anywhere, once `page` is where the person
    works; a page that reads itself after a change of its own calls the follower's `reload`."""
    follower = Follower(ctx.runner, page, refresh)
    ctx.runner.records_changed.connect(follower.changed)
    return follower
