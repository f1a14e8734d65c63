"""The export dialog: a supervisor exports from the real demo data off the UI thread, sees the
progress, can cancel without leaving a file, and every export lands in the audit log."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdf
import pytest
from PySide6.QtCore import QUrl
from pytestqt.qt_compat import qt_api
from pytestqt.qtbot import QtBot

from fieldapp.domain.exports import ExportFormat, ReportKind, ScopeKind
from fieldapp.domain.people import Role
from fieldapp.services import demo
from fieldapp.storage.resources import part2_notice
from fieldapp.ui import export_dialog
from fieldapp.ui.context import UiContext
from fieldapp.ui.export_dialog import ExportDialog, period_of
from fieldapp.ui.models import CheckListModel
from tests.ui.conftest import ContextFactory
from tests.ui.test_accessibility import unnamed_controls

Qt = qt_api.QtCore.Qt


@pytest.fixture
def supervisor(make_context: ContextFactory) -> UiContext:
    return make_context(role=Role.SUPERVISOR, user_id=demo.SUPERVISOR, demo=True)


def open_dialog(qtbot: QtBot, ctx: UiContext, kind: ReportKind, *,
                recipient: str = "Program director") -> ExportDialog:
    """The dialog with its choices loaded, for someone in the program (no consent needed)."""
    dialog = ExportDialog(ctx, kind=kind)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.worker.count() > 0, timeout=10_000)
    dialog.terms_box.recipient.setEditText(recipient)
    dialog.terms_box.purpose.setText("monthly program review")
    return dialog


def aim_at(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[Path]:
    asked: list[Path] = []

    def choose(_parent: object, suggested: Path, _fmt: ExportFormat) -> Path:
        asked.append(suggested)
        return path

    monkeypatch.setattr(export_dialog, "choose_path", choose)
    return asked


def exports_in_audit(ctx: UiContext) -> list[dict[str, object]]:
    def read() -> list[dict[str, object]]:
        entries = ctx.session.workspace().stores().audit.entries()
        return [dict(e.details) for e in entries if e.action == "export"]

    return ctx.runner.worker.call(read)


def test_a_supervisor_exports_the_team_mileage_as_csv(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = exports_in_audit(supervisor)  # the demo's own disclosure to its court
    dialog = open_dialog(qtbot, supervisor, ReportKind.MILEAGE)
    assert dialog.scope.currentData() == ScopeKind.TEAM
    assert [dialog.scope.itemData(i) for i in range(dialog.scope.count())] == \
        [ScopeKind.TEAM, ScopeKind.WORKER], "mileage is per worker: no 'chosen cases'"
    assert unnamed_controls(dialog) == []
    dialog.csv.setChecked(True)
    dialog.period.setCurrentIndex(2)  # the last three months
    target = tmp_path / "mileage.csv"
    asked = aim_at(monkeypatch, target)
    with qtbot.waitSignal(dialog.runner.finished, timeout=20_000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    dialog.runner.join()
    assert asked[0].name.startswith("mileage-team-") and asked[0].suffix == ".csv"
    rows = list(csv.reader(io.StringIO(target.read_text("utf-8-sig"))))
    assert rows[0] == ["42 CFR Part 2 notice", part2_notice().text]
    reimbursable = next(r for r in rows if r and r[0] == "Row").index("Reimbursable miles")
    totals = [r for r in rows if r and r[0] == "month total"]
    assert totals and all(float(r[reimbursable]) <= 150 for r in totals)
    assert "Saved" in dialog.message.text() and "not encrypted" in dialog.message.text()
    [entry] = exports_in_audit(supervisor)[len(before):]
    assert entry["format"] == "csv" and entry["scope"] == "team"


def test_a_cases_export_as_pdf_names_only_the_chosen_family(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = open_dialog(qtbot, supervisor, ReportKind.VISIT_LOG)
    dialog.scope.setCurrentIndex(dialog.scope.findData(ScopeKind.CASES))
    assert dialog.cases.isEnabled()
    first = dialog.cases_model.index(0, 0)
    family = first.data()
    dialog.cases_model.setData(first, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    dialog.period.setCurrentIndex(2)
    target = tmp_path / "visits"
    aim_at(monkeypatch, target.with_suffix(".pdf"))
    with qtbot.waitSignal(dialog.runner.finished, timeout=30_000):
        dialog.export_button.click()
    dialog.runner.join()
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(target.with_suffix(".pdf")).pages)
    assert family in text
    others = [dialog.cases_model.index(i, 0).data() for i in range(1, 4)]
    assert not any(f"· {other} ·" in text for other in others)


def test_nothing_chosen_is_said_before_any_file_is_asked_for(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = open_dialog(qtbot, supervisor, ReportKind.SCREENS)
    dialog.scope.setCurrentIndex(dialog.scope.findData(ScopeKind.CASES))
    asked = aim_at(monkeypatch, tmp_path / "never.pdf")
    dialog.export_button.click()
    assert asked == []
    assert "Choose at least one case" in dialog.message.text()
    assert not dialog.runner.running


def test_cancelling_leaves_no_file_and_no_audit_entry(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = exports_in_audit(supervisor)
    dialog = open_dialog(qtbot, supervisor, ReportKind.VISIT_LOG)
    dialog.period.setCurrentIndex(2)
    target = tmp_path / "out" / "visits.pdf"
    target.parent.mkdir()
    aim_at(monkeypatch, target)
    seen: list[bool] = []

    def press_cancel(_what: str, done: int, _total: int) -> None:
        # On the export thread, right after the first page: what a click on Cancel does (its
        # slot sets the runner's flag), at a moment the test controls.
        if done >= 1 and not seen:
            seen.append(dialog.cancel_button.isVisible())
            dialog.runner.cancel()

    dialog.runner.progressed.connect(press_cancel, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=30_000):
        dialog.export_button.click()
        assert dialog.cancel_button.isVisible() and dialog.cancel_button.hasFocus()
    dialog.runner.join()
    assert list(target.parent.iterdir()) == []
    assert exports_in_audit(supervisor) == before
    assert "cancelled" in dialog.message.text()
    assert dialog.export_button.isEnabled() and not dialog.cancel_button.isVisible()


def test_a_worker_is_offered_only_their_own_work(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    ctx = make_context(role=Role.RECOVERY_COORDINATOR, user_id=demo.WORKER, demo=True)
    dialog = open_dialog(qtbot, ctx, ReportKind.VISIT_LOG)
    scopes = [dialog.scope.itemData(i) for i in range(dialog.scope.count())]
    assert ScopeKind.TEAM not in scopes
    assert [dialog.worker.itemData(i) for i in range(dialog.worker.count())] == [demo.WORKER]
    assert not dialog.worker.isEnabled()


def test_presets_give_whole_months() -> None:
    from datetime import date  # noqa: PLC0415

    today = date(2026, 1, 15)
    assert period_of(0, today) == (date(2025, 12, 1), date(2025, 12, 31))
    assert period_of(1, today) == (date(2026, 1, 1), today)
    assert period_of(2, today) == (date(2025, 10, 1), date(2025, 12, 31))
    assert period_of(4, today) == (date(2023, 1, 16), today)  # an accounting's three years


def test_the_case_list_model_passes_the_model_tester(qtmodeltester: object) -> None:
    model = CheckListModel()
    model.set_items([("a", "Alder"), ("b", "Brennan")])
    model.setData(model.index(1, 0), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    assert model.checked() == ["b"]
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    model.set_items([("a", "Alder")])
    assert model.checked() == []


def test_the_save_dialog_opens_in_documents_then_where_the_last_file_went(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An unencrypted Part 2 file is never offered the app's working folder by default."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr(ExportDialog, "folder", None)  # a fresh run of the app
    monkeypatch.chdir(tmp_path)
    dialog = open_dialog(qtbot, supervisor, ReportKind.MILEAGE)
    dialog.csv.setChecked(True)
    asked = aim_at(monkeypatch, tmp_path / "never.csv")
    monkeypatch.setattr(export_dialog, "choose_path", lambda _p, suggested, _f: (
        asked.append(suggested), None)[1])  # the person looks, then cancels
    dialog.export_button.click()
    assert asked[-1].parent == home  # no Documents folder on this computer: home
    (home / "Documents").mkdir()
    dialog.export_button.click()
    assert asked[-1].parent == home / "Documents"

    elsewhere = tmp_path / "usb"
    elsewhere.mkdir()
    aim_at(monkeypatch, elsewhere / "mileage.csv")
    with qtbot.waitSignal(dialog.runner.finished, timeout=20_000):
        dialog.export_button.click()
    dialog.runner.join()
    again = open_dialog(qtbot, supervisor, ReportKind.MILEAGE)
    asked = aim_at(monkeypatch, elsewhere / "again.pdf")
    with qtbot.waitSignal(again.runner.finished, timeout=30_000):
        again.export_button.click()
    again.runner.join()
    assert asked[0].parent == elsewhere  # remembered for this run of the app


def test_after_an_export_show_in_folder_opens_its_folder(
        qtbot: QtBot, supervisor: UiContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    dialog = ExportDialog(supervisor, kind=ReportKind.MILEAGE, open_url=opened.append)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.worker.count() > 0, timeout=10_000)
    dialog.terms_box.recipient.setEditText("Payroll office")
    dialog.terms_box.purpose.setText("monthly mileage reimbursement")
    dialog.csv.setChecked(True)
    assert not dialog.show_folder_button.isVisible()  # nothing saved yet
    aim_at(monkeypatch, tmp_path / "out" / "mileage.csv")
    (tmp_path / "out").mkdir()
    with qtbot.waitSignal(dialog.runner.finished, timeout=20_000):
        dialog.export_button.click()
    dialog.runner.join()
    button = dialog.show_folder_button
    assert button.isVisible() and button.accessibleName() == "Show in folder"
    assert unnamed_controls(dialog) == []
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(tmp_path / "out"))]
    assert opened[0].toLocalFile() == str(tmp_path / "out")
