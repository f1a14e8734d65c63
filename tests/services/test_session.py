"""The session knows whose profile it is, from the moment the profile exists."""

from __future__ import annotations

import pytest

from fieldapp.domain.errors import VaultLocked
from fieldapp.domain.people import Role, UserId
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from tests.conftest import PASSPHRASE, FakeClock


def test_owner_and_role_are_kept_with_the_profile(paths: ProfilePaths, clock: FakeClock) -> None:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE, role=Role.SUPERVISOR, user_id=UserId("sup-7"))
    assert session.actor().role is Role.SUPERVISOR
    session.lock()
    with pytest.raises(VaultLocked):
        session.actor()
    again = Session(paths, clock=clock)
    again.unlock(PASSPHRASE)
    actor = again.actor()
    assert (actor.user_id, actor.role) == ("sup-7", Role.SUPERVISOR)
    assert again.mileage().month("2026-11").worker_id == "sup-7"
    again.lock()


def test_owner_is_written_with_the_key_id(paths: ProfilePaths, clock: FakeClock) -> None:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE)
    db, _ = session.vault().open_parts()
    names = {row[0] for row in db.execute("SELECT name FROM vault_meta")}
    assert {"key_id", "user_id", "role"} <= names
    assert session.actor().role is Role.RECOVERY_COORDINATOR
    session.lock()
