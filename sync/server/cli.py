"""`fieldapp-server`: run the central server and administer a program from the command line.

Every admin command works directly on the data folder (the server may be running), and each
change is written to the server's audit log.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sqlite3
import ssl
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldapp import __version__
from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.people import Role
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import SupervisorCapacity
from sync.server.records import RecordSync
from sync.server.store import ServerStore, StoreError

DEFAULT_SETTINGS = {
    "mileage_cap": "150", "rate_per_mile": "0.725", "visits_per_week": 2,
    "late_entry_hours": 24, "random_screens_per_month": 2, "timezone": "America/Chicago",
    "cosupervision_required": False, "cosign_deadline_days": 5, "draft_stale_days": 3,
    # Illinois, 820 ILCS 115/9.5: expenses are submitted within 30 days.
    "mileage_submit_days": 30, "consent_warning_days": 30,
    # Sealed content one person may have stored, every revision counted.
    "storage_quota_mb": 1024,
}
# `serve`: connections at most (see _connection_limit), and descriptors kept for the rest.
MAX_CONNECTIONS = 4096
SPARE_DESCRIPTORS = 64
# How the command line names a supervisor's capacity, and how it is stored.
CAPACITIES = {"intact": SupervisorCapacity.INTACT, "sud": SupervisorCapacity.SUD}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldapp-server",
                                     description="FieldApp central server and its administration.")
    parser.add_argument("--version", action="version", version=f"fieldapp-server {__version__}")
    parser.add_argument("--data", required=True, type=Path, help="the server's data folder")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", help="set up the program and its rules")
    init.add_argument("--name", required=True)
    init.add_argument("--settings", default="{}",
                      help='JSON of rules, e.g. \'{"mileage_cap": "150"}\'')
    serve = sub.add_parser("serve", help="run the HTTP(S) API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--cert", type=Path, help="TLS certificate (PEM)")
    serve.add_argument("--key", type=Path, help="TLS private key (PEM)")
    serve.add_argument("--insecure-http", action="store_true",
                       help="allow plain HTTP on a non-loopback address (testing only)")
    serve.add_argument("--enrol-limit", type=int, default=10,
                       help="enrolment attempts per address per 10 minutes (default 10)")
    serve.add_argument("--auth-failure-limit", type=int, default=30,
                       help="failed sign-ins per address per 10 minutes (default 30)")
    serve.add_argument("--header-timeout", type=_seconds, default=10.0,
                       help="seconds a request's headers may take to arrive (default 10)")
    serve.add_argument("--body-timeout", type=_seconds, default=30.0,
                       help="seconds a request body may pause between parts (default 30)")
    serve.add_argument("--body-deadline", type=_seconds, default=300.0,
                       help="seconds a whole request body may take (default 300)")
    serve.add_argument("--keep-alive-timeout", type=_seconds, default=5.0,
                       help="seconds an idle connection is kept open between requests "
                       "(default 5)")
    serve.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS,
                       help="open connections beyond which requests are answered 503 "
                       f"(default {MAX_CONNECTIONS}; the open-files limit must be higher)")
    team = sub.add_parser("team-add", help="add a team")
    team.add_argument("id")
    team.add_argument("--name", required=True)
    user = sub.add_parser("user-add", help="add a person")
    user.add_argument("id")
    user.add_argument("--name", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--team")
    user.add_argument("--supervises", choices=sorted(CAPACITIES),
                      help="for a supervisor where the program co-supervises: which one")
    supervises = sub.add_parser("user-set-supervises",
                                help="say which supervisor someone is (intact, sud or none)")
    supervises.add_argument("id")
    supervises.add_argument("capacity", choices=[*sorted(CAPACITIES), "none"])
    code = sub.add_parser("code", help="make a one-time enrolment code for a person")
    code.add_argument("user")
    case = sub.add_parser("case-add", help="open a case for a team")
    case.add_argument("id")
    case.add_argument("--team", required=True)
    case.add_argument("--coordinator")
    case.add_argument("--intact-worker")
    assign = sub.add_parser("case-assign", help="assign a case's coordinator and intact worker")
    assign.add_argument("id")
    assign.add_argument("--coordinator")
    assign.add_argument("--intact-worker")
    _device_parsers(sub)
    sub.add_parser("audit", help="show the audit log")
    return parser



def _device_parsers(sub: Any) -> None:
    devices = sub.add_parser("devices", help="list enrolled devices")
    devices.add_argument("--user")
    revoke = sub.add_parser("revoke", help="revoke a device (it wipes itself on next contact)")
    revoke.add_argument("device")
    revoke.add_argument("--keys-never-opened", action="store_true",
                        help="only for a laptop whose enrolment stopped at the recovery code "
                             "(it never held its person's keys): their keys stay")
    reset = sub.add_parser("reset-keys", help="make a person's keys be replaced (a lost "
                           "recovery code, or keys someone else may know)")
    reset.add_argument("user")

def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    try:
        store = ServerStore(args.data)
    except StoreError as exc:  # a database from a newer server: said, and nothing changed
        print(_shown(exc.message), file=sys.stderr)
        return 2
    try:
        _admin(args, store)
    except (StoreError, KnownError) as exc:
        print(_shown(exc.message), file=sys.stderr)
        return 2
    except sqlite3.IntegrityError as exc:  # a duplicate id or an unknown team, in plain words
        print(_shown(f"Refused: {exc}."), file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def _admin(args: argparse.Namespace, store: ServerStore) -> None:
    now = datetime.now(UTC)
    stamp = now.isoformat()
    if args.command == "init":
        store.init_program(args.name, _program_rules(args.settings))
        print(_shown(f"Program '{args.name}' is set up."))
    elif args.command == "team-add":
        store.add_team(args.id, args.name)
    elif args.command in ("user-add", "user-set-supervises"):
        _person(args, store, stamp)
    elif args.command == "code":
        code = store.create_code(args.user, now=now)
        print(_shown(f"Enrolment code for {args.user} (one use, valid 24 hours): {code}"))
    elif args.command == "case-add":
        store.add_case(args.id, team_id=args.team, coordinator_id=args.coordinator,
                       intact_worker_id=args.intact_worker, now=stamp)
    elif args.command == "case-assign":
        store.assign(args.id, coordinator_id=args.coordinator,
                     intact_worker_id=args.intact_worker)
        RecordSync(store).touch_case(args.id)  # devices learn of the new assignment
    elif args.command in ("devices", "revoke", "reset-keys"):
        _devices(args, store, now)
    elif args.command == "audit":
        for seq, at, actor, action, subject, details in store.audit_entries():
            print(_shown(f"{seq:>6} {at} {actor:<16} {action:<20} {subject} {details}"))
    if args.command not in ("devices", "audit"):
        capacity = getattr(args, "supervises", None) or getattr(args, "capacity", None)
        store.audit(at=stamp, actor="admin (command line)", action=args.command,
                    subject=str(getattr(args, "id", getattr(args, "user", getattr(
                        args, "device", "program")))),
                    details={"supervises": capacity} if capacity else None)


def _devices(args: argparse.Namespace, store: ServerStore, now: datetime) -> None:
    """Devices and the keys they hold: list, revoke, reset a person's keys."""
    if args.command == "devices":
        for d in store.devices(args.user):
            seen = f"last seen {d.last_seen}" if d.last_seen else "never synced"
            state = f"revoked {d.revoked_at}" if d.revoked_at else f"active, {seen}"
            print(_shown(f"{d.id}  {d.user_id:<20} {d.name:<24} enrolled {d.enrolled_at}  "
                         f"{state}"))
    elif args.command == "revoke":
        store.revoke_device(args.device, now=now, held_keys=not args.keys_never_opened)
        user = next(d.user_id for d in store.devices() if d.id == args.device)
        if args.keys_never_opened:
            print(_shown(f"Device {args.device} is revoked; it will wipe its FieldApp data on "
                         f"next contact. {user}'s keys stay as they are."))
            return
        print(_shown(f"Device {args.device} is revoked; it will wipe its FieldApp data on next "
                     f"contact. It held {user}'s keys, so they will be replaced: the next of "
                     f"{user}'s laptops to sync makes new ones and shows a new recovery code "
                     f"(with none left, their next enrolment does), and every case they hold "
                     f"gets a new key version. Colleagues are asked to accept the new key."))
    elif args.command == "reset-keys":
        already = store.reset_keys(args.user, now=now)
        if already:
            print(_shown(f"{args.user}'s keys were already due to be replaced; they still "
                         "are (none of their laptops has made new ones yet)."))
            return
        print(_shown(f"{args.user}'s keys will be replaced: the next of their laptops to sync "
                     f"makes new ones and shows a new recovery code; if they have none left, "
                     f"give them an enrolment code (`code {args.user}`) and their new laptop "
                     f"makes them. Every case they hold gets a new key version. Colleagues are "
                     f"asked to accept the new key."))


def _person(args: argparse.Namespace, store: ServerStore, stamp: str) -> None:
    if args.command == "user-add":
        store.add_user(args.id, args.name, args.role, args.team, now=stamp,
                       supervises=_capacity(args.supervises))
    else:
        store.set_supervises(args.id, _capacity(args.capacity))
        print(_shown(f"{args.id} is now {_said(args.capacity)}; laptops learn it at their next "
                     "sync."))


def _shown(value: object) -> str:
    """`value` as text for a terminal to show, never to obey: every control character (C0, DEL,
    C1), format character (the bidi overrides such as U+202E, zero-width ones), lone surrogate
    and line or paragraph separator is written as its escape, as `repr` writes it without the
    quotes (ESC as \\x1b, U+202E as \\u202e). Everything else, backslashes included, is left as
    it is. Every line the admin commands print goes through here."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"}
                   else c for c in str(value))


def _program_rules(text: str) -> dict[str, Any]:
    """The program's rules as `init --settings TEXT` gives them: the defaults, overridden by
    TEXT, which must be a JSON object of known rules that the laptops' own `ProgramSettings`
    accepts (the server hands the rules down as they are). Otherwise `RuleViolation`, in one
    plain sentence naming the bad setting, before anything is written."""
    try:
        given = json.loads(text)
    except ValueError as exc:
        raise RuleViolation("The text after --settings is not valid JSON.") from exc
    if not isinstance(given, dict):
        raise RuleViolation("The text after --settings must be a JSON object of rules, such as "
                            '{"mileage_cap": "150"}.')
    known = set(ProgramSettings.__dataclass_fields__) - {"version", "program_name", "extra"}
    if unknown := sorted(set(given) - known):
        raise RuleViolation(f"There is no program rule called {unknown[0]!r}.")
    rules = {**DEFAULT_SETTINGS, **given}
    ProgramSettings.from_json({**ProgramSettings().to_json(), **rules})  # as a laptop reads it
    return rules


def _capacity(given: str | None) -> str | None:
    return str(CAPACITIES[given]) if given in CAPACITIES else None


def _said(given: str) -> str:
    return f"the {CAPACITIES[given]} supervisor" if given in CAPACITIES else "not said to be " \
        "the intact or the SUD supervisor"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only when serving

    from sync.server.app import create_app  # noqa: PLC0415
    from sync.server.limits import Timeouts, set_timeouts  # noqa: PLC0415
    from sync.server.transport import head_timeout_protocol  # noqa: PLC0415

    if (args.cert is None) != (args.key is None):
        print("Give both --cert and --key for TLS.", file=sys.stderr)
        return 2
    tls = args.cert is not None
    if not tls and not _loopback(args.host) and not args.insecure_http:
        print("Refusing plain HTTP on a non-loopback address: give --cert and --key "
              "(or --insecure-http for a test network).", file=sys.stderr)
        return 2
    if tls and (problem := _tls_problem(args.cert, args.key)):
        print(problem, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        app = create_app(args.data, enrol_limit=args.enrol_limit,
                         auth_failure_limit=args.auth_failure_limit)
    except StoreError as exc:  # a database from a newer server: said, and nothing changed
        print(_shown(exc.message), file=sys.stderr)
        return 2
    set_timeouts(app, Timeouts(chunk=args.body_timeout, deadline=args.body_deadline))
    uvicorn.run(app, host=args.host, port=args.port,
                ssl_certfile=str(args.cert) if tls else None,
                ssl_keyfile=str(args.key) if tls else None, access_log=False,
                log_level="warning", http=head_timeout_protocol(args.header_timeout),
                timeout_keep_alive=args.keep_alive_timeout,
                limit_concurrency=_connection_limit(args.max_connections))
    return 0


def _connection_limit(wanted: int) -> int:
    """uvicorn's `limit_concurrency`: `wanted`, within the open-files limit (raised to its hard
    limit first). uvicorn counts every open connection against it, idle and stalled ones too,
    and answers 503 to any request above it (/health included), so it is set far above what a
    program's laptops use and the head and body timeouts are what clear stalled connections."""
    from sync.server.transport import raise_descriptor_limit  # noqa: PLC0415 - loads uvicorn

    soft, _ = raise_descriptor_limit()
    if soft < 0 or wanted + SPARE_DESCRIPTORS <= soft:
        return wanted
    limit = max(1, soft - SPARE_DESCRIPTORS)
    logging.getLogger("fieldapp.server").warning(
        "The open-files limit (%d) is too low for --max-connections %d: serving at most %d "
        "connections. Raise it (LimitNOFILE= under systemd, ulimit -n in a shell).",
        soft, wanted, limit)
    return limit


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return value


def _tls_problem(cert: Path, key: Path) -> str:
    """Why the certificate and key cannot be used ('' if they can): said before serving, in
    plain words, rather than as a traceback from deep inside the web server."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        return f"The TLS file {exc.filename} does not exist."
    except PermissionError as exc:
        return f"The TLS file {exc.filename} cannot be read by this user."
    except (ssl.SSLError, OSError) as exc:
        return f"The TLS certificate and key cannot be used together ({exc})."
    return ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
