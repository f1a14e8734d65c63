"""GET /v1/team on the real server: each worker and supervisor gets the people of their own team
by name and role (themselves included), never another team's; someone with no team gets only
themself; an administrator's laptop is refused as on the case routes; a revoked device is told to
wipe. Reading the list changes nothing on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

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
