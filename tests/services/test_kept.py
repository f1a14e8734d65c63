"""The kept place as the person uses it, on a real profile: what is kept reads back whole (a
damaged item is shown as damaged), an export writes exactly what is kept where they chose and is
audited with the file's digest, and a discard removes it all, audited, once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fieldapp.domain.errors import KnownError
from fieldapp.services.kept import (
    SUBJECT,
    KeptFormat,
    KeptItem,
    discard_kept,
    export_kept,
    kept_of,
    render,
    thing_of,
)
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from tests.conftest import PASSPHRASE, FakeClock

NOW = "2026-11-24T09:30:00.000000+00:00"
RECORD = {"plain": {"case_id": "c1"}, "body": {"narrative": "Zoë came at noon."}}


@pytest.fixture
def session(tmp_path: Path, clock: FakeClock) -> Session:
    opened = Session(ProfilePaths(tmp_path / "profile"), clock=clock)
    opened.create(PASSPHRASE)
    return opened


def keep(session: Session, *scopes: str) -> None:
    for number, scope in enumerate(scopes):
        kept_of(session).keep(KeptItem(
            scope=scope, table="visit_notes", record_id=f"n{number}", thing="visit note",
            why="The server refused it: no", record=RECORD,
            changes=[{"state": "rejected", "reason": "no", "made_at": NOW}]), now=NOW)


def audit(session: Session) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.action, e.subject, dict(e.details))
            for e in session.workspace().stores().audit.entries()]


def test_what_is_kept_reads_back_whole_each_under_its_own_id(session: Session) -> None:
    keep(session, "c1", "c2")
    place = kept_of(session)
    first, second = place.items()
    assert place.count() == 2
    assert (first.scope, first.record_id, first.record, first.kept_at) == ("c1", "n0", RECORD, NOW)
    assert second.scope == "c2"
    db, _ = session.vault().open_parts()
    assert [first.id, second.id] == [r[0] for r in db.execute(
        "SELECT id FROM kept_for_you ORDER BY rowid").fetchall()]
    db.execute("UPDATE kept_for_you SET sealed = x'00' WHERE id = ?", [first.id])
    damaged = place.items()[0]
    assert (damaged.scope, damaged.table, damaged.record_id, damaged.thing, damaged.id) == (
        "", "", "", "record", first.id)
    session.lock()


def test_things_are_named_as_people_say_them() -> None:
    assert thing_of("visit_notes") == "visit note"
    assert thing_of("no_such_table") == "record"


def test_an_export_writes_what_is_kept_and_records_its_digest(session: Session,
                                                              tmp_path: Path) -> None:
    keep(session, "c1", "c2")
    items = kept_of(session).items()
    path = tmp_path / "kept.json"
    done = export_kept(session, path, fmt=KeptFormat.JSON)
    data = path.read_bytes()
    assert data == render(items, KeptFormat.JSON)
    assert data.startswith(b'{\n  "notice": ') and "Zoë".encode() in data
    assert (done.records, done.size, done.sha256) == (2, len(data),
                                                     hashlib.sha256(data).hexdigest())
    assert audit(session)[-1] == ("export", SUBJECT, {
        "format": "json", "records": 2, "bytes": len(data), "sha256": done.sha256})
    with pytest.raises(KnownError, match="already exists"):
        export_kept(session, path, fmt=KeptFormat.CSV)
    assert path.read_bytes() == data, "nothing replaced without the person's say"
    export_kept(session, path, fmt=KeptFormat.CSV, overwrite=True)
    text = path.read_bytes().decode("utf-8-sig")
    assert ('"{""body"": {""narrative"": ""Zoë came at noon.""}, '
            '""plain"": {""case_id"": ""c1""}}"') in text, "readable, keys in order"
    assert json.loads(data)["kept"][1]["scope"] == "c2"
    session.lock()


def test_a_discard_removes_everything_kept_once_and_says_so_in_the_audit_log(
        session: Session) -> None:
    keep(session, "c1", "c2")
    assert discard_kept(session) == 2
    assert kept_of(session).count() == 0
    entries = audit(session)
    assert entries[-1] == ("records removed from this laptop", SUBJECT,
                           {"records": 2, "why": "discarded by their author"})
    assert discard_kept(session) == 0
    assert audit(session) == entries, "nothing removed, nothing recorded"
    session.lock()
