"""A malicious member shares keys (issue 19): with their real device token, through the real
protocol, coordinator rc1 uploads key versions of family A that are planted, garbage for a
colleague, out of sequence, huge, signed by someone who is not a member or signed wrongly.

Afterwards every other member's syncs complete (a new note on family B, where rc1 is not,
arrives), and the records honest members write in A are sealed only under versions whose
copies an honest member signed: a version rc1 made cannot lock a colleague out of what the
others write next.

The program (tests/sync/conftest.py): team t1 has rc1, iw1 and sup1; team t2 has rc2.
`two_families` (tests/sync/test_insider.py): A has rc1 and iw1, B has iw1 only.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from fieldapp.crypto.identity import Identity
from fieldapp.domain.cases import Case
from fieldapp.domain.people import NoteId
from fieldapp.domain.visits import NoteStatus
from fieldapp.services import case_keys, enrolment
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.engine import replica_of
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.insider import Insider
from tests.sync.tamper import body_of, head, server_db
from tests.sync.test_insider import two_families

HONEST = ("sup1", "iw1")


def newest(session: Session, scope: str) -> int:
    return max(v for (s, v) in case_keys.case_keys(session) if s == scope)


def garbage(size: int = 64) -> str:
    return base64.urlsafe_b64encode(os.urandom(size)).decode()


def a_note(sync_server: SyncServer, mallory: Insider, case_id: str, record_id: str,
           key: tuple[int, bytes]) -> dict[str, Any]:
    """A signed note by the insider, with the plain columns and the body of a real one (their
    own note in the case)."""
    [(real_id,)] = sync_server.sql("SELECT record_id FROM records WHERE tbl = 'visit_notes' "
                                   "AND scope = ? AND author = ?", case_id, mallory.user_id)
    with server_db(sync_server.data_dir) as db:
        row = head(db, "visit_notes", str(real_id))
    real = case_keys.case_keys(mallory.session)[(case_id, int(row["key_version"]))]
    return mallory.op("visit_notes", record_id, case_id, json.loads(row["plain"]),
                      body_of(row, real), key=key)


def members(mallory: Insider, case_id: str) -> dict[str, str]:
    return {m["user_id"]: m["public_key"] for m in mallory.request(
        "GET", f"/v1/cases/{case_id}/members").json()}


def keys_of(sync_server: SyncServer, case_id: str) -> list[tuple[object, ...]]:
    return sync_server.sql("SELECT version, user_id, wrapped_key, signer, signature FROM "
                           "case_keys WHERE case_id = ? ORDER BY version, user_id", case_id)


def honest_work_goes_on(sync_server: SyncServer, sup1: Session, iw1: Session, a: Case,
                        b: Case) -> None:
    """iw1 writes a note in B (where rc1 is not) and one in A; sup1 co-signs both. Every sync
    completes, each reaches the other, and what they wrote in A is sealed under a version
    whose copies an honest member signed."""
    notes = services_of(iw1).notes
    in_b = notes.sign(notes.start_draft(b.id, visit_details(narrative="In B.")).id)
    in_a = notes.sign(notes.start_draft(a.id, visit_details(narrative="In A.")).id)
    sync(iw1)
    sync(sup1)
    assert {in_a.id, in_b.id} <= {n.id for n in services_of(sup1).notes.with_status(
        NoteStatus.SIGNED)}, "iw1's notes reached the supervisor"
    services_of(sup1).notes.cosign(in_a.id)
    services_of(sup1).notes.cosign(in_b.id)
    sync(sup1)
    honest = {int(v) for (v,) in sync_server.sql(
        "SELECT DISTINCT version FROM case_keys WHERE case_id = ? AND signer IN (?, ?)",
        a.id, *HONEST)}
    written = sync_server.sql(
        "SELECT tbl, author, key_version FROM records WHERE scope = ? AND author IN (?, ?) "
        "AND (record_id = ? OR json_extract(plain, '$.note_id') = ?)", a.id, *HONEST,
        str(in_a.id), str(in_a.id))
    assert {(t, who) for t, who, _ in written} == {("visit_notes", "iw1"),
                                                   ("note_reviews", "sup1")}
    for table, author, version in written:
        assert version in honest, f"{author}'s {table} is sealed under version {version}, " \
                                  f"which no honest member shared (they did: {honest})"
    sync(iw1)
    assert services_of(iw1).notes.get(in_b.id).status is NoteStatus.COSIGNED, \
        "the co-signature in B reached iw1"
    assert services_of(iw1).notes.get(in_a.id).status is NoteStatus.COSIGNED, \
        "the co-signature in A reached iw1"
    for session in (sup1, iw1):
        assert sync(session).verified


def wrote_under(sync_server: SyncServer, mallory: Insider, a: Case, version: int,
                secret: bytes) -> NoteId:
    """rc1 writes a note in A under `version`, so every member's laptop goes and fetches it."""
    [answer] = mallory.push(a_note(sync_server, mallory, a.id, "under-planted",
                                   (version, secret)))
    assert answer.outcome == "applied", answer
    return NoteId("under-planted")


def test_a_version_garbage_for_a_colleague_locks_nobody_out(sync_server: SyncServer) -> None:
    """rc1 makes the next version of A's key, seals it properly to himself and the supervisor
    and sends iw1 garbage (all signed by rc1, so the server stores it), and writes a note
    under it. iw1's laptop sets the version aside and says so; what sup1 and iw1 write next
    in A reaches both of them."""
    sup1, rc1, iw1, a, b = two_families(sync_server)
    mallory = Insider(rc1)
    version, secret = newest(rc1, a.id) + 1, os.urandom(32)
    copies = case_keys.sealed_copies(a.id, {version: secret}, [
        (u, k) for u, k in members(mallory, a.id).items() if u != "iw1"],
        signer=_identity(rc1), signer_id="rc1")
    planted = {"version": version, "user_id": "iw1", "wrapped_key": garbage()}
    shared = mallory.request("PUT", f"/v1/cases/{a.id}/keys",
                             json={"keys": [*copies, *mallory.signed(a.id, [planted])]})
    assert shared.status_code == 204, shared.text
    wrote_under(sync_server, mallory, a, version, secret)

    report = sync(iw1)
    assert report.keys_set_aside == 1
    assert [(k["scope"], k["version"]) for k in replica_of(iw1).keys_set_aside()] == [
        (a.id, version)]
    honest_work_goes_on(sync_server, sup1, iw1, a, b)


def test_a_note_that_is_not_a_note_breaks_no_colleagues_notes(sync_server: SyncServer
                                                               ) -> None:
    """rc1 sends a signed note in A, properly sealed and signed, whose body holds nothing a
    note holds: the supervisor's laptop sets it aside (or files it harmlessly), and every
    other note still opens."""
    sup1, rc1, _, a, _ = two_families(sync_server)
    mallory = Insider(rc1)
    [answer] = mallory.push(mallory.op("visit_notes", "hollow-note", a.id, {
        "case_id": a.id, "author": "rc1", "visit_date": "2026-11-23",
        "contact_type": "home visit", "status": "signed", "signed_by": "rc1",
        "signed_at": "2026-11-24T09:00:00+00:00", "late_entry": 0, "next_visit_date": None,
        "updated_at": "2026-11-24T09:00:00+00:00"}, {"narrative": "hollow"}))
    assert answer.outcome == "applied", answer
    assert not sync(sup1).problems
    assert len(services_of(sup1).notes.for_case(a.id)) >= 1
    assert services_of(sup1).notes.with_status(NoteStatus.SIGNED) is not None


def test_a_version_out_of_sequence_is_refused(sync_server: SyncServer) -> None:
    """Version 1,000,000 and the version after next, properly sealed and signed, are refused
    (409); nothing is stored and the next rotation still gets the next version."""
    sup1, rc1, iw1, a, b = two_families(sync_server)
    mallory = Insider(rc1)
    before = keys_of(sync_server, a.id)
    current = newest(rc1, a.id)
    for version in (1_000_000, current + 2):
        copies = case_keys.sealed_copies(a.id, {version: os.urandom(32)},
                                         members(mallory, a.id).items(),
                                         signer=_identity(rc1), signer_id="rc1")
        answer = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": copies})
        assert (answer.status_code, answer.json()["error"]) == (409, "key_version_skipped")
    beyond = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": mallory.signed(
        a.id, [{"version": 2**40, "user_id": "iw1", "wrapped_key": garbage()}])})
    assert beyond.status_code == 422
    assert keys_of(sync_server, a.id) == before
    honest_work_goes_on(sync_server, sup1, iw1, a, b)


def test_a_huge_version_is_set_aside_and_everything_else_syncs(sync_server: SyncServer
                                                                  ) -> None:
    """rc1 shares the next version as the largest garbage the protocol takes, to everyone,
    and writes a note under it: each colleague's laptop sets it aside and says so, the note
    waits unread, and everything else syncs."""
    sup1, rc1, iw1, a, b = two_families(sync_server)
    mallory = Insider(rc1)
    version = newest(rc1, a.id) + 1
    huge = "A" * wire.MAX_BLOB
    shared = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": mallory.signed(
        a.id, [{"version": version, "user_id": u, "wrapped_key": huge} for u in HONEST])})
    assert shared.status_code == 204, shared.text
    note = wrote_under(sync_server, mallory, a, version, os.urandom(32))

    for session in (sup1, iw1):
        report = sync(session)
        assert report.keys_set_aside == 1
        assert note not in {n.id for n in services_of(session).notes.for_case(a.id)}
    honest_work_goes_on(sync_server, sup1, iw1, a, b)


def test_copies_signed_by_a_non_member_are_refused(sync_server: SyncServer) -> None:
    """Copies of A's next version signed in the name of rc2 (not on A), or by rc1 with rc2's
    key, are refused; rc2 cannot share A's key at all. Nothing is stored."""
    sup1, rc1, iw1, a, b = two_families(sync_server)
    rc2 = sync_server.device("rc2-laptop", "rc2")
    assert sync(rc2).verified
    mallory, outsider = Insider(rc1), Insider(rc2)
    before = keys_of(sync_server, a.id)
    version = newest(rc1, a.id) + 1
    copies = case_keys.sealed_copies(a.id, {version: os.urandom(32)},
                                     members(mallory, a.id).items(), signer=_identity(rc2),
                                     signer_id="rc2")
    in_their_name = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": copies})
    assert (in_their_name.status_code, in_their_name.json()["error"]) == (403,
                                                                          "not_the_signer")
    with_their_key = [{**c, "signer": "rc1"} for c in copies]
    answer = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": with_their_key})
    assert (answer.status_code, answer.json()["error"]) == (422, "bad_signature")
    assert outsider.request("PUT", f"/v1/cases/{a.id}/keys", json={
        "keys": copies}).status_code == 404
    assert keys_of(sync_server, a.id) == before
    honest_work_goes_on(sync_server, sup1, iw1, a, b)


def test_copies_signed_wrongly_are_refused(sync_server: SyncServer) -> None:
    """Copies whose signature is garbage, missing, or rc1's signature of another copy (another
    version, another member) are refused; nothing is stored."""
    sup1, rc1, iw1, a, b = two_families(sync_server)
    mallory = Insider(rc1)
    before = keys_of(sync_server, a.id)
    version = newest(rc1, a.id) + 1
    copies = case_keys.sealed_copies(a.id, {version: os.urandom(32)},
                                     members(mallory, a.id).items(), signer=_identity(rc1),
                                     signer_id="rc1")
    by_user = {c["user_id"]: c for c in copies}
    swapped = {**by_user["iw1"], "signature": by_user["sup1"]["signature"]}
    for wrong in ({**by_user["iw1"], "signature": garbage()},
                  {k: v for k, v in by_user["iw1"].items() if k != "signature"},
                  swapped):
        answer = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": [wrong]})
        assert (answer.status_code, answer.json()["error"]) == (422, "bad_signature"), wrong
    assert keys_of(sync_server, a.id) == before
    honest_work_goes_on(sync_server, sup1, iw1, a, b)



def _identity(session: Session) -> Identity:
    identity = enrolment.identity_of(session)
    assert identity is not None
    return identity
