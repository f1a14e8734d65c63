"""The shortcut declaration is the only list of keys: sound, without clashes, the only place the
UI names key sequences, and the source of README's Keyboard section."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import Qt

from fieldapp.domain.people import Role
from fieldapp.ui import shortcuts
from fieldapp.ui.shortcuts import EVERYONE, Shortcut, keys_of, shortcuts_for

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "fieldapp" / "ui"
# What only fieldapp/ui/shortcuts.py may use: anything else that makes a shortcut is a second copy.
KEY_MAKERS = {"QKeySequence", "QShortcut", "setShortcut", "setShortcuts", "setShortcutContext"}
# A key as a person reads it in the app's text: "Ctrl+Shift+S", "Ctrl+Enter", "F5".
NAMED_KEY = re.compile(r"\b(?:(?:Ctrl|Shift|Alt|Meta)\+)+(?:F\d{1,2}|\w+)\b|\bF(?:[1-9]|1[0-2])\b")

MNEMONIC = re.compile(r"Alt\+\w")  # a label's underlined letter ("New family (Alt+W)")


def load_doc_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shortcuts_doc",
                                                  ROOT / "scripts" / "shortcuts_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clashes(declared: Iterable[Shortcut], role: Role) -> list[str]:
    """Two shortcuts of `role` with the same keys in one window, or one of them application-wide
    (Qt runs neither of two that compete)."""
    mine = [s for s in declared if role in s.roles]
    app = Qt.ShortcutContext.ApplicationShortcut
    return [f"{a.keys}: {a.does!r} and {b.does!r}"
            for i, a in enumerate(mine) for b in mine[i + 1:]
            if keys_of(a) == keys_of(b)
            and (a.place.window == b.place.window or app in (a.context, b.context))]


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_no_keys_are_declared_twice_in_one_window(role: Role) -> None:
    assert clashes(shortcuts_for(role), role) == []


def test_the_clash_check_catches_a_second_declaration() -> None:
    again = Shortcut(keys="Ctrl+Shift+S", does="Send the note", place=shortcuts.NOTE_WINDOW)
    anywhere = Shortcut(keys="Ctrl+T", does="Anything", place=shortcuts.NOTE_WINDOW,
                        context=Qt.ShortcutContext.ApplicationShortcut)
    declared = [*shortcuts.every_shortcut(), again, anywhere]
    assert len(clashes(declared, Role.INTACT_WORKER)) == 2
    other_window = Shortcut(keys="Ctrl+Shift+S", does="Search", place=shortcuts.FAMILY_WINDOW)
    assert clashes([*shortcuts.every_shortcut(), other_window], Role.INTACT_WORKER) == []


@pytest.mark.parametrize("shortcut", shortcuts.every_shortcut(), ids=lambda s: s.does)
def test_every_declared_key_is_one_key_qt_understands(shortcut: Shortcut) -> None:
    keys = keys_of(shortcut)
    assert keys.count() == 1, shortcut.keys
    assert keys[0].key() not in (Qt.Key.Key_unknown, 0), shortcut.keys
    assert shortcut.does and shortcut.does[0].isupper()


def test_each_role_has_a_tab_key_for_each_of_its_tabs() -> None:
    for role in EVERYONE:
        tabs = shortcuts.sections_for(role)
        assert [s.keys for s in shortcuts.tab_shortcuts(role)] == \
            [f"Ctrl+{n}" for n in range(1, len(tabs) + 1)]
    assert [s.name for s in shortcuts.sections_for(Role.SUPERVISOR)] == \
        ["Today", "Caseload", "Mileage", "Supervisor", "Settings"]
    assert "Supervisor" not in [s.name for s in shortcuts.sections_for(Role.INTACT_WORKER)]


# Nothing else makes keys ---------------------------------------------------------------------

def key_makers(source: str) -> Iterator[int]:
    """Lines of `source` that name a class or method that makes a keyboard shortcut."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names = {node.id}
        elif isinstance(node, ast.Attribute):
            names = {node.attr}
        elif isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
        else:
            continue
        if names & KEY_MAKERS:
            yield node.lineno


def python_files() -> list[Path]:
    return sorted(path for path in (ROOT / "fieldapp").rglob("*.py")
                  if path != UI / "shortcuts.py")


def test_no_shortcut_is_made_outside_the_declaration() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}" for path in python_files()
             for line in key_makers(path.read_text(encoding="utf-8"))]
    assert found == [], "install keys with fieldapp.ui.shortcuts.bind/give"


def test_the_scan_catches_a_hand_written_shortcut() -> None:
    source = ("from PySide6.QtGui import QKeySequence, QShortcut\n"
              "QShortcut(QKeySequence('Ctrl+K'), window)\n"
              "button.setShortcut('Ctrl+K')\n")
    assert sorted(set(key_makers(source))) == [1, 2, 3]


def ui_texts(source: str) -> Iterator[str]:
    """The string constants of `source` a person may read (docstrings aside)."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.value


def test_keys_named_in_the_apps_text_are_declared_keys() -> None:
    """A tooltip or message naming a key ("Add a trip (Ctrl+T)") names one that exists."""
    declared = {keys_of(s).toString() for s in shortcuts.every_shortcut()}
    named = {(path.name, key) for path in sorted(UI.glob("*.py"))
             for text in ui_texts(path.read_text(encoding="utf-8"))
             for key in NAMED_KEY.findall(text)}
    assert named, "the scan finds the keys that tooltips name"
    assert [(name, key) for name, key in sorted(named) if not MNEMONIC.fullmatch(key)
            and keys_of(Shortcut(keys=key, does="", place=shortcuts.ANYWHERE)).toString()
            not in declared] == []


# README -------------------------------------------------------------------------------------

def test_the_readme_keyboard_section_is_the_declaration() -> None:
    script = load_doc_script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.rewrite(readme) == readme, "run `make shortcuts-doc`"
    for shortcut in shortcuts.SHORTCUTS:
        assert f"| {shortcut.keys} | {shortcut.does} |" in readme


def test_the_readme_check_fails_when_the_readme_was_edited_by_hand(tmp_path: Path) -> None:
    script = load_doc_script()
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    readme.write_text(text.replace("| F5 |", "| F6 |"), encoding="utf-8")
    assert script.main(["--check", "--readme", str(readme)]) == 1
    assert script.main(["--readme", str(readme)]) == 0  # rewrites it
    assert readme.read_text(encoding="utf-8") == text
    assert script.main(["--check", "--readme", str(readme)]) == 0
