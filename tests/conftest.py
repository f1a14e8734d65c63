"""Fixtures shared by every test: real profile folders in a temp dir, and a controllable clock."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile, Vault
from fieldapp.ui.collector import collect_due
from tests.real_server import stop_process

__all__ = ["stop_process"]  # tests import it from here too

PASSPHRASE = "copper kettle under the blue bridge"
OTHER_PASSPHRASE = "seven quiet herons over the marsh"


class FakeClock:
    """A clock the test moves by hand; starts at a fixed moment."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def paths(tmp_path: Path) -> ProfilePaths:
    return ProfilePaths(tmp_path / "profile")


@pytest.fixture
def profile(paths: ProfilePaths, clock: FakeClock) -> Profile:
    return Profile(paths, clock=clock)


@pytest.fixture
def vault(profile: Profile) -> Iterator[Vault]:
    opened = profile.create(PASSPHRASE)
    yield opened
    opened.lock()


def pytest_configure(config: pytest.Config) -> None:
    """As in the app (`fieldapp.ui.collector`): no cyclic collection on a worker thread, where
    it would destroy a test's windows and timers on the wrong thread and crash a later one."""
    gc.disable()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Collect what the test left, on the main thread, as the app's timer would."""
    result = yield
    collect_due()
    return result


@pytest.fixture(autouse=True)
def _no_threads_left_behind() -> Iterator[None]:
    """Fail a test that leaves threads running (napari's rule): workers must be shut down."""
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leftover:
        thread.join(timeout=2)
    still = [t.name for t in leftover if t.is_alive()]
    assert not still, f"threads left running: {still}"
