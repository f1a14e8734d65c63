"""The command lines people read about are the ones that run (sqlite-utils checks its CLI
reference against its parser the same way): every command and option of `fieldapp` and
`fieldapp-server` is documented, and every command the documents show exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from fieldapp.app import build_parser as laptop_parser
from sync.server.cli import build_parser as server_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVER_DOC = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
ALL_DOCS = README + "".join(p.read_text(encoding="utf-8")
                            for p in sorted((ROOT / "docs").glob("*.md")))


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions
            for flag in action.option_strings
            if flag.startswith("--") and flag != "--help"}


def _command_line_block() -> str:
    """README's "Command line" section: the code block people copy from."""
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh", 1)[1].split("```", 1)[0]


def test_every_laptop_command_is_in_the_readme_and_every_shown_one_exists() -> None:
    block = _command_line_block()
    shown = {m.group(1) for m in re.finditer(
        r"^fieldapp(?: --[\w-]+(?: [A-Z]+)?)* ([a-z][a-z-]+)", block, re.M)}
    assert shown == set(_commands(laptop_parser()))


@pytest.mark.parametrize("name", sorted(_commands(laptop_parser())))
def test_every_option_of_a_laptop_command_is_documented(name: str) -> None:
    missing = {flag for flag in _options(_commands(laptop_parser())[name])
               if flag not in ALL_DOCS}
    assert missing == set(), f"fieldapp {name}: undocumented {sorted(missing)}"


def test_the_laptop_apps_own_options_are_documented() -> None:
    assert {f for f in _options(laptop_parser()) if f not in ALL_DOCS} == set()


def test_every_server_command_is_listed_in_the_readme() -> None:
    listed = README.split("fieldapp-server --data DIR COMMAND", 1)[1].split("(docs/server.md)")[0]
    named = set(re.findall(r"[a-z][a-z-]+[a-z]", listed)) - {"the", "central", "server"}
    assert named == set(_commands(server_parser()))


@pytest.mark.parametrize("name", sorted(_commands(server_parser())))
def test_every_server_command_is_shown_at_work_in_the_server_guide(name: str) -> None:
    """docs/server.md shows each command as a person types it, and every one of its options."""
    assert re.search(rf"fieldapp-server --data \S+ {re.escape(name)}\b", SERVER_DOC), name
    missing = {flag for flag in _options(_commands(server_parser())[name])
               if flag not in SERVER_DOC}
    assert missing == set(), f"fieldapp-server {name}: undocumented {sorted(missing)}"


def test_every_server_command_the_guide_shows_exists() -> None:
    shown = set(re.findall(r"fieldapp-server --data \S+ ([a-z][a-z-]+)", SERVER_DOC))
    assert shown <= set(_commands(server_parser()))
