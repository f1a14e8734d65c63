"""Files from the project's `resources/` folder, in a checkout and in the built app."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from fieldapp.domain.passphrase import skeleton


def resources_dir() -> Path:
    """The `resources/` folder: bundled by PyInstaller, or beside the package in a checkout."""
    bundled = getattr(sys, "_MEIPASS", None)
    if bundled:
        return Path(bundled) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


@functools.cache
def passphrase_blocklist() -> frozenset[str]:
    """Common and breached passwords, folded as the policy compares them."""
    lines = (resources_dir() / "passphrase-blocklist.txt").read_text("utf-8").splitlines()
    return frozenset(skeleton(line) for line in lines if line.strip() and not line.startswith("#"))
