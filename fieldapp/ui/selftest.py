"""`fieldapp --self-test`: prove an installed app has every part it needs, without a real profile.

It runs offscreen (the caller sets `QT_QPA_PLATFORM=offscreen` before Qt loads) in a temporary
folder that is removed at the end, so IT can run it on a coordinator's laptop: the user's own
profile is never opened. One line per check on standard output; the first failure stops the run
with a plain message on standard error and exit status 1.

Thread rule: the UI thread only; the database worker runs synchronously here.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QLibraryInfo,
    QMessageLogContext,
    QtMsgType,
    qInstallMessageHandler,
    qVersion,
)
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtNetwork import QNetworkInformation
from PySide6.QtWidgets import QApplication

from fieldapp import __version__
from fieldapp.domain.clock import system_clock
from fieldapp.services.exports.job import PageFrame
from fieldapp.services.session import Session
from fieldapp.services.worker import DbWorker
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.resources import part2_notice, passphrase_blocklist
from fieldapp.ui.compose import build_window
from fieldapp.ui.pdf import html_to_pdf
from sync.client.http import authorities

BODY = {"narrative": "Self-test visit: nothing real.", "miles": "12.5", "present": ["nobody"]}
# The platform plugin each system's desktop needs (beside offscreen, which this run uses).
NATIVE_PLATFORM = {"linux": "xcb", "win32": "windows", "darwin": "cocoa"}


def run_self_test() -> int:
    """Run every check; 0 when all passed, 1 (with the reason on stderr) at the first failure."""
    previous_handler = qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "fieldapp"])
    folder = Path(tempfile.mkdtemp(prefix="fieldapp-self-test-"))
    paths, passphrase = ProfilePaths(folder / "profile"), secrets.token_urlsafe(24)
    checks: list[tuple[str, Callable[[], str]]] = [
        ("resources", _resources),
        ("vault", lambda: _vault(paths, passphrase)),
        ("tls", _tls),
        ("qt", _qt),
        ("window", lambda: _window(paths, passphrase)),
        ("pdf", _pdf),
    ]
    try:
        for name, check in checks:
            try:
                print(f"ok  {name:9} {check()}", flush=True)
            except Exception as exc:  # every failure is reported, plainly
                print(f"FieldApp {__version__} self-test failed at '{name}': "
                      f"{type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        qInstallMessageHandler(previous_handler)
        del app
    if folder.exists():
        print(f"FieldApp self-test could not remove {folder}.", file=sys.stderr)
        return 1
    print(f"ok  {'cleanup':9} temporary folder removed")
    print(f"FieldApp {__version__}: self-test passed.")
    return 0


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    # The offscreen plugin says this of every window; anything else Qt says is worth seeing.
    if "propagateSizeHints" not in message:
        print(f"Qt: {message}", file=sys.stderr)


def _resources() -> str:
    blocked, notice = passphrase_blocklist(), part2_notice()
    if not blocked or not notice.paragraphs or not notice.short:
        raise RuntimeError("the passphrase blocklist or the 42 CFR 2.32 notice is empty")
    return f"{len(blocked)} blocked passphrases; the 42 CFR 2.32 notice"


def _vault(paths: ProfilePaths, passphrase: str) -> str:
    """A profile made, a record sealed, the profile locked, unlocked again and the record read
    back: Argon2id, key wrapping, AES-256-GCM and SQLite, as the app uses them."""
    session = Session(paths, clock=system_clock)
    session.create(passphrase, name="Self Test")
    record_id = session.records().add(kind="self-test", body=BODY).id
    session.lock()
    again = Session(paths, clock=system_clock)
    again.unlock(passphrase)
    try:
        body = again.records().get(record_id).body
    finally:
        again.lock()
    if body != BODY:
        raise RuntimeError("the record read back differs from the one sealed")
    return f"record sealed and read back (Argon2id, AES-256-GCM, SQLite {sqlite3.sqlite_version})"


def _tls() -> str:
    """The context enrolment and sync use for https:// (httpx with certifi's CA bundle)."""
    loaded = authorities()
    if not loaded:
        raise RuntimeError("no certificate authorities loaded (certifi's bundle is missing)")
    return f"{loaded} certificate authorities loaded"


def _qt() -> str:
    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    native = NATIVE_PLATFORM.get(sys.platform)
    if native and not any(native in name for name in found):
        raise RuntimeError(f"the '{native}' platform plugin is missing from {folder}")
    families = len(QFontDatabase.families())
    if not families:
        raise RuntimeError("no fonts found (on Linux, install fontconfig and a font package)")
    backends = QNetworkInformation.availableBackends()  # sync's "the network is back" hint
    if not backends:
        raise RuntimeError("no network information plugin was found")
    return (f"Qt {qVersion()} on '{QGuiApplication.platformName()}'; platform plugin "
            f"'{native}' present; {families} font families; network information from "
            f"{', '.join(sorted(backends))}")


def _window(paths: ProfilePaths, passphrase: str) -> str:
    """The main window on the profile just made: unlocked as a person would, then every page
    of the workspace shown and drawn once (widgets, fonts, the mileage chart's QtCharts)."""
    composed = build_window(paths, clock=system_clock, worker=DbWorker(synchronous=True))
    window = composed.window
    try:
        window.show()
        page = window.unlock_page
        _wait_for(page.unlock_button.isEnabled, "the unlock page did not get ready")
        page.passphrase.setText(passphrase)
        page.unlock_button.click()
        _wait_for(lambda: window.workspace is not None, "the profile did not open in the window")
        workspace = window.workspace
        assert workspace is not None
        drawn = []
        for index in range(workspace.count()):
            workspace.setCurrentIndex(index)
            QApplication.processEvents()
            if window.grab().toImage().isNull():
                raise RuntimeError(f"the page '{workspace.tabText(index)}' could not be drawn")
            drawn.append(workspace.tabText(index).replace("&", ""))
        return f"main window unlocked; pages drawn: {', '.join(drawn)}"
    finally:
        window.close()
        composed.shut_down()
        window.deleteLater()


def _wait_for(condition: Callable[[], bool], failure: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(failure)
        QApplication.processEvents()
        time.sleep(0.01)


def _pdf() -> str:
    """A one-page report through the exporter's own PDF writer (QPdfWriter and fonts)."""
    frame = PageFrame(heading="FieldApp self-test", subheading="Nothing real",
                      footer=f"FieldApp {__version__}", short_notice=part2_notice().short)
    data = html_to_pdf("<h1>Self-test</h1><p>Visit note, drug screen, 12.5 miles.</p>", frame)
    if not data.startswith(b"%PDF-") or b"/FontFile" not in data:
        raise RuntimeError("the PDF writer produced no PDF, or one without fonts")
    return f"PDF written ({len(data):,} bytes, fonts embedded)"
