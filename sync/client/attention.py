"""What needs a person's attention after a sync, in plain words: conflicts (both versions side by
side), copies kept for review, changes the server refused, documents and keys set aside, and
colleagues whose key changed; and the decisions about colleagues' keys (accept a new key, mark a
key compared), each written to the audit log.

Thread rule: `read_attention` runs on the database worker (through the task runner); the rest is
plain data for the dialog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from fieldapp.domain.audit import Action
from fieldapp.domain.clock import iso
from fieldapp.domain.errors import KnownError, RuleViolation
from fieldapp.domain.formats import day_text, month_text, time_text
from fieldapp.domain.kinds import KINDS
from fieldapp.domain.people import CaseId, NoteId, TripId, UserId
from fieldapp.services import enrolment
from fieldapp.services.casework import CaseService
from fieldapp.services.directory import directory
from fieldapp.services.kept import KeptItem, kept_of, sentence
from fieldapp.services.mileage import MileageService
from fieldapp.services.notes import NoteService
from fieldapp.services.session import Session
from fieldapp.services.workspace import Workspace
from sync import protocol as wire
from sync.client import rekey
from sync.client.engine import replica_of
from sync.client.pins import Pin, Pins

Fields = list[tuple[str, str]]
THINGS = {kind.table: kind.thing for kind in KINDS}


@dataclass(frozen=True)
class AttentionItem:
    """One thing to look at.

    Attributes:
        kind: "conflict" (open: choose a version), "kept" (a copy kept for review),
            "refused" (the server refused a change), "set aside" (a record from the server
            that names another case than the one it came under: never filed), "unverified"
            (a record from the server that fails its author's signature or is older than
            what this laptop has: not applied), "key" (a version of a case's key shared
            with this user that does not open) or "person" (the server offers a colleague
            key this laptop does not trust: accept it, or leave it), or "kept for you" (work of
            this person's kept, sealed, after its case left this laptop: export or discard it).
        key: the conflict's id, the refused change's op id, or the colleague's user id.
        table: the record's table; `thing` says it in words ("visit note").
        title: which record, in words ("Visit note of 24 Nov 2026, Alder family").
        reason: why it needs attention, as the server said it.
        mine, theirs: the record's fields on this laptop and on the other side; None when
            that side has nothing (deleted, or a refused change has no other side).
    """

    kind: str
    key: str
    table: str
    thing: str
    title: str
    reason: str
    mine: Fields | None
    theirs: Fields | None


def read_attention(session: Session) -> list[AttentionItem]:
    """Open conflicts, kept copies and refused changes, oldest first; then what was set aside,
    and colleagues whose key changed (database worker)."""
    replica, ws = replica_of(session), session.workspace()
    items = []
    for conflict in replica.conflicts():
        sides = replica.conflict_sides(str(conflict["id"]))
        table = str(sides["table"])
        mine = _flat(sides["mine"])
        if mine is None and sides["state"] == "kept":
            mine = _local(ws, table, str(sides["record_id"]))  # mine stood: it is here
        theirs = _flat(sides["theirs"])
        items.append(AttentionItem(
            kind="conflict" if sides["state"] == "open" else "kept", key=str(sides["id"]),
            table=table, thing=THINGS.get(table, "record"),
            title=_title(ws, table, mine or theirs or {}, str(sides["record_id"])),
            reason=str(sides["reason"]), mine=_fields(table, mine),
            theirs=_fields(table, theirs)))
    for problem in replica.problems():
        table, record_id = str(problem["table"]), str(problem["record_id"])
        mine = _local(ws, table, record_id)
        items.append(AttentionItem(
            kind="refused", key=str(problem["op_id"]), table=table,
            thing=THINGS.get(table, "record"), title=_title(ws, table, mine or {}, record_id),
            reason=str(problem["reason"]), mine=_fields(table, mine), theirs=None))
    for doc in replica.set_aside():
        table = str(doc["table"])
        thing = THINGS.get(table, "record")
        if doc.get("kind") == "unverified":
            items.append(AttentionItem(
                kind="unverified", key=f"{table}/{doc['record_id']}", table=table, thing=thing,
                title=_aside_title(ws, table, doc["scope"]),
                reason=f"It was not applied. {doc['reason']}", mine=None, theirs=None))
            continue
        items.append(AttentionItem(
            kind="set aside", key=f"{table}/{doc['record_id']}", table=table, thing=thing,
            title=f"A {thing} sent under the case{_family(ws, doc['scope'])}",
            reason=f"{doc['reason']} It was not filed anywhere.", mine=None, theirs=None))
    for aside in replica.keys_set_aside():
        scope, version = str(aside["scope"]), int(aside["version"])
        where = "your mileage" if scope.startswith(wire.LEDGER_PREFIX) else \
            f"the case{_family(ws, scope)}"
        items.append(AttentionItem(
            kind="key", key=f"{scope}#{version}", table="", thing="key",
            title=f"Version {version} of the key to {where}",
            reason="It was shared with you but does not open with your key: damaged, or not "
                   "made for you. What was sealed under it waits unread; everything else "
                   "syncs.", mine=None, theirs=None))
    items.extend(_own_keys(session, replica))
    items.extend(_changed_keys(ws))
    items.extend(_kept_for_you(session))
    return items


# -- this person's own keys, replaced (sync/client/rekey.py) -------------------------------------

NEW_RECOVERY_CODE = "new recovery code"
KEYS_ELSEWHERE = "keys replaced elsewhere"


def _own_keys(session: Session, replica: Any) -> list[AttentionItem]:
    """The recovery code of keys replaced here, until the person has it; or, on a laptop whose
    keys another replaced, that it waits for that code."""
    items = []
    new = enrolment.new_recovery_code_of(session)
    if new is not None:
        why = new.get("reason") or "they had to be replaced"
        items.append(AttentionItem(
            kind=NEW_RECOVERY_CODE, key=NEW_RECOVERY_CODE, table="", thing="key",
            title="Your keys were replaced: write down your new recovery code",
            reason=(f"This laptop made new keys for you because {why}; every family you work "
                    "with moved to a new key, so the lost keys open nothing written from now "
                    "on. Your old recovery code no longer opens anything. Show the new one, "
                    "write it down or print it, and enter it on your other laptops (Settings, "
                    "Take up new keys). FieldApp forgets it once you say you have it."),
            mine=None, theirs=None))
    if replica.state(rekey.ELSEWHERE_STATE, "") == "1":
        items.append(AttentionItem(
            kind=KEYS_ELSEWHERE, key=KEYS_ELSEWHERE, table="", thing="key",
            title="Your keys were replaced on another laptop",
            reason=rekey.REPLACED_ELSEWHERE, mine=None, theirs=None))
    return items


# -- work kept for its author (fieldapp/services/kept.py) ----------------------------------------

KEPT_FOR_YOU = "kept for you"  # the kind: "kept" is a conflict's copy kept for review
KEPT_REASON = (
    "These are your changes to records of a case (or a mileage ledger) that is no longer "
    "yours, which were not settled when it left this laptop: the server refused them, or they "
    "were in conflict. Nothing was lost: they are kept sealed on this laptop, for you alone, "
    "and never sent. Exporting writes them to a file that is NOT encrypted: save it somewhere "
    "safe, and delete it once you no longer need it.")


def _kept_for_you(session: Session) -> list[AttentionItem]:
    """One item for all the work kept for this person, if any: what each is and why it was
    kept (never its case or its content)."""
    kept = kept_of(session).items()
    if not kept:
        return []
    return [AttentionItem(
        kind=KEPT_FOR_YOU, key=KEPT_FOR_YOU, table="", thing="change", title=sentence(kept),
        reason=KEPT_REASON, mine=[(_kept_label(n, i), i.why) for n, i in enumerate(kept, 1)],
        theirs=None)]


def _kept_label(number: int, item: KeptItem) -> str:
    kept_on = day_words(item.kept_at) if item.kept_at else ""
    return f"{number}. {item.thing.capitalize()}{', kept ' + kept_on if kept_on else ''}"


def _aside_title(ws: Workspace, table: str, scope: object) -> str:
    """'Alder family' for a case's own record, 'A visit note under the case, Alder family'."""
    family = _family(ws, scope)
    if table == "cases":
        return family.removeprefix(", ").capitalize() or "A family's case"
    return f"A {THINGS.get(table, 'record')} under the case{family}"


# -- colleagues' keys (sync/client/pins.py) ------------------------------------------------------

def _changed_keys(ws: Workspace) -> list[AttentionItem]:
    names, zone = directory(ws).names, ws.settings.zone
    items = []
    for pin in Pins(ws.db, now=iso(ws.now())).changed():
        name = names.get(UserId(pin.user_id)) or pin.user_id
        items.append(AttentionItem(
            kind="person", key=pin.user_id, table="", thing="key", title=f"{name}'s key changed",
            reason=(f"The server now gives a different key for {name}. It can mean {name} set "
                    "up a new laptop with a new key, or that their keys were replaced because "
                    "a laptop of theirs was revoked, or that someone is trying to read the "
                    "families' records in their name. Until you decide, nothing new is shared "
                    f"with {name} and what they sign is set aside, not applied."),
            mine=[("Fingerprint", pin.fingerprint),
                  ("Since", local_day(pin.verified_at or pin.pinned_at, zone))],
            theirs=[("Fingerprint", pin.offered_fingerprint or ""),
                    ("Since", local_day(pin.offered_at, zone))]))
    return items


def local_day(stamp: str | None, zone: tzinfo) -> str:
    """A stored UTC stamp as its day in the program's zone ('24 Nov 2026'); '' for none."""
    if not stamp:
        return ""
    return day_text(datetime.fromisoformat(stamp).astimezone(zone).date())


def accept_key(session: Session, *, user_id: str, fingerprint: str) -> Pin:
    """The person compared `fingerprint`, the new key's, with its owner: the new key is trusted
    from now on, and the decision audited. Refused when the key offered now is not the one they
    compared (the server offered another meanwhile). Thread rule: the database worker."""
    ws = session.workspace()
    with ws.unit() as stores:
        pins = Pins(ws.db, now=iso(ws.now()))
        pin = pins.get(user_id)
        if pin is None or pin.offered_fingerprint != fingerprint:
            raise RuleViolation("The key offered for this person is not the one you compared; "
                                "nothing was changed. Look at Needs attention again.")
        accepted = pins.accept(user_id)
        ws.audit(stores, Action.KEY_ACCEPTED, user_id, was=pin.fingerprint,
                 fingerprint=accepted.fingerprint)
    return accepted


def mark_compared(session: Session, *, user_id: str, fingerprint: str) -> None:
    """The person read `fingerprint` with its owner and it matched: the pinned key is marked
    verified, and the comparison audited. Refused when it is not the pinned key, or the key
    changed (that is decided under Needs attention). Thread rule: the database worker."""
    ws = session.workspace()
    with ws.unit() as stores:
        pins = Pins(ws.db, now=iso(ws.now()))
        pin = pins.get(user_id)
        if pin is None or pin.fingerprint != fingerprint:
            raise RuleViolation("This is not the key this laptop holds for this person; "
                                "nothing was changed.")
        if pin.changed:
            raise RuleViolation("This person's key changed: decide under Needs attention "
                                "first.")
        pins.verify(user_id)
        ws.audit(stores, Action.KEY_COMPARED, user_id, fingerprint=fingerprint)


# -- one side of a record, as a flat mapping of its plain and sealed fields ----------------------

def _flat(side: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {**dict(side.get("plain") or {}), **dict(side.get("body") or {})}


def _local(ws: Workspace, table: str, record_id: str) -> dict[str, Any] | None:
    """The record as it is on this laptop now, through the services."""
    try:
        if table == "visit_notes":
            note = NoteService(ws).get(NoteId(record_id))
            d = note.details
            return {"case_id": note.case_id, "visit_date": d.visit_date.isoformat(),
                    "time_in": _clock(d.time_in), "time_out": _clock(d.time_out),
                    "place": str(d.place), "people_present": list(d.people_present),
                    "status": str(note.status), "narrative": d.narrative,
                    "next_steps": d.next_steps}
        if table == "trips":
            trip, _ = MileageService(ws).trip(TripId(record_id))
            return {"trip_date": trip.trip_date.isoformat(), "origin": trip.origin,
                    "destination": trip.destination, "miles": str(trip.miles),
                    "round_trip": trip.round_trip, "purpose": trip.purpose}
        if table == "cases":
            case = CaseService(ws).get(CaseId(record_id))
            return {"family_name": case.family_name, "address": case.address,
                    "coordinator_id": case.coordinator_id,
                    "intact_worker_id": case.intact_worker_id, "status": str(case.status)}
    except KnownError:
        return None  # gone from this laptop, or not readable here: the title still says what
    return None


def _clock(value: object) -> str:
    return time_text(value) if isinstance(value, time | datetime) else ""


# -- in words ------------------------------------------------------------------------------------

def day_words(value: object) -> str:
    """'2026-11-24' as the locale's day ('24 Nov 2026'); anything else as it is."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value or "")
    return day_text(day)


def _title(ws: Workspace, table: str, fields: Mapping[str, Any], record_id: str) -> str:
    if not fields and table in ("visit_notes", "trips"):
        return f"A {THINGS[table]} no longer on this laptop"
    if table == "visit_notes":
        family = _family(ws, fields.get("case_id"))
        return f"Visit note of {day_words(fields.get('visit_date'))}{family}".strip()
    if table == "trips":
        where = " → ".join(str(fields[k]) for k in ("origin", "destination") if fields.get(k))
        return f"Trip of {day_words(fields.get('trip_date'))}{': ' + where if where else ''}"
    if table == "cases":
        name = fields.get("family_name") or \
            _family(ws, record_id).removeprefix(", ").removesuffix(" family")
        return f"Case of the {name} family" if name else "A family's case"
    if table == "mileage_months":
        return f"Mileage for {_month(record_id.rpartition('|')[2])}"
    return THINGS.get(table, "A record").capitalize()


def _month(value: object) -> str:
    """'2026-11' as 'November 2026'; anything else as it is."""
    try:
        return month_text(date.fromisoformat(f"{value}-01"))
    except ValueError:
        return str(value or "")


def _family(ws: Workspace, case_id: object) -> str:
    if not case_id:
        return ""
    try:
        return f", {CaseService(ws).get(CaseId(str(case_id))).family_name} family"
    except KnownError:
        return ""


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else str(value)


def _spec(*pairs: tuple[str, Callable[[Mapping[str, Any]], object]]
          ) -> list[tuple[str, Callable[[Mapping[str, Any]], object]]]:
    return list(pairs)


FIELDS = {
    "visit_notes": _spec(
        ("Visit date", lambda f: day_words(f.get("visit_date"))),
        ("Time", lambda f: f"{f.get('time_in') or '?'} to {f.get('time_out') or '?'}"
         if f.get("time_in") or f.get("time_out") else ""),
        ("Status", lambda f: str(f.get("status", "")).capitalize()),
        ("Place", lambda f: str(f.get("place") or "").capitalize()),
        ("People present", lambda f: f.get("people_present")),
        ("Narrative", lambda f: f.get("narrative")),
        ("Next steps", lambda f: f.get("next_steps"))),
    "trips": _spec(
        ("Date", lambda f: day_words(f.get("trip_date"))),
        ("From", lambda f: f.get("origin")), ("To", lambda f: f.get("destination")),
        ("Miles", lambda f: f"{f.get('miles', '')}"
                            f"{' (round trip)' if f.get('round_trip') else ''}"),
        ("Purpose", lambda f: f.get("purpose"))),
    "cases": _spec(
        ("Family", lambda f: f.get("family_name")), ("Address", lambda f: f.get("address")),
        ("Coordinator", lambda f: f.get("coordinator_id")),
        ("Intact worker", lambda f: f.get("intact_worker_id")),
        ("Status", lambda f: str(f.get("status", "")).capitalize())),
    "mileage_months": _spec(("Month", lambda f: _month(f.get("month"))),
                            ("Status", lambda f: str(f.get("status", "")).capitalize())),
    "addenda": _spec(("Reason", lambda f: f.get("reason")), ("Text", lambda f: f.get("text"))),
    "note_reviews": _spec(("Co-signed", lambda f: bool(f.get("cosigned"))),
                          ("Comment", lambda f: f.get("comment"))),
}


def _fields(table: str, flat: Mapping[str, Any] | None) -> Fields | None:
    if flat is None:
        return None
    if "unreadable" in flat:
        return [("Content", f"Cannot be read on this laptop ({flat['unreadable']}).")]
    spec = FIELDS.get(table)
    if spec is None:
        return [("Record", THINGS.get(table, "record").capitalize())]
    return [(label, _text(get(flat))) for label, get in spec]
