"""Vault figures: key derivation, unlock, sealed writes with many records stored, backup.

Prints a table; asserts nothing. Run: `.venv/bin/python bench/vault.py [--records N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import report

from fieldapp.domain.clock import system_clock
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile

PASSPHRASE = "benchmark passphrase of some length"
BODY = {"narrative": "Met parent at home; discussed recovery plan and next screen. " * 8,
        "people": ["Parent A", "Child B"], "safety": "none observed"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        profile = Profile(ProfilePaths(Path(tmp) / "p"))
        started = time.perf_counter()
        vault = profile.create(PASSPHRASE)
        create_s = time.perf_counter() - started
        store = RecordStore(vault, clock=system_clock)
        db, _ = vault.open_parts()
        started = time.perf_counter()
        with db.atomic():  # bulk fill in one transaction; the timed saves below are one each
            for _ in range(args.records):
                store.add(kind="note", body=BODY)
        fill_s = time.perf_counter() - started
        timings = []
        for _ in range(args.saves):
            started = time.perf_counter()
            store.add(kind="note", body=BODY)
            timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        vault.backup()
        backup_s = time.perf_counter() - started
        vault.lock(backup=False)
        started = time.perf_counter()
        profile.unlock(PASSPHRASE).lock(backup=False)
        unlock_s = time.perf_counter() - started
        size_mb = profile.paths.database.stat().st_size / 1e6
    timings.sort()
    rows = [
        ("create profile (Argon2id + schema)", f"{create_s * 1000:.0f} ms"),
        ("unlock (Argon2id 64 MiB t=3 p=4 + open)", f"{unlock_s * 1000:.0f} ms"),
        (f"fill {args.records:,} sealed records", f"{fill_s:.1f} s"),
        (f"save one record, {args.records:,} stored: p50", f"{statistics.median(timings):.2f} ms"),
        ("  p95", f"{timings[int(len(timings) * 0.95)]:.2f} ms"),
        ("  max", f"{timings[-1]:.2f} ms"),
        (f"encrypted backup of {size_mb:.0f} MB database", f"{backup_s:.2f} s"),
    ]
    report("unlock (Argon2id + open), empty profile", unlock_s * 1000, "ms")
    report(f"save a sealed record (RecordStore.add), p95, {args.records:,} stored",
           timings[int(len(timings) * 0.95)], "ms", target=10)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
