"""The team's names reach the laptop at each sync, from the real server process: `directory()`
names the people of the caller's team (and lists its workers), a sync that brings the same list
writes nothing, a change on the server is taken at the next sync, the names are kept sealed (never
in the clear in any file of the profile), and an unreadable list is retried, refused plainly and
changes nothing. `fieldapp server check-in` (sync.client.enrol.check_in) refreshes the names too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fieldapp.domain.people import UserId
from fieldapp.services.directory import STAFF_KIND, Directory, directory
from fieldapp.services.enrolment import ServerUnreachable
from fieldapp.services.session import Session
from sync.client.enrol import check_in
from sync.client.http import Backoff
from sync.server.store import ServerStore
from tests.scanning import found_in
from tests.sync.conftest import USERS, SyncServer, engine, sync
from tests.sync.faultproxy import Fault, FaultProxy, Rule

NORTH = {UserId(uid): name for uid, (name, _, team) in USERS.items() if team == "t1"}
SOUTH_NAMES = [name for name, _, team in USERS.values() if team == "t2"]
ATTEMPTS = 2


def names_of(session: Session) -> Directory:
    return directory(session.workspace())


def staff_rows(session: Session) -> list[tuple[Any, ...]]:
    """The staff record's rows as stored: id, revision, time and sealed bytes."""
    db, _ = session.vault().open_parts()
    return [tuple(r) for r in db.execute(
        "SELECT id, revision, updated_at, sealed FROM records WHERE kind = ?", [STAFF_KIND])]


def add_user(server: SyncServer, user_id: str, name: str, role: str, team: str | None) -> None:
    """An administrator adds someone while the server runs (the same store the CLI uses)."""
    store = ServerStore(server.data_dir)
    try:
        store.add_user(user_id, name, role, team, now=datetime.now(UTC).isoformat())
    finally:
        store.close()


def test_a_sync_names_the_team_and_writes_only_what_changed(sync_server: SyncServer) -> None:
    supervisor = sync_server.device("sup-laptop", "sup1")
    worker = sync_server.device("rc-laptop", "rc1")
    assert staff_rows(supervisor) == [] and names_of(supervisor).name("iw1") == "iw1"

    assert sync(supervisor).verified
    found = names_of(supervisor)
    assert dict(found.names) == NORTH
    assert found.team == {"rc1", "iw1"}  # the workers; the supervisor is not one
    assert found.name("iw1") == "Ian Worker (iw1)"
    assert found.name("rc2") == "rc2"  # another team's people are not named
    first = staff_rows(supervisor)
    assert [row[1] for row in first] == [1]

    # Nothing changed on the server: the record is left exactly as it was (a rewrite would
    # seal it again under a new nonce and raise its revision).
    assert sync(supervisor).verified
    assert staff_rows(supervisor) == first

    # A newcomer joins the team: the next sync names them, in one new revision.
    add_user(sync_server, "iw2", "Ivy Newcomer", "intact worker", "t1")
    assert sync(supervisor).verified
    assert [row[1] for row in staff_rows(supervisor)] == [2]
    assert names_of(supervisor).name("iw2") == "Ivy Newcomer (iw2)"
    assert names_of(supervisor).team == {"rc1", "iw1", "iw2"}

    # A worker's laptop names the same team.
    assert sync(worker).verified
    assert dict(names_of(worker).names) == {**NORTH, UserId("iw2"): "Ivy Newcomer"}


def test_the_names_are_never_in_the_clear_on_the_laptop(sync_server: SyncServer) -> None:
    supervisor = sync_server.device("sup-laptop", "sup1")
    assert sync(supervisor).verified
    assert dict(names_of(supervisor).names) == NORTH  # they are on the laptop, sealed
    server_files = [p for p in (sync_server.data_dir).iterdir() if p.is_file()]
    # A control for the scan: the server keeps staff names in the clear.
    assert found_in(server_files, "Ian Worker")
    root = supervisor.profile.paths.root
    for moment in ("open", "locked"):  # open: the WAL too; locked: all in the main file
        files = [p for p in root.rglob("*") if p.is_file()]
        assert files
        for name in NORTH.values():
            assert found_in(files, name) == [], (moment, name)
        if supervisor.is_open:
            supervisor.lock()


NOT_JSON = (b"<html>Welcome to Riverside Library Wi-Fi</html>", "text/html")
WRONG_SHAPE = (b'[{"id": "rc1", "name": "Rosa"}]', "application/json")
UNKNOWN_ROLE = (b'[{"id": "rc1", "name": "Rosa", "role": "janitor"}]', "application/json")


@pytest.mark.parametrize("answer", [NOT_JSON, WRONG_SHAPE, UNKNOWN_ROLE],
                         ids=["not json", "wrong shape", "unknown role"])
def test_an_unreadable_team_list_is_retried_refused_and_changes_nothing(
        sync_server: SyncServer, answer: tuple[bytes, str]) -> None:
    body, content_type = answer
    with FaultProxy(sync_server.url) as proxy:
        supervisor = sync_server.device("sup-laptop", "sup1", url=proxy.url)
        proxy.script(Rule(Fault.MALFORMED, "GET", "/v1/team", times=ATTEMPTS, forward=False,
                          body=body, content_type=content_type))
        flaky = Backoff(attempts=ATTEMPTS, base=0.01, cap=0.02)
        with pytest.raises(ServerUnreachable, match="did not answer properly"):
            engine(supervisor, backoff=flaky).sync()
        assert proxy.hits == [ATTEMPTS]  # every try was met, so it was retried
        assert staff_rows(supervisor) == []

        proxy.clear()
        assert sync(supervisor).verified
        assert dict(names_of(supervisor).names) == NORTH
        proxy.wait_idle()


def test_a_server_older_than_the_laptop_still_syncs(sync_server: SyncServer) -> None:
    """A server without /v1/team (404) does not stop syncs; the names stay as they were."""
    with FaultProxy(sync_server.url) as proxy:
        supervisor = sync_server.device("sup-laptop", "sup1", url=proxy.url)
        proxy.script(Rule(Fault.STATUS, "GET", "/v1/team", times=100, status=404,
                          forward=False))
        assert sync(supervisor).verified
        assert proxy.hits == [1], "asked once, not retried"
        assert staff_rows(supervisor) == []
        proxy.wait_idle()


def test_check_in_names_the_team_and_skips_it_for_an_administrator(
        sync_server: SyncServer) -> None:
    worker = sync_server.device("iw-laptop", "iw1")
    assert check_in(worker)["id"] == "iw1"
    assert dict(names_of(worker).names) == NORTH
    before = staff_rows(worker)
    check_in(worker)
    assert staff_rows(worker) == before

    # An administrator has no team to name (the server refuses them the list): check-in still
    # works and keeps no names.
    add_user(sync_server, "adm", "Ada Admin", "admin", None)
    admin = sync_server.device("adm-laptop", "adm")
    assert check_in(admin)["role"] == "admin"
    assert staff_rows(admin) == []
    assert SOUTH_NAMES and not set(SOUTH_NAMES) & set(names_of(worker).names.values())
