"""The child process of the crash test: unlocks a profile and writes records until it is killed.

Run as `python -m tests.storage.crash_child PROFILE_DIR SEED` from the repository root, with the
passphrase on the first line of standard input. Every step is announced before it starts and
confirmed after its transaction commits, one line each, written with a single `os.write` to
standard output (the parent points it at a file, so a full pipe never stalls the child):

    ready
    begin add <sha>                  ->  committed <id> 1 <sha>
    begin replace <id> <rev> <sha>   ->  committed <id> <rev> <sha>
    begin remove <id>                ->  removed <id>
    begin backup                     ->  backedup

Only one step is ever in flight, so after a kill the database must equal what the confirmed lines
describe, or that plus the one announced step that had not been confirmed yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from pathlib import Path

from fieldapp.domain.clock import system_clock
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.records import RecordStore
from fieldapp.storage.vault import Profile, Vault

# Keeps the table small enough that reading it back each round stays quick.
TARGET_RECORDS = 150


def body_digest(body: object) -> str:
    """A digest of a record body that survives the JSON round trip through the vault."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def say(line: str) -> None:
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def make_body(rng: random.Random, seq: int) -> dict[str, object]:
    size = rng.choice((0, 10, 200, 1500, 4000, 9000))
    return {"seq": seq, "note": f"entry {seq}", "pad": rng.randbytes(rng.randrange(size + 1)).hex()}


def step(vault: Vault, store: RecordStore, live: dict[str, int], rng: random.Random,
         seq: int) -> None:
    """One announced and confirmed write; `live` maps id to revision and is kept current."""
    roll = rng.random()
    grow = 0.6 if len(live) < TARGET_RECORDS else 0.3
    ids = sorted(live)
    if roll < 0.01:
        say("begin backup")
        vault.backup()
        say("backedup")
    elif roll < grow or not ids:
        body = make_body(rng, seq)
        say(f"begin add {body_digest(body)}")
        record = store.add(kind="crash", body=body)
        live[record.id] = record.revision
        say(f"committed {record.id} {record.revision} {body_digest(body)}")
    elif roll < grow + (1 - grow) / 2:
        target, body = rng.choice(ids), make_body(rng, seq)
        say(f"begin replace {target} {live[target] + 1} {body_digest(body)}")
        record = store.replace(target, body=body, expected_revision=live[target])
        live[target] = record.revision
        say(f"committed {target} {record.revision} {body_digest(body)}")
    else:
        target = rng.choice(ids)
        say(f"begin remove {target}")
        store.remove(target)
        del live[target]
        say(f"removed {target}")


def main(profile_dir: str, seed: str) -> None:
    passphrase = sys.stdin.readline().rstrip("\n")
    vault = Profile(ProfilePaths(Path(profile_dir))).unlock(passphrase)
    store = RecordStore(vault, clock=system_clock)
    live = {str(o.row["id"]): int(o.row["revision"]) for o in store.all()}
    rng = random.Random(seed)
    say("ready")
    seq = 0
    while True:
        seq += 1
        step(vault, store, live, rng, seq)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
