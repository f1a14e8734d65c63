"""The Qt binding keeps Python's reference counts straight under sustained use.

PySide6 6.12.0 decremented True and None once per bool-signal emission or zero-delay single
shot, and the process died ("bool_dealloc") after some thousands: an app autosaving every few
seconds would die within hours. Each probe runs in a child process, because the failure is a
fatal error of the interpreter, not an exception.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication
app = QApplication([])
N = 100_000
class Probe(QObject):
    changed = Signal(bool)
if sys.argv[1] == "bool-signal":
    probe = Probe()
    probe.changed.connect(lambda flag: None)
    for _ in range(N):
        probe.changed.emit(True)
else:
    loop, seen = QEventLoop(), [0]
    def tick():
        seen[0] += 1
        if seen[0] == N:
            loop.quit()
    for _ in range(N):
        QTimer.singleShot(0, tick)
    loop.exec()
print("sound")
"""


@pytest.mark.slow
@pytest.mark.parametrize("probe", ["bool-signal", "single-shot"])
def test_no_reference_count_drift(probe: str) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, probe], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0 and "sound" in result.stdout, result.stderr[-500:]
