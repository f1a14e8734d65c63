"""A server that lies (issue 19): a real `fieldapp-server` process whose database the test edits
between syncs, as an attacker with write access to it would, against honest laptops enrolled
with one-time codes.

After each attack every honest laptop (a) refuses what does not verify and does not apply it,
(b) tells its person (the document is set aside, said under Needs attention, counted in the
sync's report), (c) seals no key to a key it has not verified, (d) keeps every record it had,
as its services show them, and (e) syncs everything else: a note written meanwhile on another
case arrives in the same sync.

The team (tests/sync/conftest.py): supervisor sup1 opened families A (Alder) and C (Cedar), both
with coordinator rc1 and intact worker iw1. rc1 signed a note in A; iw1 signed one that sup1
returned; sup1 changed A's visits per week from 2 to 3. rc1 has a second laptop (its "phone")
that writes the note on C that must still arrive everywhere.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import uuid
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldapp.crypto.identity import Identity, seal_key
from fieldapp.domain.cases import Case
from fieldapp.domain.errors import KeyFileDamaged
from fieldapp.domain.people import NoteId
from fieldapp.domain.visits import ContactType, NoteStatus, VisitNote
from fieldapp.services import case_keys, enrolment
from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from sync.client.engine import SyncReport, replica_of
from sync.client.enrol import enrol
from sync.client.sealing import payload_hash, seal_for_wire
from tests.conftest import PASSPHRASE, FakeClock
from tests.services.records_helpers import services_of, visit_details
from tests.sync.conftest import SyncServer, sync
from tests.sync.tamper import (
    body_of,
    columns,
    head,
    history,
    next_seq,
    publish,
    server_db,
    write_row,
)
from tests.sync.test_end_to_end import family

HONEST = ("sup1", "rc1", "iw1")
Holdings = dict[tuple[str, str], tuple[Any, ...]]


def garbage_signature() -> str:
    return base64.urlsafe_b64encode(os.urandom(64)).decode()


@dataclass
class Team:
    """The honest laptops, what they hold, and the server they sync with."""

    server: SyncServer
    laptops: dict[str, Session]
    phone: Session
    a: Case
    c: Case
    signed: VisitNote      # rc1's, in A
    returned: VisitNote    # iw1's, in A, returned by sup1
    recovery_codes: dict[str, str]

    def holdings(self) -> dict[str, Holdings]:
        return {name: holdings(session, self.a, self.c) for name, session in
                self.laptops.items()}

    def copies(self) -> set[tuple[str, int, str, str]]:
        return {(str(c), int(v), str(u), str(k)) for c, v, u, k in self.server.sql(
            "SELECT case_id, version, user_id, wrapped_key FROM case_keys")}

    def spare(self, name: str, user_id: str) -> Session:
        """Another laptop of `user_id`'s, enrolled with a new one-time code and their
        recovery code."""
        return laptop(self.server, name, user_id, self.recovery_codes)

    def fresh_note(self) -> NoteId:
        """rc1's phone writes and signs a note on family C and sends it."""
        notes = services_of(self.phone).notes
        note = notes.sign(notes.start_draft(self.c.id, visit_details(
            narrative="Written while the server was lying.")).id)
        sync(self.phone)
        assert self.server.sql("SELECT author FROM records WHERE record_id = ?",
                               str(note.id)) == [("rc1",)]
        return note.id

    def sync_all(self) -> dict[str, SyncReport]:
        return {name: sync(session) for name, session in self.laptops.items()}


def laptop(sync_server: SyncServer, name: str, user_id: str, recovery_codes: dict[str, str]
           ) -> Session:
    """A profile enrolled as `user_id` with a one-time code (and, on their second laptop, the
    recovery code their first one was given)."""
    session = Session(ProfilePaths(sync_server.tmp / name), clock=FakeClock())
    session.create(PASSPHRASE)
    joined = enrol(session, server_url=sync_server.url, code=sync_server.code(user_id),
                   device_name=name, recovery_code=recovery_codes.get(user_id, ""))
    recovery_codes.setdefault(user_id, joined.recovery_code)
    sync_server.sessions.append(session)
    return session


def honest_team(sync_server: SyncServer) -> Team:
    codes: dict[str, str] = {}
    laptops = {name: laptop(sync_server, f"{name}-laptop", name, codes) for name in HONEST}
    phone = laptop(sync_server, "rc1-phone", "rc1", codes)
    sup1, rc1, iw1 = (laptops[n] for n in HONEST)
    a = services_of(sup1).cases.open_case(family(name="Alder"))
    c = services_of(sup1).cases.open_case(family(name="Cedar"))
    assert sync(sup1).verified
    for session in (rc1, iw1, phone):
        assert sync(session).verified
    notes = services_of(rc1).notes
    signed = notes.sign(notes.start_draft(a.id, visit_details()).id)
    notes = services_of(iw1).notes
    returned = notes.sign(notes.start_draft(a.id, visit_details(
        contact_type=ContactType.PHONE)).id)
    for session in (rc1, iw1, sup1):
        assert sync(session).verified
    returned = services_of(sup1).notes.return_note(returned.id, comment="Add the safety plan.")
    services_of(sup1).cases.update_case(replace(services_of(sup1).cases.get(a.id),
                                                visits_per_week=3))
    for session in (sup1, rc1, iw1, phone):
        assert sync(session).verified
    team = Team(sync_server, laptops, phone, a, c, signed, returned, codes)
    for session in laptops.values():  # what this harness relies on
        assert services_of(session).notes.get(returned.id).status is NoteStatus.RETURNED
        assert services_of(session).cases.get(a.id).visits_per_week == 3
    return team


def holdings(session: Session, *cases: Case) -> Holdings:
    """What the laptop's person sees of the families, through the services."""
    services = services_of(session)
    found: Holdings = {}
    for case in cases:
        held = services.cases.get(case.id)
        found[("case", str(case.id))] = (held.family_name, held.status, held.visits_per_week,
                                         held.coordinator_id, held.intact_worker_id)
        for note in services.notes.for_case(case.id):
            found[("note", str(note.id))] = (
                note.case_id, note.author, note.details.visit_date, note.details.contact_type,
                note.details.narrative, note.status,
                tuple((r.reviewer, r.cosigned) for r in note.reviews),
                tuple(a.text for a in note.addenda))
    return found


def set_aside(session: Session) -> set[tuple[str, str]]:
    """(table, record id) of what the laptop set aside as failing its checks."""
    return {(str(d["table"]), str(d["record_id"])) for d in replica_of(session).set_aside()
            if d.get("kind", "unverified") == "unverified"}


def check_honest(team: Team, before: dict[str, Holdings], reports: dict[str, SyncReport],
                 fresh: NoteId, *, refused: dict[str, set[tuple[str, str]]],
                 copies: set[tuple[str, int, str, str]], written: tuple[NoteId, ...] = ()
                 ) -> None:
    """(a)-(e) for every honest laptop; `refused`: what each must have set aside; `written`:
    notes honest people wrote since `before` (nothing else may have been filed)."""
    identities = {name: enrolment.identity_of(s) for name, s in team.laptops.items()}
    for case_id, version, user_id, wrapped in team.copies() - copies:
        # (c) every copy uploaded since the attack opens with its member's real key
        identity = identities[user_id]
        assert identity is not None
        identity.open_key(wrapped, case_id=case_id, version=version, user_id=user_id)
    for name, session in team.laptops.items():
        now = holdings(session, team.a, team.c)
        assert ("note", str(fresh)) in now, f"{name}: the rest of the sync stopped"  # (e)
        kept = {k: v for k, v in now.items() if k in before[name]}
        assert kept == before[name], f"{name}: a record it had was changed or lost"  # (a), (d)
        arrived = set(now) - set(before[name]) - {("note", str(fresh))}
        assert arrived == {("note", str(n)) for n in written}, f"{name}: filed {arrived}"  # (a)
        aside = set_aside(session)
        assert refused.get(name, set()) <= aside, f"{name}: not told"  # (b)
        assert reports[name].set_aside >= len(refused.get(name, set()))


def open_copies(rows: list[tuple[Any, ...]], identity: Identity, user_id: str) -> list[int]:
    """The versions among `rows` (case_id, version, wrapped_key) that open with `identity`."""
    opened = []
    for case_id, version, wrapped in rows:
        try:
            identity.open_key(wrapped, case_id=case_id, version=version, user_id=user_id)
        except KeyFileDamaged:
            continue
        opened.append(int(version))
    return opened


# -- 1. a member's public key swapped for the attacker's ------------------------------------------

def test_a_swapped_key_gets_no_copy_and_shows_as_changed(sync_server: SyncServer) -> None:
    """The server hands out its own key pair as iw1's and deletes iw1's copies: the laptops
    that hold the families' keys (asked by the server to share them again) seal nothing to
    the new key, and show iw1's key as changed, waiting for their person's decision."""
    team = honest_team(sync_server)
    before = team.holdings()
    attacker = Identity.generate()
    attacker_signing = base64.urlsafe_b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()
    with server_db(sync_server.data_dir) as db:
        db.execute("UPDATE users SET public_key = ? WHERE id = 'iw1'", [attacker.public_key])
        if "signing_key" in columns(db, "users"):
            db.execute("UPDATE users SET signing_key = ? WHERE id = 'iw1'", [attacker_signing])
        db.execute("DELETE FROM case_keys WHERE user_id = 'iw1'")
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    again = sync(team.laptops["rc1"])  # and the coordinator's next sync once more

    to_iw1 = sync_server.sql("SELECT case_id, version, wrapped_key FROM case_keys WHERE "
                             "user_id = 'iw1'")
    assert open_copies(to_iw1, attacker, "iw1") == [], "a key was sealed to the attacker"
    assert to_iw1 == []
    assert again.verified
    check_honest(team, before, reports, fresh, refused={}, copies=copies)
    from sync.client.pins import Pins  # noqa: PLC0415 - new with signing (see the report)

    for name in ("sup1", "rc1"):
        vault, _ = team.laptops[name].vault().open_parts()
        [changed] = Pins(vault, now="").changed()
        assert (changed.user_id, changed.offered_public) == ("iw1", attacker.public_key)


# -- 2. key copies deleted, and the server's own version planted ---------------------------------

def a_signed_note(team: Team, db: sqlite3.Connection) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plain columns and the body of rc1's signed note in A (opened with rc1's key here,
    only so that what is planted has the shape of a real note)."""
    row = head(db, "visit_notes", str(team.signed.id))
    key = case_keys.case_keys(team.laptops["rc1"])[(str(team.a.id), int(row["key_version"]))]
    return json.loads(row["plain"]), body_of(row, key)


def plant_version(team: Team, scope: str) -> tuple[int, bytes, str]:
    """Delete every copy of `scope`'s key; plant the next version, of the attacker's making,
    sealed to every member's real public key in sup1's name (a signature the attacker cannot
    make), and a note by rc1 sealed under it so laptops go and fetch it. Returns the version,
    the planted key and the note's id."""
    planted = os.urandom(32)
    note_id = f"planted-{uuid.uuid4().hex[:8]}"
    with server_db(team.server.data_dir) as db:
        version = int(db.execute("SELECT max(version) FROM case_keys WHERE case_id = ?",
                                 [scope]).fetchone()[0]) + 1
        db.execute("DELETE FROM case_keys WHERE case_id = ?", [scope])
        for user_id, public_key in db.execute("SELECT id, public_key FROM users WHERE id IN "
                                              "('sup1', 'rc1', 'iw1')").fetchall():
            write_row(db, "case_keys", {
                "case_id": scope, "version": version, "user_id": user_id,
                "wrapped_key": seal_key(planted, to_public_key=public_key, case_id=scope,
                                        version=version, user_id=user_id),
                "signer": "sup1", "signature": garbage_signature()})
        op_id = uuid.uuid4().hex
        plain, body = a_signed_note(team, db)
        body["narrative"] = "Planted by the server."
        write_row(db, "records", {
            "tbl": "visit_notes", "record_id": note_id, "scope": scope, "rev": 1,
            "seq": next_seq(db), "op_id": op_id, "author": "rc1", "deleted": 0,
            "plain": json.dumps(plain, sort_keys=True), "key_version": version,
            "sealed": seal_for_wire(planted, scope=scope, version=version,
                                    table="visit_notes", record_id=note_id, op_id=op_id,
                                    content=body),
            "payload_hash": payload_hash(planted, {"plain": plain, "body": body}),
            "signature": garbage_signature()})
    return version, planted, note_id


def test_a_planted_key_version_is_never_used(sync_server: SyncServer) -> None:
    """The server deletes family A's key copies and plants a version of its own making (sealed
    to every member's real key, so it opens): no laptop takes it, each says so, the note
    planted under it is set aside, and what rc1 writes next is sealed under the version the
    team made, not one the attacker can read."""
    team = honest_team(sync_server)
    before = team.holdings()
    assert sync_server.sql("SELECT DISTINCT version FROM case_keys WHERE case_id = ?",
                           team.a.id) == [(1,)]
    version, _, note_id = plant_version(team, team.a.id)
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies, refused={
        name: {("visit_notes", note_id)} for name in HONEST})
    # Each person's first laptop to meet the version sets it aside, says so and refuses their
    # copy on the server (so an honest holder could seal it again); their other laptops then
    # find no copy to take. Every laptop sets the planted note aside (check_honest).
    said = {name: [(k["scope"], k["version"]) for k in replica_of(session).keys_set_aside()]
            for name, session in team.laptops.items()}
    assert all(v in ([], [(team.a.id, version)]) for v in said.values()), said
    assert {name.split("-")[0] for name, v in said.items() if v} >= {"sup1", "iw1"}, said
    assert sync_server.sql("SELECT user_id FROM case_keys WHERE case_id = ? AND version = ?",
                           team.a.id, version) == []

    notes = services_of(team.laptops["rc1"]).notes
    written = notes.sign(notes.start_draft(team.a.id, visit_details(
        narrative="Written after the key was planted.")).id)
    assert sync(team.laptops["rc1"]).pushed == 1
    assert sync_server.sql("SELECT key_version FROM records WHERE record_id = ?",
                           str(written.id)) == [(1,)], "sealed under the attacker's version"


# -- 3. plain columns of a signed note edited --------------------------------------------------

def newcomer(team: Team) -> Session:
    """A laptop that joins after the attack: sup1's spare, enrolled with a new one-time code."""
    spare = team.spare("sup1-spare", "sup1")
    sync(spare)
    return spare


def test_an_edited_signed_note_is_refused(sync_server: SyncServer) -> None:
    """The server changes the author, the visit date and the contact type of rc1's signed note
    and serves it as its next revision: the laptops that have it keep it as signed, a laptop
    that joins afterwards does not file it, and every one of them says so."""
    team = honest_team(sync_server)
    before = team.holdings()
    note = ("visit_notes", str(team.signed.id))
    with server_db(sync_server.data_dir) as db:
        row = head(db, *note)
        publish(db, row, rev=row["rev"] + 1, plain={
            "author": "iw1", "visit_date": "2026-11-01", "contact_type": "phone"})
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies,
                 refused={name: {note} for name in HONEST})
    spare = newcomer(team)
    assert ("note", str(team.signed.id)) not in holdings(spare, team.a, team.c)
    assert note in set_aside(spare)
    assert ("note", str(fresh)) in holdings(spare, team.a, team.c)


# -- 4. a returned note's review flipped to a co-signature ---------------------------------------

def test_a_return_flipped_to_a_cosignature_is_refused(sync_server: SyncServer) -> None:
    """The server turns sup1's return of iw1's note into a co-signature: no laptop counts the
    note as co-signed, and each says so."""
    team = honest_team(sync_server)
    before = team.holdings()
    [(review_id,)] = sync_server.sql(
        "SELECT record_id FROM records WHERE tbl = 'note_reviews' AND "
        "json_extract(plain, '$.note_id') = ?", str(team.returned.id))
    review = ("note_reviews", str(review_id))
    with server_db(sync_server.data_dir) as db:
        row = head(db, *review)
        # The verdict travels sealed, but a laptop files a review's plain columns as given.
        publish(db, row, rev=row["rev"] + 1, plain={"cosigned": 1})
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies,
                 refused={name: {review} for name in HONEST})
    spare = newcomer(team)
    assert services_of(spare).notes.get(team.returned.id).status is not NoteStatus.COSIGNED
    assert review in set_aside(spare)


# -- 5. a record rolled back to an earlier revision -------------------------------------------

def roll_back_case(team: Team) -> tuple[str, str]:
    """Serve family A's first revision (2 visits a week) again as its head, as it was."""
    case = ("cases", str(team.a.id))
    with server_db(team.server.data_dir) as db:
        current = head(db, *case)
        assert current["rev"] == 2
        publish(db, {**history(db, *case, 1), "scope": current["scope"]})
    return case


def test_a_record_rolled_back_is_refused(sync_server: SyncServer) -> None:
    """The server serves family A as it was before sup1 changed it: rc1's and iw1's laptops
    keep 3 visits a week and say so; sup1's laptop, whose change it was, keeps it too (it
    takes the server for one restored from a backup and sends its change again)."""
    team = honest_team(sync_server)
    before = team.holdings()
    case = roll_back_case(team)
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies,
                 refused={"rc1": {case}, "iw1": {case}})
    assert replica_of(team.laptops["sup1"]).waiting() == 1, "sup1's change goes up again"


def test_after_a_rollback_the_authors_laptop_still_syncs(sync_server: SyncServer) -> None:
    """Once the rolled-back record is sent again, every laptop syncs on as before."""
    team = honest_team(sync_server)
    roll_back_case(team)
    team.sync_all()
    fresh = team.fresh_note()
    for name, session in team.laptops.items():
        sync(session)
        assert ("note", str(fresh)) in holdings(session, team.a, team.c), name
    assert team.server.sql("SELECT author, rev FROM records WHERE tbl = 'cases' AND "
                           "record_id = ?", str(team.a.id)) == [("sup1", 3)]
    newcomer_laptop = newcomer(team)  # reads the head as the server now serves it
    assert services_of(newcomer_laptop).cases.get(team.a.id).visits_per_week == 3, \
        "sup1's laptop put its change back"


# -- 6. an old op replayed as a new revision ---------------------------------------------------

def test_an_old_change_replayed_as_new_is_refused(sync_server: SyncServer) -> None:
    """The server serves family A's first change again as its newest revision: every laptop,
    sup1's (whose change it was) too, keeps 3 visits a week and says so."""
    team = honest_team(sync_server)
    before = team.holdings()
    case = ("cases", str(team.a.id))
    with server_db(sync_server.data_dir) as db:
        current = head(db, *case)
        publish(db, {**history(db, *case, 1), "scope": current["scope"]},
                rev=current["rev"] + 1)
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies,
                 refused={name: {case} for name in HONEST})


# -- 7. pulls reordered -----------------------------------------------------------------------

def test_a_child_served_before_its_parent_still_lands(sync_server: SyncServer) -> None:
    """rc1 signs a new note in family A and adds an addendum; the server serves the addendum
    first: every laptop ends with the note and its addendum, nothing lost or set aside."""
    team = honest_team(sync_server)
    before = team.holdings()
    notes = services_of(team.laptops["rc1"]).notes
    note = notes.sign(notes.start_draft(team.a.id, visit_details(
        narrative="The parent.")).id)
    notes.add_addendum(note.id, reason="correction", text="The child.")
    assert sync(team.laptops["rc1"]).pushed == 2
    with server_db(sync_server.data_dir) as db:
        parent = head(db, "visit_notes", str(note.id))["seq"]
        [(child,)] = db.execute(
            "SELECT seq FROM records WHERE tbl = 'addenda' AND "
            "json_extract(plain, '$.note_id') = ?", [str(note.id)]).fetchall()
        assert child > parent
        db.execute("UPDATE records SET seq = -1 WHERE seq = ?", [child])
        db.execute("UPDATE records SET seq = ? WHERE seq = ?", [child, parent])
        db.execute("UPDATE records SET seq = ? WHERE seq = -1", [parent])
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies, refused={}, written=(note.id,))
    for name, session in team.laptops.items():
        held = services_of(session).notes.get(note.id)
        assert [a.text for a in held.addenda] == ["The child."], name
        assert not set_aside(session), name
    for session in team.laptops.values():
        assert sync(session).verified


# -- 8. a record dropped -----------------------------------------------------------------------

def test_a_dropped_record_is_kept_and_the_mismatch_reported(sync_server: SyncServer) -> None:
    """The server deletes every trace of iw1's returned note: every laptop keeps it, each
    finds the digest does not match (its report says a repair was needed), and iw1's laptop,
    whose note it is, sends it again."""
    team = honest_team(sync_server)
    before = team.holdings()
    with server_db(sync_server.data_dir) as db:
        for table in ("records", "record_history"):  # every trace of it
            db.execute(f"DELETE FROM {table} WHERE tbl = 'visit_notes' AND "  # noqa: S608
                       "record_id = ?", [str(team.returned.id)])
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies, refused={})
    for name, report in reports.items():
        assert report.repaired >= 0, f"{name}: the mismatch was accepted silently"
    assert reports["iw1"].repaired == 1
    assert sync_server.sql("SELECT author FROM records WHERE tbl = 'visit_notes' AND "
                           "record_id = ?", str(team.returned.id)) == [("iw1",)]


# -- 9. a change in the name of a person the server made up -----------------------------------

def test_a_deletion_by_a_made_up_person_removes_nothing(sync_server: SyncServer) -> None:
    """The server adds a person of its own (keys it holds) and serves, in their name and
    signed with their key, the deletion of iw1's draft in family A. Nobody but the draft's
    author may delete it: every laptop, iw1's too, keeps it."""
    from sync import protocol as wire  # noqa: PLC0415 - op_statement is new with signing

    team = honest_team(sync_server)
    notes = services_of(team.laptops["iw1"]).notes
    draft = notes.start_draft(team.a.id, visit_details(narrative="Half written."))
    for name in ("iw1", "sup1", "rc1"):
        assert sync(team.laptops[name]).verified
    before = team.holdings()
    assert all(("note", str(draft.id)) in held for held in before.values())
    ghost = Identity.generate()
    with server_db(sync_server.data_dir) as db:
        write_row(db, "users", {"id": "ghost", "name": "Nobody", "role": "recovery coordinator",
                                "team_id": None, "public_key": ghost.public_key,
                                "signing_key": ghost.signing_key,
                                "created_at": "2026-11-24T09:00:00+00:00"})
        row = head(db, "visit_notes", str(draft.id))
        op_id = uuid.uuid4().hex
        signature = ghost.sign(wire.op_statement(
            "ghost", op_id=op_id, table="visit_notes", record_id=str(draft.id),
            scope=row["scope"], base_rev=row["rev"], deleted=True, plain={},
            key_version=None, sealed=None, payload_hash="0" * 64))
        publish(db, row, rev=row["rev"] + 1, op_id=op_id, author="ghost", deleted=1,
                sealed=None, key_version=None, base_rev=row["rev"], payload_hash="0" * 64,
                signature=signature, stamp=row["plain"])
    copies = team.copies()

    fresh = team.fresh_note()
    reports = team.sync_all()
    check_honest(team, before, reports, fresh, copies=copies,
                 refused={name: {("visit_notes", str(draft.id))} for name in HONEST})
