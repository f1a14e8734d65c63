"""`fieldapp doctor`: check a profile and say in plain words what is wrong.

It never repairs or migrates: the only write is the one every close of the database makes (folding
the write-ahead log into the file). Without the passphrase it checks the files, the key file and
the database's integrity; with it, it also opens every sealed field and every backup.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.errors import KnownError
from fieldapp.storage import backups, database
from fieldapp.storage.audit_store import AuditStore
from fieldapp.storage.migrations import MIGRATIONS, unknown_steps
from fieldapp.storage.sealed import open_all, sealed_tables
from fieldapp.storage.vault import Profile


@dataclass(frozen=True)
class Finding:
    """One check's outcome: `ok` False means something needs a person's attention."""

    ok: bool
    check: str
    detail: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, ok: bool, check: str, detail: str) -> None:
        self.findings.append(Finding(ok, check, detail))

    def render(self) -> str:
        lines = [f"[{'ok' if f.ok else 'PROBLEM'}] {f.check}: {f.detail}" for f in self.findings]
        problems = sum(not f.ok for f in self.findings)
        lines.append("The profile is healthy." if not problems else
                     f"{problems} problem(s) found.")
        return "\n".join(lines)


def run_doctor(profile: Profile, *, passphrase: str | None) -> Report:
    """Check `profile`; with `passphrase`, also open every sealed field and backup."""
    report = Report()
    if not profile.exists():
        report.add(False, "profile", f"No FieldApp profile in {profile.paths.root}.")
        return report
    _check_permissions(profile, report)
    try:
        key_file = profile.read_key_file()
        report.add(True, "key file", "readable; key protection at or above the floor")
    except KnownError as exc:
        report.add(False, "key file", exc.message)
        return report
    key: DataKey | None = None
    if passphrase is not None:
        try:
            key = profile.unwrap(passphrase)
            report.add(True, "passphrase", "opens the data key")
        except KnownError as exc:
            report.add(False, "passphrase", exc.message)
    try:
        _check_database(profile, key_file.key_id, key, report)
        _check_backups(profile, key, report)
    finally:
        if key is not None:
            key.wipe()
    return report


def _check_permissions(profile: Profile, report: Report) -> None:
    loose = []
    for path in [profile.paths.root, *profile.paths.root.rglob("*")]:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            loose.append(str(path.relative_to(profile.paths.root)) or ".")
    if loose:
        report.add(False, "permissions",
                   "readable by other users of this computer: " + ", ".join(sorted(loose)[:10]))
    else:
        report.add(True, "permissions", "every file is readable by its owner only")


def _check_database(profile: Profile, key_id: str, key: DataKey | None, report: Report) -> None:
    try:
        db = database.connect(profile.paths.database, create=False)
    except KnownError as exc:
        report.add(False, "database", exc.message)
        return
    try:
        problems = database.integrity_problems(db)
        report.add(not problems, "database integrity",
                   "SQLite integrity check passed" if not problems else "; ".join(problems[:5]))
        if problems:
            return
        applied = [m.name for m in MIGRATIONS.applied(db)]
        pending = [m.name for m in MIGRATIONS.pending(db)]
        unknown = unknown_steps(db)
        if unknown:
            report.add(False, "schema", "written by a newer FieldApp (step "
                       f"{unknown[-1]}); update FieldApp to open it")
        else:
            report.add(True, "schema", f"{len(applied)} step(s) applied" +
                       (f", {len(pending)} to apply on next unlock" if pending else ""))
        stored = db.execute("SELECT value FROM vault_meta WHERE name = 'key_id'").fetchone()
        matches = stored is not None and stored[0] == key_id
        report.add(matches, "key match", "the key file belongs to this database" if matches
                   else "the key file belongs to another database")
        _check_audit(db, key if matches else None, report)
        if key is not None and matches:
            _check_sealed(db, key, report)
    finally:
        database.checkpoint_and_close(db)


def _check_audit(db: sqlite_utils.Database, key: DataKey | None, report: Report) -> None:
    if "audit_log" not in db.table_names():
        return
    store = AuditStore(db, key)  # without the key, only the links between entries are checked
    broken = store.first_break()
    count = len(store.entries())
    if broken is None:
        report.add(True, "audit log", f"{count} entr{'y' if count == 1 else 'ies'}, chain intact")
    else:
        report.add(False, "audit log", f"the hash chain breaks at entry {broken}: entries from "
                   "there on may have been altered, removed or reordered")


def _check_sealed(db: sqlite_utils.Database, key: DataKey, report: Report) -> None:
    for table in sealed_tables(db):
        opened = list(open_all(db, key, table))
        broken = [o.problem.record_id for o in opened if o.problem is not None]
        if broken:
            report.add(False, f"sealed {table}",
                       f"{len(broken)} of {len(opened)} record(s) altered or damaged: "
                       + ", ".join(broken[:10]))
        else:
            report.add(True, f"sealed {table}", f"all {len(opened)} record(s) open")


def _check_backups(profile: Profile, key: DataKey | None, report: Report) -> None:
    found = backups.list_backups(profile.paths.backups)
    if not found:
        report.add(False, "backups", "no backup yet; one is written when the profile is locked")
        return
    for path in found:
        report.add(*_check_backup(path, key))


def _check_backup(path: Path, key: DataKey | None) -> tuple[bool, str, str]:
    check = f"backup {path.name}"
    try:
        if key is None:
            backups.read_info(path)
            return True, check, "header readable (give the passphrase to check its content)"
        backups.load(path, key).close()
        return True, check, "opens and passes the integrity check"
    except KnownError as exc:
        return False, check, exc.message
