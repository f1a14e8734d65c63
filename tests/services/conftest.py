"""Fixtures of the service tests."""

from __future__ import annotations

import pytest

from fieldapp.storage.vault import Vault
from tests.conftest import FakeClock
from tests.services.export_helpers import Team, make_team


@pytest.fixture
def team(vault: Vault, clock: FakeClock) -> Team:
    """The hand-built program of the export tests: two supervisors, their cases and workers
    (test_export_files.py adds records to it in a fixture of its own)."""
    return make_team(vault, clock)
