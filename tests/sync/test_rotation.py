"""Rotation that happens (issue 19): when someone leaves a case, the next laptop of a member who
remains makes the case's next key version and shares it only with those who remain; what is
written afterwards is sealed under it, so the one who left cannot open it, and their laptop
forgets the case. Real server process, real laptops, the administrator's own command line.

The program (tests/sync/conftest.py): team t1 has rc1, iw1 and sup1.
"""

from __future__ import annotations

import pytest

from fieldapp.crypto.aead import SealBroken
from fieldapp.services import case_keys
from sync import protocol as wire
from sync.client.sealing import open_from_wire
from tests.real_server import run_cli
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_insider import two_families


def test_a_coordinator_taken_off_a_case_cannot_open_what_is_written_after(
        sync_server: SyncServer) -> None:
    """The administrator takes rc1 off family A. The intact worker's next sync rotates the
    key (nobody asked it to by hand); the note written next is sealed under the new version,
    which the supervisor reads and rc1 never receives: none of the keys rc1 held opens it, and
    rc1's laptop forgets the family and its keys."""
    sup1, rc1, iw1, a, _ = two_families(sync_server)
    held_by_rc1 = {v: k for (s, v), k in case_keys.case_keys(rc1).items() if s == a.id}
    newest = max(held_by_rc1)

    run_cli(sync_server.data_dir, "case-assign", a.id, "--intact-worker", "iw1")
    assert sync(iw1).verified
    assert sync_server.sql("SELECT max(version) FROM case_keys WHERE case_id = ?",
                           a.id) == [(newest + 1,)]
    holders = sync_server.sql("SELECT user_id FROM case_keys WHERE case_id = ? AND "
                              "version = ? ORDER BY user_id", a.id, newest + 1)
    assert holders == [("iw1",), ("sup1",)]

    note = services_of(iw1).notes.start_draft(a.id, visit_details(narrative="After rc1 left."))
    services_of(iw1).notes.sign(note.id)
    assert sync(iw1).verified
    [(version, doc_json)] = [(v, d) for v, d in sync_server.sql(
        "SELECT key_version, json_object('table', tbl, 'record_id', record_id, 'scope', scope, "
        "'rev', rev, 'seq', seq, 'op_id', op_id, 'author', author, 'deleted', json('false'), "
        "'plain', json(plain), 'key_version', key_version, 'sealed', sealed) FROM records "
        "WHERE tbl = 'visit_notes' AND record_id = ?", str(note.id))]
    assert version == newest + 1
    assert sync(sup1).verified
    assert services_of(sup1).notes.get(note.id).details.narrative == "After rc1 left."

    report = sync(rc1)
    assert a.id in report.forgotten
    assert all(s != a.id for (s, _) in case_keys.case_keys(rc1))
    doc = wire.Doc.model_validate_json(doc_json)
    for key in held_by_rc1.values():  # what rc1 could have kept, or read off the server
        with pytest.raises(SealBroken):
            open_from_wire(key, doc)


def test_a_case_nobody_left_is_not_rotated(sync_server: SyncServer) -> None:
    """Syncs with the same members make no new version: rotation follows a departure only."""
    sup1, rc1, iw1, a, _ = two_families(sync_server)
    before = sync_server.sql("SELECT max(version) FROM case_keys WHERE case_id = ?", a.id)
    for session in (iw1, sup1, rc1):
        assert sync(session).verified
    assert sync_server.sql("SELECT max(version) FROM case_keys WHERE case_id = ?",
                           a.id) == before
