"""Export a report: which one, for whom, over which period, as PDF or CSV, and where.

The dialog says before anything is written that the file will not be encrypted. The file name
is chosen in the system's save dialog (which asks before replacing a file); the export then runs
on its own thread (`ExportRunner`) with progress and a Cancel button, and the dialog stays open
to say what was saved where.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QStandardPaths, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.errors import KnownError
from fieldapp.domain.exports import (
    ExportFormat,
    ExportRequest,
    ReportKind,
    ScopeKind,
    last_three_years,
)
from fieldapp.domain.people import CaseId, UserId
from fieldapp.services.exports.collect import ExportChoices, export_choices
from fieldapp.services.exports.job import UNENCRYPTED_WARNING, Exported
from fieldapp.ui.context import UiContext
from fieldapp.ui.disclosure_terms import DisclosureTerms
from fieldapp.ui.export_runner import ExportRunner
from fieldapp.ui.models import CheckListModel
from fieldapp.ui.ops import query
from fieldapp.ui.review_dialogs import push_button
from fieldapp.ui.tables import name_parts
from fieldapp.ui.widgets import heading, message_label, paragraph, set_error

PERIODS = ("Last month", "This month so far", "Last 3 months", "Choose the dates",
           "Last 3 years")
SCOPES = {ScopeKind.TEAM: "My team", ScopeKind.WORKER: "One worker",
          ScopeKind.CASES: "Chosen cases"}


def choose_path(parent: QWidget, suggested: Path, fmt: ExportFormat) -> Path | None:
    """The system's save dialog; None if the person cancels. (Tests replace this.)"""
    pattern = "PDF document (*.pdf)" if fmt is ExportFormat.PDF else "CSV spreadsheet (*.csv)"
    chosen, _ = QFileDialog.getSaveFileName(parent, "Save the export as", str(suggested),
                                            pattern)
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix.lower() == f".{fmt}" else path.with_name(f"{path.name}.{fmt}")


def start_folder(remembered: Path | None) -> Path:
    """Where the save dialog opens: the folder chosen last in this run of the app, else the
    person's Documents folder, else their home folder; never the app's working folder, where
    an unencrypted Part 2 file would be saved without anyone meaning to. A folder that does not
    exist (no Documents folder on this computer) is passed over: the system's dialog would
    open in the working folder instead."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    for folder in (remembered, Path(documents) if documents else None):
        if folder is not None and folder.is_dir():
            return folder
    return Path.home()


def period_of(preset: int, today: date) -> tuple[date, date]:
    first_of_month = today.replace(day=1)
    if preset == 1:
        return first_of_month, today
    if preset == 4:
        return last_three_years(today), today
    last = first_of_month - timedelta(days=1)
    first = last.replace(day=1)
    if preset == 2:
        first = (first - timedelta(days=1)).replace(day=1)
        first = (first - timedelta(days=1)).replace(day=1)
    return first, last


class ExportDialog(QDialog):
    """Attributes:
    runner: the export in progress (tests wait on its signals).
    saved_to: the file the last export wrote, for "Show in folder".
    """

    folder: Path | None = None  # the last folder used, for this run of the app

    def __init__(self, ctx: UiContext, *, kind: ReportKind = ReportKind.VISIT_LOG,
                 case_id: str | None = None, person: str = "",
                 open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
                 parent: QWidget | None = None) -> None:
        """`open_url` shows a folder in the system's file manager (tests pass their own)."""
        super().__init__(parent)
        self._open_url = open_url
        self.saved_to: Path | None = None
        self.setWindowTitle("Export a report")
        self.setAccessibleName("Export a report")
        self.setMinimumWidth(980)
        self._ctx = ctx
        self._choices: ExportChoices | None = None
        self._preset_case = case_id
        self.runner = ExportRunner(ctx)
        self._build(kind)
        self.person.setText(person)
        if kind is ReportKind.ACCOUNTING and person:  # usually asked for by the person
            self.terms_box.preset(Recipient(name=person, kind=RecipientKind.PATIENT),
                                  purpose="the person asked for the list of disclosures")
        self._wire()
        query(ctx, export_choices, owner=self).done(self._offer).shown_in(
            self.message, after_failure=lambda: self.export_button.setEnabled(False)).run()

    def _build(self, kind: ReportKind) -> None:
        self.report = QComboBox()
        for k in ReportKind:
            self.report.addItem(k.label, k)
        self.report.setCurrentIndex(list(ReportKind).index(kind))
        self.scope = QComboBox()
        self.worker = QComboBox()
        self.cases_model = CheckListModel(self)
        self.cases = QListView()
        self.cases.setModel(self.cases_model)
        self.cases.setMinimumHeight(120)
        name_parts(self.cases, "Cases to export")
        self.period = QComboBox()
        self.period.addItems(PERIODS)
        self.first, self.last = QDateEdit(), QDateEdit()
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
        self.pdf, self.csv = QRadioButton("&PDF, to print or send"), QRadioButton(
            "CS&V, for Excel or LibreOffice")
        self.pdf.setChecked(True)
        self.formats = QButtonGroup(self)
        for button in (self.pdf, self.csv):
            self.formats.addButton(button)
        self.person = QLineEdit()
        self.person.setPlaceholderText("Everyone in the chosen case")
        self.terms_box = DisclosureTerms()
        self._name_fields()
        self.message = message_label("Export message", lines=3)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Export progress")
        self.progress.hide()
        self.export_button = push_button("&Export…", "Export")
        self.export_button.setDefault(True)
        self.cancel_button = push_button("&Cancel export")
        self.cancel_button.hide()
        self.close_button = push_button("Close")
        self.show_folder_button = push_button("Sh&ow in folder")
        self.show_folder_button.setToolTip("Open the folder the export was saved in")
        self.show_folder_button.hide()
        self._lay_out()

    def _name_fields(self) -> None:
        for widget, name in ((self.report, "Report"), (self.scope, "Covering"),
                             (self.worker, "Worker"), (self.period, "Period"),
                             (self.first, "From"), (self.last, "To"),
                             (self.pdf, "PDF"), (self.csv, "CSV"),
                             (self.person, "Person (accounting of disclosures)")):
            widget.setAccessibleName(name)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("&Report", self.report)
        form.addRow("Co&vering", self.scope)
        form.addRow("&Worker", self.worker)
        form.addRow("Ca&ses", self.cases)
        form.addRow("Perio&d", self.period)
        dates = QHBoxLayout()
        dates.addWidget(self.first)
        dates.addWidget(self.last)
        dates_label = QLabel("&From / to")
        dates_label.setBuddy(self.first)
        form.addRow(dates_label, dates)
        form.addRow("Perso&n", self.person)
        formats = QVBoxLayout()
        formats.addWidget(self.pdf)
        formats.addWidget(self.csv)
        form.addRow("Format", formats)
        warning = paragraph(UNENCRYPTED_WARNING, name="Not encrypted")
        warning.setStyleSheet("background: #fff4ce; color: #3d3000; border-radius: 4px; "
                              "padding: 6px;")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.show_folder_button, self.cancel_button, self.export_button,
                       self.close_button):
            buttons.addWidget(button)
        # What goes in the file on the left, who it is for on the right: side by side the
        # dialog fits a laptop's screen without squeezing the case list.
        columns = QHBoxLayout()
        columns.addLayout(form, 1)
        right = QVBoxLayout()
        right.addWidget(self.terms_box)
        right.addWidget(warning)
        right.addStretch(1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Export a report"))
        layout.addLayout(columns)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    def _wire(self) -> None:
        self.scope.currentIndexChanged.connect(lambda _: self._show_scope())
        self.scope.currentIndexChanged.connect(lambda _: self._offer_recipients())
        self.cases_model.dataChanged.connect(lambda *_: self._offer_recipients())
        self.cases_model.modelReset.connect(self._offer_recipients)
        self.report.currentIndexChanged.connect(lambda _: self._offer_scopes())
        self.period.currentIndexChanged.connect(self._preset)
        for edit in (self.first, self.last):
            edit.userDateChanged.connect(lambda _: self.period.setCurrentIndex(3))
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.close_button.clicked.connect(self.reject)
        self.show_folder_button.clicked.connect(self.show_folder)
        self.runner.progressed.connect(self._progressed)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._stopped)
        self.runner.cancelled.connect(
            lambda: self._stopped("The export was cancelled; no file was written."))

    def _offer(self, choices: ExportChoices) -> None:
        self._choices = choices
        self.worker.clear()
        for user_id, name in choices.workers:
            self.worker.addItem(name, user_id)
        self.cases_model.set_items(list(choices.cases))
        if self._preset_case:
            self.cases_model.set_checked([self._preset_case])
        self._offer_recipients()
        self._offer_scopes()
        if self._preset_case:
            self.scope.setCurrentIndex(max(self.scope.findData(ScopeKind.CASES), 0))
        # A person's accounting covers the disclosures of the past three years (42 CFR 2.24).
        self.period.setCurrentIndex(4 if self._kind() is ReportKind.ACCOUNTING else 0)
        self._preset(self.period.currentIndex())
        if not choices.cases and not choices.workers:
            set_error(self.message, "There is nothing you may export: no cases are on your "
                                    "caseload.")
            self.export_button.setEnabled(False)

    def _offer_scopes(self) -> None:
        if self._choices is None:
            return
        wanted = self.scope.currentData()  # Qt hands enum data back as plain strings
        self.scope.blockSignals(True)
        self.scope.clear()
        mileage = self._kind() is ReportKind.MILEAGE
        for kind, text in SCOPES.items():
            if kind is ScopeKind.TEAM and not self._choices.supervisor:
                continue
            if kind is ScopeKind.CASES and mileage:
                continue
            if kind is not ScopeKind.CASES and self._kind() is ReportKind.ACCOUNTING:
                continue
            label = text if kind is not ScopeKind.WORKER or self._choices.supervisor \
                else "My own work"
            self.scope.addItem(label, kind)
        index = self.scope.findData(wanted)
        self.scope.setCurrentIndex(max(index, 0))
        self.scope.blockSignals(False)
        self._show_scope()

    def _offer_recipients(self) -> None:
        """The recipients consents name, for the chosen cases when cases are chosen."""
        if self._choices is None:
            return
        chosen = set(self.cases_model.checked())
        self.terms_box.offer([
            k for k in self._choices.recipients
            if self._scope() is not ScopeKind.CASES or k.case_ids & chosen])

    def _kind(self) -> ReportKind:
        return ReportKind(self.report.currentData())

    def _scope(self) -> ScopeKind:
        data = self.scope.currentData()
        return ScopeKind(data) if data else ScopeKind.WORKER

    def _show_scope(self) -> None:
        kind = self._scope()
        self.worker.setEnabled(kind is ScopeKind.WORKER and self.worker.count() > 1)
        self.cases.setEnabled(kind is ScopeKind.CASES)
        self.person.setEnabled(self._kind() is ReportKind.ACCOUNTING)

    def _preset(self, index: int) -> None:
        if index == 3 or self._choices is None:
            return
        first, last = period_of(index, self._choices.today)
        for edit, day in ((self.first, first), (self.last, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)

    def request(self) -> ExportRequest:
        """What the form says; `RuleViolation` names what is missing."""
        scope = self._scope()
        return ExportRequest(
            kind=self._kind(), scope=scope,
            first_day=self.first.date().toPython(),  # type: ignore[arg-type]
            last_day=self.last.date().toPython(),  # type: ignore[arg-type]
            fmt=ExportFormat.CSV if self.csv.isChecked() else ExportFormat.PDF,
            worker_id=UserId(self.worker.currentData()) if scope is ScopeKind.WORKER
            and self.worker.currentData() else None,
            case_ids=tuple(CaseId(c) for c in self.cases_model.checked())
            if scope is ScopeKind.CASES else (),
            terms=self.terms_box.terms(),
            person=self.person.text().strip() if self._kind() is ReportKind.ACCOUNTING else "")

    def start(self) -> None:
        try:
            request = self.request()
        except KnownError as exc:
            set_error(self.message, exc.message)
            return
        path = choose_path(self, start_folder(ExportDialog.folder) / request.file_name(),
                           request.fmt)
        if path is None:
            return
        ExportDialog.folder = path.parent
        set_error(self.message, "")
        self.message.setText(f"Exporting to {path}…")
        self._running(True)
        self.runner.start(request, path)

    def _running(self, running: bool) -> None:
        if running:
            self.show_folder_button.hide()
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        self.cancel_button.setVisible(running)
        self.export_button.setEnabled(not running)
        self.close_button.setEnabled(not running)
        if running:
            self.cancel_button.setFocus()

    def _progressed(self, what: str, done: int, total: int) -> None:
        self.progress.setFormat(f"{what}: %v of %m" if total else what)
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _finished(self, exported: Exported) -> None:
        self._running(False)
        self.message.setStyleSheet("")
        self.message.setText(
            f"Saved {exported.records} record(s) to {exported.path}. The file is not "
            "encrypted; the export is recorded in the audit log and in the accounting of "
            "disclosures.")
        self.saved_to = exported.path
        self.show_folder_button.show()
        self.close_button.setFocus()

    def show_folder(self) -> None:
        """The folder the export was saved in, in the system's file manager."""
        if self.saved_to is not None:
            self._open_url(QUrl.fromLocalFile(str(self.saved_to.parent)))

    def _stopped(self, message: str) -> None:
        self._running(False)
        set_error(self.message, message)

    def done(self, result: int) -> None:
        """Closing the dialog (Esc, Close, the window's X, or a lock) stops a running export."""
        if self.runner.running:
            self.runner.cancel()
        super().done(result)

