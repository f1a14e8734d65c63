"""Server figures at a program's scale (issue 20): a pull with nothing to send, by a supervisor
and by a coordinator, in programs of 400, 2,000 and 5,000 cases.

Against a real `fieldapp-server serve` process on 127.0.0.1 (tests/real_server.py runs it). Each
program is one team of 20 coordinators and a supervisor; its cases are spread over the
coordinators, and each case has a key version held by its coordinator and the supervisor, as
laptops leave it. The data folder is prepared in-process with the store's own methods (people,
cases, keys, enrolled devices), then served. The baseline, in the same run: `GET /v1/me` (signed
in, no data). Printed: medians of 5 (after one warm-up), in ms, and their ratio to the baseline.
Target (issue 20): a supervisor's pull under 100 ms at 5,000 cases. Also printed (issue 19): what a
supervisor's laptop does to replace its person's keys with 400 cases of two key versions each,
every version sealed to the new key and signed (`rekey.own_copies`), and the request's size.
Run: `.venv/bin/python bench/server_scale.py [--cases 400,2000,5000]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
from _results import report

from sync.server.cli import DEFAULT_SETTINGS
from sync.server.store import ServerStore
from tests.real_server import RealServer, serving

COORDINATORS = 20
RUNS = 5


def prepare(data: Path, cases: int) -> dict[str, str]:
    """The program, its people and cases, a key version per case; a token per person."""
    store = ServerStore(data)
    now = datetime.now(UTC)
    try:
        store.init_program("Scale County", dict(DEFAULT_SETTINGS))
        store.add_team("t1", "Team one")
        store.add_user("sup", "Sam Supervisor", "supervisor", "t1", now=now.isoformat())
        for n in range(COORDINATORS):
            store.add_user(f"rc{n}", f"Coordinator {n}", "recovery coordinator", "t1",
                           now=now.isoformat())
        for n in range(cases):
            coordinator = f"rc{n % COORDINATORS}"
            store.add_case(f"case-{n}", team_id="t1", coordinator_id=coordinator,
                           intact_worker_id=None, now=now.isoformat())
            store.put_keys(f"case-{n}", [(1, coordinator, "a2V5", None), (1, "sup", "a2V5", None)],
                           uploader=coordinator)
        tokens = {}
        for user in ("sup", "rc0"):
            code = store.create_code(user, now=now)
            _, tokens[user], _ = store.enrol(code, device_name=f"{user} laptop",
                                             public_key="cHVibGlj", wrapped_private_key="d3Jh",
                                             now=now)
        return tokens
    finally:
        store.close()


def median_ms(client: httpx.Client, path: str, token: str, params: dict[str, int] | None = None
              ) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for run in range(RUNS + 1):
        started = time.perf_counter()
        answer = client.get(path, headers=headers, params=params)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        if run:
            times.append(elapsed * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="400,2000,5000")
    args = parser.parse_args()
    print(f"{'cases':>6} {'baseline':>9} {'sup pull':>9} {'ratio':>6} {'rc pull':>8} {'ratio':>6}")
    for cases in (int(c) for c in args.cases.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "server"
            tokens = prepare(data, cases)
            with serving(RealServer, data, stdout=Path(tmp) / "server.log") as server, \
                    httpx.Client(base_url=server.base_url, trust_env=False, timeout=120) as client:
                base = median_ms(client, "/v1/me", tokens["sup"])
                sup = median_ms(client, "/v1/sync/pull", tokens["sup"], {"since": 0})
                rc = median_ms(client, "/v1/sync/pull", tokens["rc0"], {"since": 0})
        print(f"{cases:>6} {base:>7.1f}ms {sup:>7.1f}ms {sup / base:>5.0f}x {rc:>6.1f}ms "
              f"{rc / base:>5.0f}x")
        report(f"supervisor's pull with nothing to send, {cases:,} cases", round(sup, 1), "ms",
               target=100 if cases == 5000 else None)
    rekey_figures()
    return 0


def rekey_figures() -> None:
    import json  # noqa: PLC0415
    import os  # noqa: PLC0415

    from fieldapp.crypto.identity import Identity  # noqa: PLC0415
    from sync import protocol as wire  # noqa: PLC0415
    from sync.client.rekey import own_copies  # noqa: PLC0415
    from sync.client.replica import KeyRing  # noqa: PLC0415

    ring = KeyRing({(f"case-{n}", v): os.urandom(32) for n in range(400) for v in (1, 2)})
    identity = Identity.generate()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        copies = own_copies(identity, "sup", ring)
        times.append(time.perf_counter() - started)
    body = wire.NewKeys(public_key=identity.public_key, signing_key=identity.signing_key,
                        wrapped_private_key="x" * 200, copies=copies)
    size = len(json.dumps(body.model_dump(mode="json")))
    seconds = statistics.median(times)
    print(f"new keys for 400 cases x 2 versions: {len(copies)} copies sealed and signed in "
          f"{seconds:.3f} s (median of {RUNS}, one core); request {size / 1000:.0f} KB")
    report("replacing a supervisor's keys: 800 case key copies sealed and signed",
           round(seconds, 3), "s")


if __name__ == "__main__":
    sys.exit(main())
