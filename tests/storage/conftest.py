"""Fixtures for the storage tests."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from fieldapp.app import configure_logging
from fieldapp.storage.paths import ProfilePaths


@pytest.fixture
def app_logging(paths: ProfilePaths) -> Iterator[None]:
    """Log into the profile as the app does; undo the root handler and excepthook afterwards."""
    root = logging.getLogger()
    level, hook = root.level, sys.excepthook
    try:
        configure_logging(paths)
        yield
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_fieldapp", False)]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
        sys.excepthook = hook
