"""The supervisor page over the demo caseload: co-sign, return, approve mileage, draw schedules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHeaderView, QWidget
from pytestqt.qtbot import QtBot

from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.people import Role, UserId
from fieldapp.domain.visits import NoteStatus, SupervisorCapacity
from fieldapp.services import demo
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.ui.caseload_page import CaseloadPage
from fieldapp.ui.context import UiContext
from fieldapp.ui.mileage_chart import miles_text
from fieldapp.ui.review_dialogs import cosign_summary, month_text
from fieldapp.ui.supervisor_page import COLUMN_PADDING, NOBODY, SupervisorPage
from tests.conftest import FakeClock
from tests.services.records_helpers import services_of
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

LEFT = Qt.MouseButton.LeftButton
SLOW = 10_000


def open_page(qtbot: QtBot, ctx: UiContext) -> SupervisorPage:
    page = SupervisorPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        page.refresh()
    return page


def supervisor_page(qtbot: QtBot, make_context: ContextFactory
                    ) -> tuple[UiContext, SupervisorPage]:
    ctx = make_context(role=Role.SUPERVISOR, user_id=demo.SUPERVISOR, demo=True)
    return ctx, open_page(qtbot, ctx)


def click_tab(qtbot: QtBot, page: SupervisorPage, section: QWidget) -> None:
    bar = page.tabs.tabBar()
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(page.tabs.indexOf(section)).center())
    assert page.tabs.currentWidget() is section


def wait_dialog(qtbot: QtBot, get: Callable[[], Any], old: object = None) -> Any:
    """The dialog `get()` returns once it is a new one and on screen."""
    qtbot.waitUntil(lambda: get() is not None and get() is not old and get().isVisible(),
                    timeout=SLOW)
    dialog = get()
    assert isinstance(dialog, QDialog)
    return dialog


def on_worker(ctx: UiContext, fn: Callable[[], Any]) -> Any:
    return ctx.runner.worker.call(fn)


def test_cosign_then_return_a_note_through_the_review(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx, page = supervisor_page(qtbot, make_context)
    section = page.cosign
    click_tab(qtbot, page, section)
    waiting = section.model.rowCount()
    assert waiting > 2 and f"({waiting})" in page.tabs.tabText(1)
    first = section.model.row_at(0)
    qtbot.mouseClick(section.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: section.review_dialog)
    text = review.view.toPlainText()
    assert first.details.narrative in text
    for part in ("People present", "Services", "Safety", "Addenda", "Earlier reviews"):
        assert part in text
    assert unnamed_controls(review) == []
    qtbot.mouseClick(review.approve_button, LEFT)  # co-signing asks first; Cancel: nothing
    ask = wait_dialog(qtbot, lambda: review.confirmation)
    assert ask.cancel_button.isDefault() and "cannot be taken back" in ask.text.text()
    qtbot.mouseClick(ask.cancel_button, LEFT)
    assert on_worker(ctx, lambda: services_of(ctx.session).notes.get(first.id)).status \
        is NoteStatus.SIGNED
    qtbot.mouseClick(review.approve_button, LEFT)
    ask = wait_dialog(qtbot, lambda: review.confirmation, ask)
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(ask.confirm_button, LEFT)
    assert on_worker(ctx, lambda: services_of(ctx.session).notes.get(first.id)).status \
        is NoteStatus.COSIGNED
    assert section.message.text().startswith("Co-signed the ")
    assert section.model.rowCount() == waiting - 1
    assert first.id not in [n.id for n in section.model.rows]

    second = section.model.row_at(0)
    qtbot.mouseClick(section.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: section.review_dialog, review)
    qtbot.mouseClick(review.return_button, LEFT)
    comment = wait_dialog(qtbot, lambda: review.comment_dialog)
    assert unnamed_controls(comment) == []
    qtbot.mouseClick(comment.ok_button, LEFT)  # nothing written yet: refused
    assert "Say what needs correcting" in comment.message.text()
    assert comment.isVisible()
    assert on_worker(ctx, lambda: services_of(ctx.session).notes.get(second.id)).status \
        is NoteStatus.SIGNED
    qtbot.keyClicks(comment.text, "Who else was in the home?")
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(comment.ok_button, LEFT)
    returned = on_worker(ctx, lambda: services_of(ctx.session).notes.get(second.id))
    assert returned.status is NoteStatus.RETURNED
    assert returned.reviews[-1].comment == "Who else was in the home?"
    assert "Returned the " in section.message.text()
    assert section.model.rowCount() == waiting - 2


def test_approve_one_month_and_return_another(
        qtbot: QtBot, make_context: ContextFactory, qtmodeltester: Any) -> None:
    ctx, page = supervisor_page(qtbot, make_context)
    section = page.mileage
    click_tab(qtbot, page, section)
    assert section.model.rowCount() >= 2
    first, second = section.model.row_at(0), section.model.row_at(1)

    def status(worker: UserId, month: str) -> MonthStatus:
        found = on_worker(ctx, lambda: services_of(ctx.session).mileage.month(
            month, worker_id=worker))
        return found.status  # type: ignore[no-any-return]

    assert status(first.worker_id, first.month) is MonthStatus.SUBMITTED
    qtbot.mouseClick(section.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: section.review_dialog)
    assert review.model.rowCount() > 0
    qtmodeltester.check(review.model)
    assert "Amount: $" in review.totals.text() and "Over the cap" in review.totals.text()
    assert unnamed_controls(review) == []
    qtbot.mouseClick(review.approve_button, LEFT)  # approving is final: asked first
    ask = wait_dialog(qtbot, lambda: review.confirmation)
    assert ask.cancel_button.isDefault() and "not over" not in ask.text.text()
    assert status(first.worker_id, first.month) is MonthStatus.SUBMITTED
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(ask.confirm_button, LEFT)
    assert status(first.worker_id, first.month) is MonthStatus.APPROVED
    assert section.message.text().startswith("Approved ")

    assert section.model.row_at(0) == second
    qtbot.mouseClick(section.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: section.review_dialog, review)
    qtbot.mouseClick(review.return_button, LEFT)
    reason = wait_dialog(qtbot, lambda: review.comment_dialog)
    qtbot.keyClicks(reason.text, "   ")
    qtbot.mouseClick(reason.ok_button, LEFT)
    assert reason.message.text() == "Say why the month is returned."
    assert status(second.worker_id, second.month) is MonthStatus.SUBMITTED
    qtbot.keyClicks(reason.text, "Add the odometer readings for the long trips.")
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(reason.ok_button, LEFT)
    assert status(second.worker_id, second.month) is MonthStatus.RETURNED
    stored = on_worker(ctx, lambda: ctx.session.workspace().stores().trips.return_reason(
        second.worker_id, second.month))
    assert stored.strip() == "Add the odometer readings for the long trips."
    assert second not in section.model.rows


def test_draw_next_months_schedule_shows_its_fingerprint(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx, page = supervisor_page(qtbot, make_context)
    section = page.screens
    click_tab(qtbot, page, section)
    with qtbot.waitSignal(section.loaded, timeout=SLOW):
        qtbot.keyClicks(section.case, "Brennan")
    assert section.case.currentText() == "Brennan"
    assert section.model.rowCount() == 1  # the demo's, drawn for a period that began today
    started = section.model.index(0, 3).data()
    assert "Sealed" not in started and "2026" in started
    case_id = section.case.currentData()

    qtbot.mouseClick(section.draw_button, LEFT)
    dialog = wait_dialog(qtbot, lambda: section.draw_dialog)
    assert "Brennan family from 1 Dec 2026 to 31 Dec 2026" in dialog.about.text()
    assert unnamed_controls(dialog) == []
    with qtbot.waitSignal(section.loaded, timeout=SLOW):
        qtbot.mouseClick(dialog.draw_button, LEFT)
    schedules = on_worker(ctx, lambda: services_of(ctx.session).screens.schedules(case_id))
    drawn = next(s for s in schedules if s.first_day == date(2026, 12, 1))
    assert drawn.last_day == date(2026, 12, 31)
    assert dialog.fingerprint.isVisible()
    assert dialog.fingerprint.text() == f"Note this fingerprint: {drawn.fingerprint}"
    assert drawn.fingerprint in section.message.text()
    assert section.model.rowCount() == 2
    row = [s.fingerprint for s in section.model.rows].index(drawn.fingerprint)
    assert section.model.index(row, 3).data() == \
        "Sealed until the period starts on 1 Dec 2026"
    with qtbot.waitSignal(dialog.finished, timeout=SLOW):
        qtbot.mouseClick(dialog.close_button, LEFT)


def test_every_control_is_named_and_every_model_checks(
        qtbot: QtBot, make_context: ContextFactory, qtmodeltester: Any, clock: FakeClock
) -> None:
    clock.advance(2 * 86_400)  # a Thursday: one visit a case is expected by now this week
    _, page = supervisor_page(qtbot, make_context)
    for section in (page.team, page.cosign, page.mileage, page.screens):
        click_tab(qtbot, page, section)
        if section is page.screens:
            qtbot.waitUntil(lambda: page.screens.model.rowCount() > 0, timeout=SLOW)
        assert section.model.rowCount() > 0
        qtmodeltester.check(section.model)
        assert unnamed_controls(page) == [], type(section).__name__
    team = page.team.model
    assert [team.headerData(c, Qt.Orientation.Horizontal) for c in range(team.columnCount())] \
        == ["Family", "Coordinator", "Status", "Last face-to-face", "This week", "Next due",
            "On schedule"]
    standing = [team.index(r, 6).data() for r in range(team.rowCount())]
    assert standing[0] == "Behind: 0 of 1 expected by today"  # behind first, said in words
    assert set(standing) <= {"On track"} | {t for t in standing if t.startswith("Behind: ")}


def test_keyboard_reaches_a_review(qtbot: QtBot, make_context: ContextFactory) -> None:
    _, page = supervisor_page(qtbot, make_context)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    qtbot.keyClick(page, Qt.Key.Key_V, Qt.KeyboardModifier.AltModifier)
    assert page.tabs.currentWidget() is page.mileage
    qtbot.keyClick(page, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert page.mileage.table.hasFocus()
    qtbot.keyClick(page.mileage.table, Qt.Key.Key_Down)
    expected = page.mileage.model.row_at(1)
    qtbot.keyClick(page, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    review = wait_dialog(qtbot, lambda: page.mileage.review_dialog)
    assert review.month.month == expected.month
    review.reject()


def test_empty_states_say_so(qtbot: QtBot, make_context: ContextFactory) -> None:
    page = open_page(qtbot, make_context(role=Role.SUPERVISOR, user_id=UserId("sup-new")))
    assert page.team.empty_label.text() == "No cases are assigned to your team."
    click_tab(qtbot, page, page.cosign)
    assert page.cosign.empty_label.isVisible()
    assert page.cosign.empty_label.text() == "No notes are waiting for your co-signature."
    assert not page.cosign.review_button.isEnabled()
    assert page.mileage.empty_label.text() == "No mileage is waiting for your approval."
    assert not page.mileage.review_button.isEnabled()
    assert page.screens.case.count() == 0 and not page.screens.draw_button.isEnabled()
    assert unnamed_controls(page) == []


def test_under_co_supervision_the_review_says_which_co_signature_is_missing(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """The demo's supervisor is its intact supervisor; with co-supervision on, co-signing leaves
    the note signed (waiting for the SUD supervisor) and off this supervisor's list."""
    ctx = make_context(role=Role.SUPERVISOR, user_id=demo.SUPERVISOR, demo=True)

    def co_supervise() -> None:
        db, _ = ctx.session.vault().open_parts()
        with db.atomic():
            save_settings(db, replace(load_settings(db), cosupervision_required=True),
                          now="2026-11-24T09:30:00+00:00")

    on_worker(ctx, co_supervise)
    page = open_page(qtbot, ctx)
    section = page.cosign
    click_tab(qtbot, page, section)
    waiting = section.model.rowCount()
    first = section.model.row_at(0)
    column = [section.model.headerData(c, Qt.Orientation.Horizontal)
              for c in range(section.model.columnCount())].index("Co-signatures")
    assert section.model.data(section.model.index(0, column)) == (
        "No co-signature yet. Missing: the intact and the SUD supervisor's co-signatures (the "
        "program requires both).")
    qtbot.mouseClick(section.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: section.review_dialog)
    assert review.cosignatures.text().startswith("No co-signature yet. Missing: the intact")
    qtbot.mouseClick(review.approve_button, LEFT)
    ask = wait_dialog(qtbot, lambda: review.confirmation)
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(ask.confirm_button, LEFT)
    note = on_worker(ctx, lambda: services_of(ctx.session).notes.get(first.id))
    assert note.status is NoteStatus.SIGNED
    assert note.reviews[-1].capacity is SupervisorCapacity.INTACT
    assert section.model.rowCount() == waiting - 1, "it waits for the SUD supervisor now"
    settings = on_worker(ctx, lambda: ctx.session.workspace().settings)
    assert cosign_summary(note, settings=settings).endswith(
        "Missing: the SUD supervisor's co-signature (the program requires both).")


def test_people_are_shown_by_name_not_by_id(qtbot: QtBot, make_context: ContextFactory
                                             ) -> None:
    """A new user met 'demo-coordinator' where a person's name belongs."""
    _, page = supervisor_page(qtbot, make_context)
    coordinator = "Jordan Demo (demo-coordinator)"
    team, cosign, months = page.team.model, page.cosign.model, page.mileage.model
    assert {team.index(r, 1).data() for r in range(team.rowCount())} == {coordinator}
    assert {team.index(r, 2).data() for r in range(team.rowCount())} <= {"Open", "Aftercare"}
    workers = {coordinator, "Rowan Ellery (demo-intact-worker)"}  # the demo's two workers
    assert {cosign.index(r, 2).data() for r in range(cosign.rowCount())} <= workers
    assert months.rowCount() > 0
    assert {months.index(r, 0).data() for r in range(months.rowCount())} <= workers


def test_months_to_approve_show_reimbursable_miles_and_dollars(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A new user saw only the miles logged: not what is reimbursable under the cap, nor what
    the month comes to."""
    _, page = supervisor_page(qtbot, make_context)
    months = page.mileage.model
    headers = [months.headerData(c, Qt.Orientation.Horizontal)
               for c in range(months.columnCount())]
    assert headers == ["Worker", "Month", "Miles logged", "Reimbursable", "Amount"]
    rows = [[months.index(r, c).data() for c in range(2, 5)] for r in range(months.rowCount())]
    assert rows and all(amount.startswith("$") for _, _, amount in rows)
    over_the_cap = [row for row in rows if float(row[0]) > float(row[1])]
    assert over_the_cap, "the demo has months over the cap: logged and reimbursable differ"
    for _, reimbursable, amount in over_the_cap:
        assert float(reimbursable) == 150
        assert amount == f"${150 * 0.725:,.2f}"


def month_status(ctx: UiContext, worker: UserId, month: str) -> MonthStatus:
    found = on_worker(ctx, lambda: services_of(ctx.session).mileage.month(month, worker_id=worker))
    return found.status  # type: ignore[no-any-return]


def test_approve_several_months_after_one_question(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """A supervisor approved twelve months one review at a time. Several selected months are
    approved after one question (default Cancel); one changed meanwhile is refused and said,
    and the others still go."""
    ctx, page = supervisor_page(qtbot, make_context)
    section, table = page.mileage, page.mileage.table
    click_tab(qtbot, page, section)
    total = section.model.rowCount()
    assert total >= 4
    qtbot.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(section.selected()) == total
    assert section.approve_button.isEnabled()

    def click_row(row: int, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
                  ) -> None:
        rect = table.visualRect(section.model.index(row, 1))
        qtbot.mouseClick(table.viewport(), LEFT, modifier, rect.center())

    click_row(0)
    click_row(2, Qt.KeyboardModifier.ShiftModifier)
    chosen = section.selected()
    assert chosen == section.model.rows[:3]
    miles = sum((m.ledger.reimbursable for m in chosen), Decimal(0))
    dollars = sum((m.ledger.amount for m in chosen), Decimal(0))
    assert miles > 0
    qtbot.mouseClick(section.approve_button, LEFT)
    ask = wait_dialog(qtbot, lambda: section.confirmation)
    assert unnamed_controls(ask) == []
    assert ask.cancel_button.isDefault()
    assert ask.confirm_button.text() == "&Approve 3 months"
    whose: dict[str, list[str]] = {}  # the workers as the list names them, in its order
    for row in range(3):
        whose.setdefault(section.model.index(row, 0).data(), []).append(
            section.model.index(row, 1).data())
    listed = "; ".join(f"{worker}: {', '.join(named)}" for worker, named in whose.items())
    assert ask.text.text().startswith(
        f"Approve 3 months of mileage? {listed}. Reimbursable in all: {miles_text(miles)} "
        f"miles, ${dollars:,.2f}.")
    qtbot.keyClick(ask, Qt.Key.Key_Return)  # Enter is Cancel: nothing approved
    qtbot.waitUntil(lambda: not ask.isVisible(), timeout=SLOW)
    assert {month_status(ctx, m.worker_id, m.month) for m in chosen} == {MonthStatus.SUBMITTED}

    qtbot.mouseClick(section.approve_button, LEFT)
    ask = wait_dialog(qtbot, lambda: section.confirmation, ask)
    changed = chosen[1]  # returned elsewhere while the question is open
    section_worker = section.model.index(1, 0).data()
    on_worker(ctx, lambda: services_of(ctx.session).mileage.return_month(
        changed.worker_id, changed.month, reason="Add the odometer readings."))
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(ask.confirm_button, LEFT)
    assert [month_status(ctx, m.worker_id, m.month) for m in chosen] == [
        MonthStatus.APPROVED, MonthStatus.RETURNED, MonthStatus.APPROVED]
    assert section.message.text() == (
        f"Approved 2 of 3 months. {section_worker}'s {month_text(changed.month)}"
        f" was not approved: Only a submitted month can be approved ({changed.month} is "
        "returned).")
    assert section.model.rowCount() == total - 3

    qtbot.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.mouseClick(section.approve_button, LEFT)
    ask = wait_dialog(qtbot, lambda: section.confirmation, ask)
    with qtbot.waitSignal(page.loaded, timeout=SLOW):
        qtbot.mouseClick(ask.confirm_button, LEFT)
    assert section.message.text().startswith(f"Approved {total - 3} months of mileage: ")
    assert section.model.rowCount() == 0
    assert not section.approve_button.isEnabled()


def test_team_dates_read_as_on_the_caseload_tab(qtbot: QtBot, make_context: ContextFactory
                                                 ) -> None:
    """The Supervisor tab said "none yet" and "today" where the Caseload tab said "—" and
    "24 Nov 2026"."""
    ctx, page = supervisor_page(qtbot, make_context)
    caseload = CaseloadPage(ctx, role=Role.SUPERVISOR)
    qtbot.addWidget(caseload)
    caseload.refresh()
    qtbot.waitUntil(lambda: caseload.model.rowCount() == page.team.model.rowCount(),
                    timeout=SLOW)

    def dates(model: Any, *, first: int, second: int) -> dict[str, tuple[str, str]]:
        return {model.index(r, 0).data(): (model.index(r, first).data(),
                                           model.index(r, second).data())
                for r in range(model.rowCount())}

    team = dates(page.team.model, first=3, second=5)
    assert team == dates(caseload.model, first=3, second=5)
    assert "24 Nov 2026" in {due for _, due in team.values()}
    row = page.team.model.row_at(0)
    unvisited = replace(row, due=replace(row.due, last_face_to_face=None))
    page.team.show_caseload([unvisited], NOBODY)
    assert page.team.model.index(0, 3).data() == "—"


def test_columns_have_room_and_the_wordiest_takes_the_rest(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    """Columns fitted exactly ran together, and the month's Amount was stretched across."""
    _, page = supervisor_page(qtbot, make_context)
    for section, stretched in ((page.team, "On schedule"), (page.cosign, "Co-signatures"),
                               (page.mileage, "Worker")):
        click_tab(qtbot, page, section)
        header, model = section.table.horizontalHeader(), section.model
        headers = [model.headerData(c, Qt.Orientation.Horizontal)
                   for c in range(model.columnCount())]
        wide = headers.index(stretched)
        assert header.sectionResizeMode(wide) is QHeaderView.ResizeMode.Stretch
        for column in range(model.columnCount()):
            if column != wide:
                needs = max(section.table.sizeHintForColumn(column),
                            header.sectionSizeHint(column))
                assert header.sectionSize(column) >= needs + COLUMN_PADDING, headers[column]
                assert header.sectionResizeMode(column) is QHeaderView.ResizeMode.Interactive
