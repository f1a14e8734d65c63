"""A colleague's key that changed on the server is a person's decision (issue 19).

A compromised server swaps the intact worker's keys for a pair of its own and deletes her copies
of the family's key, so that the coordinator's laptop is asked to share the key again. The
laptop shares nothing with the new key, says so under Needs attention with both fingerprints,
and shares with it at the next sync only after its person accepts the key they compared; the
decision is audited. Comparing a key that did not change marks it verified.
"""

from __future__ import annotations

import pytest

from fieldapp.crypto.identity import Identity
from fieldapp.crypto.signing import fingerprint
from fieldapp.domain.audit import Action
from fieldapp.domain.errors import RuleViolation
from fieldapp.services.session import Session
from sync.client.attention import AttentionItem, accept_key, mark_compared, read_attention
from sync.client.engine import status_of
from sync.client.pins import Pins
from tests.conftest import FakeClock
from tests.services.records_helpers import services_of
from tests.sync.conftest import SyncServer, sync
from tests.sync.tamper import head, publish, server_db
from tests.sync.test_end_to_end import family

CASE = "fam-1"


def team_with_a_family(sync_server: SyncServer, clock: FakeClock
                       ) -> tuple[Session, Session, Session]:
    """The supervisor opens fam-1 for rc1 and iw1; all three laptops sync, so each has pinned
    the others' keys and holds the family's key."""
    sup = sync_server.device("sup", "sup1", clock=clock)
    iw = sync_server.device("iw", "iw1", clock=clock)
    rc = sync_server.device("rc", "rc1", clock=clock)
    services_of(sup).cases.open_case(family(CASE))
    for laptop in (sup, iw, rc, sup):
        sync(laptop)
    assert holders(sync_server) == {"sup1", "iw1", "rc1"}
    return sup, iw, rc


def holders(sync_server: SyncServer) -> set[str]:
    return {str(r[0]) for r in sync_server.sql(
        "SELECT user_id FROM case_keys WHERE case_id = ?", CASE)}


def swap_keys(sync_server: SyncServer, user_id: str) -> Identity:
    """What a compromised server does: another key pair in the user's row, and their copies
    of the family's key gone (so the laptops are asked to share it again)."""
    forged = Identity.generate()
    with server_db(sync_server.data_dir) as db:
        db.execute("UPDATE users SET public_key = ?, signing_key = ? WHERE id = ?",
                   [forged.public_key, forged.signing_key, user_id])
        db.execute("DELETE FROM case_keys WHERE user_id = ?", [user_id])
    return forged


def person_items(session: Session) -> list[AttentionItem]:
    return [i for i in read_attention(session) if i.kind == "person"]


def audited(session: Session, action: Action) -> list[tuple[str, dict[str, object]]]:
    return [(e.subject, dict(e.details)) for e in session.workspace().stores().audit.entries()
            if e.action == action]


def test_a_changed_key_gets_nothing_until_accepted_then_the_next_sync_shares(
        sync_server: SyncServer, clock: FakeClock) -> None:
    _, _, rc = team_with_a_family(sync_server, clock)
    pinned = Pins(rc.vault().open_parts()[0], now="").get("iw1")
    assert pinned is not None and not pinned.changed
    forged = swap_keys(sync_server, "iw1")
    new = fingerprint("iw1", forged.public_key, forged.signing_key)

    sync(rc)
    assert holders(sync_server) == {"sup1", "rc1"}  # nothing sealed to the server's key
    [item] = person_items(rc)
    assert item.title == "Ian Worker's key changed"
    assert "nothing new is shared with Ian Worker" in item.reason
    assert item.mine is not None and item.theirs is not None
    assert dict(item.mine)["Fingerprint"] == pinned.fingerprint
    assert dict(item.theirs)["Fingerprint"] == new != pinned.fingerprint
    assert status_of(rc)["keys_changed"] == ["iw1"]
    sync(rc)  # a second sync is asked again, and still shares nothing
    assert holders(sync_server) == {"sup1", "rc1"}

    accepted = accept_key(rc, user_id="iw1", fingerprint=new)
    assert accepted.fingerprint == new and accepted.verified_at is not None
    assert audited(rc, Action.KEY_ACCEPTED) == [
        ("iw1", {"was": pinned.fingerprint, "fingerprint": new})]
    assert person_items(rc) == [] and status_of(rc)["keys_changed"] == []

    sync(rc)
    [(signer, wrapped, version)] = sync_server.sql(
        "SELECT signer, wrapped_key, version FROM case_keys WHERE case_id = ? AND "
        "user_id = 'iw1'", CASE)
    assert signer == "rc1"
    forged.open_key(wrapped, case_id=CASE, version=version, user_id="iw1")  # opens: no error


def test_accepting_a_key_other_than_the_one_compared_changes_nothing(
        sync_server: SyncServer, clock: FakeClock) -> None:
    """The person compared one fingerprint; the server offers another by the time they press
    Accept (or they typed the old one): nothing is trusted, nothing audited."""
    _, _, rc = team_with_a_family(sync_server, clock)
    first = swap_keys(sync_server, "iw1")
    sync(rc)
    compared = fingerprint("iw1", first.public_key, first.signing_key)
    swap_keys(sync_server, "iw1")
    sync(rc)
    with pytest.raises(RuleViolation):
        accept_key(rc, user_id="iw1", fingerprint=compared)
    with pytest.raises(RuleViolation):
        accept_key(rc, user_id="sup1", fingerprint=compared)  # nothing offered for sup1
    assert [i.key for i in person_items(rc)] == ["iw1"]
    assert audited(rc, Action.KEY_ACCEPTED) == []
    sync(rc)
    assert "iw1" not in holders(sync_server)


def test_marking_a_key_compared_records_it_but_not_a_changed_one(
        sync_server: SyncServer, clock: FakeClock) -> None:
    _, _, rc = team_with_a_family(sync_server, clock)
    pins = Pins(rc.vault().open_parts()[0], now="")
    sup_pin = pins.get("sup1")
    assert sup_pin is not None and sup_pin.verified_at is None
    with pytest.raises(RuleViolation):  # not the digits this laptop holds for sup1
        mark_compared(rc, user_id="sup1", fingerprint="00000 " * 5 + "00000")
    mark_compared(rc, user_id="sup1", fingerprint=sup_pin.fingerprint)
    verified = pins.get("sup1")
    assert verified is not None and verified.verified_at is not None
    assert audited(rc, Action.KEY_COMPARED) == [("sup1", {"fingerprint": sup_pin.fingerprint})]

    swap_keys(sync_server, "iw1")
    sync(rc)
    iw_pin = pins.get("iw1")
    assert iw_pin is not None and iw_pin.changed
    with pytest.raises(RuleViolation):  # decided under Needs attention, not by comparing
        mark_compared(rc, user_id="iw1", fingerprint=iw_pin.fingerprint)
    after = pins.get("iw1")
    assert after is not None and after.verified_at is None and after.changed


def test_a_record_that_fails_its_signature_is_said_not_applied_and_why(
        sync_server: SyncServer, clock: FakeClock) -> None:
    """The server changes a plain column of the family's record: the laptop applies nothing and
    says so with the reason, not as a record "not filed anywhere" (that is a misplaced one)."""
    _, _, rc = team_with_a_family(sync_server, clock)
    before = services_of(rc).cases.get(CASE)
    with server_db(sync_server.data_dir) as db:
        row = head(db, "cases", CASE)
        publish(db, row, rev=row["rev"] + 1, plain={"status": "closed"})
    sync(rc)
    [item] = [i for i in read_attention(rc) if i.kind != "person"]
    assert item.kind == "unverified"
    assert item.title == "Alder family"
    assert item.reason.startswith("It was not applied. It is not signed with its author's key")
    assert "not filed" not in item.reason
    assert services_of(rc).cases.get(CASE) == before
