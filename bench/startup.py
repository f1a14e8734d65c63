"""App start to the unlock screen (DESIGN target < 1 s), measured on real processes.

Makes a profile (Argon2id, schema) in a temp dir once, then starts the app `--runs` times (10)
as an installed app starts: `python -m fieldapp --data-dir <profile>`, offscreen Qt, with
FIELDAPP_STARTUP_PROBE=1 in its environment. fieldapp/ui/run.py then prints one line when the
first page of the window (the unlock page, the profile existing) has been painted, and quits.
The figure is the wall time from launching the process to that line: interpreter start, imports,
QApplication, the main window, the first paint (the exit afterwards is not counted). One start
before the timed ones is not counted (bytecode is compiled and the files are in the page cache
after it, as on a laptop that has run the app before: "cold-ish"). Median, p95 and min-max.
Then, to say where the time goes (medians of 5): an interpreter's own start (launch to its first
line), the time it then takes to import what the app imports before its window (`fieldapp.app`,
`fieldapp.ui.run`), and so what is left for QApplication, the window and the first paint; and one
start under `python -X importtime`: the third-party packages by the time of their outermost
import and which of our modules asked for them, and our own modules' own time (importtime slows
imports down, so its times are a little above the real ones).
If the built app is there (`make app`: dist/FieldApp/FieldApp, or `--app PATH`), its starts on the
same profile are timed too, the same way (its build time is printed: it may be older than the
source). Prints a table; asserts nothing.
Run: `.venv/bin/python bench/startup.py [--runs N] [--app PATH]`; with a real X server:
`xvfb-run -a .venv/bin/python bench/startup.py --platform xcb`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import report

from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.vault import Profile

PASSPHRASE = "benchmark passphrase of some length"
PROBE = "FIELDAPP_STARTUP_PROBE"  # fieldapp/ui/run.py's STARTUP_PROBE (not imported: no Qt here)
TARGET_S = 1.0
OURS = ("fieldapp", "sync")


BUILT = ROOT / "dist" / "FieldApp" / "FieldApp"  # build.spec's one-folder app (`make app`)


def start_once(profile: Path, *, platform: str = "offscreen", extra: tuple[str, ...] = (),
               app: Path | None = None) -> tuple[float, str]:
    """Launch the app on `profile` (`python -m fieldapp`, or the built `app`); seconds until the
    probe's line, and what it wrote to stderr (the import times, with `-X importtime`)."""
    env = {**os.environ, PROBE: "1", "QT_QPA_PLATFORM": platform}
    command = [str(app)] if app else [sys.executable, *extra, "-m", "fieldapp"]
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--data-dir", str(profile)],
            stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT, text=True)
        assert process.stdout is not None
        seconds = None
        for line in process.stdout:
            if line.startswith(PROBE):
                seconds = time.perf_counter() - started
                break
        process.stdout.read()
        process.wait(timeout=30)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if seconds is None:
        raise SystemExit(f"the app exited ({process.returncode}) without showing a page:\n"
                         f"{stderr[-2000:]}")
    return seconds, stderr


def interpreter() -> tuple[float, float]:
    """Medians of 5: seconds from launching `python -c ...` to its first line (the interpreter's
    own start), and the seconds that process then takes to import what the app imports before
    its window (timed inside it, so its exit is not counted)."""
    code = ("import time; print(flush=True); t = time.perf_counter(); "
            "import fieldapp.app, fieldapp.ui.run; print(time.perf_counter() - t)")
    starts, imports = [], []
    for _ in range(5):
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                   text=True, cwd=ROOT)
        assert process.stdout is not None
        process.stdout.readline()
        starts.append(time.perf_counter() - started)
        imports.append(float(process.stdout.readline()))
        process.wait(timeout=30)
    return statistics.median(starts), statistics.median(imports)


@dataclass(frozen=True)
class Imported:
    name: str
    self_us: int
    cumulative_us: int
    parent: str | None  # the module whose import asked for it (None: at the top)


def parse_importtime(stderr: str) -> list[Imported]:
    """`-X importtime` lines; a module's line comes after its children's, indented less."""
    rows: list[tuple[int, int, int, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        depth = len(name) - len(name.lstrip(" "))
        rows.append((depth, int(own), int(cumulative), name.strip()))
    found: list[Imported] = []
    stack: list[tuple[int, str]] = []  # (depth, name) of the modules enclosing the current line
    for depth, self_us, cumulative_us, name in reversed(rows):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        found.append(Imported(name, self_us, cumulative_us, stack[-1][1] if stack else None))
        stack.append((depth, name))
    return found


def package(module: str | None) -> str:
    return (module or "").split(".")[0]


@dataclass
class ImportSummary:
    total_us: int
    ours_self_us: int
    external: list[tuple[str, int, set[str]]]  # package, cumulative us, asked for by
    ours: list[Imported]  # heaviest own time first


def summarise(imported: list[Imported]) -> ImportSummary:
    """Each third-party package at its outermost import (asked for by one of our modules or by
    the entry point), so a package's dependencies count towards it."""
    total = sum(i.cumulative_us for i in imported if i.parent is None)
    ours_self = sum(i.self_us for i in imported if package(i.name) in OURS)
    external: dict[str, int] = defaultdict(int)
    via: dict[str, set[str]] = defaultdict(set)
    for i in imported:
        if package(i.name) in OURS or (i.parent is not None and package(i.parent) not in OURS):
            continue
        external[package(i.name)] += i.cumulative_us
        if i.parent is not None:
            via[package(i.name)].add(i.parent)
    ranked = sorted(external.items(), key=lambda item: -item[1])
    return ImportSummary(total, ours_self, [(name, us, via[name]) for name, us in ranked],
                         sorted((i for i in imported if package(i.name) in OURS),
                                key=lambda i: -i.self_us))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--app", type=Path, default=BUILT if BUILT.exists() else None,
                        help="a built app to time as well (default: dist/FieldApp/FieldApp if "
                        "it is there)")
    parser.add_argument("--platform", default="offscreen",
                        help="Qt platform plugin (default offscreen; xcb under xvfb-run)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        profile = ProfilePaths(Path(tmp) / "p")
        Profile(profile).create(PASSPHRASE).lock(backup=False)
        on = {"platform": args.platform}
        start_once(profile.root, **on)  # not counted: compiles bytecode, warms the page cache
        starts = [start_once(profile.root, **on)[0] for _ in range(args.runs)]
        _, stderr = start_once(profile.root, extra=("-X", "importtime"), **on)
        built: list[float] = []
        if args.app:
            start_once(profile.root, app=args.app, **on)
            built = [start_once(profile.root, app=args.app, **on)[0] for _ in range(args.runs)]
    bare, imported = interpreter()
    imports = summarise(parse_importtime(stderr))
    median, p95 = statistics.median(starts), percentile(starts, 0.95)
    print(f"app start to the unlock page painted, {args.runs} starts ({args.platform} Qt; load "
          f"average before {load:.2f}):")
    print(f"  median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, min-max "
          f"{min(starts) * 1000:.0f}-{max(starts) * 1000:.0f} ms; target < {TARGET_S:g} s: "
          f"{'met' if p95 < TARGET_S else 'NOT MET'}")
    print("where it goes:")
    rows = (("the interpreter's own start (launch to a first line)", bare),
            ("the app's imports (fieldapp.app, fieldapp.ui.run)", imported),
            ("QApplication, the window, the first paint (the rest)", median - bare - imported))
    for name, seconds in rows:
        print(f"  {name:<54} {seconds * 1000:5.0f} ms")
    print(f"  one start under -X importtime: imports {imports.total_us / 1000:.0f} ms; the "
          "heaviest third-party packages (cumulative at their outermost import; asked for by):")
    for name, us, asked in imports.external[:8]:
        print(f"    {name:<24} {us / 1000:6.0f} ms  {', '.join(sorted(asked)) or '(top)'}")
    print(f"  our own modules' own time (fieldapp, sync: their module code, class bodies, "
          f"pydantic models, Qt enums first touched) {imports.ours_self_us / 1000:.0f} ms; "
          "heaviest: " + ", ".join(f"{i.name} {i.self_us / 1000:.0f} ms"
                                   for i in imports.ours[:6]))
    report(f"app start to unlock screen, median of {args.runs}", median, "s", target=TARGET_S)
    report(f"app start to unlock screen, p95 of {args.runs}", p95, "s", target=TARGET_S)
    if built:
        assert args.app is not None
        made = datetime.fromtimestamp(args.app.stat().st_mtime).astimezone()
        print(f"the built app {args.app} (built {made:%Y-%m-%d %H:%M}), {args.runs} starts: "
              f"median {statistics.median(built) * 1000:.0f} ms, p95 "
              f"{percentile(built, 0.95) * 1000:.0f} ms, min-max {min(built) * 1000:.0f}-"
              f"{max(built) * 1000:.0f} ms")
        report(f"app start to unlock screen, the built app (make app), median of {args.runs}",
               statistics.median(built), "s", target=TARGET_S)


if __name__ == "__main__":
    main()
