"""Walk the real app under Xvfb like a person and save a screenshot of every screen.

Run: `xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshot_tour.py [OUT]`
(`make screenshots` does this; about a minute). Buttons are clicked and keys typed through Qt's
test functions on the real windows; each picture is the whole screen, a small laptop's, with the
windows where the app puts them (no window manager: no title bars) and a dialog over its window.
The clock starts at a fixed moment, so every run shows the same days. Extra runs: `--dark` (dark
palette) and `--scale 2` (200 %, on a screen twice as large), which save only the Today screen.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.consent import Consent, EndKind, Information, Recipient, RecipientKind
from fieldapp.domain.disclosure import Basis, Disclosure, Exception_
from fieldapp.domain.exports import ReportKind
from fieldapp.domain.mileage import Trip
from fieldapp.domain.people import (
    Actor,
    CaseId,
    ConsentId,
    DisclosureId,
    Role,
    TripId,
    UserId,
    new_id,
)
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import NoteStatus, VisitDetails
from fieldapp.services import demo
from fieldapp.services.casework import CaseService
from fieldapp.services.consents import ConsentService, record_disclosures
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.session import Session
from fieldapp.services.timeline import case_timeline
from fieldapp.services.workspace import Workspace
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.settings_store import load_settings, save_settings
from fieldapp.ui import export_dialog
from fieldapp.ui.compose import Composed, build_window
from fieldapp.ui.export_dialog import ExportDialog
from fieldapp.ui.family_dialog import reveal
from fieldapp.ui.main_window import MainWindow
from fieldapp.ui.palette import ENV_VAR, follow_color_scheme
from fieldapp.ui.run import demo_profile
from fieldapp.ui.sync_controller import SyncOptions
from fieldapp.ui.workspace_view import WorkspaceView
from sync.client.engine import SyncEngine
from sync.client.enrol import enrol

APP: QApplication
OUT = Path()
# Every profile, laptop and export of the tour lives here, under a name that is the same in
# every run: the Settings page and the export messages show these paths.
TOUR_DIR = Path(tempfile.gettempdir()) / "fieldapp-tour"
PASSPHRASE = "copper kettle under the blue bridge"
# The tour syncs by hand only (F5), so each picture shows the moment it was taken for; small
# batches so a sync in progress can be caught between two of them.
TOUR_SYNC = SyncOptions(period_ms=3_600_000, debounce_ms=3_600_000, start_delay_ms=3_600_000,
                        batch_ops=4)
# 10:30 on a Monday where the program works (America/Chicago): every run shows the same days.
# The clock then runs, so the passphrase wait counts down and "synced just now" stays true.
START = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
_STARTED = time.monotonic()


def tour_clock() -> datetime:
    """The tour's clock for every profile and laptop (the server keeps the machine's)."""
    return START + timedelta(seconds=time.monotonic() - _STARTED)


def wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get there in time")
        APP.processEvents()
        time.sleep(0.01)


def settle(seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        APP.processEvents()
        time.sleep(0.01)


def shot(widget: QWidget, name: str) -> None:
    """The whole screen, as the person sees it, once `widget` (the window or dialog on top,
    the one the picture is of) has drawn itself."""
    settle()
    assert widget.isVisible(), name
    APP.primaryScreen().grabWindow(0).save(str(OUT / f"{name}.png"))
    print("saved", name)


def window_for(root: Path, *, sync_options: SyncOptions | None = None) -> Composed:
    """The main window as `fieldapp` opens it: sized to the screen by the app itself."""
    paths = ProfilePaths(root)
    composed = build_window(paths, clock=tour_clock, demo_paths=demo_profile(paths), home=paths,
                            sync_options=sync_options)
    composed.window.show()
    return composed


def first_run(window: MainWindow) -> None:
    page = window.create_page
    shot(window, "01-first-run")
    QTest.keyClicks(page.name, "Jordan Rivera")
    QTest.keyClicks(page.passphrase, "password12345678")
    shot(window, "02-first-run-refused")
    page.passphrase.clear()
    QTest.keyClicks(page.passphrase, "copper kettle under the blue bridge")
    QTest.keyClicks(page.confirm, "copper kettle under the blue bridge")
    shot(window, "03-first-run-good")
    QTest.mouseClick(page.create_button, Qt.MouseButton.LeftButton)
    wait(lambda: window.workspace is not None)
    shot(window, "04-today-new-profile")
    window.lock()
    wait(lambda: window.workspace is None)
    for _ in range(3):
        wait(window.unlock_page.unlock_button.isEnabled)
        window.unlock_page.passphrase.clear()
        QTest.keyClicks(window.unlock_page.passphrase, "not my passphrase at all")
        QTest.keyClick(window.unlock_page.passphrase, Qt.Key.Key_Return)
        wait(lambda: "does not open" in window.unlock_page.error.text())
    shot(window, "05-unlock-wrong-passphrase-wait")


def coordinator_tour(window: MainWindow) -> None:
    """The coordinator's demo: Today, the caseload, a family met in the field, a family's
    timeline, notes, drug screens, mileage, settings, consents."""
    ws = open_demo_as(window, Role.RECOVERY_COORDINATOR)
    wait(lambda: ws.today.drafts_model.rowCount() > 0)
    shot(window, "06-today")
    ws.setCurrentWidget(ws.caseload)
    wait(lambda: ws.caseload.model.rowCount() > 0)
    shot(window, "07-caseload")
    ws.caseload.new_button.click()
    family = ws.caseload.family_dialog
    wait(family.isEnabled)
    type_family(family)
    shot(family, "43-coordinator-family-met-in-the-field")
    family.done(0)
    ws.caseload.open_button.click()
    wait(lambda: bool(ws.open_windows()))
    case_page = ws.open_windows()[-1]
    wait(lambda: case_page.model.rowCount() > 0)
    shot(case_page, "08-case-timeline")
    case_page.close()
    ws.setCurrentWidget(ws.today)
    ws.today.open_draft_button.click()
    wait(lambda: bool(ws.open_windows()))
    editor = ws.open_windows()[-1]
    settle(1.0)
    shot(editor, "09-visit-note-draft")
    editor.sign_button.click()
    settle(1.0)
    attestation = getattr(editor, "attestation", None)
    if attestation is not None and attestation.isVisible():
        shot(attestation, "10-sign-attestation")
        attestation.reject()
    editor.close()
    settle(0.5)
    ws.today.open_returned_button.click()
    wait(lambda: bool(ws.open_windows()))
    returned = ws.open_windows()[-1]
    settle(1.0)
    shot(returned, "11-visit-note-returned")
    returned.close()
    screens(window)
    consents_tour(window)


def screens(window: MainWindow) -> None:
    ws = window.workspace
    assert ws is not None
    timeline = window._runner.worker.call(
        lambda: case_timeline(window.current_session().workspace(), CaseService(
            window.current_session().workspace()).caseload()[0].case.id))
    positive = next((e for e in timeline.entries if e.screen_id), None)
    if positive is not None and positive.screen_id:
        ws.open_screen(timeline.case.id, positive.screen_id)
        form = ws.open_windows()[-1]
        settle(1.0)
        shot(form, "12-drug-screen-recorded")
        form.close()
    ws.record_screen(timeline.case.id)
    form = ws.open_windows()[-1]
    settle(1.0)
    shot(form, "13-drug-screen-new")
    form.close()
    ws.setCurrentWidget(ws.mileage)
    wait(lambda: ws.mileage.data is not None)
    shot(window, "14-mileage")
    ws.mileage.add_trip()
    dialog = ws.mileage.trip_dialog
    QTest.keyClicks(dialog.purpose, "Home visit")
    dialog.miles.setValue(40)
    settle(1.0)
    shot(dialog, "15-trip-crosses-the-cap")
    dialog.done(0)  # closed unsaved without the question a person would be asked
    ws.setCurrentWidget(ws.settings)
    settle(0.8)
    scroll = ws.settings.findChild(QScrollArea)
    scroll.ensureWidgetVisible(ws.settings.switch_profile_button)  # the Profiles box, at the end
    shot(window, "16-settings")


COURT = Recipient(name="Springfield County Circuit Court", kind=RecipientKind.COURT)


def tour_consent(case: Case, *, recipients: tuple[Recipient, ...], purpose: str,
                 information: tuple[Information, ...], description: str, signed: date,
                 expires: date, event: str = "") -> Consent:
    parent = case.parents[0].name
    return Consent(id=ConsentId(new_id()), case_id=case.id, patient=parent,
                   disclosing_party="Family recovery program", information=information,
                   description=description, recipients=recipients, purpose=purpose,
                   expires_on=expires, expiry_event=event, signed_by=parent, signed_on=signed,
                   recorded_by=UserId(""), recorded_at=tour_clock())


def demo_consents(session: Session, case: Case) -> None:
    """Three consents of the family's parent (in force, expired, revoked) and what was
    disclosed under them and under one exception."""
    ws = session.workspace()
    today, consents, parent = ws.today(), ConsentService(ws), case.parents[0].name
    in_force = consents.record(tour_consent(
        case, recipients=(COURT,), purpose="Progress reports to the court",
        information=(Information.DRUG_SCREENS, Information.ATTENDANCE),
        description="Drug screen results and attendance from the start of the case",
        signed=today - timedelta(days=40), expires=today + timedelta(days=325),
        event="the court closes the child-welfare case"))
    expired = consents.record(tour_consent(
        case, recipients=(Recipient(name="Haven House Recovery Center",
                                    kind=RecipientKind.TREATMENT_PROVIDER),),
        purpose="Coordination of treatment", information=(Information.VISIT_NOTES,),
        description="Visit notes of the first three months", signed=today - timedelta(days=420),
        expires=today - timedelta(days=55)))
    revoked = consents.record(tour_consent(
        case, recipients=(Recipient(name="Department of Children and Family Services",
                                    kind=RecipientKind.CHILD_WELFARE),),
        purpose="Case planning", information=(Information.ATTENDANCE,),
        description="Attendance at visits and meetings", signed=today - timedelta(days=90),
        expires=today + timedelta(days=275)))
    consents.end(revoked.id, kind=EndKind.REVOKED, on=today - timedelta(days=12),
                 how="Signed note handed to the coordinator")

    def disclosed(days_ago: int, recipient: Recipient, *, purpose: str,
                  information: Information, what: str, basis: Basis) -> Disclosure:
        return Disclosure(id=DisclosureId(new_id()), case_id=case.id, people=(parent,),
                          recipient=recipient, purpose=purpose, information=information,
                          what=what, basis=basis, at=ws.now() - timedelta(days=days_ago),
                          by=ws.actor.user_id,
                          sha256=hashlib.sha256(f"{what}{days_ago}".encode()).hexdigest())

    with ws.unit() as stores:
        record_disclosures(ws, stores, [
            disclosed(150, expired.recipients[0], purpose=expired.purpose,
                      information=Information.VISIT_NOTES, what="Visit log, first three months",
                      basis=Basis(consents={parent: expired.id})),
            disclosed(9, Recipient(name="DCFS hotline", kind=RecipientKind.CHILD_WELFARE),
                      purpose="Report of suspected neglect", information=Information.ATTENDANCE,
                      what="Visit log", basis=Basis(exception=Exception_.CHILD_ABUSE_REPORT,
                                                    reference="Hotline report 2611-4471")),
            disclosed(2, COURT, purpose=in_force.purpose, information=Information.DRUG_SCREENS,
                      what="Drug screen log, last three months",
                      basis=Basis(consents={parent: in_force.id}))])


def consents_tour(window: MainWindow) -> None:
    """A family's consents, the record-consent dialog filled in, the accounting tab."""
    ws = window.workspace
    assert ws is not None
    case = in_app(window, lambda s: CaseService(s.workspace()).caseload()[0].case)
    assert isinstance(case, Case)
    in_app(window, lambda s: demo_consents(s, case))
    consents = ws.open_consents(case.id)  # what the family page's button opens
    wait(lambda: consents.model.rowCount() >= 3)  # the demo's own consent besides
    consents.view.clearSelection()  # every state's tint shows; the current row stays
    shot(consents, "33-consents")
    dialog = consents.open_record()
    wait(dialog.isEnabled)
    for information in (Information.VISIT_NOTES, Information.ATTENDANCE):
        dialog.information[information].setChecked(True)
    QTest.keyClicks(dialog.description, "Visit notes and attendance from 1 December on")
    for name, kind in ((COURT.name, RecipientKind.COURT),
                       ("Haven House Recovery Center", RecipientKind.TREATMENT_PROVIDER)):
        QTest.keyClicks(dialog.recipient_name, name)
        dialog.recipient_kind.setCurrentIndex(dialog.recipient_kind.findData(str(kind)))
        dialog.add_recipient_button.click()
    QTest.keyClicks(dialog.purpose, "Progress reports to the court and treatment planning")
    dialog.statement_on_form.setChecked(True)
    dialog.has_expiry.setChecked(True)
    QTest.keyClicks(dialog.expiry_event, "the court closes the child-welfare case")
    shot(dialog, "34-record-consent")
    dialog.done(0)
    consents.tabs.setCurrentWidget(consents.accounting)
    wait(lambda: consents.accounting.model.rowCount() >= 3)
    shot(consents, "35-accounting-of-disclosures")
    consents.close()


def open_demo_as(window: MainWindow, role: Role) -> WorkspaceView:
    """Lock what is open and open the demo of `role`, as `fieldapp --demo <role>` does."""
    window.lock()
    wait(lambda: window.workspace is None)
    window.open_demo(role)
    wait(lambda: window.workspace is not None, 60)
    assert window.workspace is not None
    return window.workspace


def supervisor_tour(window: MainWindow) -> None:
    """The supervisor's demo: Today, the team, notes to co-sign, months to approve, random
    screens, a family started in the field to confirm, a new family, exports."""
    ws = open_demo_as(window, Role.SUPERVISOR)
    assert ws.supervisor is not None
    page = ws.supervisor
    ws.setCurrentWidget(ws.today)
    wait(lambda: ws.today.cosign_model.rowCount() > 0)
    settle(0.8)
    shot(window, "41-supervisor-today")
    ws.setCurrentWidget(page)
    wait(lambda: page.team.model.rowCount() > 0)
    shot(window, "17-supervisor-team")
    page.tabs.setCurrentWidget(page.cosign)
    shot(window, "18-supervisor-notes-to-cosign")
    page.cosign.open_review()
    wait(lambda: getattr(page.cosign, "review_dialog", None) is not None)
    shot(page.cosign.review_dialog, "19-supervisor-review-note")
    page.cosign.review_dialog.reject()
    page.tabs.setCurrentWidget(page.mileage)
    shot(window, "20-supervisor-mileage-to-approve")
    approve_several(window, page.mileage)
    page.tabs.setCurrentWidget(page.screens)
    settle(0.8)
    page.screens.open_draw()
    dialog = page.screens.draw_dialog
    dialog.draw_button.click()
    settle(1.0)
    shot(dialog, "21-supervisor-schedule-drawn")
    dialog.reject()
    shot(window, "22-supervisor-random-screens")
    families_tour(window)
    export_tour(window, page)
    cosupervision_tour(window)


def approve_several(window: MainWindow, months: Any) -> None:
    """Several months chosen at once (Ctrl+click): asked once for all, Cancel the default."""
    months.table.setFocus()
    rows = min(3, months.model.rowCount())
    selection = months.table.selectionModel()
    for row in range(rows):
        selection.select(months.model.index(row, 0), selection.SelectionFlag.Select
                         | selection.SelectionFlag.Rows)
    months.approve_button.click()
    wait(lambda: months.confirmation is not None and months.confirmation.isVisible())
    shot(months.confirmation, "42-supervisor-approve-selected")
    months.confirmation.reject()
    settle(0.3)


REFERRAL = Case(
    id=CaseId("tour-abernathy"), family_name="Abernathy",
    parents=(Person(name="Sky Abernathy", relationship="mother"),),
    children=(Person(name="June Abernathy", relationship="daughter", details="age 5"),),
    address="Unit 4, 19 Ferry Road, Millbrook", phone="(815) 555-0188",
    referral_source="Met at the Millbrook food pantry; asked for help herself",
    coordinator_id=demo.WORKER, supervisor_ids=(demo.SUPERVISOR, demo.SUD_SUPERVISOR),
    start_date=START.date())


def field_referral(session: Session) -> Case:
    """Jordan Demo's family met in the field, as the supervisor's laptop receives it by sync."""
    jordan = Workspace(session.vault(), actor=Actor(user_id=demo.WORKER,
                                                      role=Role.RECOVERY_COORDINATOR),
                       clock=tour_clock)
    return CaseService(jordan).open_case(REFERRAL)


def families_tour(window: MainWindow) -> None:
    """The caseload with a family awaiting confirmation, its Edit family with who started it
    and Confirm ticked, and a new family being typed in."""
    ws = window.workspace
    assert ws is not None
    in_app(window, field_referral)
    caseload = ws.caseload
    ws.setCurrentWidget(caseload)
    caseload.refresh()
    wait(lambda: any(row.case.id == REFERRAL.id for row in caseload.model.rows))
    caseload.search.clear()
    caseload.view.selectRow(row_of(caseload, REFERRAL.id))
    shot(window, "44-supervisor-caseload-awaiting-confirmation")
    caseload.edit_button.click()
    dialog = caseload.family_dialog
    wait(dialog.isEnabled)
    assign_team(dialog)  # the team assigned, then confirmed
    dialog.confirm.setFocus()  # where the decision is: below the fold on a small screen
    reveal(dialog.confirm)
    shot(dialog, "45-supervisor-confirm-family")
    dialog.done(0)
    caseload.new_button.click()
    dialog = caseload.family_dialog
    wait(dialog.isEnabled)
    type_family(dialog)
    assign_team(dialog)
    shot(dialog, "40-supervisor-new-family")
    dialog.done(0)  # thrown away unasked: the tour saves nothing here
    settle(0.3)


def row_of(caseload: Any, case_id: str) -> int:
    """The caseload's row (as shown) of the family `case_id`."""
    for row in range(caseload.proxy.rowCount()):
        source = caseload.proxy.mapToSource(caseload.proxy.index(row, 0)).row()
        if caseload.model.row_at(source).case.id == case_id:
            return row
    raise LookupError(case_id)


def type_family(dialog: Any) -> None:
    """A family typed in as a person would: name, a parent, a child, the address."""
    QTest.keyClicks(dialog.family_name, "Marlow")
    parent = dialog.parents_editor.rows[0]
    QTest.keyClicks(parent.name, "Terry Marlow")
    QTest.keyClicks(parent.relationship, "father")
    child = dialog.children_editor.add_row()
    QTest.keyClicks(child.name, "Ada Marlow")
    QTest.keyClicks(child.relationship, "daughter")
    QTest.keyClicks(child.details, "age 4")
    QTest.keyClicks(dialog.address, "7 Lock Lane, Eastfield. Blue door at the back; park on the "
                                    "street.")
    QTest.keyClicks(dialog.referral_source, "DCFS caseworker Maria Ortiz")


def assign_team(dialog: Any) -> None:
    """The demo's coordinator and intact worker chosen from the team list."""
    for combo, role in ((dialog.coordinator, Role.RECOVERY_COORDINATOR),
                        (dialog.intact_worker, Role.INTACT_WORKER)):
        combo.setCurrentIndex(combo.findText(demo.DEMO_PEOPLE[role].name,
                                             Qt.MatchFlag.MatchStartsWith))


def intact_worker_tour(window: MainWindow) -> None:
    """The intact worker's demo: Today, the families shared with the coordinator."""
    ws = open_demo_as(window, Role.INTACT_WORKER)
    ws.setCurrentWidget(ws.today)
    today = ws.today
    wait(lambda: today.due_model.rowCount() + today.drafts_model.rowCount() > 0)
    settle(0.8)
    shot(window, "46-intact-worker-today")


def profiles_tour(window: MainWindow) -> None:
    """Locked: the unlock page's chooser lists every profile on the laptop, the demos last."""
    window.lock()
    wait(lambda: window.workspace is None)
    locked = window.unlock_page
    wait(lambda: len(locked.profiles()) > 1 and locked.profile.isVisible())
    locked.profile.setCurrentIndex(0)  # Default: Jordan Rivera's own profile
    locked.profile.activated.emit(0)
    wait(lambda: window.unlock_page is not locked)
    page = window.unlock_page
    wait(lambda: len(page.profiles()) > 1 and page.profile.isVisible())
    page.profile.setFocus()
    page.profile.showPopup()
    shot(window, "47-unlock-choose-profile")
    page.profile.hidePopup()


def cosupervision_tour(window: MainWindow) -> None:
    """The program requires both supervisors' co-signatures: Avery (the intact supervisor)
    co-signs the oldest waiting note, which now waits for the SUD supervisor; past the deadline
    it is escalated on Avery's Today (and on the SUD supervisor's and the author's)."""
    def require_both(session: Session) -> None:
        ws = session.workspace()
        with ws.db.atomic():
            save_settings(ws.db, replace(load_settings(ws.db), cosupervision_required=True),
                          now=ws.now().isoformat())
        notes = NoteService(session.workspace())  # after the rule changed: it reads it anew
        oldest = notes.with_status(NoteStatus.SIGNED)[0]
        notes.cosign(oldest.id)

    in_app(window, require_both)
    ws = window.workspace
    assert ws is not None
    ws.setCurrentWidget(ws.today)
    ws.today.refresh()
    wait(lambda: ws.today.radar_model.rowCount() > 0)
    settle(0.8)
    shot(window, "38-supervisor-today-escalated")


def export_tour(window: MainWindow, page: Any) -> None:
    """Export the team's visit log as PDF: the dialog, the progress bar, the saved message."""
    page.export_button.click()
    ws = window.workspace
    assert ws is not None
    dialog = next(w for w in ws.open_windows() if isinstance(w, ExportDialog))
    wait(lambda: dialog.worker.count() > 0)
    dialog.period.setCurrentIndex(2)  # the last three months
    QTest.keyClicks(dialog.terms_box.recipient.lineEdit(), "Program director")
    QTest.keyClicks(dialog.terms_box.purpose, "Quarterly review of the team's visits")
    shot(dialog, "30-export-dialog")
    target = TOUR_DIR / "Documents" / "visit-log.pdf"
    target.parent.mkdir(exist_ok=True)
    export_dialog.choose_path = lambda *_: target  # the system's save dialog, answered
    hold, release = threading.Event(), threading.Event()

    def pause(_what: str, done: int, _total: int) -> None:  # on the export thread
        if done == 3 and not hold.is_set():
            hold.set()
            release.wait(10)

    dialog.runner.progressed.connect(pause, Qt.ConnectionType.DirectConnection)
    dialog.export_button.click()
    wait(hold.is_set)
    settle(0.5)
    shot(dialog, "31-export-in-progress")
    release.set()
    wait(lambda: "Saved" in dialog.message.text(), 60)
    shot(dialog, "32-export-saved")
    dialog.close()
    disclosure_tour(window, target.parent)


def disclosure_tour(window: MainWindow, folder: Path) -> None:
    """A family's drug screens for a court under the parent's consent, and the same for a
    treatment centre the consent does not name: refused."""
    ws = window.workspace
    assert ws is not None
    case = in_app(window, lambda s: CaseService(s.workspace()).caseload()[0].case)
    assert isinstance(case, Case)

    def consent(session: Session) -> None:
        today = session.workspace().today()
        ConsentService(session.workspace()).record(tour_consent(
            case, recipients=(COURT,), purpose="Progress reports to the court",
            information=(Information.DRUG_SCREENS, Information.ATTENDANCE),
            description="Drug screen results and attendance from the start of the case",
            signed=today - timedelta(days=40), expires=today + timedelta(days=325)))

    in_app(window, consent)
    dialog = ws.open_export(ReportKind.SCREENS, case_id=case.id)
    wait(lambda: dialog.worker.count() > 0 and dialog.terms_box.recipient.count() > 0)
    dialog.period.setCurrentIndex(2)
    box = dialog.terms_box
    court = box.recipient.findText(COURT.name)
    box.recipient.setCurrentIndex(court)
    box.recipient.activated.emit(court)  # picked from the list: its kind and purpose follow
    shot(dialog, "36-disclosure-to-a-court")
    export_dialog.choose_path = lambda *_: folder / "screens-court.pdf"
    dialog.export_button.click()
    wait(lambda: "Saved" in dialog.message.text(), 60)
    box.recipient_kind.setCurrentIndex(box.recipient_kind.findData(
        RecipientKind.TREATMENT_PROVIDER))
    box.recipient.setEditText("Haven House Recovery Center")
    box.purpose.setText("Coordination of treatment")
    export_dialog.choose_path = lambda *_: folder / "screens-haven.pdf"
    dialog.export_button.click()
    wait(lambda: "No consent in force" in dialog.message.text(), 60)
    shot(dialog, "37-disclosure-refused")
    dialog.close()


def server_tour(window: MainWindow, tmp: Path) -> None:
    """Connect the open profile to a real server started here on 127.0.0.1, then sync."""
    data = tmp / "server"
    cli = [sys.executable, "-c", "from sync.server.cli import main; raise SystemExit(main())",
           "--data", str(data)]
    for args in (["init", "--name", "Millbrook IFR"], ["team-add", "t1", "--name", "East"],
                 ["user-add", "rc-jordan", "--name", "Jordan Rivera", "--role",
                  "recovery coordinator", "--team", "t1"],
                 ["user-add", "sup-sam", "--name", "Sam Supervisor", "--role", "supervisor",
                  "--team", "t1"]):
        subprocess.run([*cli, *args], check=True, capture_output=True, cwd=ROOT)
    code = subprocess.run([*cli, "code", "rc-jordan"], check=True, capture_output=True,
                          text=True, cwd=ROOT).stdout.split()[-1]
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        settle(3.0)
        ws = window.workspace
        assert ws is not None
        ws.setCurrentWidget(ws.settings)
        settle(0.8)
        ws.settings.open_enrolment()
        dialog = ws.settings.enrol_dialog
        QTest.keyClicks(dialog.server, f"http://127.0.0.1:{port}")
        QTest.keyClicks(dialog.code, code)
        shot(dialog, "24-connect-to-server")
        dialog.connect_button.click()
        wait(lambda: dialog.recovery_dialog is not None)
        shown = dialog.recovery_dialog
        recovery_code = shown.code.text()  # Jordan's spare laptop needs it
        shown.stored.setChecked(True)
        shown.done_button.click()
        wait(lambda: ws.settings.server.text().startswith("Connected to"))
        wait(lambda: window.sync is not None and window.sync.state.last_success != "")
        shot(window, "25-settings-connected")
        sync_tour(window, f"http://127.0.0.1:{port}", data,
                  lambda user: subprocess.run([*cli, "code", user], check=True,
                                              capture_output=True, text=True,
                                              cwd=ROOT).stdout.split()[-1],
                  recovery_code=recovery_code)
    finally:
        server.terminate()
        server.wait(timeout=10)


def free_port(preferred: int = 8765) -> int:
    """The server's port: the same in every run (the address shows in two pictures) unless it
    is taken."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free port")


def other_laptop(tmp: Path, name: str, url: str, code: str, recovery_code: str = ""
                 ) -> Session:
    """Another laptop, enrolled and synced in this process (the supervisor's, Jordan's spare:
    hers recovers her keys with her recovery code)."""
    session = Session(ProfilePaths(tmp / name), clock=tour_clock)
    session.create(PASSPHRASE)
    enrol(session, server_url=url, code=code, device_name=name, recovery_code=recovery_code)
    SyncEngine(session).sync()
    return session


def sync_now(window: MainWindow) -> None:
    assert window.sync is not None
    window.sync.sync_now()
    wait(lambda: window.sync is not None and window.sync.running)
    wait(lambda: window.sync is not None and not window.sync.running, 60)


def in_app(window: MainWindow, fn: Callable[[Session], object]) -> object:
    """Run a change through the window's task runner, as a page would, and wait for it."""
    done: list[object] = []
    session = window.current_session()
    window._runner.run(lambda: fn(session), on_success=done.append)
    wait(lambda: bool(done))
    return done[0]


def program_today() -> date:
    """Today where the program works (the default zone): the day the rules check dates against,
    which differs from the machine's UTC date for six hours every night."""
    return tour_clock().astimezone(ProgramSettings().zone).date()


def visit(narrative: str) -> VisitDetails:
    return VisitDetails(visit_date=program_today(), people_present=("mother", "son"),
                        narrative=narrative, next_steps="Bring the meeting list next time.")


def trip(miles: int, destination: str) -> Trip:
    return Trip(id=TripId(new_id()), worker_id=UserId("rc-jordan"), trip_date=program_today(),
                origin="County office", destination=destination, purpose="Home visit",
                miles=Decimal(miles), recorded_at=tour_clock())


def sync_tour(window: MainWindow, url: str, data: Path, code: Callable[[str], str], *,
              recovery_code: str) -> None:
    """The supervisor sets up a family for Jordan; Jordan syncs, works, syncs with a second
    laptop of hers changing the same records: the status area, progress, the attention list."""
    tmp = data.parent
    ws, status = window.workspace, window.sync_status
    assert ws is not None and window.sync is not None
    supervisor = other_laptop(tmp, "supervisor-laptop", url, code("sup-sam"))
    family = CaseService(supervisor.workspace()).open_case(Case(
        id=CaseId(new_id()), family_name="Alder",
        parents=(Person(name="Dana Alder", relationship="mother"),),
        children=(Person(name="Eli Alder", relationship="son", details="age 6"),),
        address="12 Elm Street, Springfield", coordinator_id=UserId("rc-jordan"),
        supervisor_ids=(UserId("sup-sam"),), start_date=program_today()))
    SyncEngine(supervisor).sync()
    ws.setCurrentWidget(ws.caseload)
    sync_now(window)
    wait(lambda: ws.caseload.model.rowCount() > 0)
    shot(window, "26-synced")

    note = in_app(window, lambda s: NoteService(s.workspace()).start_draft(family.id, visit(
        "Met Dana at home; she attended two meetings this week.")))
    for number in range(11):
        in_app(window, lambda s, n=number: MileageService(s.workspace()).add_trip(
            trip(2 + n % 3, "Alder home")))
    gate, held = threading.Event(), threading.Event()
    worker = window._runner.worker

    def hold(phase: str, done: int, total: int) -> None:  # on the sync thread
        if phase == "sending" and done >= 4 and not held.is_set():
            held.set()
            worker.submit(gate.wait)
    window.sync.progressed.connect(hold, Qt.ConnectionType.DirectConnection)
    try:
        window.sync.sync_now()
        wait(lambda: status.last_sync.text().startswith("Syncing: sent 4"))
        shot(window, "27-sync-in-progress")
    finally:
        gate.set()
    wait(lambda: window.sync is not None and not window.sync.running, 60)

    # Jordan's spare laptop changes the same draft and submits the month while this one,
    # offline, changes the draft too and logs one more trip.
    spare = other_laptop(tmp, "spare-laptop", url, code("rc-jordan"), recovery_code)
    draft = NoteService(spare.workspace()).get(note.id)
    NoteService(spare.workspace()).save_draft(draft.id, visit(
        "Met Dana at home; she attended two meetings. Eli was at school."),
        expected_revision=draft.revision)
    MileageService(spare.workspace()).submit(program_today().strftime("%Y-%m"))
    SyncEngine(spare).sync()
    here = in_app(window, lambda s: NoteService(s.workspace()).get(note.id))
    in_app(window, lambda s: NoteService(s.workspace()).save_draft(here.id, visit(
        "Met Dana at home; she attended two meetings and starts a new job Monday."),
        expected_revision=here.revision))
    in_app(window, lambda s: MileageService(s.workspace()).add_trip(
        trip(9, "Springfield court")))
    sync_now(window)
    wait(status.attention.isVisible)
    status.open_attention()
    dialog = status.attention_dialog
    assert dialog is not None
    wait(lambda: dialog.model.rowCount() == 2)
    kinds = [item.kind for item in dialog.model.rows]
    dialog.items.selectRow(kinds.index("conflict"))
    shot(dialog, "28-attention-conflict")
    dialog.items.selectRow(kinds.index("refused"))
    shot(dialog, "29-attention-refused")
    dialog.close()
    set_aside_tour(window, data, spare, family.id)
    for laptop in (supervisor, spare):
        laptop.lock()


def set_aside_tour(window: MainWindow, data: Path, spare: Session, case_id: str) -> None:
    """A server that lies (the security tests' insider, tests/sync/insider.py) files a note of
    another family under Jordan's: her laptop files it nowhere and says so."""
    from tests.sync.insider import Insider, plant_misplaced_note  # noqa: PLC0415

    plant_misplaced_note(SimpleNamespace(data_dir=data), Insider(spare), case_id,
                         "another-family")
    sync_now(window)
    status = window.sync_status
    status.open_attention()
    dialog = status.attention_dialog
    assert dialog is not None
    wait(lambda: "set aside" in [item.kind for item in dialog.model.rows])
    dialog.items.selectRow([item.kind for item in dialog.model.rows].index("set aside"))
    shot(dialog, "39-attention-set-aside")
    dialog.close()


def main() -> None:
    global APP, OUT  # noqa: PLW0603 - a script's own state
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.dark:
        os.environ[ENV_VAR] = "dark"
    # As fieldapp.ui.run does: 125 % stays 125 %, not rounded to 100 % or 200 %.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    APP = QApplication([])
    APP.setApplicationName("FieldApp")
    APP.setStyle("Fusion")
    follow_color_scheme(APP)
    shutil.rmtree(TOUR_DIR, ignore_errors=True)
    TOUR_DIR.mkdir(parents=True)
    backdrop = desktop_backdrop()
    try:
        tour(dark=args.dark, scale=args.scale)
    finally:
        backdrop.close()
        shutil.rmtree(TOUR_DIR, ignore_errors=True)


def desktop_backdrop() -> QWidget:
    """A plain desktop under the windows (there is no window manager, so nothing else draws
    one): the first window shown, so the bottom one."""
    backdrop = QWidget(None, Qt.WindowType.FramelessWindowHint
                       | Qt.WindowType.WindowStaysOnBottomHint
                       | Qt.WindowType.WindowDoesNotAcceptFocus)
    backdrop.setAccessibleName("Desktop")
    backdrop.setAutoFillBackground(True)
    palette = backdrop.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#3b4a5a"))
    backdrop.setPalette(palette)
    backdrop.setGeometry(APP.primaryScreen().geometry())
    backdrop.show()
    settle(0.3)
    return backdrop


def tour(*, dark: bool, scale: float) -> None:
    """Jordan's first run, server and sync, then the demos of the coordinator, the supervisor
    and the intact worker, then the profile chooser. With `dark` or `scale`: the coordinator's
    demo Today only."""
    composed = window_for(TOUR_DIR / "profile", sync_options=TOUR_SYNC)
    window = composed.window
    if dark or scale != 1.0:
        window.open_demo()
        wait(lambda: window.workspace is not None, 60)
        settle(1.5)
        suffix = "dark" if dark else f"scale-{int(scale * 100)}"
        shot(window, f"23-today-{suffix}")
    else:
        first_run(window)
        window.unlock_page.passphrase.clear()
        wait(window.unlock_page.unlock_button.isEnabled, 30)
        QTest.keyClicks(window.unlock_page.passphrase, PASSPHRASE)
        QTest.keyClick(window.unlock_page.passphrase, Qt.Key.Key_Return)
        wait(lambda: window.workspace is not None)
        server_tour(window, TOUR_DIR)
        coordinator_tour(window)
        supervisor_tour(window)
        intact_worker_tour(window)
        profiles_tour(window)
        window.close()
    composed.shut_down()

if __name__ == "__main__":
    main()
