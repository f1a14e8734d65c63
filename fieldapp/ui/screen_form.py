"""The drug screen form: record a screen, read its revisions, add the lab's answer, correct it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QModelIndex, QSize, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.cases import Case
from fieldapp.domain.errors import KnownError
from fieldapp.domain.formats import day_text
from fieldapp.domain.people import CaseId, ScreenId, UserId, new_id
from fieldapp.domain.screens import (
    Attendance,
    DrugScreen,
    LabStatus,
    Method,
    ScreenReason,
    Specimen,
    Validity,
    results_to_enter,
    unconfirmed,
)
from fieldapp.domain.settings import ProgramSettings
from fieldapp.services.casework import CaseService
from fieldapp.services.screens import ScreenService
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import change, query
from fieldapp.ui.panel_model import (
    RESULT,
    AskDialog,
    CorrectionReasonDialog,
    LabResultDialog,
    PanelView,
    RevisionRow,
    button,
    choice,
    history_view,
    name_with_inner,
    revision_model,
)
from fieldapp.ui.screen_validity import (
    CallInBox,
    ReadingsBox,
    ResultsDelegate,
    ResultsModel,
    court_line,
    moment_field,
    read_moment,
    show_moment,
    validity_line,
)
from fieldapp.ui.tables import name_parts
from fieldapp.ui.widgets import fit_to_screen, labelled, message_label, set_error

_MARK_STYLE = "border: 2px solid #8c1d18; color: #8c1d18; padding: 6px; font-weight: bold;"
DESIGN_SIZE = QSize(720, 860)  # shrunk to fit a smaller screen: the fields scroll, not the buttons
_UNSET_MESSAGE = "Not saved: some results are not entered yet (listed under Results)."


@dataclass(frozen=True)
class _Loaded:
    case: Case
    settings: ProgramSettings
    history: list[DrugScreen]
    recorded_at: dict[int, datetime]


class ScreenForm(QDialog):
    """A new screen (editable), or an existing one: read-only, with its revisions.

    Signals:
        saved(str): the screen's id, after it was recorded, confirmed by lab or corrected.
    """

    saved = Signal(str)

    def __init__(self, ctx: UiContext, *, case_id: CaseId, screen_id: ScreenId | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._case_id, self._is_new = ctx, case_id, screen_id is None
        self._screen_id = screen_id or ScreenId(new_id())
        self._settings: ProgramSettings | None = None
        self._rows: list[RevisionRow] = []
        self._shown: DrugScreen | None = None
        self._original_time: datetime | None = None
        self._editing = self._working = False
        self.lab_dialog: LabResultDialog | None = None
        self.reason_dialog: CorrectionReasonDialog | None = None
        title = "New drug screen" if self._is_new else "Drug screen"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self._build_fields()
        self._build_buttons()
        self._lay_out()
        self.attendance.currentIndexChanged.connect(self._attendance_changed)
        self.reason.currentIndexChanged.connect(self._show_parts)
        self.specimen.currentIndexChanged.connect(self._show_parts)
        for combo in (self.method, self.validity):
            combo.currentIndexChanged.connect(self._refresh_mark)
        for changed in (self.panel_model.results_changed, self.readings.changed,
                        self.call_in.changed, self.collected_at.dateTimeChanged):
            changed.connect(self._refresh_mark)
        self.history.selectionModel().currentRowChanged.connect(self._revision_chosen)
        self.body.setEnabled(False)
        self.message.setText("Loading…")
        self._load()

    def _build_fields(self) -> None:
        self.person = QComboBox()
        self.person.setEditable(True)
        self.person.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        name_with_inner(self.person, "Person screened")
        self.collected_at = moment_field("Collected at, program time")
        self.reason = choice("Reason for the screen", ScreenReason)
        self.specimen = choice("Specimen", Specimen)
        self.attendance = choice("Attendance", Attendance)
        self.method = choice("Method", Method)
        self.validity = choice("Validity", Validity)
        self.observed = QCheckBox("&Observed collection")
        self.observed.setAccessibleName("Observed collection")
        self.chain_of_custody = QLineEdit()
        self.chain_of_custody.setAccessibleName("Chain-of-custody number")
        self.chain_of_custody.setPlaceholderText("Needed for lab screens")
        self.comments = QPlainTextEdit()
        self.comments.setTabChangesFocus(True)
        self.comments.setMaximumHeight(80)
        name_parts(self.comments, "Comments")
        self.panel_model = ResultsModel(self)
        self.panel = PanelView(self.panel_model)
        self.panel.setItemDelegateForColumn(RESULT, ResultsDelegate(self.panel))
        name_parts(self.panel, "Results")
        self.results_note = message_label("Results still to enter", lines=2)
        self.results_note.hide()
        self.history_model = revision_model(self)
        self.history = history_view(self.history_model)
        self.readings = ReadingsBox()
        self.call_in = CallInBox()
        self.validity_note = message_label("Measured validity", lines=2)
        self.mark = message_label("Confirmation status", lines=2)
        self.revision_note = message_label("Revision shown")
        self.message = message_label("Screen message", lines=2)

    def _build_buttons(self) -> None:
        self.save_button = button("&Save", "Save screen", self._save)
        self.lab_button = button("Record &lab result…", "Record lab result", self._ask_lab)
        self.correct_button = button("Co&rrect…", "Correct", self._start_correction)
        self.save_correction_button = button("&Save correction…", "Save correction",
                                             self._ask_reason)
        self.discard_button = button("Discard chan&ges", "Discard changes", self._discard)
        self.close_button = button("Close", "Close", self.reject)

    def _lay_out(self) -> None:
        grid = QGridLayout()
        pairs = [("&Person", self.person), ("Collected &at (program time)", self.collected_at),
                 ("Reaso&n", self.reason), ("Spec&imen", self.specimen),
                 ("Atten&dance", self.attendance), ("&Method", self.method),
                 ("Chain-of-&custody number", self.chain_of_custody),
                 ("&Validity", self.validity)]
        for at, (text, field) in enumerate(pairs):
            grid.addWidget(labelled(text, field), at // 2, at % 2)
        grid.addWidget(self.observed, len(pairs) // 2, 0)
        self.body = QWidget()
        column = QVBoxLayout(self.body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.mark)
        column.addLayout(grid)
        column.addWidget(self.call_in)
        column.addWidget(self.readings)
        column.addWidget(self.validity_note)
        column.addWidget(labelled("Resul&ts (type N, P or I on a row)", self.panel), 1)
        column.addWidget(self.results_note)
        column.addWidget(labelled("Comm&ents", self.comments))
        self.history_box = labelled("Revision &history", self.history)
        column.addWidget(self.history_box)
        column.addWidget(self.revision_note)
        buttons = QHBoxLayout()
        for each in (self.save_button, self.lab_button, self.correct_button,
                     self.save_correction_button, self.discard_button):
            buttons.addWidget(each)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        # The fields scroll rather than squeeze on a short laptop screen.
        self.details = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        scroll.setAccessibleName("Screen details")
        self.panel.setMinimumHeight(220)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.setMinimumSize(700, 560)
        fit_to_screen(self, DESIGN_SIZE)

    # Loading and showing

    def _load(self) -> None:
        case_id, screen_id, new = self._case_id, self._screen_id, self._is_new

        def load(ws: Workspace) -> _Loaded:
            case = CaseService(ws).get(case_id)
            if new:
                return _Loaded(case, ws.settings, [], {})
            screens = ScreenService(ws)
            return _Loaded(case, ws.settings, screens.history(screen_id),
                           screens.revision_times(screen_id))

        query(self._ctx, load, owner=self).done(self._loaded) \
            .failed(self._refused, after_failure=self._idle).run()

    def _loaded(self, loaded: _Loaded) -> None:
        self._settings = loaded.settings
        self.person.clear()
        self.person.addItems([parent.name for parent in loaded.case.parents])
        zone = loaded.settings.zone
        self.collected_at.setToolTip(f"Date and time in the program's time zone, {zone}.")
        self.call_in.set_zone(zone)
        self._rows = [RevisionRow.of(s, loaded.recorded_at.get(s.revision), zone)
                      for s in loaded.history]
        self.history_model.set_rows(self._rows)
        self.body.setEnabled(True)
        if self.message.text() == "Loading…":
            self.message.setText("")
        if self._is_new:
            self._set_time(self._ctx.clock())
            self.call_in.set_defaults(self._ctx.clock())
            self.panel_model.set_panel(loaded.settings.panel, {})  # nothing entered yet
            self._set_editing(True)
        else:
            self._set_editing(False)
            self.history.selectRow(len(self._rows) - 1)

    def _revision_chosen(self, current: QModelIndex, _: QModelIndex) -> None:
        if not current.isValid() or self._editing:
            return
        self._show(self._rows[current.row()].screen)
        total = len(self._rows)
        if current.row() == total - 1:
            self.revision_note.setText(f"Showing revision {total} of {total}, the current one.")
        else:
            self.revision_note.setText(
                f"Showing revision {current.row() + 1} of {total}, an earlier revision "
                "(read-only). Select the last row for the current one.")
        self._update_buttons()

    def _show(self, screen: DrugScreen) -> None:
        assert self._settings is not None
        self._shown = screen
        self.person.setEditText(screen.person)
        self._set_time(screen.collected_at)
        for combo, value in ((self.reason, screen.reason), (self.specimen, screen.specimen),
                             (self.attendance, screen.attendance), (self.method, screen.method),
                             (self.validity, screen.validity)):
            combo.setCurrentIndex(combo.findData(value))
        self.observed.setChecked(screen.observed)
        self.chain_of_custody.setText(screen.chain_of_custody)
        self.comments.setPlainText(screen.comments)
        self.panel_model.set_panel(screen.panel or self._settings.panel, screen.results)
        self._results_apply(screen.attendance is Attendance.COLLECTED)
        self.readings.set_readings(screen.readings)
        self.call_in.set_times(screen.notified_at, screen.due_by)
        self._show_parts()

    def _show_parts(self) -> None:
        """The call-in times for a random screen or a no-show; readings for collected urine."""
        self.call_in.show_for(random=self._random(), no_show=self._attendance() is
                              Attendance.NO_SHOW)
        self.readings.setVisible(self._takes_readings())
        self._refresh_mark()

    def _refresh_mark(self) -> None:
        screen = self._gather() if self._editing and self._settings else self._shown
        if screen is None:
            return
        self.panel_model.set_unconfirmed(unconfirmed(screen))
        court, warn = court_line(screen)
        lines = [court]
        if screen.lab is not None:
            on = f" on {day_text(screen.lab.on)}" if screen.lab.on else ""
            lines.append(f"Lab result: {screen.lab.status}{on}.")
        self.mark.setStyleSheet(_MARK_STYLE if warn else "")
        self.mark.setText("\n".join(lines))
        collected = screen.attendance is Attendance.COLLECTED
        note, disagree = validity_line(screen) if collected else ("", False)
        self.validity_note.setText(note)
        self.validity_note.setStyleSheet(_MARK_STYLE if disagree else "")
        if self._editing and self.results_note.text():
            self._show_waiting(results_to_enter(screen))

    def _set_editing(self, editing: bool) -> None:
        self._editing = editing
        collected = self._attendance() is Attendance.COLLECTED
        for widget in (self.person, self.reason, self.specimen, self.attendance, self.method,
                       self.validity, self.observed):
            widget.setEnabled(editing)
        for field in (self.collected_at, self.chain_of_custody, self.comments):
            field.setReadOnly(not editing)
        self.panel_model.set_editable(editing)
        self._results_apply(collected)
        self.readings.set_editable(editing)
        self.call_in.set_editable(editing)
        new, viewing = self._is_new, not self._is_new and not editing
        for each, visible in ((self.save_button, new), (self.lab_button, viewing),
                              (self.correct_button, viewing), (self.history_box, not new),
                              (self.save_correction_button, editing and not new),
                              (self.discard_button, editing and not new)):
            each.setVisible(visible)
        self.history.setEnabled(not editing)
        self._show_parts()
        self._update_buttons()

    def _update_buttons(self) -> None:
        latest = bool(self._rows) and self._shown is self._rows[-1].screen
        ready = self._settings is not None and not self._working
        self.save_button.setEnabled(ready)
        self.save_correction_button.setEnabled(ready)
        self.discard_button.setEnabled(ready)
        self.correct_button.setEnabled(ready and latest)
        self.lab_button.setEnabled(ready and latest and self._shown is not None
                                   and self._shown.attendance is Attendance.COLLECTED)

    # Editing

    def _attendance(self) -> Attendance:
        return Attendance(self.attendance.currentData())

    def _attendance_changed(self) -> None:
        if not self._editing:
            return
        collected = self._attendance() is Attendance.COLLECTED
        if not collected:
            self.panel_model.clear_results()
        self._results_apply(collected)  # back to collected: every result starts unset again
        self._show_parts()

    def _results_apply(self, collected: bool) -> None:
        self.panel.setEnabled(collected)
        self.panel_model.set_results_apply(collected)

    def _refuse_unset(self, screen: DrugScreen) -> bool:
        """Name the results still to enter beside the grid, and go to the first; True if any."""
        waiting = results_to_enter(screen)
        self._show_waiting(waiting)
        if waiting:
            set_error(self.message, _UNSET_MESSAGE)
            self.details.ensureWidgetVisible(self.results_note)
            self.panel.setCurrentIndex(self.panel_model.index(
                self.panel_model.panel.index(waiting[0]), RESULT))
            self.panel.setFocus()
        return bool(waiting)

    def _show_waiting(self, waiting: list[str]) -> None:
        text = f"Not saved: no result entered yet for {', '.join(waiting)}. Type N, P or I " \
            "on each of their rows." if waiting else ""
        set_error(self.results_note, text)
        self.results_note.setVisible(bool(text))
        if not text and self.message.text() == _UNSET_MESSAGE:
            set_error(self.message, "")

    def _random(self) -> bool:
        return ScreenReason(self.reason.currentData()) is ScreenReason.RANDOM

    def _takes_readings(self) -> bool:
        return self._attendance() is Attendance.COLLECTED \
            and Specimen(self.specimen.currentData()) is Specimen.URINE

    def _set_time(self, moment: datetime) -> None:
        self._original_time = moment
        show_moment(self.collected_at, moment, self._zone())

    def _collected_time(self) -> datetime:
        return read_moment(self.collected_at, self._zone(), self._original_time)

    def _zone(self) -> ZoneInfo:
        assert self._settings is not None
        return self._settings.zone

    def _gather(self) -> DrugScreen:
        """The screen as the fields now say."""
        collected = self._attendance() is Attendance.COLLECTED
        base = self._shown
        notified, due = self.call_in.times(told=self._random()) \
            if self._random() or self._attendance() is Attendance.NO_SHOW else (None, None)
        return DrugScreen(
            id=self._screen_id, case_id=self._case_id, person=self.person.currentText().strip(),
            collected_at=self._collected_time(), reason=ScreenReason(self.reason.currentData()),
            specimen=Specimen(self.specimen.currentData()), observed=self.observed.isChecked(),
            panel=self.panel_model.panel if collected else (),
            results=self.panel_model.results() if collected else {},
            validity=Validity(self.validity.currentData()), attendance=self._attendance(),
            method=Method(self.method.currentData()), lab=base.lab if base else None,
            chain_of_custody=self.chain_of_custody.text().strip(),
            comments=self.comments.toPlainText().strip(),
            recorded_by=base.recorded_by if base else UserId(""),
            readings=self.readings.readings() if self._takes_readings() else None,
            notified_at=notified, due_by=due)

    def _start_correction(self) -> None:
        self._set_editing(True)
        self.revision_note.setText("Correcting: change what was wrong, then Save correction.")
        self.person.setFocus()

    def _discard(self) -> None:
        self._set_editing(False)
        self._show_waiting([])
        set_error(self.message, "")
        self._revision_chosen(self.history.currentIndex(), QModelIndex())

    # Saving

    def _save(self) -> None:
        screen = self._gather()
        if self._refuse_unset(screen):
            return
        self._submit("Saving…", lambda screens: screens.record(screen), self._recorded)

    def _recorded(self, screen: DrugScreen) -> None:
        self._working = False
        self.saved.emit(screen.id)
        self.accept()

    def _ask_lab(self) -> None:
        self.lab_dialog = LabResultDialog(today=self._ctx.clock().astimezone(self._zone()).date(),
                                          parent=self)
        self.lab_dialog.submitted.connect(self._confirm_lab)
        self.lab_dialog.open()

    def _confirm_lab(self, status: LabStatus, on: date) -> None:
        screen_id = self._screen_id
        self._submit("Recording the lab result…",
                     lambda screens: screens.confirm_lab(screen_id, status=status, on=on),
                     self._revised)

    def _ask_reason(self) -> None:
        if self._refuse_unset(self._gather()):
            return
        self.reason_dialog = CorrectionReasonDialog(parent=self)
        self.reason_dialog.submitted.connect(self._correct)
        self.reason_dialog.open()

    def _correct(self, reason: str) -> None:
        corrected, screen_id = self._gather(), self._screen_id
        self._submit("Saving the correction…",
                     lambda screens: screens.correct(screen_id, corrected, reason=reason),
                     self._revised)

    def _revised(self, screen: DrugScreen) -> None:
        self._working = False
        for dialog in self._open_dialogs():
            dialog.accept()
        self._set_editing(False)
        self.message.setText(f"Saved as revision {screen.revision}.")
        self.saved.emit(screen.id)
        self._load()

    def _submit(self, text: str, call: Callable[[ScreenService], DrugScreen],
                done: Callable[[DrugScreen], None]) -> None:
        """Run one screen service call on the worker, once at a time."""
        if self._working:
            return
        self._working = True
        set_error(self.message, "")
        self.message.setText(text)
        self._update_buttons()
        change(self._ctx, lambda ws: call(ScreenService(ws)), owner=self).done(done) \
            .failed(self._refused, after_failure=self._idle).run()

    def _idle(self) -> None:
        self._working = False
        self._update_buttons()

    def _refused(self, error: KnownError) -> None:
        set_error(self.message, error.message)
        for dialog in self._open_dialogs():
            dialog.show_error(error.message)

    def _open_dialogs(self) -> list[AskDialog]:
        return [d for d in (self.lab_dialog, self.reason_dialog) if d and d.isVisible()]

