"""Joining a program's server with a one-time code, and checking in with it afterwards.

The calls go through the one client (`sync/client/http.py`); what is kept on this laptop (the
key pair, the credential, the program's rules, the team's names, the wipe order) is the
enrolment service's (`fieldapp/services/enrolment.py`).

Thread rule: the database worker (or the command line's only thread); the calls block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import TypeAdapter

from fieldapp.crypto.identity import new_recovery_code
from fieldapp.domain.people import Role, UserId
from fieldapp.services import enrolment
from fieldapp.services.directory import StaffMember, remember_staff
from fieldapp.services.enrolment import DeviceRevoked, Enrolment
from fieldapp.services.session import Session
from sync import protocol as wire
from sync.client.http import ServerClient, Transport, enrolled_client

# The shapes of answers that have no model of their own: checked like every other answer, so a
# 200 that is not the protocol (a captive portal, a broken proxy) is reported as the server not
# answering properly, instead of failing somewhere after it.
JSON_OBJECT = TypeAdapter(dict[str, Any])
TEAM = TypeAdapter(list[wire.StaffInfo])


def ask_to_join(session: Session, *, server_url: str, code: str, device_name: str,
                verify: bool | str = True, transport: Transport | None = None
                ) -> enrolment.Admission:
    """Spend the one-time code: the server's answer, held in memory (nothing is stored yet).
    The key pair sent is wrapped under a new recovery code, shown to the person only if this
    is their first enrolment (`enrolment.store_enrolment` says)."""
    identity = enrolment.applicant(session)
    recovery_code = new_recovery_code()
    body = enrolment.enrol_request(identity, code=code, recovery_code=recovery_code,
                                   device_name=device_name)
    with ServerClient(server_url, verify=verify, transport=transport) as server:
        answer = server.call("POST", "/v1/enrol", json=body, model=JSON_OBJECT)
    return enrolment.Admission(answer=answer, identity=identity, new_code=recovery_code,
                               server_url=server_url, verify=verify)


def enrol(session: Session, *, server_url: str, code: str, device_name: str,
          recovery_code: str = "", verify: bool | str = True,
          transport: Transport | None = None) -> Enrolment:
    """Enrol this open profile with a code; the user's key pair is made here or, on a
    replacement laptop, recovered with `recovery_code`. One try: a person who may mistype the
    recovery code is asked again with `ask_to_join` then `enrolment.store_enrolment`."""
    admission = ask_to_join(session, server_url=server_url, code=code, device_name=device_name,
                            verify=verify, transport=transport)
    return enrolment.store_enrolment(session, admission, recovery_code=recovery_code)


def check_in(session: Session, *, transport: Transport | None = None) -> dict[str, Any]:
    """Ask the server who we are, and refresh the program's rules and the team's names; a
    revoked device wipes its profile and says so."""
    enrolled = enrolment.require_enrolment(session)
    with wiped_if_revoked(session), enrolled_client(enrolled, transport=transport) as server:
        me: dict[str, Any] = server.call("GET", "/v1/me", model=JSON_OBJECT)
        enrolment.adopt_program(session, server.call("GET", "/v1/program", model=JSON_OBJECT))
        if me.get("role") != Role.ADMIN:  # an administrator has no team to name in reports
            remember_team(session, server.call("GET", "/v1/team", model=TEAM))
    return me


def remember_team(session: Session, team: list[wire.StaffInfo]) -> bool:
    """Keep the team's names for reports and the supervisors' capacities (sealed); writes
    only when the list changed."""
    return remember_staff(session.workspace(), [
        StaffMember(user_id=UserId(p.id), name=p.name, role=p.role, supervises=p.supervises)
        for p in team])


@contextmanager
def wiped_if_revoked(session: Session, *, db: Callable[[Callable[[], None]], Any] | None = None
                     ) -> Iterator[None]:
    """Obey the server's wipe order if a call inside says this device was revoked; `db` runs
    the lock on the database worker when the calls are made from another."""
    try:
        yield
    except DeviceRevoked:
        enrolment.obey_wipe(session, db=db)
        raise
