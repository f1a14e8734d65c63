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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fieldapp import __version__
from fieldapp.domain.people import Role
from fieldapp.domain.visits import SupervisorCapacity
from sync.server.records import RecordSync
from sync.server.store import ServerStore, StoreError

DEFAULT_SETTINGS = {
    "mileage_cap": "150", "rate_per_mile": "0.725", "visits_per_week": 2,
    "late_entry_hours": 24, "random_screens_per_month": 2, "timezone": "America/Chicago",
    "cosupervision_required": False, "cosign_deadline_days": 5, "draft_stale_days": 3,
    # Illinois, 820 ILCS 115/9.5: expenses are submitted within 30 days.
    "mileage_submit_days": 30, "consent_warning_days": 30,
}
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
    init.add_argument("--settings", type=json.loads, default={},
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
    devices = sub.add_parser("devices", help="list enrolled devices")
    devices.add_argument("--user")
    revoke = sub.add_parser("revoke", help="revoke a device (it wipes itself on next contact)")
    revoke.add_argument("device")
    sub.add_parser("audit", help="show the audit log")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    store = ServerStore(args.data)
    try:
        _admin(args, store)
    except StoreError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except sqlite3.IntegrityError as exc:  # a duplicate id or an unknown team, in plain words
        print(f"Refused: {exc}.", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def _admin(args: argparse.Namespace, store: ServerStore) -> None:
    now = datetime.now(UTC)
    stamp = now.isoformat()
    if args.command == "init":
        store.init_program(args.name, {**DEFAULT_SETTINGS, **args.settings})
        print(f"Program {args.name!r} is set up.")
    elif args.command == "team-add":
        store.add_team(args.id, args.name)
    elif args.command in ("user-add", "user-set-supervises"):
        _person(args, store, stamp)
    elif args.command == "code":
        code = store.create_code(args.user, now=now)
        print(f"Enrolment code for {args.user} (one use, valid 24 hours): {code}")
    elif args.command == "case-add":
        store.add_case(args.id, team_id=args.team, coordinator_id=args.coordinator,
                       intact_worker_id=args.intact_worker, now=stamp)
    elif args.command == "case-assign":
        store.assign(args.id, coordinator_id=args.coordinator,
                     intact_worker_id=args.intact_worker)
        RecordSync(store).touch_case(args.id)  # devices learn of the new assignment
    elif args.command == "devices":
        for d in store.devices(args.user):
            state = f"revoked {d.revoked_at}" if d.revoked_at else "active"
            print(f"{d.id}  {d.user_id:<20} {d.name:<24} enrolled {d.enrolled_at}  {state}")
    elif args.command == "revoke":
        store.revoke_device(args.device, now=now)
        print(f"Device {args.device} is revoked; it will wipe its FieldApp data on next contact.")
    elif args.command == "audit":
        for seq, at, actor, action, subject, details in store.audit_entries():
            print(f"{seq:>6} {at} {actor:<16} {action:<20} {subject} {details}")
    if args.command not in ("devices", "audit"):
        capacity = getattr(args, "supervises", None) or getattr(args, "capacity", None)
        store.audit(at=stamp, actor="admin (command line)", action=args.command,
                    subject=str(getattr(args, "id", getattr(args, "user", getattr(
                        args, "device", "program")))),
                    details={"supervises": capacity} if capacity else None)


def _person(args: argparse.Namespace, store: ServerStore, stamp: str) -> None:
    if args.command == "user-add":
        store.add_user(args.id, args.name, args.role, args.team, now=stamp,
                       supervises=_capacity(args.supervises))
    else:
        store.set_supervises(args.id, _capacity(args.capacity))
        print(f"{args.id} is now {_said(args.capacity)}; laptops learn it at their next sync.")


def _capacity(given: str | None) -> str | None:
    return str(CAPACITIES[given]) if given in CAPACITIES else None


def _said(given: str) -> str:
    return f"the {CAPACITIES[given]} supervisor" if given in CAPACITIES else "not said to be " \
        "the intact or the SUD supervisor"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only when serving

    from sync.server.app import create_app  # noqa: PLC0415

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
    app = create_app(args.data, enrol_limit=args.enrol_limit,
                     auth_failure_limit=args.auth_failure_limit)
    uvicorn.run(app, host=args.host, port=args.port,
                ssl_certfile=str(args.cert) if tls else None,
                ssl_keyfile=str(args.key) if tls else None, access_log=False,
                log_level="warning")
    return 0


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
