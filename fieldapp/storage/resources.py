"""Files in `fieldapp/resources/`: the same path in a checkout, a wheel and the built app."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from fieldapp.domain.passphrase import skeleton


def resources_dir() -> Path:
    """`fieldapp/resources/`, found the same way everywhere: in a checkout, in an installed wheel
    (package data) and in the PyInstaller bundle (build.spec collects it to `fieldapp/resources`
    beside the frozen modules' `__file__`)."""
    return Path(__file__).resolve().parents[1] / "resources"


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
    """The redisclosure notice from `fieldapp/resources/part2-notice.txt` (one file to change)."""
    text = (resources_dir() / "part2-notice.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    marker = lines.index("--- short form")
    paragraphs = "\n".join(lines[:marker]).strip().split("\n\n")
    short = " ".join(line for line in lines[marker + 1:] if line.strip())
    return Part2Notice(paragraphs=tuple(p.strip() for p in paragraphs), short=short)
