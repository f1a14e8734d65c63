"""Who counts as a worker and as a supervisor, role by role, and what a new record id is: a
UUID4 that no second call repeats (records made offline on two laptops must never collide)."""

from __future__ import annotations

import uuid

import pytest

from fieldapp.domain.people import WORKER_ROLES, Actor, Role, UserId, new_id


def actor(role: Role) -> Actor:
    return Actor(user_id=UserId("u1"), role=role)


@pytest.mark.parametrize(("role", "worker", "supervisor"), [
    (Role.RECOVERY_COORDINATOR, True, False),
    (Role.INTACT_WORKER, True, False),
    (Role.SUPERVISOR, False, True),
    (Role.ADMIN, False, False),
])
def test_each_role_is_a_worker_a_supervisor_or_neither(role: Role, worker: bool,
                                                        supervisor: bool) -> None:
    assert actor(role).is_worker is worker
    assert actor(role).is_supervisor is supervisor


def test_the_workers_are_the_two_roles_with_a_caseload() -> None:
    assert {Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER} == WORKER_ROLES


def test_the_roles_read_as_people_say_them() -> None:
    assert [str(role) for role in Role] == [
        "recovery coordinator", "intact worker", "supervisor", "admin"]


def test_a_new_id_is_a_uuid4_and_never_repeats() -> None:
    first, second = new_id(), new_id()
    assert isinstance(first, str)
    assert uuid.UUID(first).version == 4
    assert str(uuid.UUID(first)) == first
    assert first != second
