"""The composition root: parse the command line, set up logging, wire the parts, run.

`fieldapp` starts the desktop client; `fieldapp doctor|backup|restore` work on a profile from the
command line. Qt is imported only when the window is wanted.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import logging.handlers
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from fieldapp import __version__
from fieldapp.domain.errors import KnownError
from fieldapp.services.doctor import run_doctor
from fieldapp.services.session import Session
from fieldapp.storage.paths import ENV_VAR, ProfilePaths, resolve_profile

log = logging.getLogger("fieldapp")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldapp", description="FieldApp: field documentation for family-recovery programs.")
    parser.add_argument("--version", action="version", version=f"FieldApp {__version__}")
    parser.add_argument("--demo", action="store_true",
                        help="open a demo profile full of invented families (made on first use)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"profile folder (default: ${ENV_VAR}, else the user data folder)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser("doctor", help="check a profile and report problems")
    doctor.add_argument("--no-passphrase", action="store_true",
                        help="check files and structure only, without unlocking")
    for sub in (doctor, commands.add_parser("backup", help="write an encrypted backup now")):
        sub.add_argument("--passphrase-stdin", action="store_true",
                         help="read the passphrase from the first line of standard input")
    restore = commands.add_parser("restore", help="replace the database with a backup")
    restore.add_argument("backup", nargs="?", help="backup file (default: the newest)")
    restore.add_argument("--passphrase-stdin", action="store_true",
                         help="read the passphrase from the first line of standard input")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser("where", help="print the profile folder")
    enrol = commands.add_parser("enrol", help="join the program's server with a one-time code")
    enrol.add_argument("--server", required=True, help="the server's address, https://…")
    enrol.add_argument("--code", required=True, help="the one-time enrolment code")
    enrol.add_argument("--device-name", default=platform.node() or "laptop")
    enrol.add_argument("--ca", help="certificate file to trust for the server (own CA)")
    enrol.add_argument("--passphrase-stdin", action="store_true",
                       help="read the passphrase from the first line of standard input")
    check = commands.add_parser("check-in", help="ask the server who this device is")
    check.add_argument("--passphrase-stdin", action="store_true",
                       help="read the passphrase from the first line of standard input")
    sync = commands.add_parser(
        "sync", help="send waiting changes to the server and fetch what changed (exit 1 if "
                     "something needs a person's attention)")
    sync.add_argument("--passphrase-stdin", action="store_true",
                      help="read the passphrase from the first line of standard input")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)
    _no_core_dumps()
    args = build_parser().parse_args(argv)
    paths = resolve_profile(args.data_dir)
    try:
        if args.command is None:
            from fieldapp.ui.run import run_gui  # noqa: PLC0415 - Qt only when a window is wanted

            paths.ensure_root()
            configure_logging(paths)
            return run_gui(paths, demo=args.demo)
        if paths.root.is_dir():  # commands never create a profile folder just to log in it
            configure_logging(paths)
        return _run_command(args, paths)
    except KnownError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run_command(args: argparse.Namespace, paths: ProfilePaths) -> int:
    session = Session(paths)
    if args.command == "where":
        print(paths.root)
        return 0
    if args.command == "doctor":
        passphrase = None if args.no_passphrase else _passphrase(args.passphrase_stdin)
        report = run_doctor(session.profile, passphrase=passphrase)
        print(report.render())
        return 0 if report.healthy else 1
    if args.command in ("enrol", "check-in"):
        return _server_command(args, session)
    if args.command == "sync":
        return _sync(args, session)
    if args.command == "backup":
        session.unlock(_passphrase(args.passphrase_stdin))
        info = session.backup_now()
        session.lock()
        print(f"Backup written: {info.path}")
        return 0
    return _restore(args, session)


def _server_command(args: argparse.Namespace, session: Session) -> int:
    from fieldapp.services import enrolment  # noqa: PLC0415 - network code only when asked

    passphrase = _passphrase(args.passphrase_stdin)
    session.unlock(passphrase)
    try:
        if args.command == "enrol":
            done = enrolment.enrol(session, server_url=args.server, code=args.code,
                                   passphrase=passphrase, device_name=args.device_name,
                                   verify=args.ca or True)
            print(f"Enrolled as {done.name} ({done.role}), device {done.device_id}."
                  + (" Your key was recovered from the server." if done.recovered_key else ""))
        else:
            me = enrolment.check_in(session)
            print(f"The server knows this device as {me['name']} ({me['role']}).")
    finally:
        session.lock()
    return 0


def _sync(args: argparse.Namespace, session: Session) -> int:
    from sync.client.engine import SyncEngine  # noqa: PLC0415 - network code only when asked

    session.unlock(_passphrase(args.passphrase_stdin))
    try:
        report = SyncEngine(session).sync()
    finally:
        if session.is_open:
            session.lock()
    print(f"Sent {report.pushed} change(s), received {report.pulled} in "
          f"{report.seconds:.1f} s; {report.waiting} waiting to go up.")
    print("Checked against the server: " + ("everything matches." if report.verified else
                                            "differences remain; sync again."))
    if report.held_back:
        print(f"{report.held_back} record(s) from the server could not be applied on this "
              "laptop; run `fieldapp doctor` and tell your administrator.")
    attention = report.conflicts + report.problems + report.held_back
    if attention:
        print(f"Needs attention: {report.conflicts} conflict(s) and {report.problems} refused "
              "change(s); open FieldApp to settle them.")
    return 1 if attention or not report.verified else 0


def _restore(args: argparse.Namespace, session: Session) -> int:
    found = session.profile.backups()
    backup = Path(args.backup) if args.backup else (found[0] if found else None)
    if backup is None:
        print("There is no backup to restore.", file=sys.stderr)
        return 2
    if not args.yes:
        answer = input(f"Replace the database with {backup.name}? The current file is set aside. "
                       "[y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing was changed.")
            return 1
    session.restore(_passphrase(args.passphrase_stdin), backup)
    session.lock()
    print(f"Restored from {backup.name}.")
    return 0


def _passphrase(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise KnownError("No terminal to ask for the passphrase; use --passphrase-stdin.")
    return getpass.getpass("Passphrase: ")


def _no_core_dumps() -> None:
    """A core dump of an unlocked app would hold the data key and open records: allow none."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        log.warning("could not disable core dumps")


def configure_logging(paths: ProfilePaths) -> None:
    """Log events (never content) to the profile's logs folder, owner-readable only."""
    root = logging.getLogger()
    if any(getattr(h, "_fieldapp", False) for h in root.handlers):
        return
    try:
        paths.logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            paths.logs / "fieldapp.log", maxBytes=1 << 20, backupCount=3, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._fieldapp = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    sys.excepthook = _log_crash


def _log_crash(kind: type[BaseException], error: BaseException, tb: object) -> None:
    # Tracebacks name code, not content; KnownError messages never hold sealed content.
    log.critical("unexpected error", exc_info=(kind, error, tb))  # type: ignore[arg-type]
    sys.__excepthook__(kind, error, tb)  # type: ignore[arg-type]
