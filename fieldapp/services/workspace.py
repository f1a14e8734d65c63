"""What every use case needs from an open vault: the stores, the settings, the clock, the actor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import sqlite_utils

from fieldapp.domain.cases import Case
from fieldapp.domain.clock import Clock, iso
from fieldapp.domain.errors import NotPermitted
from fieldapp.domain.people import Actor, Role
from fieldapp.domain.settings import ProgramSettings
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.case_store import CaseStore
from fieldapp.storage.consent_store import ConsentStore
from fieldapp.storage.note_store import NoteStore
from fieldapp.storage.records import RecordStore
from fieldapp.storage.screen_store import ScreenStore
from fieldapp.storage.sealed import SealedTable
from fieldapp.storage.settings_store import load_settings
from fieldapp.storage.trip_store import TripStore
from fieldapp.storage.vault import Vault


@dataclass(frozen=True)
class Stores:
    cases: CaseStore
    notes: NoteStore
    screens: ScreenStore
    trips: TripStore
    audit: AuditStore
    consents: ConsentStore


class Workspace:
    """An open vault seen by one person.

    Thread rule: the database worker. `unit()` is one transaction: everything written inside it,
    the audit entry included, commits together or not at all.

    Attributes:
        actor: who is acting.
    """

    def __init__(self, vault: Vault, *, actor: Actor, clock: Clock) -> None:
        self._vault, self.actor, self._clock = vault, actor, clock
        self._settings: ProgramSettings | None = None

    @property
    def db(self) -> sqlite_utils.Database:
        return self._vault.open_parts()[0]

    def now(self) -> datetime:
        return self._clock()

    def today(self) -> date:
        return self.now().astimezone(self.settings.zone).date()

    @property
    def settings(self) -> ProgramSettings:
        if self._settings is None:
            self._settings = load_settings(self.db)
        return self._settings

    def stores(self) -> Stores:
        db, key = self._vault.open_parts()
        now = iso(self._clock())

        def table(name: str) -> SealedTable:
            return SealedTable(db, key, name)

        return Stores(
            cases=CaseStore(table("cases"), now=now),
            notes=NoteStore(table("visit_notes"), table("addenda"), table("note_reviews"),
                            now=now),
            screens=ScreenStore(table("drug_screen_revisions"), table("random_schedules"),
                                now=now),
            trips=TripStore(table("trips"), table("mileage_months"), now=now),
            audit=AuditStore(db, key),
            consents=ConsentStore(table("consents"), table("consent_ends"),
                                  table("disclosures")),
        )

    @contextmanager
    def unit(self) -> Iterator[Stores]:
        """One transaction with fresh stores; an exception rolls all of it back."""
        with self.db.atomic():
            yield self.stores()

    def records(self) -> RecordStore:
        """The vault's general sealed records (the owner's name, the staff directory)."""
        return RecordStore(self._vault, clock=self._clock)

    def audit(self, stores: Stores, action: str, subject: str, **details: object) -> None:
        stores.audit.append(at=iso(self._clock()), actor=self.actor.user_id, action=action,
                            subject=subject, details=details)

    def require_clinical_access(self) -> None:
        if self.actor.role is Role.ADMIN:
            raise NotPermitted("Administrators manage people and devices, not case records.")

    def require_case(self, case: Case) -> None:
        """Clinical content only for the people assigned to the case."""
        self.require_clinical_access()
        if not case.assigned_to(self.actor.user_id):
            raise NotPermitted("This case is not on your caseload.")
