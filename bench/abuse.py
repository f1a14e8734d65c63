"""What one misbehaving client does to the server: a 50 MiB body, and 1,200 stalled connections.

A real `fieldapp-server serve` process on 127.0.0.1 with its default limits (the data folder
prepared in-process, one device enrolled). While /health is polled every 50 ms on a new
connection (an answer later than 2 s, or not 200, is a failure):
1. one 50 MiB body without a token (JSON: a push of 1.8 million small objects), Content-Length
   declared, sent as fast as the server reads it;
2. one 50 MiB body with a valid token, chunked (no Content-Length), the same way;
3. 1,200 connections held open (`--stalled`): half stop inside their request head, half send a
   valid token and a declared 1 MB push, then 1 kB of it, and stop; held `--hold` seconds (12:
   past the default --header-timeout of 10 s, within the --body-timeout of 30 s).
Figures: the server's peak resident memory (VmHWM in /proc/<pid>/status) and its ratio to the
idle server's; /health's median and worst latency under abuse, and as ratios to the idle
server's median (40 polls before); its failures; what each big body got after how many bytes;
how many stalled connections the server closed by itself. Targets: peak memory < 200 MB,
/health never fails and answers within 1 s.
The run is bounded: every wait has a timeout, and a watchdog stops the server and this script
after `--max-seconds` (120). Needs as many open files as stalled connections plus 100: the soft
limit is raised to the hard one; below that, fewer connections are held and the table says so.
Run: `.venv/bin/python bench/abuse.py [--stalled N] [--hold S]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
from _results import report

from sync import protocol as wire
from tests import real_server

MIB = 1 << 20
# The big body: 50 MiB of JSON that parses (a push of 1.8 million small objects), as a body
# meant to cost a server that reads it first would be.
ITEM = b'{"op_id":"0123456789abcdef"},'
PIECE = ITEM * (MIB // len(ITEM))
PIECES = 50 * MIB // len(PIECE)
BODY_OPEN, BODY_CLOSE = b'{"ops":[', b'{}]}'
BIG = len(BODY_OPEN) + PIECES * len(PIECE) + len(BODY_CLOSE)
POLL_S, POLL_TIMEOUT_S = 0.05, 2.0
MEMORY_TARGET_MB, HEALTH_TARGET_MS = 200, 1000


PROGRAM = real_server.Program(teams={"t1": "North team"}, settings={"mileage_cap": "150"},
                              people={"rc1": ("Rosa Coordinator", "recovery coordinator", "t1")})


def prepare(data_dir: Path) -> str:
    """The program, a team and one worker; returns an enrolment code for the worker."""
    PROGRAM.set_up_in_process(data_dir)
    return real_server.enrolment_code(data_dir, "rc1")


@contextmanager
def server_process(data_dir: Path, log: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`fieldapp-server serve` with its defaults on a free loopback port; always stopped."""
    with real_server.serving(real_server.RealServer, data_dir, stdout=log, timeout=30,
                             stop_timeout=15) as server:
        STARTED.append(server.process)
        yield server.port, server.process


def memory_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def health(port: int) -> float | None:
    """Seconds /health took on a new connection; None: no 200 within POLL_TIMEOUT_S."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=POLL_TIMEOUT_S) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError:
        return None
    return time.perf_counter() - started if answer.startswith(b"HTTP/1.1 200") else None


@dataclass
class Poller:
    """/health every POLL_S on its own thread, until stopped."""

    port: int
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(POLL_S):
            took = health(self.port)
            if took is None:
                self.failures += 1
            else:
                self.latencies.append(took)

    @contextmanager
    def polling(self) -> Iterator[None]:
        thread = threading.Thread(target=self.run, name="health-poller", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(timeout=POLL_TIMEOUT_S + 1)


@dataclass(frozen=True)
class BigBody:
    how: str
    status: int
    sent: int        # bytes of the body sent before the answer came
    seconds: float


def send_big(port: int, head: bytes, *, chunked: bool) -> BigBody:
    """Send BODY as fast as the server takes it, until the server answers (or all is sent)."""
    parts = [BODY_OPEN, *[PIECE] * PIECES, BODY_CLOSE]
    sent, started = 0, time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for part in parts:
            if _ready(sock):
                break
            try:
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked
                             else part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(part)
        if chunked and sent == BIG:
            sock.sendall(b"0\r\n\r\n")
        answer = b""
        with suppress(OSError):
            while b"\r\n" not in answer and (chunk := sock.recv(4096)):
                answer += chunk
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/") else 0
    return BigBody("chunked, valid token" if chunked else "Content-Length, no token", status,
                   sent, time.perf_counter() - started)


def _ready(sock: socket.socket) -> bool:
    """Whether the server has answered (or closed) by now, without waiting."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


def hold_stalled(port: int, token: str, count: int) -> tuple[list[socket.socket],
                                                             list[socket.socket]]:
    """`count` connections that stop half-way: heads, and bodies (returned apart)."""
    heads, bodies = [], []
    body_head = (f"POST {wire.API}/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {MIB}\r\n\r\n").encode() + b'{"ops": [' + b" " * 1024
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if n % 2:
            sock.sendall(f"POST {wire.API}/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Le".encode())
            heads.append(sock)
        else:
            sock.sendall(body_head)
            bodies.append(sock)
        sock.setblocking(False)
    return heads, bodies


def closed_by_server(socks: list[socket.socket]) -> int:
    """How many of `socks` the server has closed or answered (a 408) by now."""
    closed = 0
    for sock in socks:
        try:  # the sockets do not block
            data = sock.recv(4096)
            closed += 1 if data == b"" or data.startswith(b"HTTP/") else 0
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def descriptors_for(wanted: int) -> tuple[int, str]:
    """Raise this process's soft open-files limit to the hard one; how many connections it
    allows, and a note when that is fewer than wanted."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft == resource.RLIM_INFINITY or soft >= wanted + 100:
        return wanted, ""
    return max(0, soft - 100), (f"the hard open-files limit here is {hard}: {soft - 100} "
                                f"connections held instead of {wanted}")


@dataclass
class Run:
    idle_mb: float = 0.0
    idle_health: list[float] = field(default_factory=list)
    bodies: list[BigBody] = field(default_factory=list)
    stalled: int = 0
    note: str = ""
    heads_closed: int = 0
    bodies_closed: int = 0
    peak_mb: float = 0.0
    end_mb: float = 0.0
    poller: Poller | None = None


def run(args: argparse.Namespace, tmp: Path) -> Run:
    code = prepare(tmp / "server")
    result = Run()
    result.stalled, result.note = descriptors_for(args.stalled)
    with server_process(tmp / "server", tmp / "server.log") as (port, process):
        enrolled = httpx.post(f"http://127.0.0.1:{port}{wire.API}/enrol", trust_env=False,
                              json={"code": code, "device_name": "bench laptop"}, timeout=10)
        token = enrolled.raise_for_status().json()["device_token"]
        for _ in range(40):
            took = health(port)
            if took is not None:
                result.idle_health.append(took)
            time.sleep(0.02)
        result.idle_mb = memory_mb(process.pid, "VmRSS")
        result.poller = Poller(port)
        with result.poller.polling():
            result.bodies.append(send_big(port, (
                f"POST {wire.API}/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                f"application/json\r\nContent-Length: {BIG}\r\n\r\n").encode(), chunked=False))
            result.bodies.append(send_big(port, (
                f"POST {wire.API}/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                f"{token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                ).encode(), chunked=True))
            heads, bodies = hold_stalled(port, token, result.stalled)
            try:
                time.sleep(args.hold)
                result.heads_closed = closed_by_server(heads)
                result.bodies_closed = closed_by_server(bodies)
            finally:
                for sock in heads + bodies:
                    sock.close()
            time.sleep(0.5)
        result.peak_mb = memory_mb(process.pid, "VmHWM")
        result.end_mb = memory_mb(process.pid, "VmRSS")
    return result


def print_table(result: Run, args: argparse.Namespace, load: float) -> None:
    assert result.poller is not None
    polled = result.poller.latencies
    p50 = statistics.median(polled) * 1000 if polled else float("nan")
    worst = max(polled) * 1000 if polled else float("nan")
    idle = statistics.median(result.idle_health) * 1000
    failures = result.poller.failures
    heads, bodies = result.stalled - result.stalled // 2, result.stalled // 2

    def met(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
          f"{platform.python_version()}, {platform.platform(terse=True)}; load average before "
          f"the run {load:.1f}; the server with its default limits")
    for body in result.bodies:
        print(f"50 MiB body ({body.how}): answered {body.status} after {body.sent / MIB:.0f} MiB "
              f"sent, in {body.seconds * 1000:.0f} ms")
    print(f"stalled connections held {args.hold:.0f} s: {heads} heads (the server closed "
          f"{result.heads_closed}), {bodies} bodies (the server closed {result.bodies_closed})"
          + (f"; {result.note}" if result.note else ""))
    header = ("figure", "value", "target", "")
    rows = [
        ("server memory, idle (VmRSS)", f"{result.idle_mb:.0f} MB", "", ""),
        ("server memory, peak under abuse (VmHWM)", f"{result.peak_mb:.0f} MB",
         f"< {MEMORY_TARGET_MB} MB", met(result.peak_mb < MEMORY_TARGET_MB)),
        ("  peak / idle", f"{result.peak_mb / result.idle_mb:.2f}x", "", ""),
        ("server memory after (VmRSS)", f"{result.end_mb:.0f} MB", "", ""),
        (f"/health idle, {len(result.idle_health)} polls: median", f"{idle:.1f} ms", "", ""),
        (f"/health under abuse, {len(polled) + failures} polls: median", f"{p50:.1f} ms", "",
         ""),
        ("  median / idle median", f"{p50 / idle:.1f}x", "", ""),
        ("  worst", f"{worst:.0f} ms", f"< {HEALTH_TARGET_MS} ms",
         met(worst < HEALTH_TARGET_MS)),
        ("  worst / idle median", f"{worst / idle:.0f}x", "", ""),
        ("  failures (no 200 within 2 s)", f"{failures}", "0", met(failures == 0)),
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(f"{cell:>{widths[i]}}" if i == 1 else f"{cell:<{widths[i]}}"
                        for i, cell in enumerate(row)).rstrip())
    what = f"a 50 MiB body and {result.stalled:,} stalled connections"
    report(f"server peak memory under {what}", result.peak_mb, "MB", target=MEMORY_TARGET_MB)
    report(f"/health median under {what}", p50, "ms")
    report(f"/health worst under {what}", worst, "ms", target=HEALTH_TARGET_MS)
    report(f"/health failures under {what}", failures, "", target=0, at_most=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stalled", type=int, default=1200)
    parser.add_argument("--hold", type=float, default=12.0)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    watchdog = threading.Timer(args.max_seconds, give_up, [args.max_seconds])
    watchdog.daemon = True
    watchdog.start()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    watchdog.cancel()
    print_table(result, args, load)


STARTED: list[subprocess.Popen[bytes]] = []  # the server, for the watchdog


def give_up(seconds: float) -> None:
    """The watchdog: stop the server and this script, whatever they are doing."""
    print(f"bench/abuse.py: stopped after {seconds:.0f} s", file=sys.stderr, flush=True)
    for process in STARTED:
        process.kill()
    os._exit(3)


if __name__ == "__main__":
    main()
