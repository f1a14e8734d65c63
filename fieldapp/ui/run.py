"""Start the desktop client."""

from __future__ import annotations

import os
import signal
import socket
import sys
from types import TracebackType

from PySide6.QtCore import QEvent, QLocale, QObject, QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from fieldapp import __version__
from fieldapp.domain.clock import Clock, system_clock
from fieldapp.domain.formats import set_style
from fieldapp.domain.people import Role
from fieldapp.storage.paths import ProfilePaths
from fieldapp.ui.collector import GarbageCollector
from fieldapp.ui.compose import build_window
from fieldapp.ui.date_style import date_style
from fieldapp.ui.export_runner import ExportRunner
from fieldapp.ui.palette import follow_color_scheme

# bench/startup.py sets it: once the first page (the unlock page, for an existing profile) has
# been painted, its class name is printed and the app quits. Unset, nothing of the probe runs.
STARTUP_PROBE = "FIELDAPP_STARTUP_PROBE"
_KEPT: list[object] = []


def run_gui(paths: ProfilePaths, *, clock: Clock = system_clock, demo: Role | None = None,
            home: ProfilePaths | None = None) -> int:
    """Show the window until it is closed; then lock the profile and stop the worker.

    With `demo`, open (or make) the demo profile beside the real one straight away. `home` is
    the default profile, beside which the other profiles (and the demos) live; `paths` if None.
    """
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("FieldApp")
    app.setApplicationVersion(__version__)
    # Fusion follows the system's light or dark palette and draws a clear keyboard-focus frame
    # on every platform.
    app.setStyle("Fusion")
    follow_color_scheme(app)
    GarbageCollector(app)  # cyclic garbage is freed on this thread, never on a worker
    # Before any page or worker exists: every screen and PDF writes dates as this locale does.
    set_style(date_style(QLocale.system()))
    composed = build_window(paths, clock=clock, demo_paths=demo_profile(home or paths),
                            home=home or paths)
    window = composed.window
    _show_unexpected_errors(window, paths)
    _close_on_terminate(app, window)
    window.show()
    if os.environ.get(STARTUP_PROBE):
        _probe_startup(app, window.pages.currentWidget() or window)
    if demo is not None:
        window.open_demo(demo)
    try:
        return app.exec()
    finally:
        ExportRunner.stop_all()  # a cancelled export ends at its next page or row
        composed.shut_down()


def _close_on_terminate(app: QApplication, window: QWidget) -> None:
    """SIGTERM and SIGHUP (a logout, a shutdown, `kill`) close the window as the person would:
    editors save, the sync stops, the profile locks and backs up. Python runs a signal handler
    only between its own bytecodes, so the signal's wake-up byte is watched by Qt's event loop,
    which then runs a little Python and with it the handler."""
    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)
    notifier.activated.connect(lambda: reader.recv(64))
    for name in ("SIGTERM", "SIGHUP"):  # no SIGHUP on Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: QTimer.singleShot(0, window.close))
    _KEPT.extend((reader, writer, notifier))  # both ends stay open while the app runs
    app.aboutToQuit.connect(lambda: signal.set_wakeup_fd(-1))


def demo_profile(paths: ProfilePaths) -> ProfilePaths:
    """The demo lives beside the real profile, never in it: the coordinator's here, the other
    roles' beside it (`fieldapp.services.demo.demo_paths`)."""
    return ProfilePaths(paths.root.with_name(paths.root.name + "-demo"))


def _show_unexpected_errors(parent: QWidget, paths: ProfilePaths) -> None:
    """A bug in a callback is logged (by the hook installed at start-up) and told plainly."""
    logged = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        logged(kind, error, tb)
        QMessageBox.critical(
            parent, "Unexpected problem",
            "FieldApp ran into a problem it did not expect. What you had saved is safe. "
            f"Details were written to the log in {paths.logs}; please pass it on to support.")

    sys.excepthook = hook


class _FirstPaint(QObject):
    """The startup probe: on the page's first paint, say so and quit."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            print(f"{STARTUP_PROBE}: {type(watched).__name__} painted", flush=True)
            QApplication.exit(0)  # after this paint and its flush
        return False


def _probe_startup(app: QApplication, page: QWidget) -> None:
    page.installEventFilter(_FirstPaint(app))  # the app owns (and keeps) the filter
