"""The session knows whose profile it is, from the moment the profile exists; it offers the
profile and its workspace, and the use cases are services over that workspace."""

from __future__ import annotations

import pytest

from fieldapp.domain.errors import VaultLocked
from fieldapp.domain.people import Role, UserId
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import services_of

# What a session is for: the profile itself (open or not, whose it is, its own sealed records,
# its auto-lock), its lifecycle (create, unlock, lock, passphrase, backups, restore), and the
# open vault as a workspace for every use case.
PROFILE_OPERATIONS = {
    "is_open", "vault", "workspace", "records", "actor", "owner_name",
    "create", "unlock", "lock", "change_passphrase", "backup_now", "backups", "restore",
    "auto_lock_minutes", "set_auto_lock_minutes",
}


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
    assert services_of(again).mileage.month("2026-11").worker_id == "sup-7"
    again.lock()


def test_owner_is_written_with_the_key_id(paths: ProfilePaths, clock: FakeClock) -> None:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE)
    db, _ = session.vault().open_parts()
    names = {row[0] for row in db.execute("SELECT name FROM vault_meta")}
    assert {"key_id", "user_id", "role"} <= names
    assert session.actor().role is Role.RECOVERY_COORDINATOR
    session.lock()


def test_a_session_offers_the_profile_never_a_use_case() -> None:
    """One way to reach a use case: a service over `session.workspace()` (`NoteService(ws)`,
    `today_summary(ws)`). A shortcut such as `session.notes()` added to the session is a second
    way, and fails here; so does dropping a profile operation."""
    public = {name for name in dir(Session) if not name.startswith("_")}
    assert public == PROFILE_OPERATIONS
