"""Write README.md's Keyboard section from the shortcut declaration, fieldapp/ui/shortcuts.py.

    python scripts/shortcuts_doc.py           # rewrite the part between the markers
    python scripts/shortcuts_doc.py --check   # say what differs and exit 1 if README disagrees

Only the text between START and END is written; the prose around it stays as people wrote it.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import textwrap
from pathlib import Path

from fieldapp.domain.people import Role
from fieldapp.ui.shortcuts import SHORTCUTS, roles_in_words, sections_for, where

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- keyboard: written by `make shortcuts-doc` from fieldapp/ui/shortcuts.py -->"
END = "<!-- end of keyboard -->"
ROLES = (Role.RECOVERY_COORDINATOR, Role.INTACT_WORKER, Role.SUPERVISOR)


def tabs_sentence() -> str:
    """Which Ctrl+number shows which tab, for the roles that share a set of tabs."""
    by_tabs: dict[tuple[str, ...], list[Role]] = {}
    for role in ROLES:
        by_tabs.setdefault(tuple(s.name for s in sections_for(role)), []).append(role)
    parts = [f"{', '.join(names[:-1])} and {names[-1]} (Ctrl+1 … Ctrl+{len(names)}) for "
             f"{roles_in_words(roles)}" for names, roles in by_tabs.items()]
    return ("Ctrl+1, Ctrl+2, … switch between the tabs in order: " + "; ".join(parts)
            + ". F1 (Help → Keyboard shortcuts) lists the keys of the open profile's role.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def section() -> str:
    """The generated part of the Keyboard section, markers included."""
    rows = [f"| {_cell(s.keys)} | {_cell(s.does)} | {_cell(where(s))} |" for s in SHORTCUTS]
    sentence = textwrap.fill(tabs_sentence(), width=100, break_long_words=False,
                             break_on_hyphens=False)
    return "\n".join([START, sentence, "", "| Keys | What they do | Where |",
                      "| --- | --- | --- |", *rows, END])


def rewrite(readme: str) -> str:
    """`readme` with the text between the markers replaced by `section()`."""
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise ValueError(f"README.md needs exactly one {START!r} and one {END!r}")
    before, rest = readme.split(START)
    _, after = rest.split(END)
    return before + section() + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when README.md disagrees")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    wanted = rewrite(text)
    if args.check:
        if wanted == text:
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            text.splitlines(keepends=True), wanted.splitlines(keepends=True),
            "README.md", "from fieldapp/ui/shortcuts.py"))
        print("README.md's Keyboard section differs from the declaration: run "
              "`make shortcuts-doc`.")
        return 1
    if wanted != text:
        args.readme.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
