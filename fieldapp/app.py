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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fieldapp import __version__
from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Exception_, Terms
from fieldapp.domain.errors import KnownError, WrongRecoveryCode
from fieldapp.domain.exports import (
    ExportFormat,
    ExportRequest,
    ReportKind,
    ScopeKind,
    last_three_years,
)
from fieldapp.domain.people import Actor, CaseId, Role, UserId
from fieldapp.services import kept
from fieldapp.services.doctor import run_doctor
from fieldapp.services.enrolment import (
    ENROLMENT_CODE_SPENT,
    NEW_RECOVERY_CODE_WORDS,
    RECOVERY_CODE_WORDS,
    Admission,
    Enrolment,
    new_recovery_code_of,
    recovery_code_seen,
    store_enrolment,
)
from fieldapp.services.exports import job as exports
from fieldapp.services.session import Session
from fieldapp.storage.paths import ENV_VAR, ProfilePaths, profile_slug, resolve_profile

log = logging.getLogger("fieldapp")


# `--demo ROLE`: which demo profile to open.
DEMO_ROLES = {"coordinator": Role.RECOVERY_COORDINATOR, "intact-worker": Role.INTACT_WORKER,
              "supervisor": Role.SUPERVISOR}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldapp", description="FieldApp: field documentation for family-recovery programs.")
    parser.add_argument("--version", action="version", version=f"FieldApp {__version__}")
    parser.add_argument("--demo", nargs="?", const="coordinator", choices=sorted(DEMO_ROLES),
                        help="open a demo profile full of invented families, as a recovery "
                        "coordinator (the default), an intact worker or a supervisor (made on "
                        "first use)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"profile folder (default: ${ENV_VAR}, else the user data folder)")
    parser.add_argument("--profile", metavar="NAME", type=_profile_name,
                        help="open the profile called NAME beside that folder (made on first "
                             "use; 'default' is the folder itself)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that this installation works (offscreen, on a temporary "
                             "profile that is then removed) and exit")
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
    enrol.add_argument("--recovery-code", metavar="CODE", default="",
                       help="only if you already use FieldApp on another laptop: the recovery "
                            "code you stored when you first connected (asked for if needed)")
    enrol.add_argument("--passphrase-stdin", action="store_true",
                       help="read the passphrase from the first line of standard input (and a "
                            "recovery code asked for from the next lines)")
    check = commands.add_parser("check-in", help="ask the server who this device is")
    check.add_argument("--passphrase-stdin", action="store_true",
                       help="read the passphrase from the first line of standard input")
    sync = commands.add_parser(
        "sync", help="send waiting changes to the server and fetch what changed (exit 1 if "
                     "something needs a person's attention)")
    sync.add_argument("--passphrase-stdin", action="store_true",
                      help="read the passphrase from the first line of standard input")
    _export_parser(commands)
    _kept_parser(commands)
    _keys_parser(commands)
    return parser


def _keys_parser(commands: Any) -> None:
    shown = commands.add_parser(
        "new-recovery-code", help="show the recovery code of keys this laptop replaced",
        description="After a laptop of yours was revoked (or your administrator reset your "
                    "keys), this laptop made new keys and keeps their recovery code until you "
                    "have it. It is shown once; FieldApp then forgets it if you say so.")
    shown.add_argument("--forget", action="store_true",
                       help="forget it after showing it, without asking")
    take = commands.add_parser(
        "take-up-keys", help="use the keys another of your laptops made, with its new "
                             "recovery code (asked for)")
    for sub in (shown, take):
        sub.add_argument("--passphrase-stdin", action="store_true",
                         help="read the passphrase from the first line of standard input (and "
                              "a recovery code asked for from the next lines)")


def _kept_parser(commands: Any) -> None:
    sub = commands.add_parser(
        "kept", help="list, export or discard your changes kept from cases no longer yours",
        description="Changes to a case (or mileage) that was taken off your caseload before "
                    "they reached the server, kept sealed on this laptop for you alone. "
                    "Without an option, say how many there are.")
    action = sub.add_mutually_exclusive_group()
    action.add_argument("--export", metavar="PATH",
                        help="write them to PATH, NOT encrypted (JSON, or CSV for a .csv name)")
    action.add_argument("--discard", action="store_true",
                        help="remove them from this laptop for good (asks first)")
    sub.add_argument("--format", choices=[str(f) for f in kept.KeptFormat],
                     help="json or csv (default: from the file name's ending, else json)")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing file")
    sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_argument("--passphrase-stdin", action="store_true",
                     help="read the passphrase from the first line of standard input")


def _export_parser(commands: Any) -> None:
    export = commands.add_parser(
        "export", help="write a visit log, mileage report, drug screen summary or accounting of "
                       "disclosures (PDF or CSV)",
        description="Write a report of this profile's records to a file that is NOT encrypted. "
                    "Without a period, the previous calendar month (for monthly reports).")
    export.add_argument("report", choices=[str(k) for k in ReportKind])
    export.add_argument("--out", required=True, metavar="PATH",
                        help="the file to write, or a folder for the default file name")
    export.add_argument("--format", choices=[str(f) for f in ExportFormat],
                        help="pdf or csv (default: from the file name, else pdf)")
    scope = export.add_mutually_exclusive_group()
    scope.add_argument("--team", action="store_true",
                       help="every case and worker you supervise (the default for supervisors)")
    scope.add_argument("--worker", metavar="USER_ID",
                       help="one worker (workers: yourself, the default)")
    scope.add_argument("--case", action="append", metavar="CASE_ID", help="a case; repeatable")
    period = export.add_mutually_exclusive_group()
    period.add_argument("--month", metavar="YYYY-MM", help="one calendar month")
    period.add_argument("--from", dest="first", type=date.fromisoformat, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="last", type=date.fromisoformat, metavar="YYYY-MM-DD")
    export.add_argument("--person", default="",
                        help="disclosures: only this person's accounting (default: everyone's)")
    export.add_argument("--for", dest="recipient", required=True, metavar="RECIPIENT",
                        help="who the file is for, e.g. 'Payroll office' or a court's name")
    export.add_argument("--recipient-kind", choices=list(RECIPIENT_KINDS),
                        default="program-staff", help="default: program-staff")
    export.add_argument("--purpose", required=True, help="what the file is for")
    export.add_argument("--basis", choices=["consent", *BASES],
                        help="what the disclosure rests on: the consent of each person in it, "
                             "or an exception (default: within-program for program staff, "
                             "patient-access for the person themself, else consent)")
    export.add_argument("--reference", default="",
                        help="how the exception is documented (e.g. the court's case number "
                             "and order date); for within-program, the purpose if omitted")
    export.add_argument("--overwrite", action="store_true", help="replace an existing file")
    export.add_argument("--passphrase-stdin", action="store_true",
                        help="read the passphrase from the first line of standard input")


RECIPIENT_KINDS = {"program-staff": RecipientKind.PROGRAM_STAFF, "court": RecipientKind.COURT,
                   "treatment-provider": RecipientKind.TREATMENT_PROVIDER,
                   "child-welfare": RecipientKind.CHILD_WELFARE,
                   "patient": RecipientKind.PATIENT, "other": RecipientKind.OTHER}
BASES = {"within-program": Exception_.PROGRAM_USE, "patient-access": Exception_.PATIENT_ACCESS,
         "child-abuse-report": Exception_.CHILD_ABUSE_REPORT,
         "medical-emergency": Exception_.MEDICAL_EMERGENCY,
         "court-order": Exception_.COURT_ORDER}


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)
    _no_core_dumps()
    args = build_parser().parse_args(argv)
    if args.self_test:
        return _self_test()
    home = resolve_profile(args.data_dir)
    paths = resolve_profile(args.data_dir, profile=args.profile)
    try:
        if args.command is None:
            from fieldapp.ui.run import run_gui  # noqa: PLC0415 - Qt only when a window is wanted

            paths.ensure_root()
            configure_logging(paths)
            return run_gui(paths, home=home, demo=DEMO_ROLES[args.demo] if args.demo else None)
        if paths.root.is_dir():  # commands never create a profile folder just to log in it
            configure_logging(paths)
        return _run_command(args, paths)
    except KnownError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _profile_name(name: str) -> str:
    if not profile_slug(name):
        raise argparse.ArgumentTypeError("a profile name needs at least one letter or digit")
    return name


def _self_test() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt loads: no screen, no window shown
    from fieldapp.ui.selftest import run_self_test  # noqa: PLC0415 - Qt only when asked

    return run_self_test()


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
    commands = {"enrol": _server_command, "check-in": _server_command, "sync": _sync,
                "export": _export, "backup": _backup, "restore": _restore, "kept": _kept,
                "new-recovery-code": _new_code, "take-up-keys": _take_up_keys}
    return commands[args.command](args, session)


def _backup(args: argparse.Namespace, session: Session) -> int:
    session.unlock(_passphrase(args.passphrase_stdin))
    info = session.backup_now()
    session.lock()
    print(f"Backup written: {info.path}")
    return 0


def _server_command(args: argparse.Namespace, session: Session) -> int:
    from sync.client.enrol import ask_to_join, check_in  # noqa: PLC0415 - network only when asked

    passphrase = _passphrase(args.passphrase_stdin)
    session.unlock(passphrase)
    try:
        if args.command == "enrol":
            done = _enrol(args, session, ask_to_join(
                session, server_url=args.server, code=args.code,
                device_name=args.device_name, verify=args.ca or True))
            print(f"Enrolled as {done.name} ({done.role}), device {done.device_id}."
                  + (" Your key was recovered from the server." if done.recovered_key else ""))
            if done.recovery_code:
                print(f"\nYour recovery code:\n\n    {done.recovery_code}\n\n"
                      f"{RECOVERY_CODE_WORDS}")
        else:
            me = check_in(session)
            print(f"The server knows this device as {me['name']} ({me['role']}).")
    finally:
        session.lock()
    return 0


RECOVERY_TRIES = 3


def _enrol(args: argparse.Namespace, session: Session, admission: Admission) -> Enrolment:
    """Keep the server's answer; on a replacement laptop, ask for the recovery code until it
    opens the key (the enrolment code is spent, so the answer is not asked for again)."""
    code: str = args.recovery_code
    for _ in range(RECOVERY_TRIES):
        if admission.recovering and not code.strip():
            print("You already use FieldApp on another laptop: enter the recovery code you "
                  "printed or stored when you first connected.", file=sys.stderr)
            code = _recovery_code(args.passphrase_stdin)
            if not code.strip():
                break
        try:
            return store_enrolment(session, admission, recovery_code=code)
        except WrongRecoveryCode as wrong:
            print(wrong.message, file=sys.stderr)
            code = ""
    raise KnownError(ENROLMENT_CODE_SPENT)


def _recovery_code(from_stdin: bool) -> str:
    """The recovery code from the next line of standard input, or asked at the terminal ("" if
    neither can give one)."""
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        return ""
    try:
        return getpass.getpass("Recovery code: ")
    except EOFError:
        return ""


def _sync(args: argparse.Namespace, session: Session) -> int:
    from sync.client.engine import SyncEngine  # noqa: PLC0415 - network code only when asked

    session.unlock(_passphrase(args.passphrase_stdin))
    try:
        report = SyncEngine(session).sync()
        kept_sentence = kept.sentence(kept.kept_of(session).items())
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
    if report.keys_set_aside:
        print(f"{report.keys_set_aside} shared key(s) do not open with your key; what they "
              "sealed waits unread. Tell your administrator (open FieldApp: Needs attention).")
    if kept_sentence:
        print(f"Needs attention: {kept_sentence} (fieldapp kept --export FILE).")
    attention = (report.conflicts + report.problems + report.held_back + report.keys_set_aside
                 + bool(kept_sentence))
    if report.conflicts or report.problems:
        print(f"Needs attention: {report.conflicts} conflict(s) and {report.problems} refused "
              "change(s); open FieldApp to settle them.")
    return 1 if attention or not report.verified else 0


def _new_code(args: argparse.Namespace, session: Session) -> int:
    """Show the recovery code of keys replaced here, once; forget it when the person says they
    stored it (or with --forget)."""
    session.unlock(_passphrase(args.passphrase_stdin))
    try:
        new = new_recovery_code_of(session)
        if new is None:
            print("There is no new recovery code on this laptop: your keys were not replaced "
                  "here, or you already stored the code.")
            return 0
        print(f"Your keys were replaced because {new.get('reason') or 'they had to be'}. "
              f"Your new recovery code:\n\n    {new['recovery_code']}\n\n"
              f"{NEW_RECOVERY_CODE_WORDS} (At a terminal: `fieldapp take-up-keys`.)")
        forget = args.forget or (sys.stdin.isatty() and input(
            "Have you stored it? FieldApp then forgets it [y/N] ").strip().lower() in {"y",
                                                                                      "yes"})
        if forget:
            recovery_code_seen(session)
            print("Forgotten: it is now only where you stored it.")
        else:
            print("Kept on this laptop (sealed) until you say you stored it.")
    finally:
        session.lock()
    return 0


def _take_up_keys(args: argparse.Namespace, session: Session) -> int:
    """On a laptop whose keys another of the person's laptops replaced: enter the new recovery
    code (up to three tries) and use the new keys."""
    from sync.client.rekey import take_up  # noqa: PLC0415 - network code only when asked

    session.unlock(_passphrase(args.passphrase_stdin))
    try:
        for _ in range(RECOVERY_TRIES):
            code = _recovery_code(args.passphrase_stdin)
            if not code.strip():
                break
            try:
                take_up(session, code)
            except WrongRecoveryCode as wrong:
                print(wrong.message, file=sys.stderr)
                continue
            print("Your new keys are in use on this laptop; `fieldapp sync` sends what waited.")
            return 0
    finally:
        session.lock()
    print("Nothing was changed: enter the new recovery code shown on the laptop that replaced "
          "your keys.", file=sys.stderr)
    return 2


def _export(args: argparse.Namespace, session: Session) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a report needs no screen
    from PySide6.QtCore import QLocale  # noqa: PLC0415 - Qt only for this command
    from PySide6.QtGui import QGuiApplication  # noqa: PLC0415

    from fieldapp.domain.formats import set_style  # noqa: PLC0415
    from fieldapp.ui.date_style import date_style  # noqa: PLC0415
    from fieldapp.ui.pdf import html_to_pdf  # noqa: PLC0415

    set_style(date_style(QLocale.system()))  # a printout writes dates as the window does

    out = Path(args.out)
    fmt = ExportFormat(args.format or (out.suffix.lstrip(".").lower()
                                       if out.suffix.lower() in (".csv", ".pdf") else "pdf"))
    session.unlock(_passphrase(args.passphrase_stdin))
    try:
        workspace = session.workspace()
        request = export_request(args, fmt, actor=workspace.actor, today=workspace.today())
        target = out / request.file_name() if out.is_dir() else out
        app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
        done = exports.export(workspace, request, target, pdf=html_to_pdf,
                              overwrite=args.overwrite)
        del app
    finally:
        session.lock()
    print(f"Wrote {done.records} record(s) to {done.path} ({done.size:,} bytes, SHA-256 "
          f"{done.sha256[:16]}…); the export is recorded in the audit log and in the "
          "accounting of disclosures.")
    print(exports.UNENCRYPTED_WARNING, file=sys.stderr)
    return 0


def export_request(args: argparse.Namespace, fmt: ExportFormat, *, actor: Actor, today: date
                   ) -> ExportRequest:
    """The request the command line describes; without a period, the previous month."""
    if args.case:
        scope, worker, cases = ScopeKind.CASES, None, tuple(CaseId(c) for c in args.case)
    elif args.worker or (not args.team and not actor.is_supervisor):
        scope, worker, cases = ScopeKind.WORKER, UserId(args.worker or actor.user_id), ()
    else:
        scope, worker, cases = ScopeKind.TEAM, None, ()
    if args.last and not args.first:
        raise KnownError("--to needs --from (or use --month).")
    if args.month:
        try:
            first = date.fromisoformat(f"{args.month}-01")
        except ValueError as exc:
            raise KnownError("Give the month as YYYY-MM, for example 2026-10.") from exc
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
    elif args.first:
        first, last = args.first, args.last or today
    elif args.report == ReportKind.ACCOUNTING:  # a person's accounting reaches back 3 years
        first, last = last_three_years(today), today
    else:
        last = today.replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
    return ExportRequest(kind=ReportKind(args.report), scope=scope, first_day=first,
                         last_day=last, fmt=fmt, worker_id=worker, case_ids=cases,
                         terms=export_terms(args), person=args.person.strip())


def export_terms(args: argparse.Namespace) -> Terms:
    """Who the export is for and what it rests on, from --for, --purpose and --basis."""
    kind = RECIPIENT_KINDS[args.recipient_kind]
    usual = {RecipientKind.PROGRAM_STAFF: "within-program", RecipientKind.PATIENT:
             "patient-access"}.get(kind, "consent")
    exception = BASES.get(args.basis or usual)
    reference = args.reference.strip()
    if exception in (Exception_.PROGRAM_USE, Exception_.PATIENT_ACCESS) and not reference:
        reference = args.purpose.strip()
    return Terms(recipient=Recipient(name=args.recipient.strip(), kind=kind),
                 purpose=args.purpose.strip(), exception=exception, reference=reference)


def _kept(args: argparse.Namespace, session: Session) -> int:
    """`fieldapp kept`: how many changes are kept for the person; `--export PATH` writes them
    where they chose; `--discard` removes them once they confirm."""
    session.unlock(_passphrase(args.passphrase_stdin))
    try:
        items = kept.kept_of(session).items()
        if not items:
            print("Nothing is kept for you.")
            return 0
        if args.export:
            out = Path(args.export)
            fmt = kept.KeptFormat(args.format or ("csv" if out.suffix.lower() == ".csv"
                                                  else "json"))
            done = kept.export_kept(session, out, fmt=fmt, overwrite=args.overwrite)
            print(f"Wrote {done.records} kept change(s) to {done.path} ({done.size:,} bytes, "
                  f"SHA-256 {done.sha256[:16]}…). They are still on this laptop; remove them "
                  "with `fieldapp kept --discard` once the file is safe.")
            print(kept.WARNING, file=sys.stderr)
            return 0
        if args.discard:
            if not args.yes:
                answer = input(f"Remove {len(items)} kept change(s) from this laptop for good? "
                               "Export them first if you may need them. [y/N] ")
                if answer.strip().lower() not in {"y", "yes"}:
                    print("Nothing was changed.")
                    return 1
            print(f"Removed {kept.discard_kept(session)} kept change(s) from this laptop.")
            return 0
        print(f"{kept.sentence(items)}.")
        for item in items:
            print(f"  {item.kept_at[:10]}  {item.thing} of {item.scope}: {item.why}")
        print("Export them with `fieldapp kept --export FILE`.")
        return 0
    finally:
        session.lock()


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
