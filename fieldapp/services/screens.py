"""Recording drug screens, correcting them, and drawing random screen schedules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from fieldapp.domain import schedule, screens
from fieldapp.domain.audit import Action
from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.people import CaseId, ScreenId
from fieldapp.domain.schedule import RandomSchedule
from fieldapp.domain.screens import DrugScreen, LabConfirmation, LabStatus
from fieldapp.services.workspace import Workspace


class ScreenService:
    """Thread rule: the database worker."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def record(self, screen: DrugScreen) -> DrugScreen:
        """Store a new screen (revision 1) recorded by the actor."""
        screen = replace(screen, revision=1, recorded_by=self._ws.actor.user_id,
                         correction_reason="")
        screens.check_screen(screen, self._ws.settings)
        with self._ws.unit() as stores:
            self._ws.require_case(stores.cases.get(screen.case_id))
            stores.screens.add(screen)
            self._ws.audit(stores, Action.SCREEN_RECORDED, screen.id, case=screen.case_id,
                           reason=str(screen.reason))
        return screen

    def correct(self, screen_id: ScreenId, corrected: DrugScreen, *, reason: str) -> DrugScreen:
        """A new revision with a reason; the earlier revisions stay readable."""
        with self._ws.unit() as stores:
            current = stores.screens.current(screen_id)
            self._ws.require_case(stores.cases.get(current.case_id))
            revision = screens.correct(current, replace(corrected,
                                                        recorded_by=self._ws.actor.user_id),
                                       reason=reason, settings=self._ws.settings)
            stores.screens.add_revision(revision)
            self._ws.audit(stores, Action.SCREEN_CORRECTED, screen_id, case=current.case_id,
                           revision=revision.revision)
        return revision

    def confirm_lab(self, screen_id: ScreenId, *, status: LabStatus, on: date) -> DrugScreen:
        """Record the lab's answer, as a correction that says so."""
        current = self.current(screen_id)
        return self.correct(screen_id, replace(current, lab=LabConfirmation(status=status, on=on)),
                            reason=f"lab result recorded: {status}")

    def current(self, screen_id: ScreenId) -> DrugScreen:
        stores = self._ws.stores()
        screen = stores.screens.current(screen_id)
        self._ws.require_case(stores.cases.get(screen.case_id))
        return screen

    def history(self, screen_id: ScreenId) -> list[DrugScreen]:
        self.current(screen_id)
        return self._ws.stores().screens.history(screen_id)

    def revision_times(self, screen_id: ScreenId) -> dict[int, datetime]:
        """When each revision of a screen was recorded (plain metadata), by revision number."""
        self.current(screen_id)
        rows = self._ws.db.execute(
            "SELECT revision, recorded_at FROM drug_screen_revisions WHERE screen_id = ?",
            [screen_id]).fetchall()
        return {int(revision): datetime.fromisoformat(str(at)) for revision, at in rows}

    def for_case(self, case_id: CaseId) -> list[DrugScreen]:
        stores = self._ws.stores()
        self._ws.require_case(stores.cases.get(case_id))
        return stores.screens.for_case(case_id)

    def draw_schedule(self, case_id: CaseId, *, first_day: date, last_day: date
                      ) -> RandomSchedule:
        """A supervisor draws a case's random screen days from a fresh, recorded seed."""
        if not self._ws.actor.is_supervisor:
            raise NotPermitted("Random screen schedules are drawn by a supervisor.")
        if first_day <= self._ws.today():
            raise RuleViolation("Draw a schedule before its period begins, so nobody can say "
                                "the days were chosen after the fact.")
        drawn = schedule.make_schedule(case_id=case_id, first_day=first_day, last_day=last_day,
                                       per_month=self._ws.settings.random_screens_per_month)
        with self._ws.unit() as stores:
            self._ws.require_case(stores.cases.get(case_id))
            schedule_id = stores.screens.add_schedule(drawn, created_by=self._ws.actor.user_id)
            self._ws.audit(stores, Action.SCHEDULE_DRAWN, schedule_id, case=case_id,
                           fingerprint=drawn.fingerprint)
        return drawn

    def schedules(self, case_id: CaseId) -> list[RandomSchedule]:
        stores = self._ws.stores()
        self._ws.require_case(stores.cases.get(case_id))
        return stores.screens.schedules(case_id)
