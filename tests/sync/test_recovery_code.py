"""A person's recovery code, through the real protocol: a real server process on 127.0.0.1,
real vaults. The first enrolment makes the code and wraps the server's copy of the person's
keys under it (not under the passphrase); a replacement laptop opens that copy with it and
reads what was shared before; a wrong code, a server that lies about the person's key, or a
person who gives up leave the replacement laptop as it was. The code is in no file and no log.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fieldapp.crypto.identity import Identity, recovery_secret, unwrap_from_server
from fieldapp.domain.errors import KeyFileDamaged, WrongRecoveryCode
from fieldapp.services import enrolment
from fieldapp.services.enrolment import ServerRefused
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync.client.enrol import ask_to_join, enrol
from tests.conftest import PASSPHRASE, FakeClock
from tests.scanning import found_in
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.test_end_to_end import family

SHAPE = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4}-){5}[0-9A-HJKMNP-TV-Z]{4}$")


def server_copy(sync_server: SyncServer, user_id: str) -> str:
    [(blob,)] = sync_server.sql("SELECT wrapped_private_key FROM users WHERE id = ?", user_id)
    return str(blob)


def same_keys(a: Identity | None, b: Identity | None) -> bool:
    assert a is not None and b is not None
    return (a.private_bytes(), a.signing_bytes()) == (b.private_bytes(), b.signing_bytes())


def blank_laptop(sync_server: SyncServer, name: str) -> Session:
    session = Session(ProfilePaths(sync_server.tmp / name), clock=FakeClock())
    session.create(PASSPHRASE)
    sync_server.sessions.append(session)
    return session


def state(session: Session) -> dict[str, Any]:
    """What a failed recovery must leave as it was."""
    return {"records": sorted((o.row["kind"], str(o.row["id"])) for o in session.records().all()),
            "enrolment": enrolment.enrolment_of(session),
            "identity": enrolment.identity_of(session),
            "actor": session.actor().user_id}


def test_a_first_enrolment_shows_a_code_that_alone_opens_the_servers_copy(
        sync_server: SyncServer) -> None:
    laptop = blank_laptop(sync_server, "rc1-laptop")
    done = enrol(laptop, server_url=sync_server.url, code=sync_server.code("rc1"),
                 device_name="rc1-laptop")
    assert SHAPE.match(done.recovery_code) and not done.recovered_key
    assert done.recovery_code not in repr(done)
    blob = server_copy(sync_server, "rc1")
    assert same_keys(unwrap_from_server(blob, done.recovery_code),
                     enrolment.identity_of(laptop))
    # The passphrase is no key to it, and nothing in it comes from one.
    with pytest.raises(WrongRecoveryCode):
        unwrap_from_server(blob, PASSPHRASE)
    assert "kdf" not in json.loads(base64.urlsafe_b64decode(blob))


def test_a_replacement_laptop_recovers_with_the_code_and_reads_a_case_shared_before(
        sync_server: SyncServer) -> None:
    supervisor = sync_server.device("sup-laptop", "sup1")
    first = sync_server.device("rc1-laptop", "rc1")
    code = sync_server.recovery_codes["rc1"]
    case = services_of(supervisor).cases.open_case(family(name="Quennell"))
    assert sync(supervisor).verified and sync(first).verified
    note = services_of(first).notes.start_draft(
        case.id, visit_details(narrative="Talked through the relapse plan."))
    services_of(first).notes.sign(note.id)
    assert sync(first).verified
    blob = server_copy(sync_server, "rc1")

    spare = blank_laptop(sync_server, "rc1-spare")
    before = state(spare)
    admission = ask_to_join(spare, server_url=sync_server.url, code=sync_server.code("rc1"),
                            device_name="rc1-spare")
    assert admission.recovering
    for wrong in ("", PASSPHRASE, "7QK2-M9XD-0A1B-ZZ34-HJKM-NPRS", code[:-1]):
        with pytest.raises(WrongRecoveryCode):
            enrolment.store_enrolment(spare, admission, recovery_code=wrong)
        assert state(spare) == before, "a wrong code changes nothing"
    # The same answer, the code as a person might copy it: no second enrolment code needed.
    done = enrolment.store_enrolment(spare, admission,
                                     recovery_code=code.lower().replace("-", " "))
    assert done.recovered_key and done.recovery_code == "", "no new code is shown"
    assert same_keys(enrolment.identity_of(spare), enrolment.identity_of(first))
    assert server_copy(sync_server, "rc1") == blob, "the server's copy is the first one still"
    assert sync(spare).verified
    assert services_of(spare).notes.get(note.id).details.narrative == \
        "Talked through the relapse plan."


def test_a_person_who_gives_up_has_spent_the_enrolment_code(sync_server: SyncServer) -> None:
    """What the give-up message says is true: the code cannot be used again."""
    sync_server.device("rc1-laptop", "rc1")
    spare = blank_laptop(sync_server, "rc1-spare")
    before, code = state(spare), sync_server.code("rc1")
    with pytest.raises(WrongRecoveryCode, match="already use FieldApp on another laptop"):
        enrol(spare, server_url=sync_server.url, code=code, device_name="rc1-spare")
    assert state(spare) == before
    with pytest.raises(ServerRefused, match="not valid"):
        enrol(spare, server_url=sync_server.url, code=code, device_name="rc1-spare",
              recovery_code=sync_server.recovery_codes["rc1"])
    assert state(spare) == before
    assert "ask your administrator for a new enrolment code" in enrolment.ENROLMENT_CODE_SPENT


def test_a_server_that_names_another_key_as_the_persons_gets_nothing_kept(
        sync_server: SyncServer) -> None:
    """The copy opens with the right code, but the server says the person's public key is
    another (one it could seal case keys to): the replacement laptop keeps nothing."""
    sync_server.device("rc1-laptop", "rc1")
    impostor = Identity.generate()
    with sqlite3.connect(sync_server.data_dir / "server.sqlite3") as db:
        db.execute("UPDATE users SET public_key = ? WHERE id = 'rc1'", [impostor.public_key])
    spare = blank_laptop(sync_server, "rc1-spare")
    before = state(spare)
    with pytest.raises(KeyFileDamaged, match="does not match"):
        enrol(spare, server_url=sync_server.url, code=sync_server.code("rc1"),
              device_name="rc1-spare", recovery_code=sync_server.recovery_codes["rc1"])
    assert state(spare) == before


def test_the_code_is_in_no_file_and_no_log(sync_server: SyncServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """Not in either laptop's vault, the server's database or its log, nor any client log
    line: looked for in every form (as shown, without dashes, lower case, its 15 bytes)."""
    caplog.set_level(logging.DEBUG)
    first = sync_server.device("rc1-laptop", "rc1")
    spare = sync_server.device("rc1-spare", "rc1")
    assert sync(first).verified and sync(spare).verified
    code = sync_server.recovery_codes["rc1"]
    compact = code.replace("-", "")
    forms = (code, compact, compact.lower(), code.lower())
    for session in (first, spare):  # nor sealed inside the vault: its opened records too
        db, _ = session.vault().open_parts()
        opened = json.dumps([o.body for o in session.records().all()]) + "".join(db.iterdump())
        assert "device_token" in opened, "a control: the opened records are read"
        assert not any(form in opened for form in forms)
        session.lock()
    files = [p for p in Path(sync_server.tmp).rglob("*") if p.is_file()]
    assert {"server.sqlite3", "fieldapp.sqlite3", "vault.key"} <= {p.name for p in files}
    for form in forms:
        assert found_in(files, form) == [], form
        assert form not in caplog.text
    raw = recovery_secret(code)
    assert not any(raw in p.read_bytes() for p in files)
    assert found_in(files, "rc1-laptop"), "a control: the scan finds what the server keeps"
