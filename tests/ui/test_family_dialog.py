"""A supervisor opens a new family, and changes one (reassigns, closes it), through the widgets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from fieldapp.domain.cases import PHONE_PROBLEM, Case, CaseStatus
from fieldapp.domain.people import Role, UserId
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.ui.case_page import CasePage
from fieldapp.ui.caseload_page import CaseloadPage
from fieldapp.ui.context import UiContext
from fieldapp.ui.family_dialog import NO_TEAM, NOT_ASSIGNED, FamilyDialog
from fieldapp.ui.main_window import MainWindow
from tests.scanning import found_in
from tests.services.records_helpers import make_case, services_of
from tests.ui.conftest import ContextFactory, WindowFactory
from tests.ui.test_accessibility import unnamed_controls
from tests.ui.test_profile_flow import create_profile

LEFT = Qt.MouseButton.LeftButton
W = TypeVar("W", bound=QWidget)


def named(root: QWidget, kind: type[W], name: str) -> W:
    """The one visible control of `kind` called `name` (its accessible name) under `root`."""
    found = [w for w in root.findChildren(kind) if w.accessibleName() == name and w.isVisible()]
    assert len(found) == 1, f"{len(found)} visible {kind.__name__} named {name!r}"
    return found[0]


def click(qtbot: QtBot, root: QWidget, name: str) -> None:
    qtbot.mouseClick(named(root, QPushButton, name), LEFT)


def type_into(qtbot: QtBot, root: QWidget, name: str, text: str) -> None:
    field = named(root, QLineEdit, name)
    field.setFocus()
    qtbot.keyClicks(field, text)


def open_new_family(qtbot: QtBot, page: CaseloadPage) -> FamilyDialog:
    click(qtbot, page, "New family")
    dialog = page.family_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.isEnabled(), timeout=10_000)
    return dialog


def save(qtbot: QtBot, page: CaseloadPage, dialog: FamilyDialog) -> None:
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: page.selected_case() is not None, timeout=10_000)


def type_alder(qtbot: QtBot, dialog: FamilyDialog) -> None:
    type_into(qtbot, dialog, "Family name", "Alder")
    type_into(qtbot, dialog, "Parent 1 name", "Dana Alder")
    type_into(qtbot, dialog, "Parent 1 relationship", "Mother")
    click(qtbot, dialog, "Add child")
    type_into(qtbot, dialog, "Child 1 name", "Kai Alder")
    type_into(qtbot, dialog, "Child 1 details", "Age 4")
    address = named(dialog, QPlainTextEdit, "Address and directions")
    address.setFocus()
    qtbot.keyClicks(address, "12 Elm St, Joliet; blue door at the back")


def supervisor_window(qtbot: QtBot, make_window: WindowFactory) -> MainWindow:
    window = make_window()
    role = window.create_page.role
    role.setCurrentIndex(role.findText("Supervisor"))
    create_profile(qtbot, window)
    assert window.workspace is not None
    window.workspace.setCurrentWidget(window.workspace.caseload)
    return window


def cases_of(window: MainWindow) -> list[Case]:
    session = window.current_session()
    worker = window._runner.worker
    return worker.call(lambda: [r.case for r in services_of(session).cases.caseload()])


def test_a_new_supervisor_opens_a_family_and_the_caseload_lists_it(
        qtbot: QtBot, make_window: WindowFactory) -> None:
    window = supervisor_window(qtbot, make_window)
    assert window.workspace is not None
    page = window.workspace.caseload
    qtbot.waitUntil(lambda: "New family" in page.empty.text(), timeout=10_000)
    dialog = open_new_family(qtbot, page)
    assert named(dialog, QWidget, "Team list").text() == NO_TEAM
    assert named(dialog, QComboBox, "Recovery coordinator").currentText() == NOT_ASSIGNED
    type_alder(qtbot, dialog)
    assert unnamed_controls(dialog) == []
    save(qtbot, page, dialog)
    assert page.model.rowCount() == 1
    assert page.model.row_at(0).case.family_name == "Alder"
    assert "Showing 1 of 1" in page.empty.text()
    [case] = cases_of(window)
    me = window._runner.worker.call(
        lambda: window.current_session().actor().user_id)
    assert case.family_name == "Alder"
    assert [(p.name, p.relationship) for p in case.parents] == [("Dana Alder", "Mother")]
    assert [(c.name, c.details) for c in case.children] == [("Kai Alder", "Age 4")]
    assert case.address == "12 Elm St, Joliet; blue door at the back"
    assert case.supervisor_ids == (me,)
    assert (case.coordinator_id, case.intact_worker_id) == (None, None)
    assert case.visits_per_week == 2 and case.status is CaseStatus.OPEN


def test_a_coordinator_starts_a_family_met_in_the_field(qtbot: QtBot,
                                                        make_window: WindowFactory) -> None:
    """A referral: the coordinator's alone, open, awaiting a supervisor's confirmation; the
    assignment is not theirs to choose, the details are theirs to keep up to date."""
    window = make_window()
    create_profile(qtbot, window)  # the role offered first: recovery coordinator
    assert window.workspace is not None
    page = window.workspace.caseload
    window.workspace.setCurrentWidget(page)
    qtbot.waitUntil(lambda: "New family (Alt+W)" in page.empty.text(), timeout=10_000)
    dialog = open_new_family(qtbot, page)
    assert "yours alone and open until a supervisor" in named(dialog, QWidget,
                                                              "Referral").text()
    for name in ("Status", "Recovery coordinator", "Intact worker"):
        assert not named(dialog, QComboBox, name).isEnabled()
    assert named(dialog, QComboBox, "Recovery coordinator").currentText() == "You"
    assert [b for b in dialog.findChildren(QCheckBox)
            if b.accessibleName() == "Confirm family" and b.isVisibleTo(dialog)] == []
    type_alder(qtbot, dialog)
    save(qtbot, page, dialog)
    me = window._runner.worker.call(
        lambda: window.current_session().actor().user_id)
    [case] = cases_of(window)
    assert (case.coordinator_id, case.intact_worker_id, case.referred_by) == (me, None, me)
    assert case.supervisor_ids == () and case.status is CaseStatus.OPEN
    assert page.model.data(page.model.index(0, 2)) == "Awaiting confirmation"

    page.view.selectRow(0)
    assert named(page, QPushButton, "Edit family").isEnabled()
    dialog = page.open_family(page.selected_case())
    qtbot.waitUntil(dialog.isEnabled, timeout=10_000)
    named(dialog, QLineEdit, "Phone").setText("815 555 0142")
    save(qtbot, page, dialog)
    [case] = cases_of(window)
    assert case.phone == "815 555 0142" and case.referred_by == me


def test_a_supervisor_confirms_a_referral_in_the_family_dialog(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """Opening a worker's referral says who started it and offers to confirm it (ticked);
    saving confirms, unticking saves without deciding."""
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    session = ctx.session

    def referred() -> None:  # as a sync leaves a coordinator's referral on this laptop
        remember_staff(session.workspace(), [StaffMember(
            user_id=UserId("rc-9"), name="Rosa Field", role=Role.RECOVERY_COORDINATOR)])
        case = services_of(session).cases.open_case(make_case(coordinator=None, intact_worker=None))
        db, _ = session.vault().open_parts()
        with db.atomic():
            db.execute("UPDATE cases SET referred_by = 'rc-9', coordinator_id = 'rc-9' "
                       "WHERE id = ?", [case.id])
    ctx.runner.worker.call(referred)
    page = CaseloadPage(ctx, role=Role.SUPERVISOR)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    assert page.model.data(page.model.index(0, 2)) == "Awaiting confirmation"
    for confirm, waiting in ((False, True), (True, False)):
        page.view.selectRow(0)
        dialog = page.open_family(page.selected_case())
        qtbot.waitUntil(dialog.isEnabled, timeout=10_000)
        assert "Rosa Field started this family in the field" in named(
            dialog, QWidget, "Referral").text()
        box = named(dialog, QCheckBox, "Confirm family")
        assert box.isChecked()
        box.setChecked(confirm)
        save(qtbot, page, dialog)
        [case] = stored(ctx)
        assert case.awaiting_confirmation is waiting


def supervisor_page(qtbot: QtBot, ctx: UiContext) -> CaseloadPage:
    page = CaseloadPage(ctx, role=Role.SUPERVISOR)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: "New family" in page.empty.text(), timeout=10_000)
    return page


def stored(ctx: UiContext) -> list[Case]:
    return ctx.runner.worker.call(
        lambda: [r.case for r in services_of(ctx.session).cases.caseload()])


def test_a_family_without_a_parent_is_refused_and_nothing_is_written(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    page = supervisor_page(qtbot, ctx)
    dialog = open_new_family(qtbot, page)
    type_into(qtbot, dialog, "Family name", "Birch")
    click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=10_000)
    assert dialog.message.text() == "Name at least one parent in recovery."
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert stored(ctx) == []
    # Escape on the changed form asks, and Enter on the question keeps the form.
    qtbot.keyClick(named(dialog, QLineEdit, "Family name"), Qt.Key.Key_Escape)
    ask = dialog.confirmation
    assert ask is not None
    qtbot.waitUntil(ask.isVisible)
    assert ask.cancel_button.isDefault()
    qtbot.keyClick(ask.cancel_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not ask.isVisible())
    assert dialog.isVisible()
    assert named(dialog, QLineEdit, "Family name").text() == "Birch"


def test_edit_reassigns_the_coordinator_and_closing_asks_first(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    ctx.runner.worker.call(lambda: remember_staff(ctx.session.workspace(), [
        StaffMember(user_id=UserId("rc-7"), name="Robin Reyes",
                    role=Role.RECOVERY_COORDINATOR),
        StaffMember(user_id=UserId("iw-3"), name="Sam Ito", role=Role.INTACT_WORKER)]))
    page = supervisor_page(qtbot, ctx)
    dialog = open_new_family(qtbot, page)
    assert not dialog.team_note.isVisible(), "the team list is here"
    type_alder(qtbot, dialog)
    save(qtbot, page, dialog)

    click(qtbot, page, "Edit family")
    edit = page.family_dialog
    assert edit is not None and edit is not dialog
    qtbot.waitUntil(lambda: edit.isVisible() and edit.isEnabled(), timeout=10_000)
    assert named(edit, QLineEdit, "Parent 1 name").text() == "Dana Alder"
    coordinator = named(edit, QComboBox, "Recovery coordinator")
    assert coordinator.currentText() == NOT_ASSIGNED
    assert [coordinator.itemText(i) for i in range(coordinator.count())] == [
        NOT_ASSIGNED, "Robin Reyes (rc-7)"], "only coordinators are offered"
    coordinator.setFocus()
    qtbot.keyClick(coordinator, Qt.Key.Key_Down)
    assert coordinator.currentData() == "rc-7"
    save(qtbot, page, edit)
    [case] = stored(ctx)
    assert case.coordinator_id == "rc-7" and case.intact_worker_id is None
    assert case.status is CaseStatus.OPEN

    click(qtbot, page, "Edit family")
    closing = page.family_dialog
    assert closing is not None
    qtbot.waitUntil(lambda: closing.isVisible() and closing.isEnabled(), timeout=10_000)
    status = named(closing, QComboBox, "Status")
    status.setCurrentIndex(status.findText("Closed"))
    click(qtbot, closing, "Save family")
    ask = closing.confirmation
    assert ask is not None
    qtbot.waitUntil(ask.isVisible)
    assert ask.cancel_button.isDefault() and not ask.confirm_button.autoDefault()
    assert unnamed_controls(ask) == []
    qtbot.keyClick(ask.cancel_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not ask.isVisible())
    assert closing.isVisible()
    assert stored(ctx)[0].status is CaseStatus.OPEN, "Enter on the question closes nothing"
    click(qtbot, closing, "Save family")
    ask = closing.confirmation
    assert ask is not None
    qtbot.waitUntil(ask.isVisible)
    with qtbot.waitSignal(closing.accepted, timeout=10_000):
        qtbot.mouseClick(ask.confirm_button, LEFT)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1
                    and page.model.row_at(0).case.status is CaseStatus.CLOSED, timeout=10_000)
    [case] = stored(ctx)
    assert case.status is CaseStatus.CLOSED and case.coordinator_id == "rc-7"


def test_enter_in_a_field_moves_on_and_ctrl_enter_saves(
        qtbot: QtBot, make_window: WindowFactory) -> None:
    """A newcomer pressed Enter after typing a parent's relationship, expecting the next line,
    and a half-typed family was saved and sent off."""
    window = supervisor_window(qtbot, make_window)
    assert window.workspace is not None
    page = window.workspace.caseload
    dialog = open_new_family(qtbot, page)
    type_alder(qtbot, dialog)
    relationship = named(dialog, QLineEdit, "Parent 1 relationship")
    relationship.setFocus()
    qtbot.keyClick(relationship, Qt.Key.Key_Return)
    assert dialog.isVisible(), "Enter in a field saves nothing"
    assert dialog.focusWidget() is not relationship
    assert cases_of(window) == []
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(cases_of(window)) == 1, timeout=10_000)


def set_referral_date_by_keyboard(qtbot: QtBot, dialog: FamilyDialog, days_back: int) -> None:
    """Tick "known", then step the day from today with the arrow keys (back: Down)."""
    known = named(dialog, QCheckBox, "Referral date known")
    known.setFocus()
    qtbot.keyClick(known, Qt.Key.Key_Space)
    referral = named(dialog, QDateEdit, "Referral date")
    assert referral.isEnabled()
    referral.setFocus(Qt.FocusReason.TabFocusReason)
    referral.setCurrentSection(QDateEdit.Section.DaySection)
    for _ in range(abs(days_back)):
        qtbot.keyClick(referral, Qt.Key.Key_Down if days_back > 0 else Qt.Key.Key_Up)


def test_phone_and_referral_are_saved_sealed_reopened_and_shown(
        qtbot: QtBot, make_context: ContextFactory, tmp_path: Path) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    page = supervisor_page(qtbot, ctx)
    dialog = open_new_family(qtbot, page)
    type_alder(qtbot, dialog)
    type_into(qtbot, dialog, "Phone", "(815) 555-0142 x12")
    type_into(qtbot, dialog, "Referral source", "DCFS caseworker Maria Ortiz")
    set_referral_date_by_keyboard(qtbot, dialog, days_back=3)
    assert unnamed_controls(dialog) == []
    save(qtbot, page, dialog)
    [case] = stored(ctx)
    today = ctx.runner.worker.call(lambda: ctx.session.workspace().today())
    assert case.phone == "(815) 555-0142 x12"
    assert case.referral_source == "DCFS caseworker Maria Ortiz"
    assert case.referral_date == today - timedelta(days=3)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    for secret in ("555-0142", "Maria Ortiz"):
        assert found_in(files, secret) == [], f"{secret} readable on disk"

    click(qtbot, page, "Edit family")
    edit = page.family_dialog
    assert edit is not None
    qtbot.waitUntil(lambda: edit.isVisible() and edit.isEnabled(), timeout=10_000)
    assert named(edit, QLineEdit, "Phone").text() == "(815) 555-0142 x12"
    assert named(edit, QLineEdit, "Referral source").text() == "DCFS caseworker Maria Ortiz"
    assert named(edit, QCheckBox, "Referral date known").isChecked()
    assert named(edit, QDateEdit, "Referral date").date().toPython() == case.referral_date
    edit.reject()  # unchanged: closes without asking
    qtbot.waitUntil(lambda: not edit.isVisible())

    family_page = CasePage(ctx, case_id=case.id)
    qtbot.addWidget(family_page)
    family_page.show()
    family_page.refresh()
    qtbot.waitUntil(lambda: "Alder" in family_page.title.text(), timeout=10_000)
    lines = family_page.details.text().splitlines()
    assert "Phone: (815) 555-0142 x12" in lines
    assert f"Referral: DCFS caseworker Maria Ortiz, on {case.referral_date:%d %b %Y}" in lines


def test_a_wrong_phone_or_a_future_referral_is_refused_plainly_and_nothing_is_written(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    page = supervisor_page(qtbot, ctx)
    dialog = open_new_family(qtbot, page)
    type_alder(qtbot, dialog)
    type_into(qtbot, dialog, "Phone", "ask the grandmother")
    click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=10_000)
    assert dialog.message.text() == PHONE_PROBLEM
    assert dialog.message.isVisible() and dialog.save_button.isEnabled()
    assert stored(ctx) == []

    named(dialog, QLineEdit, "Phone").clear()
    set_referral_date_by_keyboard(qtbot, dialog, days_back=-1)  # tomorrow
    click(qtbot, dialog, "Save family")
    qtbot.waitUntil(lambda: "future" in dialog.message.text(), timeout=10_000)
    assert dialog.message.text() == "The referral date cannot be in the future."
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert stored(ctx) == []


def place(widget: QWidget, dialog: QWidget) -> QRect:
    return QRect(widget.mapTo(dialog, QPoint(0, 0)), widget.size())


def settled() -> None:
    """Let Qt run the layout requests that adding or removing a row posted."""
    QApplication.sendPostedEvents()
    QApplication.processEvents()


def test_adding_people_moves_nothing_under_the_pointer(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A newcomer clicked Add child, then the coordinator box; the new row had pushed the
    visits per week under the pointer, and the click changed it instead."""
    ctx = make_context(role=Role.SUPERVISOR, user_id=UserId("sup-1"))
    page = supervisor_page(qtbot, ctx)
    dialog = open_new_family(qtbot, page)
    settled()
    watched = [named(dialog, QComboBox, "Recovery coordinator"),
               named(dialog, QSpinBox, "Visits per week"),
               named(dialog, QPushButton, "Add child"), named(dialog, QLineEdit, "Phone")]
    before = [place(w, dialog) for w in watched]
    for _ in range(5):
        click(qtbot, dialog, "Add child")
        settled()
        assert [place(w, dialog) for w in watched] == before
        newest = dialog.children_editor.rows[-1].name
        assert newest.hasFocus()
        area = dialog.children_editor.rows_area.viewport()
        assert area.rect().contains(place(newest, area)), "the new row is scrolled into view"
    click(qtbot, dialog, "Add parent")
    click(qtbot, dialog, "Remove child 2")
    settled()
    assert [place(w, dialog) for w in watched] == before
    assert len(dialog.children_editor.rows) == 4 and len(dialog.parents_editor.rows) == 2
    assert named(dialog, QLineEdit, "Child 4 name") is dialog.children_editor.rows[-1].name


def test_enter_walks_the_form_field_by_field(qtbot: QtBot, make_window: WindowFactory) -> None:
    """A newcomer typed the family's name, pressed Enter and typed the parent's name: the focus
    had gone to the list's scroll area, and what they typed was lost. Enter goes from field to
    field, in the order a person reads them, never to a frame."""
    window = supervisor_window(qtbot, make_window)
    assert window.workspace is not None
    dialog = open_new_family(qtbot, window.workspace.caseload)
    name = named(dialog, QLineEdit, "Family name")
    name.setFocus()
    qtbot.keyClicks(name, "Alder")
    walked = []
    for _ in range(4):
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
        walked.append(dialog.focusWidget().accessibleName())
    assert walked == ["Parent 1 name", "Parent 1 relationship", "Parent 1 details",
                      "Address and directions"], "Enter skips the buttons Tab reaches"
    qtbot.keyClicks(named(dialog, QLineEdit, "Parent 1 name"), "Dana Alder")
    assert [p.name for p in dialog.parents_editor.people()] == ["Dana Alder"]
    # Tab reaches the buttons; Enter on Add child adds a child, and never saves the family.
    add = named(dialog, QPushButton, "Add child")
    add.setFocus()
    qtbot.keyClick(add, Qt.Key.Key_Return)
    assert dialog.isVisible() and len(dialog.children_editor.rows) == 1
    assert dialog.focusWidget().accessibleName() == "Child 1 name"
