"""Who acts: users, their roles, and the ids records use."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

UserId = NewType("UserId", str)
CaseId = NewType("CaseId", str)
NoteId = NewType("NoteId", str)
ScreenId = NewType("ScreenId", str)
TripId = NewType("TripId", str)
ConsentId = NewType("ConsentId", str)
DisclosureId = NewType("DisclosureId", str)


def new_id() -> str:
    """A client-made record id (UUID4): unique without asking a server."""
    return str(uuid.uuid4())


class Role(StrEnum):
    RECOVERY_COORDINATOR = "recovery coordinator"
    INTACT_WORKER = "intact worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


WORKER_ROLES = frozenset({Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER})


@dataclass(frozen=True, kw_only=True)
class Actor:
    """The person doing something, as the rules see them."""

    user_id: UserId
    role: Role

    @property
    def is_worker(self) -> bool:
        return self.role in WORKER_ROLES

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR
