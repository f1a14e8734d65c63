"""A profile's settings are declared once, with their name, type, default and limits
(fieldapp/storage/profile_settings.py), and every reader goes through the declaration.

A new profile has the declared default; a person may choose any value from the lowest to the
highest, each kept across a lock, and nothing outside them; and no module of the app writes a
setting's name or numbers a second time (read from the source, so a copy fails here the day it
is written).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.services.session import Session
from fieldapp.storage import profile_settings
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.profile_settings import AUTO_LOCK_MINUTES, PROFILE_SETTINGS, IntSetting
from tests.conftest import PASSPHRASE, FakeClock

ROOT = Path(__file__).resolve().parents[2]
DECLARATION = Path(profile_settings.__file__).resolve()
SOURCES = sorted(p.resolve() for package in ("fieldapp", "sync")
                 for p in (ROOT / package).rglob("*.py"))
IMPORT_NAME = profile_settings.__name__


@pytest.fixture
def session(paths: ProfilePaths, clock: FakeClock) -> Session:
    made = Session(paths, clock=clock)
    made.create(PASSPHRASE)
    return made


def reopened(session: Session, paths: ProfilePaths, clock: FakeClock) -> Session:
    session.lock()
    again = Session(paths, clock=clock)
    again.unlock(PASSPHRASE)
    return again


def test_a_new_profile_has_the_declared_auto_lock(session: Session) -> None:
    assert session.auto_lock_minutes() == AUTO_LOCK_MINUTES.default
    session.lock()


@pytest.mark.parametrize("minutes", [AUTO_LOCK_MINUTES.lowest, AUTO_LOCK_MINUTES.highest],
                         ids=["lowest", "highest"])
def test_each_limit_may_be_chosen_and_is_kept_across_a_lock(
        session: Session, paths: ProfilePaths, clock: FakeClock, minutes: int) -> None:
    session.set_auto_lock_minutes(minutes)
    again = reopened(session, paths, clock)
    assert again.auto_lock_minutes() == minutes
    again.lock()


@pytest.mark.parametrize("minutes", [AUTO_LOCK_MINUTES.lowest - 1, AUTO_LOCK_MINUTES.highest + 1,
                                     -AUTO_LOCK_MINUTES.default],
                         ids=["below the lowest", "above the highest", "negative"])
def test_outside_the_limits_is_refused_and_the_choice_before_kept(
        session: Session, paths: ProfilePaths, clock: FakeClock, minutes: int) -> None:
    """The person is told the limits in words; what they had chosen before stays."""
    chosen = AUTO_LOCK_MINUTES.default + 1
    session.set_auto_lock_minutes(chosen)
    with pytest.raises(RuleViolation) as refused:
        session.set_auto_lock_minutes(minutes)
    assert refused.value.message == "Choose between 1 minute and 4 hours."
    assert (AUTO_LOCK_MINUTES.lowest, AUTO_LOCK_MINUTES.highest) == (1, 4 * 60)  # as it says
    again = reopened(session, paths, clock)
    assert again.auto_lock_minutes() == chosen
    again.lock()


def test_a_setting_never_changes_what_the_vault_says_of_itself(session: Session) -> None:
    """Settings share the profile's `vault_meta` table with its key id and its owner: choosing
    one leaves those as they were."""
    db, _ = session.vault().open_parts()
    before = dict(db.execute("SELECT name, value FROM vault_meta").fetchall())
    session.set_auto_lock_minutes(AUTO_LOCK_MINUTES.highest)
    after = dict(db.execute("SELECT name, value FROM vault_meta").fetchall())
    assert after == {**before, AUTO_LOCK_MINUTES.name: str(AUTO_LOCK_MINUTES.highest)}
    session.lock()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _deals_with(path: Path, setting: IntSetting) -> bool:
    """The module imports the declarations or names the setting (in code or in a comment)."""
    text = path.read_text(encoding="utf-8")
    return IMPORT_NAME in text or setting.name in text


@pytest.mark.parametrize("setting", PROFILE_SETTINGS, ids=lambda s: s.name)
def test_a_settings_name_is_written_only_in_its_declaration(setting: IntSetting) -> None:
    """SQL of its own on `vault_meta` (or any other spelling of the setting's row) would read or
    write the setting past its declared default and limits."""
    found = [f"{path.relative_to(ROOT)}:{node.lineno}"
             for path in SOURCES if path != DECLARATION
             for node in ast.walk(_tree(path))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and setting.name in node.value]
    assert found == []


@pytest.mark.parametrize("setting", PROFILE_SETTINGS, ids=lambda s: s.name)
def test_a_settings_numbers_are_written_only_in_its_declaration(setting: IntSetting) -> None:
    """Every module that deals with the setting takes its default and its highest value from
    the declaration, never a number of its own (the lowest, 1, is too common to tell apart)."""
    numbers = {setting.default, setting.highest}
    found = [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}"
             for path in SOURCES if path != DECLARATION
             if _deals_with(path, setting)
             for node in ast.walk(_tree(path))
             if isinstance(node, ast.Constant) and type(node.value) is int
             and node.value in numbers]
    assert found == []


def test_the_checks_see_the_modules_that_deal_with_a_setting() -> None:
    """The two source checks above look where the setting is used: the session reads it, the
    window and the Settings page take its default and limits (else they would prove nothing)."""
    users = {path.relative_to(ROOT).as_posix() for path in SOURCES if path != DECLARATION
             if _deals_with(path, AUTO_LOCK_MINUTES)}
    assert {"fieldapp/services/session.py", "fieldapp/ui/main_window.py",
            "fieldapp/ui/settings_page.py"} <= users
