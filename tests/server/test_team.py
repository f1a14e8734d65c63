"""GET /v1/team on the real server: each worker and supervisor gets the people of their own team
by name and role (themselves included), never another team's; someone with no team gets only
themself; an administrator's laptop is refused as on the case routes; a revoked device is told to
wipe. Reading the list changes nothing on the server. Supervisors' capacities (intact or SUD), set
with the command line, are in the list, and an older server's database gains their column.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sync.server.store import ServerStore
from tests.server.conftest import USERS, RunningServer

CALLERS = ("rc1", "iw1", "sup1", "rc2", "sup2", "adm")


@dataclass(frozen=True)
class Tokens:
    by_user: dict[str, str]
    revoked: str
    loner: str  # a recovery coordinator who belongs to no team


@pytest.fixture(scope="module")
def tokens(server: RunningServer) -> Tokens:
    """A device for each caller, one revoked device of sup1's, and a teamless coordinator's."""
    by_user = {user: server.enrol(user, device_name=f"{user} laptop") for user in CALLERS}
    lost = server.enrol_device("sup1", device_name="sup1 stolen laptop")
    server.cli("revoke", lost["device_id"])
    server.cli("user-add", "rc9", "--name", "Nell Nobody", "--role", "recovery coordinator")
    return Tokens(by_user, lost["device_token"], server.enrol("rc9", device_name="rc9 laptop"))


def team_of(user_id: str) -> list[dict[str, str]]:
    """What the server should list for `user_id`: everyone of their team, sorted by id."""
    team = USERS[user_id][2]
    return [{"id": uid, "name": name, "role": role}
            for uid, (name, role, their_team) in sorted(USERS.items()) if their_team == team]


def get_team(server: RunningServer, token: str | None) -> httpx.Response:
    return server.request("GET", "/v1/team", token=token)


@pytest.mark.parametrize("user", ["sup1", "rc1", "iw1", "sup2", "rc2"])
def test_workers_and_supervisors_see_their_own_team_by_name(
        server: RunningServer, tokens: Tokens, user: str) -> None:
    before = server.snapshot()
    response = get_team(server, tokens.by_user[user])
    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed == team_of(user)
    assert user in {p["id"] for p in listed}
    assert server.snapshot() == before, "reading the team changed the server's data"


def test_the_teams_are_as_set_up_and_never_mixed(server: RunningServer, tokens: Tokens) -> None:
    """A control for the expectations above: the two teams are who the conftest says."""
    north = get_team(server, tokens.by_user["sup1"]).json()
    south = get_team(server, tokens.by_user["rc2"]).json()
    assert north == [{"id": "iw1", "name": "Ian Worker", "role": "intact worker"},
                     {"id": "rc1", "name": "Rosa Coordinator", "role": "recovery coordinator"},
                     {"id": "sup1", "name": "Sam Supervisor", "role": "supervisor"}]
    assert {p["id"] for p in south} == {"rc2", "sup2"}
    everyone_else = {"Ruth Coordinator", "Sue Supervisor", "Ada Admin", "Nell Nobody"}
    assert not [name for name in everyone_else
                if name in get_team(server, tokens.by_user["sup1"]).text]


def test_someone_without_a_team_gets_only_themself(server: RunningServer,
                                                   tokens: Tokens) -> None:
    response = get_team(server, tokens.loner)
    assert response.status_code == 200, response.text
    assert response.json() == [{"id": "rc9", "name": "Nell Nobody",
                                "role": "recovery coordinator"}]


def test_an_administrator_is_refused_as_on_the_case_routes(server: RunningServer,
                                                           tokens: Tokens) -> None:
    before = server.snapshot()
    response = get_team(server, tokens.by_user["adm"])
    cases = server.request("GET", "/v1/cases", token=tokens.by_user["adm"])
    assert response.status_code == 403, response.text
    assert response.json() == cases.json()
    assert response.json()["error"] == "forbidden" and response.json()["wipe"] is False
    assert "Ada Admin" not in response.text and "Rosa" not in response.text
    assert server.snapshot() == before


def test_a_revoked_device_is_told_to_wipe(server: RunningServer, tokens: Tokens) -> None:
    before = server.snapshot()
    response = get_team(server, tokens.revoked)
    assert response.status_code == 401, response.text
    body = response.json()
    assert (body["error"], body["wipe"]) == ("device_revoked", True)
    assert "Sam Supervisor" not in response.text
    assert server.snapshot() == before


@pytest.mark.parametrize("token", [None, "not-a-token-this-server-issued"])
def test_no_enrolled_device_no_team(server: RunningServer, token: str | None) -> None:
    response = get_team(server, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "not_enrolled"
    assert "Coordinator" not in response.text


def test_people_without_a_team_are_not_one_team(server: RunningServer, tokens: Tokens) -> None:
    """A supervisor with no team is given no teamless worker's mileage ledger, and a teamless
    worker's ledger has no supervisor in it (the server once read 'no team' as a team)."""
    server.cli("user-add", "sup9", "--name", "Sol Solo", "--role", "supervisor")
    solo = server.enrol("sup9", device_name="sup9 laptop")
    page = server.request("GET", "/v1/sync/pull?since=0", token=solo)
    assert page.status_code == 200, page.text
    assert "ledger:rc9" not in page.json()["scopes"]
    members = server.request("GET", "/v1/cases/ledger:rc9/members", token=tokens.loner)
    assert members.status_code == 200, members.text
    assert [m["user_id"] for m in members.json()] == ["rc9"]


# --- which supervisor is which (co-supervision) ----------------------------------------------


def test_the_team_says_which_supervisor_is_the_intact_and_which_the_sud_one(
        server: RunningServer, tokens: Tokens) -> None:
    """A third team set up with capacities; its coordinator's device (this module's tenth
    enrolment, the server's limit per address and window) reads them. Someone without a
    capacity has no `supervises` key at all, so a laptop older than it still reads the list."""
    server.cli("team-add", "t3", "--name", "West team")
    server.cli("user-add", "sup-i", "--name", "Ida Intact", "--role", "supervisor", "--team",
               "t3", "--supervises", "intact")
    server.cli("user-add", "sup-s", "--name", "Sid Treatment", "--role", "supervisor",
               "--team", "t3", "--supervises", "sud")
    server.cli("user-add", "rc3", "--name", "Ray West", "--role", "recovery coordinator",
               "--team", "t3")
    west = server.enrol("rc3", device_name="rc3 laptop")
    assert get_team(server, west).json() == [
        {"id": "rc3", "name": "Ray West", "role": "recovery coordinator"},
        {"id": "sup-i", "name": "Ida Intact", "role": "supervisor", "supervises": "intact"},
        {"id": "sup-s", "name": "Sid Treatment", "role": "supervisor", "supervises": "SUD"}]

    said = server.cli("user-set-supervises", "sup-s", "none")
    assert "sup-s is now not said to be the intact or the SUD supervisor" in said.stdout
    assert get_team(server, west).json()[2] == {"id": "sup-s", "name": "Sid Treatment",
                                                "role": "supervisor"}
    server.cli("user-set-supervises", "sup-s", "intact")
    assert get_team(server, west).json()[2]["supervises"] == "intact"
    audit = server.cli("audit").stdout
    assert "user-set-supervises" in audit and '{"supervises": "intact"}' in audit
    # The other teams' lists are as they were.
    assert get_team(server, tokens.by_user["sup1"]).json() == team_of("sup1")


@pytest.mark.parametrize(("args", "message"), [
    (("user-add", "rc4", "--name", "Rae", "--role", "recovery coordinator", "--supervises",
      "intact"), "Only a supervisor is the intact or the SUD supervisor."),
    (("user-set-supervises", "rc1", "sud"), "Only a supervisor is the intact or the SUD "
                                            "supervisor."),
    (("user-set-supervises", "nobody", "sud"), "There is no user nobody."),
], ids=["add a worker", "set a worker", "unknown user"])
def test_only_a_supervisor_is_given_a_capacity(server: RunningServer, args: tuple[str, ...],
                                               message: str) -> None:
    before = server.snapshot()
    refused = server.cli(*args, check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip() == message
    assert server.snapshot() == before


def test_an_older_servers_database_gains_the_supervises_column(tmp_path: Path) -> None:
    """A data folder made before co-supervision: `CREATE TABLE IF NOT EXISTS` keeps its users
    table, so the column is added when the store opens it (and only once)."""
    path = tmp_path / "server.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
    old.execute("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT "
                "NULL, team_id TEXT REFERENCES teams (id), public_key TEXT, "
                "wrapped_private_key TEXT, created_at TEXT NOT NULL)")
    old.execute("INSERT INTO users VALUES ('sup1', 'Sam', 'supervisor', NULL, NULL, NULL, "
                "'2026-01-01')")
    old.commit()
    old.close()
    store = ServerStore(tmp_path)
    try:
        before = store.user("sup1")
        assert before is not None and before.supervises is None
        store.set_supervises("sup1", "SUD")
    finally:
        store.close()
    again = ServerStore(tmp_path)  # opening it a second time adds nothing and loses nothing
    try:
        after = again.user("sup1")
        assert after is not None and after.supervises == "SUD"
    finally:
        again.close()
    check = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):  # the column's CHECK holds too
        check.execute("UPDATE users SET supervises = 'both' WHERE id = 'sup1'")
    check.close()
