"""A revoked laptop, or keys reset by the administrator: the person's keys are replaced, their
cases move to new key versions, and what is written afterwards is closed to the lost laptop
(issue 19, "rotation that happens ... a device or user revoked").

A stolen laptop holds its person's private keys and every case key they held; the thief keeps
all of it. Everything here goes through the real server process, the administrator's command
line and real laptops; the thief's view is what the lost laptop held plus whatever the server's
database holds (the worst case: a thief who also reads the server).

The program (tests/sync/conftest.py): team t1 has rc1, iw1 and sup1.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from fieldapp.crypto.aead import SealBroken
from fieldapp.crypto.identity import Identity, unwrap_from_server
from fieldapp.domain.errors import KeyFileDamaged, WrongRecoveryCode
from fieldapp.domain.people import Role
from fieldapp.services import case_keys, enrolment
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync import protocol as wire
from sync.client import rekey
from sync.client.attention import accept_key, read_attention
from sync.client.engine import replica_of
from sync.client.enrol import ask_to_join
from sync.client.http import enrolled_client
from sync.client.rekey import KeysReplacedElsewhere, take_up
from sync.client.replica import KeyRing
from sync.client.sealing import open_from_wire
from tests.conftest import PASSPHRASE, FakeClock
from tests.real_server import run_cli
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import FAST, ROOT, SyncServer, sync
from tests.sync.insider import Insider
from tests.sync.test_end_to_end import family
from tests.sync.test_recovery_code_cli import CODE

CASE = "fam-1"
# What a laptop whose keys were replaced elsewhere says, word for word.
REPLACED_ELSEWHERE = (
    "Your keys were replaced on another of your laptops (because a laptop of yours was revoked, "
    "or your administrator reset them). Enter the new recovery code shown there, under Settings, "
    "Take up new keys, to sync this laptop again. Its changes wait here, untouched.")


def a_family_and_two_laptops_of_rc1(sync_server: SyncServer
                                    ) -> tuple[Session, Session, Session, Session]:
    """sup1 opens fam-1 for rc1 and iw1; rc1 works on two laptops (the one that will be lost,
    and her desk laptop); everyone has synced and rc1 has signed a note."""
    sup = sync_server.device("sup", "sup1")
    iw = sync_server.device("iw", "iw1")
    lost = sync_server.device("rc-lost", "rc1")
    desk = sync_server.device("rc-desk", "rc1")
    services_of(sup).cases.open_case(family(CASE))
    for laptop in (sup, iw, lost, desk, sup):
        assert sync(laptop).verified
    notes = services_of(lost).notes
    notes.sign(notes.start_draft(CASE, visit_details(narrative="Before the loss.")).id)
    for laptop in (lost, sup, iw, desk):
        assert sync(laptop).verified
    return sup, iw, lost, desk


def device_id(sync_server: SyncServer, name: str) -> str:
    [(found,)] = sync_server.sql("SELECT id FROM devices WHERE name = ?", name)
    return str(found)


def what_the_thief_holds(lost: Session) -> tuple[Identity, dict[tuple[str, int], bytes]]:
    identity = enrolment.identity_of(lost)
    assert identity is not None
    return identity, dict(case_keys.case_keys(lost))


def thief_opens(sync_server: SyncServer, identity: Identity, keys: dict[tuple[str, int], bytes],
                note_id: str) -> bool:
    """Whether the thief reads the note with what the lost laptop held: its case keys, and
    every key copy on the server opened with its private key."""
    held = dict(keys)
    for scope, version, user_id, wrapped in sync_server.sql(
            "SELECT case_id, version, user_id, wrapped_key FROM case_keys"):
        try:
            held[(scope, version)] = identity.open_key(wrapped, case_id=scope, version=version,
                                                       user_id=user_id)
        except KeyFileDamaged:
            continue
    doc = server_doc(sync_server, note_id)
    key = held.get((doc.scope, int(doc.key_version or 0)))
    if key is None:
        return False
    try:
        open_from_wire(key, doc)
    except SealBroken:
        return False
    return True


def server_doc(sync_server: SyncServer, record_id: str) -> wire.Doc:
    [(doc_json,)] = sync_server.sql(
        "SELECT json_object('table', tbl, 'record_id', record_id, 'scope', scope, 'rev', rev, "
        "'seq', seq, 'op_id', op_id, 'author', author, 'deleted', json('false'), "
        "'plain', json(plain), 'key_version', key_version, 'sealed', sealed) FROM records "
        "WHERE tbl = 'visit_notes' AND record_id = ?", record_id)
    return wire.Doc.model_validate_json(doc_json)


def newest_version(sync_server: SyncServer) -> int:
    return int(sync_server.sql("SELECT max(version) FROM case_keys WHERE case_id = ?",
                               CASE)[0][0])


def accept(session: Session, user_id: str) -> None:
    [item] = [i for i in read_attention(session) if i.kind == "person" and i.key == user_id]
    accept_key(session, user_id=user_id, fingerprint=dict(item.theirs or [])["Fingerprint"])


def sign_note(session: Session, narrative: str) -> str:
    notes = services_of(session).notes
    note = notes.start_draft(CASE, visit_details(narrative=narrative))
    notes.sign(note.id)
    return str(note.id)


def test_after_a_laptop_is_revoked_what_is_written_is_closed_to_it(
        sync_server: SyncServer) -> None:
    """The administrator revokes rc1's lost laptop. Her desk laptop's next sync makes new keys
    and a new recovery code (shown under Needs attention) and moves the family to a new key
    version; iw1's laptop cannot take a version sealed by rc1's new key until its person
    accepts it, so it moves the family past it too. The notes both write next are sealed where
    the lost laptop's keys, and every copy on the server they open, reach nothing; once iw1
    accepts rc1's new key, each reads the other's note."""
    sup, iw, lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    thief, thief_keys = what_the_thief_holds(lost)
    before = newest_version(sync_server)
    [(old_note,)] = sync_server.sql("SELECT record_id FROM records WHERE tbl = 'visit_notes'")
    assert thief_opens(sync_server, thief, thief_keys, old_note)  # what was written before

    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync_server.sql("SELECT keys_due FROM users WHERE id = 'rc1'") == [
        ("a laptop of yours was revoked",)]

    assert sync(desk).verified
    mine = enrolment.identity_of(desk)
    assert mine is not None and mine.public_key != thief.public_key
    assert sync_server.sql("SELECT public_key, keys_due FROM users WHERE id = 'rc1'") == [
        (mine.public_key, None)]
    code = enrolment.new_recovery_code_of(desk)
    assert code is not None and code["reason"] == "a laptop of yours was revoked"
    assert [i.kind for i in read_attention(desk)].count("new recovery code") == 1
    assert newest_version(sync_server) == before + 1
    desk_note = sign_note(desk, "Written at the desk after the loss.")
    assert sync(desk).verified

    assert sync(iw).verified  # rc1's key changed: iw1 moves the family on by itself
    assert newest_version(sync_server) == before + 2
    iw_note = sign_note(iw, "Written by the intact worker after the loss.")
    assert sync(iw).verified
    assert server_doc(sync_server, iw_note).key_version == before + 2
    assert server_doc(sync_server, desk_note).key_version == before + 1

    for note in (desk_note, iw_note):
        assert not thief_opens(sync_server, thief, thief_keys, note)

    accept(iw, "rc1")
    for laptop in (iw, desk, iw, sup):
        sync(laptop)
    accept(sup, "rc1")
    for laptop in (sup, desk, iw):
        assert sync(laptop).verified
    assert services_of(desk).notes.get(iw_note).details.narrative.startswith("Written by the")
    assert services_of(iw).notes.get(desk_note).details.narrative.startswith("Written at")
    assert services_of(sup).notes.get(desk_note).details.narrative.startswith("Written at")
    # What rc1 signed with her old key still checks on every laptop, including a new one.
    sup2 = sync_server.device("sup-2", "sup1")
    assert sync(sup2).verified
    assert [n.details.narrative for n in services_of(sup2).notes.for_case(CASE)
            if n.details.narrative == "Before the loss."]
    for note in (desk_note, iw_note):
        assert not thief_opens(sync_server, thief, thief_keys, note)


def test_her_other_laptop_waits_for_the_new_recovery_code(sync_server: SyncServer) -> None:
    """rc1's third laptop, after the desk laptop replaced her keys, sends nothing (its draft
    stays) and says what to do; the old code does not open the new keys, the new one does,
    and then it syncs and its draft goes up signed with the new key."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    home = sync_server.device("rc-home", "rc1")
    assert sync(home).verified
    old_code = sync_server.recovery_codes["rc1"]
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync(desk).verified
    new = enrolment.new_recovery_code_of(desk)
    assert new is not None

    draft = services_of(home).notes.start_draft(CASE, visit_details(narrative="At home."))
    with pytest.raises(KeysReplacedElsewhere, match="Enter the new recovery code"):
        sync(home)
    assert sync_server.sql("SELECT count(*) FROM records WHERE record_id = ?",
                           str(draft.id)) == [(0,)]
    with pytest.raises(WrongRecoveryCode):
        take_up(home, old_code)
    take_up(home, new["recovery_code"])
    assert sync(home).verified
    assert sync_server.sql("SELECT count(*) FROM records WHERE record_id = ?",
                           str(draft.id)) == [(1,)]
    assert enrolment.identity_of(home).public_key == enrolment.identity_of(desk).public_key

    enrolment.recovery_code_seen(desk)
    assert enrolment.new_recovery_code_of(desk) is None
    assert "new recovery code" not in [i.kind for i in read_attention(desk)]


def test_the_server_keeps_the_first_new_keys_when_two_laptops_make_them(
        sync_server: SyncServer) -> None:
    """Both of rc1's remaining laptops saw her keys due; the desk laptop's went first. The home
    laptop's request is refused, its new keys are dropped (nothing pending stays), and it
    waits for the desk laptop's code, saying what to do."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    home = sync_server.device("rc-home", "rc1")
    assert sync(home).verified
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync(desk).verified
    due = wire.StaffInfo(id="rc1", name="rc1", role=Role.RECOVERY_COORDINATOR, keys_due=True)
    identity = enrolment.identity_of(home)
    assert identity is not None
    # What the home laptop's sync does having read the team before the desk laptop's request.
    with enrolled_client(enrolment.require_enrolment(home), backoff=FAST) as server:
        check = rekey.Rekey(home, server, db=lambda fn: fn(), user_id="rc1",
                            replica=lambda: replica_of(home))
        with pytest.raises(KeysReplacedElsewhere) as lost:
            check.check(due, identity, KeyRing(case_keys.case_keys(home)))
    # Told in the same words as any laptop whose keys were replaced elsewhere, and again later.
    assert str(lost.value) == REPLACED_ELSEWHERE
    with pytest.raises(KeysReplacedElsewhere) as later:
        sync(home)
    assert str(later.value) == REPLACED_ELSEWHERE
    assert enrolment.pending_identity(home) is None
    assert sync_server.sql("SELECT public_key FROM users WHERE id = 'rc1'") == [
        (enrolment.identity_of(desk).public_key,)]


def test_a_crash_after_the_server_took_the_new_keys_loses_nothing(
        sync_server: SyncServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The laptop dies after the server took its new keys and before it used them: the next
    sync finds them pending here and on the server, uses them, and shows their code; the server
    replaced the keys once."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))

    def die(*_: Any, **__: Any) -> None:
        raise SystemExit("killed")
    monkeypatch.setattr(rekey, "keep_identity", die)
    with pytest.raises(SystemExit):
        sync(desk)
    monkeypatch.undo()
    pending = enrolment.pending_identity(desk)
    assert pending is not None
    assert sync(desk).verified
    assert enrolment.identity_of(desk).public_key == pending[0].public_key
    assert enrolment.new_recovery_code_of(desk)["recovery_code"] == pending[1]
    assert enrolment.pending_identity(desk) is None
    assert sync_server.sql("SELECT count(*) FROM audit WHERE action = 'keys replaced'") == [(1,)]


def test_reset_keys_is_the_way_back_from_a_lost_recovery_code(sync_server: SyncServer) -> None:
    """rc1 lost her recovery code. `reset-keys` makes her laptop replace her keys at its next
    sync and show a new code, which opens the server's copy (the old code no longer does), so a
    replacement laptop enrols with it."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    old_code = sync_server.recovery_codes["rc1"]
    out = run_cli(sync_server.data_dir, "reset-keys", "rc1")
    assert "rc1's keys will be replaced" in out.stdout
    again = run_cli(sync_server.data_dir, "reset-keys", "rc1")
    assert "were already due to be replaced" in again.stdout
    listed = run_cli(sync_server.data_dir, "devices", "--user", "rc1").stdout
    assert "active, last seen 20" in listed  # which laptop is in use, by when it was seen
    assert sync(desk).verified
    new = enrolment.new_recovery_code_of(desk)
    assert new is not None and new["reason"] == "your administrator reset your keys"
    [(blob,)] = sync_server.sql("SELECT wrapped_private_key FROM users WHERE id = 'rc1'")
    with pytest.raises(WrongRecoveryCode):
        unwrap_from_server(blob, old_code)
    sync_server.recovery_codes["rc1"] = new["recovery_code"]
    spare = sync_server.device("rc-spare", "rc1")
    assert sync(spare).verified
    assert services_of(spare).notes.for_case(CASE)


def test_with_no_laptop_left_the_next_enrolment_makes_her_keys(sync_server: SyncServer
                                                               ) -> None:
    """rc1's only laptop is stolen and she has lost her code. After the revoke, a new laptop
    enrols with a fresh code and makes new keys (showing a new recovery code); her colleagues
    accept them and share the family's keys, so she reads the family's history, and what she
    signed with the stolen keys still checks."""
    sup = sync_server.device("sup", "sup1")
    iw = sync_server.device("iw", "iw1")
    lost = sync_server.device("rc-lost", "rc1")
    services_of(sup).cases.open_case(family(CASE))
    for laptop in (sup, iw, lost):
        assert sync(laptop).verified
    old_note = sign_note(lost, "Before the theft.")
    for laptop in (lost, sup, iw):
        assert sync(laptop).verified
    thief, thief_keys = what_the_thief_holds(lost)

    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    sync_server.recovery_codes.pop("rc1")
    new = sync_server.device("rc-new", "rc1")
    assert "rc1" in sync_server.recovery_codes  # a new code was shown
    assert enrolment.identity_of(new).public_key != thief.public_key
    assert sync(sup).verified and sync(iw).verified
    iw_note = sign_note(iw, "After the theft.")
    assert sync(iw).verified
    assert not thief_opens(sync_server, thief, thief_keys, iw_note)
    accept(sup, "rc1")
    accept(iw, "rc1")
    for laptop in (sup, iw, new, sup, iw, new):
        sync(laptop)
    narratives = {n.details.narrative for n in services_of(new).notes.for_case(CASE)}
    assert {"Before the theft.", "After the theft."} <= narratives
    assert services_of(new).notes.get(old_note).details.narrative == "Before the theft."


def test_the_server_refuses_what_a_key_replacement_must_not_do(sync_server: SyncServer
                                                               ) -> None:
    """Through the protocol: new keys when none are due (409), copies not signed by the new
    key (422); while rc1's keys are due, nobody is given them and nobody may seal to them;
    after, a push signed with her old key is refused as a whole (409 keys_replaced), nothing
    stored."""
    _sup, iw, lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    token = enrolment.require_enrolment(desk)["device_token"]
    fresh = Identity.generate()
    body = {"public_key": fresh.public_key, "signing_key": fresh.signing_key,
            "wrapped_private_key": fresh.public_key, "copies": []}
    auth = {"Authorization": f"Bearer {token}"}
    answer = httpx.put(f"{sync_server.url}/v1/me/keys", json=body, headers=auth)
    assert (answer.status_code, answer.json()["error"]) == (409, "keys_not_due")

    run_cli(sync_server.data_dir, "reset-keys", "rc1")
    iw_token = enrolment.require_enrolment(iw)["device_token"]
    members = httpx.get(f"{sync_server.url}/v1/cases/{CASE}/members",
                        headers={"Authorization": f"Bearer {iw_token}"}).json()
    [rc1] = [m for m in members if m["user_id"] == "rc1"]
    assert (rc1["public_key"], rc1["signing_key"], rc1["keys_due"]) == (None, None, True)
    person = httpx.get(f"{sync_server.url}/v1/people/rc1",
                       headers={"Authorization": f"Bearer {iw_token}"}).json()
    assert person["public_key"] is None

    forged = {**body, "copies": [{"scope": CASE, "version": 1, "wrapped_key": "AAAA",
                                  "signature": "AAAA"}]}
    answer = httpx.put(f"{sync_server.url}/v1/me/keys", json=forged, headers=auth)
    assert (answer.status_code, answer.json()["error"]) == (422, "bad_signature")
    assert sync_server.sql("SELECT keys_due FROM users WHERE id = 'rc1'")[0][0] is not None

    assert sync(desk).verified  # the keys are replaced
    # The lost laptop was never revoked in this test: its changes, signed with the old key,
    # are refused as a whole, not one by one, and nothing is stored.
    with pytest.raises(KeysReplacedElsewhere):
        sync(lost)
    old_key = Insider(lost)
    before = sync_server.sql("SELECT count(*) FROM records")
    answer = old_key.request("POST", "/v1/sync/push", json={"ops": [old_key.op(
        "visit_notes", "n-old-key", CASE, {"status": "draft"})]})
    assert (answer.status_code, answer.json()["error"]) == (409, "keys_replaced")
    assert sync_server.sql("SELECT count(*) FROM records") == before


def fieldapp(sync_server: SyncServer, name: str, *args: str, lines: tuple[str, ...] = ()
             ) -> subprocess.CompletedProcess[str]:
    """The `fieldapp` command on laptop `name`, the passphrase (and `lines`) on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "fieldapp", "--data-dir", str(sync_server.tmp / name), *args,
         "--passphrase-stdin"], input="\n".join((PASSPHRASE, *lines)) + "\n", text=True,
        capture_output=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "HOME": str(sync_server.tmp)},
        timeout=60, check=False)


def test_the_command_line_shows_the_new_code_once_and_takes_it_up(sync_server: SyncServer
                                                                  ) -> None:
    """`fieldapp new-recovery-code --forget` prints the code and forgets it; on rc1's home
    laptop `fieldapp take-up-keys` refuses a wrong code, takes the right one, and the laptop
    syncs again."""
    _sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    home = sync_server.device("rc-home", "rc1")
    assert sync(home).verified
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync(desk).verified
    desk.lock()
    home.lock()

    shown = fieldapp(sync_server, "rc-desk", "new-recovery-code", "--forget")
    assert shown.returncode == 0, shown.stderr
    [code] = CODE.findall(shown.stdout)
    assert "a laptop of yours was revoked" in shown.stdout
    again = fieldapp(sync_server, "rc-desk", "new-recovery-code")
    assert "There is no new recovery code" in again.stdout and not CODE.findall(again.stdout)

    wrong = fieldapp(sync_server, "rc-home", "take-up-keys",
                     lines=("7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS", ""))
    assert wrong.returncode == 2 and "Nothing was changed" in wrong.stderr
    taken = fieldapp(sync_server, "rc-home", "take-up-keys", lines=(code,))
    assert taken.returncode == 0, taken.stderr
    assert "Your new keys are in use" in taken.stdout
    home = sync_server.reopen("rc-home")
    assert sync(home).verified


def test_what_was_written_offline_before_the_news_goes_up_under_the_new_key(
        sync_server: SyncServer) -> None:
    """iw1 writes a note offline while rc1's lost laptop is revoked; her next sync moves the
    family to a new key version before it sends the note, so the note is closed to the lost
    laptop's keys too."""
    _sup, iw, lost, _desk = a_family_and_two_laptops_of_rc1(sync_server)
    thief, thief_keys = what_the_thief_holds(lost)
    before = newest_version(sync_server)
    offline = sign_note(iw, "Written in the car, no signal.")
    run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-lost"))
    assert sync(iw).verified
    assert server_doc(sync_server, offline).key_version == before + 1
    assert not thief_opens(sync_server, thief, thief_keys, offline)


def test_a_laptop_that_never_opened_the_keys_is_revoked_without_replacing_them(
        sync_server: SyncServer) -> None:
    """An enrolment that stopped at the recovery code left a device listed; revoked with
    --keys-never-opened, the person's keys are not due and nothing rotates."""
    sup, _iw, _lost, desk = a_family_and_two_laptops_of_rc1(sync_server)
    attempt = Session(ProfilePaths(sync_server.tmp / "rc-attempt"), clock=FakeClock())
    attempt.create(PASSPHRASE)
    ask_to_join(attempt, server_url=sync_server.url, code=sync_server.code("rc1"),
                device_name="rc-attempt")  # the recovery code is never entered
    attempt.lock()
    before = newest_version(sync_server)
    out = run_cli(sync_server.data_dir, "revoke", device_id(sync_server, "rc-attempt"),
                  "--keys-never-opened")
    assert "rc1's keys stay as they are" in out.stdout
    assert sync_server.sql("SELECT keys_due FROM users WHERE id = 'rc1'") == [(None,)]
    for laptop in (desk, sup):
        assert sync(laptop).verified
    assert newest_version(sync_server) == before
    assert enrolment.new_recovery_code_of(desk) is None
