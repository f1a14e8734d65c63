"""How a bench script hands its headline figures to bench/suite.py (not a bench script itself).

When the environment variable FIELDAPP_BENCH_RESULTS names a file, `report()` appends one JSON
line to it per figure:
    {"figure": ..., "value": ..., "unit": ..., "target": ..., "met": ..., "script": ...}
`target` is the target as text ("< 1 s", "<= 5x", "" when none is set), `met` true, false or
null (no target), `script` the bench script that ran (its file name). Without the variable (a
script run alone) `report()` does nothing. Scripts import it as `from _results import report`:
`python bench/x.py` puts bench/ on sys.path.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ENV_VAR = "FIELDAPP_BENCH_RESULTS"


def report(figure: str, value: float, unit: str, *, target: float | None = None,
           at_most: bool = False) -> None:
    """Hand one figure to the suite; `target` is a ceiling in `unit` (value < target, or
    value <= target with `at_most`)."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return
    if target is None:
        target_text, met = "", None
    else:
        space = "" if unit in ("x", "") else " "
        target_text = f"{'<=' if at_most else '<'} {target:g}{space}{unit}"
        met = value <= target if at_most else value < target
    line = {"figure": figure, "value": value, "unit": unit, "target": target_text, "met": met,
            "script": Path(sys.argv[0]).name}
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
