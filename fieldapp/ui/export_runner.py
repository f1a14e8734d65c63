"""One export at a time, off the UI thread, with progress and cancel.

Thread rule: the runner lives on the UI thread. The export runs on a QThread of its own
(`fieldapp-export`; a QThread, not a Python thread, because Qt's text layout starts timers,
which need the thread's event dispatcher): reading and opening the records is sent to the
database worker with `DbWorker.call` (so it waits behind, never beside, other database work), the
layout and the PDF are made on the export thread, and the file is written there. The audit
entry goes back to the database worker; if it cannot be written the file is removed. Results
reach the UI thread as queued signals. A cancel is seen between rows and between pages;
nothing is written before the whole file is ready, so a cancelled export leaves no file behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from PySide6.QtCore import QObject, QThread, Signal

from fieldapp.domain.errors import KnownError
from fieldapp.domain.exports import ExportCancelled, ExportRequest
from fieldapp.services.exports import job
from fieldapp.services.exports.collect import Report, collect
from fieldapp.ui.context import UiContext
from fieldapp.ui.pdf import html_to_pdf

log = logging.getLogger(__name__)


class _Thread(QThread):
    def __init__(self, work: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._work = work
        self.setObjectName("fieldapp-export")

    def run(self) -> None:
        self._work()


class ExportRunner(QObject):
    """Runs `request` into `path`.

    Signals:
        progressed(str, int, int): what is happening, done, total (emitted on the export
            thread; queued to the UI thread).
        finished(object): the `Exported` file, after its audit entry was written (and the
            task runner's `records_changed`: a disclosure is a record).
        failed(str): a plain message; nothing was left behind.
        cancelled: the person stopped it; nothing was written.
    """

    progressed = Signal(str, int, int)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    # Runners whose thread is still going: a runner outlives the dialog that started it (closed,
    # or deleted with the workspace at a lock) until its thread has ended.
    _live: ClassVar[set[ExportRunner]] = set()

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self._ctx = ctx
        self._cancel = threading.Event()
        self._thread: _Thread | None = None
        # A bound slot: queued to this runner's thread (the UI thread), as pages expect.
        self.finished.connect(self._announce)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, request: ExportRequest, path: Path) -> None:
        if self.running:
            raise RuntimeError("an export is already running")
        cancel = self._cancel = threading.Event()
        self._thread = _Thread(lambda: self._run(request, path, cancel), self)
        self._thread.finished.connect(lambda: ExportRunner._live.discard(self))
        ExportRunner._live.add(self)
        self._thread.start()

    def _announce(self, _: object) -> None:
        self._ctx.runner.records_changed.emit()

    def cancel(self) -> None:
        self._cancel.set()

    @classmethod
    def stop_all(cls, timeout_ms: int = 10_000) -> None:
        """Cancel every export and wait for each to end (the app is closing)."""
        for runner in list(cls._live):
            runner.cancel()
            runner.join(timeout_ms)

    def join(self, timeout_ms: int = 60_000) -> bool:
        """Wait for the thread (tests, and closing the window after `cancel`)."""
        return self._thread is None or self._thread.wait(timeout_ms)

    def _run(self, request: ExportRequest, path: Path, cancel: threading.Event) -> None:
        try:
            exported = self._export(request, path, cancel)
        except ExportCancelled:
            self.cancelled.emit()
        except KnownError as exc:
            self.failed.emit(exc.message)
        except Exception:
            log.exception("export failed")
            self.failed.emit("The export failed because of a fault in FieldApp; nothing was "
                             "written. The log has the details (never the records).")
        else:
            self.finished.emit(exported)

    def _export(self, request: ExportRequest, path: Path, cancel: threading.Event
                ) -> job.Exported:
        session, worker = self._ctx.session, self._ctx.runner.worker
        self.progressed.emit("Reading the records", 0, 0)
        report: Report = worker.call(lambda: collect(session.workspace(), request))
        if cancel.is_set():
            raise ExportCancelled()
        what = "Laying out pages" if request.fmt.value == "pdf" else "Writing rows"
        self.progressed.emit(what, 0, 0)
        data = job.render(report, request.fmt, pdf=html_to_pdf,
                          progress=lambda done, total: self.progressed.emit(what, done, total),
                          cancelled=cancel.is_set)
        if cancel.is_set():
            raise ExportCancelled()
        self.progressed.emit("Saving the file", 0, 0)
        exported = job.write(path, data, records=job.records_in(report))
        try:
            worker.call(lambda: job.record(session.workspace(), request, report, exported))
        except BaseException:
            job.withdraw(exported)
            raise
        return exported
