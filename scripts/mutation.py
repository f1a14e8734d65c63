"""Mutation testing of the rules (docs/testing.md): mutmut, one module at a time, against its tests.

    python scripts/mutation.py                              # every module in MODULES
    python scripts/mutation.py fieldapp/domain/consent.py   # one (or a few) of them
    python scripts/mutation.py fieldapp/domain/consent.py --tests tests/domain/test_consent.py

Each module is mutated alone and its mutants run only against its own tests (mutmut then picks,
for each mutant, the tests among those that call the mutated function): a rule counts as tested
only if the tests written for it catch it. Each module runs in a fresh `mutants/` folder, in a
child process, because mutmut keeps its configuration and results in module-level state.

At the end: one Markdown row per module (the table in docs/testing.md) and the diff of every
mutant that survived. Mutants judged equivalent (no test could tell them apart from the real
code) are declared once, in the "Equivalent mutants" table of docs/testing.md, and are left
out of the score. Not part of `make check`: a module takes from seconds to minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mutmut import configuration
from mutmut.__main__ import cli
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "testing.md"

# The modules whose rules are measured, and the tests of each beyond those found by name: a
# module's tests are tests/domain/test_<name>*.py, plus these.
MODULES: dict[str, tuple[str, ...]] = {
    "fieldapp/domain/audit.py": (),
    "fieldapp/domain/cases.py": (),
    "fieldapp/domain/clock.py": (),
    "fieldapp/domain/consent.py": (),
    "fieldapp/domain/disclosure.py": (),
    "fieldapp/domain/due.py": ("tests/domain/test_visit_overlap.py",),
    "fieldapp/domain/errors.py": (),
    "fieldapp/domain/exports.py": ("tests/domain/test_export_rules.py",),
    "fieldapp/domain/kinds.py": (),
    "fieldapp/domain/mileage.py": ("tests/sync/test_outcomes.py",),
    "fieldapp/domain/passphrase.py": (),
    "fieldapp/domain/people.py": (),
    "fieldapp/domain/radar.py": (),
    "fieldapp/domain/schedule.py": (),
    "fieldapp/domain/screens.py": (),
    "fieldapp/domain/settings.py": (),
    "fieldapp/domain/unlock_policy.py": (),
    "fieldapp/domain/validity.py": ("tests/domain/test_screens.py",),
    "fieldapp/domain/visits.py": (),
    "fieldapp/services/exports/basis.py": ("tests/services/test_disclosures.py",
                                           "tests/services/test_export_basis_boundaries.py"),
    "sync/client/http.py": ("tests/sync/test_server_client.py",),
    "sync/server/app.py": ("tests/server/test_app_rules.py",),
    "sync/server/limits.py": ("tests/server/test_app_rules.py",),
    "sync/server/records.py": ("tests/server/test_records_rules.py",
                               "tests/server/test_records_defaults.py"),
}

# mutmut's exit codes that mean a test noticed the mutant (a failure, a hang or a crash).
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


def tests_of(module: str) -> list[str]:
    """The test files of `module`: tests/domain/test_<name>*.py and the ones MODULES adds."""
    named = sorted(str(p.relative_to(ROOT))
                   for p in (ROOT / "tests" / "domain").glob(f"test_{Path(module).stem}*.py"))
    return [*named, *MODULES.get(module, ())]


def equivalents() -> dict[str, str]:
    """Mutant name -> reason, from the "Equivalent mutants" table of docs/testing.md."""
    if not DOC.exists():
        return {}
    rows = re.findall(r"^\| `([\w.]+__mutmut_\d+)` \| (.*?) \|$", DOC.read_text(), re.M)
    return dict(rows)


def run_one(module: str, tests: list[str], result_file: str, max_children: int) -> None:
    """In the child: mutate `module` alone, run its mutants against `tests`, save the verdicts."""
    # [tool.mutmut] in pyproject.toml gives what every run shares; the module and its tests
    # are this run's.
    configuration._config = dataclasses.replace(
        configuration.config(), only_mutate=[module],
        pytest_add_cli_args_test_selection=tests)
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    cli.main(["run", "--max-children", str(max_children)], standalone_mode=False)
    data = SourceFileMutationData(path=Path(module))
    data.load()
    verdicts = {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}
    diffs = {name: get_diff_for_mutant(name, path=Path(module))
             for name, verdict in verdicts.items() if verdict not in DETECTED}
    Path(result_file).write_text(json.dumps({"verdicts": verdicts, "diffs": diffs}))


def measure(module: str, tests: list[str], max_children: int) -> dict[str, dict[str, str]]:
    """Run one module in a child process; its verdicts and the diffs of what survived."""
    with tempfile.TemporaryDirectory() as scratch:
        result_file = os.path.join(scratch, "result.json")
        subprocess.run([sys.executable, __file__, "--child", result_file, module,
                        "--max-children", str(max_children), "--tests", *tests],
                       cwd=ROOT, check=True)
        result: dict[str, dict[str, str]] = json.loads(Path(result_file).read_text())
    return result


def report(results: dict[str, dict[str, dict[str, str]]]) -> str:
    """The score table (Markdown) and every survivor that is not a declared equivalent."""
    equivalent = equivalents()
    lines = ["| module | mutants | killed | survived | equivalent | score |",
             "|---|---|---|---|---|---|"]
    survivors = []
    for module, result in results.items():
        verdicts = result["verdicts"]
        killed = sum(v in DETECTED for v in verdicts.values())
        same = sum(name in equivalent for name in verdicts)
        counted = len(verdicts) - same
        score = f"{100 * killed / counted:.1f} %" if counted else "-"
        lines.append(f"| `{module}` | {len(verdicts)} | {killed} | {counted - killed} | {same} "
                     f"| {score} |")
        survivors += [f"{name}: {verdicts[name]}\n{diff}"
                      for name, diff in result["diffs"].items() if name not in equivalent]
    return "\n".join([*lines, "", *survivors]) if survivors else "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="source files (default: every one in MODULES)")
    parser.add_argument("--tests", nargs="+", help="test files (default: the module's own)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.modules[0], args.tests, args.child, args.max_children)
        return 0
    results = {module: measure(module, args.tests or tests_of(module), args.max_children)
               for module in args.modules or MODULES}
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
