"""The rules of keys replaced, at their edges. Taking up new keys on another laptop of the
person (`sync/client/rekey.py`, through a real server process and real laptops) refuses keys
that are not the server's registered pair and changes nothing without the server. And which
keys a laptop trusts for a colleague
(`sync/client/pins.py`): pinned on first sight with the signing keys they had before, a
different pair only kept as an offer until accepted, the old signing key kept for what it signed
before, and the laptop's own person's keys always its own. Real SQLite (a profile's own tables,
made by its schema steps) in a temporary folder; the journeys through a real server are in
tests/sync/test_revoked_keys.py and test_changed_keys.py."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from fieldapp.crypto.identity import Identity, wrap_for_server
from fieldapp.crypto.signing import fingerprint
from fieldapp.domain.audit import Action
from fieldapp.domain.errors import KeyFileDamaged
from fieldapp.domain.people import Role
from fieldapp.services import case_keys, enrolment
from fieldapp.services.enrolment import ServerUnreachable
from fieldapp.storage.schema_integrity import create_former_keys, create_integrity_tables
from sync import protocol as wire
from sync.client.attention import read_attention
from sync.client.engine import replica_of
from sync.client.http import enrolled_client
from sync.client.pins import Pins
from sync.client.rekey import KeysReplacedElsewhere, Rekey, own_copies, take_up
from sync.client.replica import KeyRing
from tests.real_server import run_cli
from tests.sync.conftest import FAST, SyncServer, sync
from tests.sync.tamper import server_db
from tests.sync.test_changed_keys import audited
from tests.sync.test_revoked_keys import a_family_and_two_laptops_of_rc1, device_id

MONDAY, TUESDAY, WEDNESDAY = ("2026-11-02T09:00:00+00:00", "2026-11-03T09:00:00+00:00",
                              "2026-11-04T09:00:00+00:00")


def keys_replaced_on_the_desk(sync_server: SyncServer) -> tuple[str, str]:
    """rc1's lost laptop is revoked and her desk laptop replaces her keys; her home laptop then
    waits for the new code. The home laptop's public key, and the new code."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    home = sync_server.device("rc-home", "rc1")
    assert sync(home).verified
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync(desk).verified
    new = enrolment.new_recovery_code_of(desk)
    assert new is not None
    with pytest.raises(KeysReplacedElsewhere):
        sync(home)
    mine = enrolment.identity_of(home)
    assert mine is not None
    return mine.public_key, str(new["recovery_code"])


def test_keys_that_are_not_the_registered_pair_are_refused(sync_server: SyncServer) -> None:
    """A server whose copy of the person's keys opens with the new code but is not the pair it
    registers for them (planted, or damaged): taking it up is refused, saying so, and the
    laptop keeps its keys."""
    home_key, code = keys_replaced_on_the_desk(sync_server)
    home = sync_server.sessions[-1]
    with server_db(sync_server.data_dir) as conn:
        conn.execute("UPDATE users SET wrapped_private_key = ? WHERE id = 'rc1'",
                     [wrap_for_server(Identity.generate(), code)])
    with pytest.raises(KeyFileDamaged) as refused:
        take_up(home, code)
    assert str(refused.value) == ("The keys from the server do not match themselves; nothing "
                                  "was changed. Tell your administrator.")
    assert enrolment.identity_of(home).public_key == home_key  # type: ignore[union-attr]


def test_taking_up_without_the_server_changes_nothing(sync_server: SyncServer) -> None:
    """With the server out of reach (through the connection given), taking up the new keys
    says the server cannot be reached and the laptop keeps its keys; through a working
    connection, the same code takes them up."""
    home_key, code = keys_replaced_on_the_desk(sync_server)
    home = sync_server.sessions[-1]

    def cut(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the network is down", request=request)
    with pytest.raises(ServerUnreachable):
        take_up(home, code, transport=httpx.MockTransport(cut))
    assert enrolment.identity_of(home).public_key == home_key  # type: ignore[union-attr]
    take_up(home, code, transport=httpx.HTTPTransport())
    assert enrolment.identity_of(home).public_key != home_key  # type: ignore[union-attr]
    assert sync(home).verified


def test_keys_taken_up_show_no_code_and_record_no_reason(sync_server: SyncServer) -> None:
    """The laptop that takes up keys made elsewhere has no new code to show (the person read
    it on the other laptop), and its audit trail says the keys were taken up, with no reason
    of its own; the laptop that made them keeps the code to show, and the server's reason."""
    _home_key, code = keys_replaced_on_the_desk(sync_server)
    home = sync_server.sessions[-1]
    desk = sync_server.sessions[3]  # sup, iw, the lost laptop, then the desk (enrolment order)
    take_up(home, code)
    assert enrolment.new_recovery_code_of(home) is None
    assert "new recovery code" not in [i.kind for i in read_attention(home)]
    assert audited(home, Action.KEYS_TAKEN_UP) == [("rc1", {"reason": None})]
    assert audited(home, Action.KEYS_REPLACED) == []
    [(reason,)] = sync_server.sql("SELECT json_extract(details, '$.reason') FROM audit "
                                  "WHERE action = 'keys replaced'")
    assert audited(desk, Action.KEYS_REPLACED) == [("rc1", {"reason": reason})]


def test_the_laptop_that_replaced_the_keys_logs_why(sync_server: SyncServer,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The laptop that made the new keys notes in its log that they were replaced, and the
    server's reason (what support reads first when someone asks why they got a new code)."""
    with caplog.at_level(logging.INFO, logger="sync.client.rekey"):
        keys_replaced_on_the_desk(sync_server)
    [(reason,)] = sync_server.sql("SELECT json_extract(details, '$.reason') FROM audit "
                                  "WHERE action = 'keys replaced'")
    assert reason
    assert [r.getMessage() for r in caplog.records if r.name == "sync.client.rekey"
            and r.levelno == logging.INFO] == [f"sync: this person's keys were replaced ({reason})"]


def test_more_key_versions_than_one_request_takes_sends_the_newest() -> None:
    """A laptop holding more case key versions than the server takes in one request sends the
    newest: exactly at the limit all go, one past it the oldest is left out (colleagues share
    it), each sealed to and signed by the new keys."""
    made = Identity.generate()
    held = {("fam-1", version): bytes(32) for version in range(1, wire.MAX_OWN_COPIES + 2)}
    copies = own_copies(made, "rc1", KeyRing(held))
    assert len(copies) == wire.MAX_OWN_COPIES
    assert {c.version for c in copies} == set(range(2, wire.MAX_OWN_COPIES + 2))
    del held[("fam-1", 1)]
    assert {c.version for c in own_copies(made, "rc1", KeyRing(held))} == set(
        range(2, wire.MAX_OWN_COPIES + 2))


def test_new_keys_lost_on_the_way_are_sent_again_the_same(sync_server: SyncServer) -> None:
    """The network fails while the desk laptop sends its new keys: they stay pending there,
    and the next sync sends the same pair (its code is the one kept), not another."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))

    def cut(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the network is down", request=request)
    with network_of(cut) as network, pytest.raises(ServerUnreachable):
        sync(desk, transport=network)
    pending = enrolment.pending_identity(desk)
    assert pending is not None
    assert sync(desk).verified
    assert enrolment.identity_of(desk).public_key == pending[0].public_key  # type: ignore[union-attr]
    assert enrolment.new_recovery_code_of(desk)["recovery_code"] == pending[1]  # type: ignore[index]


def test_new_keys_lost_on_the_way_are_dropped_once_another_laptop_replaced_them(
        sync_server: SyncServer) -> None:
    """The desk laptop's new keys never reached the server, and meanwhile the home laptop
    replaced rc1's keys: the desk laptop drops its pending pair (it will never be hers) and
    waits for the home laptop's code."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    home = sync_server.device("rc-home", "rc1")
    assert sync(home).verified
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))

    def cut(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the network is down", request=request)
    with network_of(cut) as network, pytest.raises(ServerUnreachable):
        sync(desk, transport=network)
    assert enrolment.pending_identity(desk) is not None
    assert sync(home).verified
    with pytest.raises(KeysReplacedElsewhere):
        sync(desk)
    assert enrolment.pending_identity(desk) is None


@contextmanager
def network_of(cut: Callable[[httpx.Request], httpx.Response]) -> Iterator[httpx.BaseTransport]:
    """The real network, except that PUT /v1/me/keys goes to `cut`."""
    with httpx.HTTPTransport() as real:
        def route(request: httpx.Request) -> httpx.Response:
            if request.method == "PUT" and request.url.path == "/v1/me/keys":
                return cut(request)
            return real.handle_request(request)
        yield httpx.MockTransport(route)


def test_the_warning_goes_when_the_servers_keys_are_this_laptops_again(
        sync_server: SyncServer) -> None:
    """The home laptop was told its keys were replaced elsewhere; when the server gives its
    keys as the person's again (its database restored from before the replacement), the home
    laptop syncs with them and Needs attention no longer shows the warning."""
    keys_replaced_on_the_desk(sync_server)
    home = sync_server.sessions[-1]
    assert "keys replaced elsewhere" in [i.kind for i in read_attention(home)]
    mine = enrolment.identity_of(home)
    assert mine is not None
    again = wire.StaffInfo(id="rc1", name="rc1", role=Role.RECOVERY_COORDINATOR,
                           public_key=mine.public_key, signing_key=mine.signing_key)
    with enrolled_client(enrolment.require_enrolment(home), backoff=FAST) as server:
        check = Rekey(home, server, db=lambda fn: fn(), user_id="rc1",
                      replica=lambda: replica_of(home))
        assert check.check(again, mine, KeyRing(case_keys.case_keys(home))) == mine
    assert "keys replaced elsewhere" not in [i.kind for i in read_attention(home)]





@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    found = sqlite_utils.Database(tmp_path / "profile.sqlite3")
    create_integrity_tables(found)
    create_former_keys(found)
    yield found
    found.close()


def on(db: sqlite_utils.Database, when: str) -> Pins:
    return Pins(db, now=when)


def test_first_sight_pins_the_keys_and_the_signing_keys_before_them(
        db: sqlite_utils.Database) -> None:
    """The first keys seen for a colleague are pinned, with the signing keys the server says
    they had before (not the current one twice); signatures are checked against the pinned
    signing key first, then the former ones, oldest first."""
    pin = on(db, MONDAY).observe("rc1", "pub-2", "sign-2", former=["sign-1", "sign-2"])
    assert pin is not None
    assert (pin.public_key, pin.signing_key, pin.pinned_at, pin.verified_at) == (
        "pub-2", "sign-2", MONDAY, None)
    assert not pin.changed and pin.offered_fingerprint is None
    assert pin.fingerprint == fingerprint("rc1", "pub-2", "sign-2")
    on(db, TUESDAY).add_former("rc1", ["sign-0"])
    assert on(db, TUESDAY).former("rc1") == ["sign-1", "sign-0"]
    assert on(db, TUESDAY).signing_keys() == {"rc1": ("sign-2", "sign-1", "sign-0")}


def test_former_keys_offered_later_are_not_taken(db: sqlite_utils.Database) -> None:
    """Once pinned, a server naming more former keys for the person adds none: only a moment
    this laptop trusts (first sight, its own keys) says what they had before."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    on(db, TUESDAY).observe("rc1", "pub-1", "sign-1", former=["planted"])
    on(db, TUESDAY).observe("rc1", "pub-x", "sign-x", former=["planted"])
    assert on(db, TUESDAY).former("rc1") == []
    assert on(db, TUESDAY).signing_keys() == {"rc1": ("sign-1",)}


def test_a_former_key_of_someone_not_pinned_is_not_trusted(db: sqlite_utils.Database) -> None:
    """Former keys count only beside a pinned person; one equal to the pinned key counts once;
    each person's former keys are theirs alone."""
    pins = on(db, MONDAY)
    pins.observe("rc1", "pub-1", "sign-1")
    pins.observe("iw1", "pub-9", "sign-9")
    pins.add_former("nobody", ["sign-n"])
    pins.add_former("rc1", ["sign-1", "sign-0"])
    assert pins.signing_keys() == {"rc1": ("sign-1", "sign-0"), "iw1": ("sign-9",)}
    assert pins.former("iw1") == []


def test_a_former_key_added_again_keeps_its_first_date(db: sqlite_utils.Database) -> None:
    """Adding a former key a second time changes neither its date nor the order."""
    on(db, MONDAY).add_former("rc1", ["sign-a"])
    on(db, TUESDAY).add_former("rc1", ["sign-b"])
    on(db, WEDNESDAY).add_former("rc1", ["sign-a"])
    assert on(db, WEDNESDAY).former("rc1") == ["sign-a", "sign-b"]
    assert db.execute("SELECT until FROM former_signing_keys WHERE signing_key = 'sign-a'"
                      ).fetchall() == [(MONDAY,)]


def test_no_keys_from_the_server_change_nothing(db: sqlite_utils.Database) -> None:
    """A person without keys (or with half of a pair) is not pinned, and a pinned person shown
    without keys keeps their pin and gets no offer."""
    pins = on(db, MONDAY)
    assert pins.observe("rc1", None, None) is None
    assert pins.observe("rc1", "pub-1", None) is None
    assert pins.observe("rc1", None, "sign-1") is None
    assert pins.all() == []
    pins.observe("rc1", "pub-1", "sign-1")
    for public, signing in ((None, None), ("pub-x", None), ("", "sign-x")):
        pin = on(db, TUESDAY).observe("rc1", public, signing)
        assert pin is not None and not pin.changed and pin.signing_key == "sign-1"
    assert not on(db, TUESDAY).trusted("rc1", None, None)


def test_different_keys_are_an_offer_dated_when_first_seen(db: sqlite_utils.Database) -> None:
    """Different keys are kept beside the pin, dated when first offered (the same offer again
    keeps its date; another replaces it), and trusted for nothing; the pinned keys again clear
    the offer."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    assert not on(db, TUESDAY).trusted("rc1", "pub-2", "sign-2")
    on(db, WEDNESDAY).observe("rc1", "pub-2", "sign-2")
    pin = on(db, WEDNESDAY).get("rc1")
    assert pin is not None and pin.changed
    assert (pin.public_key, pin.signing_key) == ("pub-1", "sign-1")
    assert (pin.offered_public, pin.offered_signing, pin.offered_at) == ("pub-2", "sign-2",
                                                                         TUESDAY)
    assert pin.offered_fingerprint == fingerprint("rc1", "pub-2", "sign-2")
    assert [p.user_id for p in on(db, WEDNESDAY).changed()] == ["rc1"]
    on(db, WEDNESDAY).observe("rc1", "pub-2", "sign-3")  # half the pair differs: another offer
    pin = on(db, WEDNESDAY).get("rc1")
    assert pin is not None and (pin.offered_signing, pin.offered_at) == ("sign-3", WEDNESDAY)
    assert on(db, WEDNESDAY).trusted("rc1", "pub-1", "sign-1")
    pin = on(db, WEDNESDAY).get("rc1")
    assert pin is not None and not pin.changed
    assert (pin.offered_public, pin.offered_signing, pin.offered_at) == (None, None, None)
    assert on(db, WEDNESDAY).changed() == []


def test_a_key_differing_in_one_half_is_not_trusted(db: sqlite_utils.Database) -> None:
    """Only both keys of the pinned pair are trusted: the same encryption key with another
    signing key, or the reverse, is an offer."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    assert not on(db, TUESDAY).trusted("rc1", "pub-1", "sign-x")
    assert not on(db, TUESDAY).trusted("rc1", "pub-x", "sign-1")
    assert on(db, TUESDAY).trusted("rc2", "pub-2", "sign-2")  # first sight


def test_accepting_an_offer_pins_it_and_keeps_the_old_signing_key(
        db: sqlite_utils.Database) -> None:
    """Accepting the offered keys (compared with their owner) pins them, verified, and the old
    signing key still checks what it signed before."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    on(db, TUESDAY).observe("rc1", "pub-2", "sign-2")
    pin = on(db, WEDNESDAY).accept("rc1")
    assert (pin.public_key, pin.signing_key, pin.pinned_at, pin.verified_at) == (
        "pub-2", "sign-2", WEDNESDAY, WEDNESDAY)
    assert (pin.offered_public, pin.offered_signing, pin.offered_at) == (None, None, None)
    assert on(db, WEDNESDAY).get("rc1") == pin
    assert on(db, WEDNESDAY).signing_keys() == {"rc1": ("sign-2", "sign-1")}


def test_nothing_to_accept_is_refused(db: sqlite_utils.Database) -> None:
    """Accepting for a person never seen, or one with no new keys offered, is refused by name
    and changes nothing."""
    with pytest.raises(ValueError, match=r"^no new key offered for rc1$"):
        on(db, MONDAY).accept("rc1")
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    with pytest.raises(ValueError, match=r"^no new key offered for rc1$"):
        on(db, TUESDAY).accept("rc1")
    db.execute("UPDATE pinned_keys SET offered_public = 'pub-2'")  # half an offer
    with pytest.raises(ValueError, match=r"^no new key offered for rc1$"):
        on(db, TUESDAY).accept("rc1")
    db.execute("UPDATE pinned_keys SET offered_public = NULL, offered_signing = 'sign-2'")
    with pytest.raises(ValueError, match=r"^no new key offered for rc1$"):
        on(db, TUESDAY).accept("rc1")
    pin = on(db, TUESDAY).get("rc1")
    assert pin is not None and (pin.signing_key, pin.verified_at) == ("sign-1", None)
    assert on(db, TUESDAY).former("rc1") == []


def test_a_half_offer_has_no_fingerprint(db: sqlite_utils.Database) -> None:
    """An offer missing either key shows no fingerprint to compare."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    for public, signing in (("pub-2", None), (None, "sign-2")):
        db.execute("UPDATE pinned_keys SET offered_public = ?, offered_signing = ?",
                   [public, signing])
        pin = on(db, MONDAY).get("rc1")
        assert pin is not None and pin.offered_fingerprint is None


def test_own_keys_are_pinned_verified_and_the_old_ones_kept(db: sqlite_utils.Database) -> None:
    """This laptop's own person is pinned to the keys the profile holds, verified; keys pinned
    before, when different, stay as a former signing key; the same keys again add none."""
    pins = on(db, MONDAY)
    pins.pin_own("rc1", "pub-1", "sign-1")
    pin = pins.get("rc1")
    assert pin is not None and (pin.pinned_at, pin.verified_at) == (MONDAY, MONDAY)
    assert pins.former("rc1") == []
    on(db, TUESDAY).pin_own("rc1", "pub-1", "sign-1")
    assert on(db, TUESDAY).former("rc1") == []
    on(db, WEDNESDAY).pin_own("rc1", "pub-2", "sign-2")
    pin = on(db, WEDNESDAY).get("rc1")
    assert pin is not None
    assert (pin.public_key, pin.signing_key, pin.pinned_at, pin.verified_at) == (
        "pub-2", "sign-2", WEDNESDAY, WEDNESDAY)
    assert on(db, WEDNESDAY).signing_keys() == {"rc1": ("sign-2", "sign-1")}


def test_own_keys_replace_an_offer(db: sqlite_utils.Database) -> None:
    """Pinning this laptop's own keys over an offer leaves no offer to decide."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    on(db, MONDAY).observe("rc1", "pub-2", "sign-2")
    on(db, TUESDAY).pin_own("rc1", "pub-2", "sign-2")
    pin = on(db, TUESDAY).get("rc1")
    assert pin is not None and not pin.changed
    assert on(db, TUESDAY).former("rc1") == ["sign-1"]


def test_verifying_marks_the_pin_compared(db: sqlite_utils.Database) -> None:
    """Comparing the pinned fingerprint with its owner marks that person's pin verified, at
    that moment, and no one else's."""
    on(db, MONDAY).observe("rc1", "pub-1", "sign-1")
    on(db, MONDAY).observe("iw1", "pub-9", "sign-9")
    on(db, TUESDAY).verify("rc1")
    assert {p.user_id: p.verified_at for p in on(db, TUESDAY).all()} == {
        "iw1": None, "rc1": TUESDAY}
    assert [p.user_id for p in on(db, TUESDAY).all()] == ["iw1", "rc1"]
