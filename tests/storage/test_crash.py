"""Crash safety: a writer killed with SIGKILL at random moments leaves a sound, exact database.

A child process (`crash_child`) unlocks the profile and writes records, announcing each step
before it starts and confirming it after its transaction commits. The parent kills it at a random
moment, then unlocks the profile itself and checks that SQLite's integrity check passes, that
every row opens (nothing half written or torn), that the database holds exactly the confirmed
records with the confirmed revisions and bodies (give or take the one step in flight) and that
every backup still loads. Then it does it again, `KILLS` times, on the same profile.

The seed is fixed so the child's writes repeat; the moments of the kills cannot. Set
`FIELDAPP_CRASH_SEED` to explore other sequences; every failure message names the seed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldapp.domain.clock import system_clock
from fieldapp.storage import backups, database
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile
from tests.conftest import PASSPHRASE
from tests.storage.crash_child import body_digest

KILLS = 50
SEED = int(os.environ.get("FIELDAPP_CRASH_SEED", "20261124"))
LONGEST_RUN = 0.3  # seconds the child writes before the kill, at most
STARTUP_LIMIT = 20.0  # seconds the child may take to unlock before the test gives up
REPO = Path(__file__).resolve().parents[2]

# id -> (revision, body digest): the records as the child confirmed them.
State = dict[str, tuple[int, str]]
# The step announced but not confirmed when the child died, as its words, or None.
Step = tuple[str, ...] | None


def replay(model: State, transcript: str) -> tuple[State, Step]:
    """Apply the child's confirmed steps to `model`; return it with the step left in flight."""
    lines = transcript.split("\n")[:-1]  # a line cut short by the kill confirms nothing
    assert lines[:1] == ["ready"], transcript[:200]
    state, in_flight = dict(model), None
    for words in (line.split() for line in lines[1:]):
        if words[0] == "begin":
            in_flight = tuple(words[1:])
            continue
        if words[0] == "committed":
            state[words[1]] = (int(words[2]), words[3])
        elif words[0] == "removed":
            del state[words[1]]
        in_flight = None
    return state, in_flight


def assert_exact(model: State, in_flight: Step, actual: State, where: str) -> None:
    """The database holds exactly the confirmed records, or those plus the step in flight.

    The child commits and only then confirms, so a kill between the two leaves a committed step
    the parent never heard of. Only one step is ever in flight and it was announced with its
    outcome (the new body's digest, the replaced revision, the removed id), so exactly one
    extra, changed or missing row is allowed, and only the one that step would produce.
    """
    extra = {i: actual[i] for i in actual.keys() - model.keys()}
    missing = model.keys() - actual.keys()
    changed = {i: actual[i] for i in model.keys() & actual.keys() if actual[i] != model[i]}
    kind = in_flight[0] if in_flight else None
    assert not extra or (kind == "add" and list(extra.values()) == [(1, in_flight[1])]), (
        f"{where}: rows nobody confirmed: {extra}; in flight: {in_flight}")
    assert not missing or (kind == "remove" and missing == {in_flight[1]}), (
        f"{where}: confirmed rows lost: {sorted(missing)}; in flight: {in_flight}")
    assert not changed or (kind == "replace" and changed == {
        in_flight[1]: (int(in_flight[2]), in_flight[3])}), (
        f"{where}: confirmed rows differ: {changed}; in flight: {in_flight}")


def run_and_kill(root: Path, seed: int, delay: float, logs: Path) -> str:
    """Start a writer, let it write for `delay` seconds once ready, SIGKILL it; its transcript."""
    out, err = logs / f"child-{seed}.out", logs / f"child-{seed}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crash_child", str(root), str(seed)],
            cwd=REPO, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr)
    try:
        assert child.stdin is not None
        child.stdin.write(f"{PASSPHRASE}\n".encode())
        child.stdin.close()
        deadline = time.monotonic() + STARTUP_LIMIT
        while not out.read_bytes().startswith(b"ready\n"):
            assert child.poll() is None, f"the writer died: {err.read_text()}"
            assert time.monotonic() < deadline, "the writer never got ready"
            time.sleep(0.005)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL, f"the writer exited by itself: {err.read_text()}"
    return out.read_text()


def inspect(paths: ProfilePaths, where: str) -> State:
    """Unlock as the app does; check integrity, seals and backups; the records as found."""
    vault = Profile(paths).unlock(PASSPHRASE)
    try:
        db, key = vault.open_parts()
        assert database.integrity_problems(db) == [], where
        opened = RecordStore(vault, clock=system_clock).all()
        torn = [(o.row["id"], o.problem) for o in opened if o.problem is not None]
        assert torn == [], f"{where}: rows that do not open"
        for backup in backups.list_backups(paths.backups):
            backups.load(backup, key).close()
        return {str(o.row["id"]): (int(o.row["revision"]), body_digest(o.body)) for o in opened}
    finally:
        vault.lock()


@pytest.mark.slow
def test_sigkill_mid_write_loses_nothing_confirmed(paths: ProfilePaths, tmp_path: Path) -> None:
    Profile(paths).create(PASSPHRASE).lock()
    rng = random.Random(SEED)
    model: State = {}
    steps = caught_mid_step = 0
    for round_ in range(KILLS):
        where = f"seed={SEED} round={round_}"
        transcript = run_and_kill(paths.root, rng.getrandbits(32),
                                  rng.uniform(0.0, LONGEST_RUN), tmp_path)
        confirmed, in_flight = replay(model, transcript)
        actual = inspect(paths, where)
        assert_exact(confirmed, in_flight, actual, where)
        model = actual
        steps += transcript.count("\nbegin ")
        caught_mid_step += in_flight is not None
    # The kills must land among writes, not only before the first one.
    assert steps >= KILLS and caught_mid_step >= KILLS // 5, (SEED, steps, caught_mid_step)
