"""Who the program's staff are, by name: for reports that say who wrote, signed and approved.

Staff names are kept sealed like everything else (a list of a program's recovery coordinators
says what the program is). The profile owner's own name comes from the profile; the others
from the program's server, which sends the caller's team at each sync, or from the demo.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fieldapp.domain.people import Role, UserId
from fieldapp.domain.visits import SupervisorCapacity
from fieldapp.services.workspace import Workspace

OWNER_KIND = "owner"
STAFF_KIND = "staff"


@dataclass(frozen=True, kw_only=True)
class StaffMember:
    """Attributes:
    supervises: a supervisor's capacity where the program co-supervises (None: not said).
    """

    user_id: UserId
    name: str
    role: Role
    supervises: SupervisorCapacity | None = None


@dataclass(frozen=True, kw_only=True)
class Directory:
    """Names by user id; `team` is who the server says works on the actor's team;
    `capacities` which supervisor is the intact one and which the SUD one."""

    names: Mapping[UserId, str]
    team: frozenset[UserId]
    capacities: Mapping[UserId, SupervisorCapacity] = field(default_factory=dict)

    def capacity(self, user_id: str) -> SupervisorCapacity | None:
        """The supervisor's capacity as the server last said it; None if it never did."""
        return self.capacities.get(UserId(user_id))

    def name(self, user_id: str | None) -> str:
        """'Name (id)' when the name is known, else the id; '' for nobody."""
        if not user_id:
            return ""
        name = self.names.get(UserId(user_id))
        return f"{name} ({user_id})" if name else user_id


def directory(workspace: Workspace) -> Directory:
    """Thread rule: the database worker."""
    names: dict[UserId, str] = {}
    team: set[UserId] = set()
    capacities: dict[UserId, SupervisorCapacity] = {}
    owner = ""
    for opened in workspace.records().all():
        body, kind = opened.body, opened.row["kind"]
        if body is None:
            continue
        if kind == STAFF_KIND:
            for person in body.get("people", []):
                names[UserId(str(person["id"]))] = str(person["name"])
                if person.get("role") in (Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER):
                    team.add(UserId(str(person["id"])))
                if person.get("role") == Role.SUPERVISOR \
                        and person.get("supervises") in tuple(SupervisorCapacity):
                    capacities[UserId(str(person["id"]))] = SupervisorCapacity(
                        person["supervises"])
        elif kind == OWNER_KIND and body.get("name"):
            owner = str(body["name"])
    row = workspace.db.execute("SELECT value FROM vault_meta WHERE name = 'user_id'").fetchone()
    if owner and row and UserId(row[0]) not in names:
        names[UserId(row[0])] = owner
    return Directory(names=names, team=frozenset(team), capacities=capacities)


def remember_staff(workspace: Workspace, people: Iterable[StaffMember]) -> bool:
    """Keep the team as the server lists it; writes only when it changed. Returns whether it
    did."""
    body = {"people": sorted((_person(p) for p in people), key=lambda p: p["id"])}
    store = workspace.records()
    current = [o for o in store.all() if o.row["kind"] == STAFF_KIND]
    if current and current[0].body == body:
        return False
    if current:
        store.replace(str(current[0].row["id"]), body=body,
                      expected_revision=int(current[0].row["revision"]))
    else:
        store.add(kind=STAFF_KIND, body=body)
    return True


def _person(member: StaffMember) -> dict[str, str]:
    person = {"id": member.user_id, "name": member.name, "role": str(member.role)}
    if member.supervises is not None:  # absent, not null: a list without capacities is unchanged
        person["supervises"] = str(member.supervises)
    return person


def team_members(workspace: Workspace) -> list[StaffMember]:
    """The staff as the server last listed them, with their roles, by name; [] before the
    first sync. Thread rule: the database worker."""
    members = []
    for opened in workspace.records().of_kind(STAFF_KIND):
        if opened.body is None:
            continue
        for person in opened.body.get("people", []):
            if person.get("role") in tuple(Role):
                members.append(StaffMember(user_id=UserId(str(person["id"])),
                                           name=str(person["name"]), role=Role(person["role"])))
    return sorted(members, key=lambda m: (m.name.casefold(), m.user_id))
