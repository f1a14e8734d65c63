"""Profiles beside the default one: names, listing, `--profile`, and removal from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.domain.errors import KnownError, ProfileInUse
from fieldapp.domain.people import Role, UserId
from fieldapp.services import demo
from fieldapp.services.session import Session
from fieldapp.storage.paths import (
    ProfileNameRefused,
    ProfilePaths,
    list_profiles,
    named_profile,
    new_profile,
    profile_slug,
    resolve_profile,
)
from fieldapp.storage.profile_removal import removal_facts, remove_profile
from sync.client.replica import Replica
from tests.conftest import PASSPHRASE, FakeClock


def make(paths: ProfilePaths, clock: FakeClock) -> Session:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE, role=Role.RECOVERY_COORDINATOR, user_id=UserId("rc-1"))
    return session


@pytest.mark.parametrize(("name", "slug"), [
    ("Evening job", "evening-job"), ("  Évening -- JOB! ", "evening-job"),
    ("Supervisor 2", "supervisor-2"), ("!!!", ""), ("", "")])
def test_slug_keeps_lowercase_letters_digits_and_dashes(name: str, slug: str) -> None:
    assert profile_slug(name) == slug


def test_named_profiles_live_beside_the_default(tmp_path: Path) -> None:
    home = tmp_path / "FieldApp"
    assert named_profile(home, "Evening job").root == tmp_path / "FieldApp-evening-job"
    assert named_profile(home, "Default").root == home
    assert resolve_profile(str(home), {}, profile="Evening job").root \
        == tmp_path / "FieldApp-evening-job"
    with pytest.raises(ProfileNameRefused, match="at least one letter"):
        named_profile(home, " - ")


def test_new_profile_refuses_empty_reserved_and_taken_names(
    tmp_path: Path, clock: FakeClock
) -> None:
    home = tmp_path / "FieldApp"
    for name, why in (("  ", "at least one letter"), ("Default", "kept for FieldApp"),
                      ("Demo", "kept for FieldApp"), ("demo supervisor", "kept for FieldApp"),
                      ("x" * 41, "40 characters")):
        with pytest.raises(ProfileNameRefused, match=why):
            new_profile(home, name)
    make(new_profile(home, "Evening job"), clock).lock()
    with pytest.raises(ProfileNameRefused, match="already a profile called “evening job”"):
        new_profile(home, "EVENING JOB")
    # A folder left by a creation that never finished holds no key file: its name is free.
    (tmp_path / "FieldApp-weekend").mkdir()
    assert new_profile(home, "Weekend").root == tmp_path / "FieldApp-weekend"


def test_list_shows_default_named_and_demo_profiles(tmp_path: Path, clock: FakeClock) -> None:
    home = tmp_path / "FieldApp"
    for root in (home, tmp_path / "FieldApp-supervisor-work", tmp_path / "FieldApp-demo",
                 tmp_path / "FieldApp-demo-supervisor"):
        make(ProfilePaths(root), clock).lock()
    (tmp_path / "FieldApp-empty").mkdir()  # no vault: not a profile
    (tmp_path / "Other-app").mkdir()
    found = list_profiles(home)
    assert [(e.label, e.is_demo) for e in found] == [
        ("Default", False), ("Supervisor work", False), ("Demo (coordinator)", True),
        ("Demo (supervisor)", True)]
    assert found[1].paths.root == tmp_path / "FieldApp-supervisor-work"


def test_removal_facts_say_what_waits_and_when_it_last_synced(
    tmp_path: Path, clock: FakeClock
) -> None:
    session = make(ProfilePaths(tmp_path / "FieldApp-work"), clock)
    session.lock()
    assert removal_facts(session.profile.paths).last_sync is None
    session.unlock(PASSPHRASE)
    demo.fill_demo(session, clock=clock)  # records made here wait in the outbox
    db, key = session.vault().open_parts()
    Replica(db, key, user_id="rc-1", now="2026-11-24T09:30:00Z").set_state(
        "last_success", "2026-11-24T09:30:00Z")
    session.lock()
    facts = removal_facts(session.profile.paths)
    assert facts.last_sync == "2026-11-24T09:30:00Z"
    assert facts.waiting is not None and facts.waiting > 10


def test_remove_deletes_the_profile_but_never_the_open_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    home = make(ProfilePaths(tmp_path / "FieldApp"), clock)
    other = make(ProfilePaths(tmp_path / "FieldApp-work"), clock)
    with pytest.raises(KnownError, match="open in this window"):
        remove_profile(home.profile.paths, open_one=home.profile.paths.root)
    with pytest.raises(ProfileInUse):  # unlocked in "another window": its lock is held
        remove_profile(other.profile.paths, open_one=home.profile.paths.root)
    assert other.profile.paths.key_file.exists()
    other.lock()
    assert remove_profile(other.profile.paths, open_one=home.profile.paths.root)
    assert not other.profile.paths.root.exists()
    assert [e.label for e in list_profiles(home.profile.paths.root)] == ["Default"]
    home.lock()


def test_remove_leaves_files_that_are_not_fieldapps(tmp_path: Path, clock: FakeClock) -> None:
    chosen = make(ProfilePaths(tmp_path / "Documents"), clock)
    chosen.lock()
    (tmp_path / "Documents" / "letter.txt").write_text("mine")
    assert not remove_profile(chosen.profile.paths, open_one=tmp_path / "FieldApp")
    assert [p.name for p in (tmp_path / "Documents").iterdir()] == ["letter.txt"]
