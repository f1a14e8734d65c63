"""A member of a case plants key versions (issue 19, item 3), with a real device token against a
real server process and real laptops: a version out of sequence is refused, so rotation can
always run again; a version that does not open for a colleague is set aside on the colleague's
laptop and said under Needs attention, and every other record still arrives.

The program (tests/sync/conftest.py): team t1 has rc1, iw1 and sup1.
"""

from __future__ import annotations

import os

from fieldapp.crypto.identity import Identity
from fieldapp.domain.visits import NoteStatus
from fieldapp.services import case_keys, enrolment
from fieldapp.services.session import Session
from sync.client import keys as key_sharing
from sync.client.attention import read_attention
from tests.services.records_helpers import services_of
from tests.sync.conftest import SyncServer, sync
from tests.sync.insider import Insider
from tests.sync.test_insider import two_families


def mallory_identity(session: Session) -> Identity:
    identity = enrolment.identity_of(session)
    assert identity is not None
    return identity


def _newest(session: object, scope: str) -> int:
    return max(v for (s, v) in case_keys.case_keys(session) if s == scope)  # type: ignore[arg-type]


def test_a_version_out_of_sequence_is_refused_and_rotation_still_runs(
        sync_server: SyncServer) -> None:
    """The coordinator uploads version 1,000,000 for every member: 409, and the supervisor's
    next rotation gets the next version, not one above the protocol's limit."""
    sup1, rc1, _, a, _ = two_families(sync_server)
    current = _newest(rc1, a.id)
    mallory = Insider(rc1)
    planted = mallory.request("PUT", f"/v1/cases/{a.id}/keys", json={"keys": mallory.signed(
        a.id, [{"version": 1_000_000, "user_id": u, "wrapped_key": "cGxhbnRlZA"}
               for u in ("rc1", "iw1", "sup1")])})
    assert (planted.status_code, planted.json()["error"]) == (409, "key_version_skipped")
    assert key_sharing.share(sup1, a.id, rotate=True) == current + 1
    assert max(key_sharing.fetch(rc1, a.id)) == current + 1  # and it reaches the members


def test_a_key_that_does_not_open_is_set_aside_and_everything_else_arrives(
        sync_server: SyncServer) -> None:
    """The coordinator makes the next version of family A's key, shares it properly with
    himself and the supervisor but sends the intact worker garbage, and writes a note under it.
    Meanwhile the supervisor co-signs the intact worker's note in family B. The intact worker's
    sync used to stop at the garbage (every case, every sync after); now the co-signature
    arrives, the key is set aside and said, and nothing sealed under it is applied."""
    sup1, rc1, iw1, a, b = two_families(sync_server)
    mallory = Insider(rc1)
    version, secret = _newest(rc1, a.id) + 1, os.urandom(32)
    members = mallory.request("GET", f"/v1/cases/{a.id}/members").json()
    honest = mallory.signed(a.id, case_keys.sealed_copies(a.id, {version: secret}, [
        (m["user_id"], m["public_key"]) for m in members if m["user_id"] != "iw1"],
        signer=mallory_identity(rc1), signer_id="rc1"))
    [garbage] = mallory.signed(a.id, [{"version": version, "user_id": "iw1",
                                       "wrapped_key": "Z2FyYmFnZQ"}])
    shared = mallory.request("PUT", f"/v1/cases/{a.id}/keys",
                             json={"keys": [*honest, garbage]})
    assert shared.status_code == 204, shared.text
    [answer] = mallory.push(mallory.op("visit_notes", "note-under-v2", a.id, {
        "case_id": a.id, "author": "rc1", "visit_date": "2026-11-23",
        "contact_type": "home visit", "status": "signed", "signed_by": "rc1",
        "signed_at": "2026-11-24T09:00:00+00:00", "late_entry": 0, "next_visit_date": None,
        "updated_at": "2026-11-24T09:00:00+00:00"}, key=(version, secret)))
    assert answer.outcome == "applied", answer
    in_b = services_of(sup1).notes.for_case(b.id)[0]
    services_of(sup1).notes.cosign(in_b.id)
    assert sync(sup1).verified

    sync(iw1)  # used to raise KeyFileDamaged (a ValueError for a copy this short)
    assert services_of(iw1).notes.get(in_b.id).status is NoteStatus.COSIGNED
    assert "note-under-v2" not in {str(n.id) for n in services_of(iw1).notes.for_case(a.id)}
    said = [(i.title, i.reason) for i in read_attention(iw1) if i.kind == "key"]
    assert said == [(f"Version {version} of the key to the case, Alder family",
                     "It was shared with you but does not open with your key: damaged, or "
                     "not made for you. What was sealed under it waits unread; everything else "
                     "syncs.")]
    again = sync(iw1)  # and the next sync runs too, the key still set aside, said once
    assert not again.problems
    assert len([i for i in read_attention(iw1) if i.kind == "key"]) == 1
