"""Files from the project's `resources/` folder, in a checkout and in the built app."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Part2Notice:
    """The 42 CFR 2.32 notice: Statement 1 (paragraphs, in full) and the short Statement 2."""

    paragraphs: tuple[str, ...]
    short: str

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@functools.cache
def part2_notice() -> Part2Notice:
    """The redisclosure notice from `resources/part2-notice.txt` (one file to change)."""
    text = (resources_dir() / "part2-notice.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    marker = lines.index("--- short form")
    paragraphs = "\n".join(lines[:marker]).strip().split("\n\n")
    short = " ".join(line for line in lines[marker + 1:] if line.strip())
    return Part2Notice(paragraphs=tuple(p.strip() for p in paragraphs), short=short)
