"""Mutation testing of what mutmut leaves alone: module constants, dataclass defaults, properties.

    python scripts/mutate_constants.py fieldapp/domain/mileage.py
    python scripts/mutate_constants.py fieldapp/domain/consent.py \
        --tests tests/domain/test_consent.py

mutmut mutates the bodies of functions only, so a wrong cap (`MAX_TRIP_MILES`), a wrong default
(`provisional: bool = False`) or a wrong `@property` goes unmeasured. This script finds them with
`ast` in one module and makes one mutant of each:

- a module constant (an UPPER_CASE name): a number n to n + 1 (in `Decimal("0.1")`, a fraction
  gets one more digit, "0.11", so that `quantize` sees it too), a string s to "XX" + s + "XX",
  True to False and back, an enum member to another member of its enum, a tuple, list or set
  without its last element;
- a dataclass field's default: the same, and None to a value of the annotated type;
- a property: each `return expr` to `return not (expr)` when it returns a bool, else `return None`.

Each mutant is written into a copy of fieldapp/, sync/ and tests/ in a temporary folder (the real
files are never touched) and the module's tests (the same ones as scripts/mutation.py: MODULES
and its name rule) run there with `-x -q` and a time limit. A failure or a time-out kills the
mutant. The output: one line per mutant, then the score. Mutants judged equivalent are rows of
the "Equivalent mutants" table of docs/testing.md, under the names printed here, and are left
out of the score. Not part of `make check`.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mutation import DOC, ROOT, tests_of

# What the copy needs for the tests to run in it: the code, the tests and pytest's settings.
COPIED = ("fieldapp", "sync", "tests")


@dataclass(frozen=True)
class Mutant:
    """One change: the source segment from `start` to `end` (byte offsets) becomes `text`."""

    name: str
    line: int
    start: int
    end: int
    before: str
    text: str


def constant_text(value: object) -> str | None:
    """The mutated literal of a bool, number or string, or None for anything else."""
    if isinstance(value, bool):
        return repr(not value)
    if isinstance(value, int | float):
        return repr(value + 1)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return repr(f"XX{value}XX")
        if not number.is_finite():
            return repr(f"XX{value}XX")
        # "0.1" to "0.11": another value and another number of places (which quantize() uses).
        return repr(f"{value}1" if "." in value else str(number + 1))
    return None


def other_member(node: ast.Attribute, module: object) -> str | None:
    """`Kind.A` to another member of the enum `Kind`, looked up in the module's namespace."""
    if not isinstance(node.value, ast.Name):
        return None
    owner = getattr(module, node.value.id, None)
    if not (isinstance(owner, type) and issubclass(owner, enum.Enum)):
        return None
    others = [m.name for m in owner if m.name != node.attr]
    return f"{node.value.id}.{others[0]}" if others else None


def shorter(node: ast.Tuple | ast.List | ast.Set) -> str:
    """A tuple, list or set literal without its last element."""
    kept = "".join(f"{ast.unparse(e)}, " for e in node.elts[:-1])
    if isinstance(node, ast.Tuple):
        return f"({kept})"
    if isinstance(node, ast.List):
        return f"[{kept}]"
    return f"{{{kept}}}" if kept else "set()"


def value_mutant(node: ast.expr, module: object) -> tuple[ast.expr, str] | None:
    """The node to replace in a constant's or default's value, and its replacement text."""
    text = None
    if isinstance(node, ast.Constant):
        text = constant_text(node.value)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return value_mutant(node.operand, module)
    elif isinstance(node, ast.Attribute):
        text = other_member(node, module)
    elif isinstance(node, ast.Tuple | ast.List | ast.Set) and node.elts:
        text = shorter(node)
    elif isinstance(node, ast.Call):
        # Decimal("0.1"), frozenset({...}), field(default=...): mutate the value inside.
        for keyword in node.keywords:
            if keyword.arg == "default":
                return value_mutant(keyword.value, module)
        if node.args and not node.keywords:
            return value_mutant(node.args[0], module)
    return (node, text) if text is not None else None


def none_replacement(annotation: ast.expr | None) -> str:
    """A plausible value, other than None, for a field whose default is None."""
    words = ast.unparse(annotation).replace("|", " ").split() if annotation else []
    for word, text in (("bool", "True"), ("int", "1"), ("Decimal", "Decimal(1)")):
        if word in words:
            return text
    return repr("XX")


def is_dataclass(node: ast.ClassDef) -> bool:
    return any("dataclass" in ast.unparse(d) for d in node.decorator_list)


def is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(ast.unparse(d) in ("property", "functools.cached_property", "cached_property")
               for d in node.decorator_list)


def own_returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The function's return statements, not those of functions or lambdas nested in it."""
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            found.append(node)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                            | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda r: (r.lineno, r.col_offset))


def targets(tree: ast.Module, module: object, dotted: str) -> list[tuple[str, ast.expr, str]]:
    """(name, node to replace, replacement text) for every constant, default and property."""
    found: list[tuple[str, ast.expr, str]] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            names = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if len(names) == 1 and isinstance(names[0], ast.Name) and names[0].id.isupper():
                change = value_mutant(statement.value, module)
                if change:
                    found.append((f"{dotted}.{names[0].id}", *change))
        if isinstance(statement, ast.ClassDef):
            found += class_targets(statement, module, f"{dotted}.{statement.name}")
    return found


def class_targets(cls: ast.ClassDef, module: object,
                  dotted: str) -> list[tuple[str, ast.expr, str]]:
    """A dataclass's field defaults and a class's property returns."""
    found: list[tuple[str, ast.expr, str]] = []
    for item in cls.body:
        if (is_dataclass(cls) and isinstance(item, ast.AnnAssign) and item.value is not None
                and isinstance(item.target, ast.Name)
                and not ast.unparse(item.annotation).startswith("ClassVar")):
            name = f"{dotted}.{item.target.id}"
            if isinstance(item.value, ast.Constant) and item.value.value is None:
                found.append((name, item.value, none_replacement(item.annotation)))
            elif isinstance(item.value, ast.Name):
                found.append((name, item.value, repr("XX") if "str" in ast.unparse(
                    item.annotation) else "None"))
            elif change := value_mutant(item.value, module):
                found.append((name, *change))
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and is_property(item):
            returns_bool = item.returns is not None and ast.unparse(item.returns) == "bool"
            for number, ret in enumerate(own_returns(item), start=1):
                assert ret.value is not None
                text = f"not ({ast.unparse(ret.value)})" if returns_bool else "None"
                found.append((f"{dotted}.{item.name}#{number}", ret.value, text))
    return found


def byte_offset(lines: list[bytes], line: int, column: int) -> int:
    """The offset in the file of a (1-based line, byte column) position, as `ast` gives them."""
    return sum(len(x) for x in lines[:line - 1]) + column


def mutants_of(path: Path, dotted: str) -> list[Mutant]:
    source = path.read_bytes()
    tree = ast.parse(source)
    sys.path.insert(0, str(ROOT))  # the module as it is in this checkout
    module = importlib.import_module(dotted)
    lines = source.splitlines(keepends=True)
    result = []
    for name, node, text in targets(tree, module, dotted):
        assert node.end_lineno is not None and node.end_col_offset is not None
        start = byte_offset(lines, node.lineno, node.col_offset)
        end = byte_offset(lines, node.end_lineno, node.end_col_offset)
        result.append(Mutant(name, node.lineno, start, end,
                             source[start:end].decode(), text))
    return result


def equivalents() -> dict[str, str]:
    """Mutant name -> reason, from the rows of "Equivalent mutants" in docs/testing.md that
    name one of this script's mutants (`module.CONSTANT`, `module.Class.field`,
    `module.Class.property#n`)."""
    if not DOC.exists():
        return {}
    return dict(re.findall(r"^\| `([\w.]+(?:#\d+)?)` \| (.*?) \|$", DOC.read_text(), re.M))


def run_tests(copy: Path, tests: list[str], timeout: float) -> bool | None:
    """True if the tests pass in the copy, False if they fail, None if they run out of time."""
    env = dict(os.environ, PYTHONPATH=str(copy), QT_QPA_PLATFORM="offscreen",
               PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               *tests], cwd=copy, env=env, capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return None
    return done.returncode == 0


def make_copy(scratch: Path) -> Path:
    """fieldapp/, sync/, tests/ and pyproject.toml in `scratch`, without compiled files."""
    for folder in COPIED:
        shutil.copytree(ROOT / folder, scratch / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", scratch / "pyproject.toml")
    # The copy must be what the tests import, not the installed (editable) checkout.
    env = dict(os.environ, PYTHONPATH=str(scratch), PYTHONDONTWRITEBYTECODE="1")
    where = subprocess.run([sys.executable, "-c", "import fieldapp; print(fieldapp.__file__)"],
                           cwd=scratch, env=env, capture_output=True, text=True, check=True)
    if not where.stdout.strip().startswith(str(scratch)):
        raise SystemExit(f"the tests would import {where.stdout.strip()}, not the copy")
    return scratch


def measure(module: str, tests: list[str], timeout: float | None) -> tuple[int, int, int]:
    """Run every mutant of `module` but the declared equivalents; print a line for each;
    (mutants counted, killed, equivalent)."""
    dotted = module.removesuffix(".py").replace("/", ".")
    equivalent = equivalents()
    mutants = []
    for mutant in mutants_of(ROOT / module, dotted):
        if mutant.name in equivalent:
            print(f"equivalent {mutant.name}: {equivalent[mutant.name]}")
        else:
            mutants.append(mutant)
    with tempfile.TemporaryDirectory(prefix="mutate-constants-") as scratch:
        copy = make_copy(Path(scratch))
        target = copy / module
        original = target.read_bytes()
        began = time.monotonic()
        if not run_tests(copy, tests, timeout=600):
            raise SystemExit(f"the tests of {module} fail without any mutant: {' '.join(tests)}")
        limit = timeout or max(30.0, 5 * (time.monotonic() - began))
        killed = 0
        for mutant in mutants:
            changed = original[:mutant.start] + mutant.text.encode() + original[mutant.end:]
            compile(changed, str(target), "exec")  # a mutant must be valid Python
            target.write_bytes(changed)
            try:
                passed = run_tests(copy, tests, limit)
            finally:
                target.write_bytes(original)
            verdict = "survived" if passed else "killed" if passed is False else "timeout"
            killed += verdict != "survived"
            print(f"{verdict:8} {mutant.name} (line {mutant.line}): "
                  f"{one_line(mutant.before)} -> {one_line(mutant.text)}", flush=True)
    return len(mutants), killed, len(mutants_of(ROOT / module, dotted)) - len(mutants)


def one_line(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 3] + "..."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="a source file, e.g. fieldapp/domain/mileage.py")
    parser.add_argument("--tests", nargs="+", help="test files (default: the module's own)")
    parser.add_argument("--timeout", type=float,
                        help="seconds per mutant (default: 5 times the clean run, at least 30)")
    args = parser.parse_args()
    tests = args.tests or tests_of(args.module)
    total, killed, same = measure(args.module, tests, args.timeout)
    score = f"{100 * killed / total:.1f} %" if total else "-"
    print(f"{args.module}: {total} mutants, {killed} killed, {total - killed} survived, "
          f"{same} equivalent (not counted), score {score} (tests: {' '.join(tests)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
