"""The performance suite (`make bench`): every bench script, then one table of the figures.

Runs each other bench/*.py (not this one, not the `_` helpers) as its own process, one after
another, in ORDER and then any new ones by name; their own output streams through. Each hands its
headline figures over through bench/_results.py (JSON lines in the file named by
FIELDAPP_BENCH_RESULTS). At the end: the machine, then ONE table (figure, value, target, met or
not, script). A script that fails is named under the table and the suite exits 1.
`--write docs/performance.md` also puts the machine line and the table into that file, between
the lines `<!-- bench:table -->` and `<!-- /bench:table -->` (the rest of the file is prose and
is left alone). `--only startup,sync` runs just those (not with --write).
Run: `.venv/bin/python bench/suite.py [--write docs/performance.md] [--only a,b]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from _results import ENV_VAR

ORDER = ("startup", "vault", "records", "ui_stall", "sync", "sync_stall", "exports")
BEGIN, END = "<!-- bench:table -->", "<!-- /bench:table -->"


def scripts() -> list[Path]:
    found = {p.stem: p for p in BENCH.glob("*.py")
             if p.name != Path(__file__).name and not p.name.startswith("_")}
    return [found[name] for name in ORDER if name in found] + \
        [found[name] for name in sorted(set(found) - set(ORDER))]


@dataclass(frozen=True)
class Figure:
    figure: str
    value: float
    unit: str
    target: str
    met: bool | None
    script: str

    @property
    def shown(self) -> str:
        v = self.value
        number = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return f"{number}{'' if self.unit in ('x', '') else ' '}{self.unit}"

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT MET", None: ""}[self.met]


def machine(load_before: tuple[float, float, float]) -> str:
    def first(path: str, key: str) -> str:
        for line in Path(path).read_text("utf-8").splitlines():  # Linux
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
        return ""

    model = first("/proc/cpuinfo", "model name") or platform.machine()
    memory = f"{int(first('/proc/meminfo', 'MemTotal').split()[0]) / 1024 / 1024:.1f} GB RAM"
    try:
        pyside = metadata.version("PySide6-Essentials")
    except metadata.PackageNotFoundError:
        pyside = "?"
    return (f"{os.cpu_count()} CPUs ({model}), {memory}; "
            f"{platform.platform(terse=True)}; Python {platform.python_version()}, PySide6 "
            f"{pyside}, SQLite {sqlite3.sqlite_version}; load average before the run "
            f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")


def run(chosen: list[Path], results: Path) -> tuple[dict[str, float], list[str]]:
    env = {**os.environ, ENV_VAR: str(results)}
    took, failed = {}, []
    for script in chosen:
        print(f"\n==== bench/{script.name} ====", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(script)], env=env, cwd=ROOT, check=False)
        took[script.name] = time.perf_counter() - started
        if done.returncode != 0:
            failed.append(f"{script.name} (exit {done.returncode})")
    return took, failed


def read(results: Path) -> list[Figure]:
    if not results.exists():
        return []
    return [Figure(**json.loads(line)) for line in results.read_text("utf-8").splitlines()
            if line.strip()]


def text_table(figures: list[Figure]) -> str:
    header = ("figure", "value", "target", "", "script")
    rows = [(f.figure, f.shown, f.target, f.verdict, f.script) for f in figures]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return "\n".join("  ".join(f"{cell:>{widths[i]}}" if i == 1 else f"{cell:<{widths[i]}}"
                               for i, cell in enumerate(row)).rstrip()
                     for row in (header, tuple("-" * w for w in widths), *rows))


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| figure | value | target | | script |", "|---|--:|---|---|---|"]
    lines += [f"| {f.figure} | {f.shown} | {f.target.replace('<', '&lt;')} | "
              f"{'**NOT MET**' if f.met is False else f.verdict} | {f.script} |"
              for f in figures]
    return "\n".join(lines)


def write(document: Path, figures: list[Figure], machine_line: str, took: float) -> None:
    text = document.read_text("utf-8") if document.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{document}: no {BEGIN} ... {END} lines to put the table between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    block = (f"{BEGIN}\nLast run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} "
             f"(`make bench`, {took / 60:.1f} min). Machine: {machine_line}.\n\n"
             f"{markdown_table(figures)}\n{END}")
    document.write_text(head + block + tail, "utf-8")
    print(f"\nwrote the table into {document}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path, metavar="FILE",
                        help="put the machine and the table into FILE between the markers")
    parser.add_argument("--only", help="comma-separated script names (without .py)")
    args = parser.parse_args()
    chosen = scripts()
    if args.only:
        if args.write:
            parser.error("--write needs every script (the table would lose figures)")
        names = args.only.split(",")
        chosen = [s for s in chosen if s.stem in names]
    load = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "figures.jsonl"
        took, failed = run(chosen, results)
        figures = read(results)
    total = time.perf_counter() - started
    machine_line = machine(load)
    print(f"\n==== the suite: {len(chosen)} script(s) in {total / 60:.1f} min ("
          + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items()) + ") ====")
    print(f"machine: {machine_line}")
    print(text_table(figures))
    missed = [f.figure for f in figures if f.met is False]
    if missed:
        print(f"not met: {len(missed)} of {sum(f.met is not None for f in figures)} targets")
    if failed:
        print("FAILED: " + ", ".join(failed))
    if args.write and not failed:
        write(args.write, figures, machine_line, total)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
