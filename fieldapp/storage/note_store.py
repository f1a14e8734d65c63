"""Visit notes, their addenda and reviews.

Plain: case, author, visit date, contact type, status, signature metadata, late mark, next visit
date. Sealed: everything the worker wrote, each addendum's reason and text, each review comment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlite_utils

from fieldapp.crypto.aead import DataKey
from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, NoteId, UserId, new_id
from fieldapp.domain.visits import (
    ATTESTATION,
    Addendum,
    ContactType,
    NoteStatus,
    Place,
    Review,
    Signature,
    SupervisorCapacity,
    VisitDetails,
    VisitNote,
    settled_status,
)
from fieldapp.storage import codec
from fieldapp.storage.sealed import Body, Opened, SealedTable
from fieldapp.storage.settings_store import load_settings


class NoteStore:
    """Thread rule: the database worker, inside the caller's transaction."""

    def __init__(self, notes: SealedTable, addenda: SealedTable, reviews: SealedTable, *,
                 now: str) -> None:
        self._notes, self._addenda, self._reviews, self._now = notes, addenda, reviews, now

    def add_draft(self, note: VisitNote) -> int:
        self._notes.insert(record_id=note.id, body=_body(note.details), plain=self._plain(note))
        return 1

    def replace_draft(self, note: VisitNote) -> int:
        """Save a draft's new content; the table's trigger refuses any signed note."""
        return self._notes.replace(record_id=note.id, body=_body(note.details),
                                   plain=self._plain(note), expected_revision=note.revision)

    def mark_signed(self, note: VisitNote) -> None:
        assert note.signature is not None
        cursor = self._notes.db.execute(
            "UPDATE visit_notes SET status = ?, signed_by = ?, signed_at = ?, late_entry = ?, "
            "updated_at = ? WHERE id = ? AND status = 'draft' AND revision = ?",
            [str(note.status), note.signature.by, codec.moment(note.signature.at),
             int(note.late_entry), self._now, note.id, note.revision])
        if cursor.rowcount != 1:
            raise RuleViolation("This note changed or was signed elsewhere; reopen it.")

    def set_status(self, note_id: NoteId, status: NoteStatus) -> None:
        self._notes.db.execute("UPDATE visit_notes SET status = ?, updated_at = ? WHERE id = ?",
                               [str(status), self._now, note_id])

    def delete_draft(self, note_id: NoteId) -> None:
        cursor = self._notes.db.execute(
            "DELETE FROM visit_notes WHERE id = ? AND status = 'draft'", [note_id])
        if cursor.rowcount != 1:
            raise RuleViolation("Only a draft can be deleted; a signed note is kept for good.")

    def add_addendum(self, addendum: Addendum) -> None:
        self._addenda.insert(record_id=addendum.id,
                             body={"reason": addendum.reason, "text": addendum.text},
                             plain={"note_id": addendum.note_id, "author": addendum.author,
                                    "created_at": codec.moment(addendum.at)})

    def add_review(self, note_id: NoteId, review: Review) -> None:
        body: Body = {"comment": review.comment}
        if review.capacity is not None:  # older reviews have none (read back as None)
            body["capacity"] = str(review.capacity)
        self._reviews.insert(record_id=new_id(), body=body,
                             plain={"note_id": note_id, "reviewer": review.reviewer,
                                    "reviewed_at": codec.moment(review.at),
                                    "cosigned": int(review.cosigned)})

    def get(self, note_id: NoteId) -> VisitNote:
        row, body = self._notes.get(note_id)
        return self._assemble(row, body)

    def for_case(self, case_id: CaseId) -> list[VisitNote]:
        opened = self._notes.select("case_id = ?", [case_id], order="visit_date, id")
        return [self._assemble(o.row, o.body) for o in opened if o.body is not None]

    def in_period(self, case_ids: Sequence[CaseId], first: date, last: date, *,
                  author: UserId | None = None) -> tuple[list[VisitNote], int]:
        """The notes of `case_ids` (written by `author`, if given) with a visit date in
        [first, last], by date, with their addenda and reviews (three queries, not three per
        note), and how many rows of the three tables could not be opened (left out, and said so
        by the caller)."""
        marks = ", ".join("?" * len(case_ids))
        where = f"case_id IN ({marks}) AND visit_date BETWEEN ? AND ?"
        params = [*case_ids, codec.day(first), codec.day(last)]
        if author is not None:
            where += " AND author = ?"
            params.append(author)
        notes = self._notes.select(where, params, order="visit_date, case_id, id")
        inner = f"note_id IN (SELECT id FROM visit_notes WHERE {where})"  # noqa: S608 - marks only
        addenda, reviews = defaultdict(list), defaultdict(list)
        opened_addenda = self._addenda.select(inner, params, order="created_at, id")
        opened_reviews = self._reviews.select(inner, params, order="reviewed_at, id")
        for o in opened_addenda:
            addenda[o.row["note_id"]].append(o)
        for o in opened_reviews:
            reviews[o.row["note_id"]].append(o)
        found = [self._assemble(o.row, o.body, addenda[o.row["id"]], reviews[o.row["id"]])
                 for o in notes if o.body is not None]
        damaged = sum(o.body is None for o in (*notes, *opened_addenda, *opened_reviews))
        return found, damaged

    def _assemble(self, row: dict[str, Any], body: Body, addenda_rows: list[Opened] | None = None,
                  review_rows: list[Opened] | None = None) -> VisitNote:
        if addenda_rows is None:
            addenda_rows = self._addenda.select("note_id = ?", [row["id"]],
                                                order="created_at, id")
        if review_rows is None:
            review_rows = self._reviews.select("note_id = ?", [row["id"]],
                                               order="reviewed_at, id")
        addenda = tuple(_addendum(o.row, o.body, NoteId(row["id"]))
                        for o in addenda_rows if o.body is not None)
        reviews = tuple(_review(o.row, o.body) for o in review_rows if o.body is not None)
        signature = _signature(row, body)
        return VisitNote(id=NoteId(row["id"]), case_id=CaseId(row["case_id"]),
                         author=UserId(row["author"]), details=_details(row, body),
                         status=NoteStatus(row["status"]), signature=signature,
                         late_entry=bool(row["late_entry"]), addenda=addenda, reviews=reviews,
                         revision=int(row["revision"]))

    def _plain(self, note: VisitNote) -> dict[str, Any]:
        d = note.details
        return {"case_id": note.case_id, "author": note.author,
                "visit_date": codec.day(d.visit_date), "contact_type": str(d.contact_type),
                "status": str(note.status), "next_visit_date": codec.day(d.next_visit_date),
                "late_entry": int(note.late_entry), "updated_at": self._now}


def _body(d: VisitDetails) -> Body:
    return {"time_in": codec.clock_time(d.time_in), "time_out": codec.clock_time(d.time_out),
            "place": str(d.place), "people_present": list(d.people_present),
            "services": list(d.services), "safety_concerns": d.safety_concerns,
            "safety_description": d.safety_description, "narrative": d.narrative,
            "next_steps": d.next_steps, "attestation": ATTESTATION}


def readable(table: str, row: dict[str, Any], body: Body) -> None:
    """Raise (KeyError, TypeError, ValueError) unless a row of a note's tables reads back as
    what it is: sync checks what a colleague's laptop sent before it lands, since one body that
    opens but is not a note would break every list of the case's notes."""
    if table == "visit_notes":
        _details(row, body)
        _signature(row, body)
        NoteStatus(row["status"])
    elif table == "addenda":
        _addendum(row, body, NoteId(str(row["note_id"])))
    elif table == "note_reviews":
        _review(row, body)


def _addendum(row: dict[str, Any], body: Body, note_id: NoteId) -> Addendum:
    return Addendum(id=row["id"], note_id=note_id, author=UserId(row["author"]),
                    at=_at(row["created_at"]), reason=body["reason"], text=body["text"])


def _review(row: dict[str, Any], body: Body) -> Review:
    return Review(reviewer=UserId(row["reviewer"]), at=_at(row["reviewed_at"]),
                  cosigned=bool(row["cosigned"]), comment=body["comment"],
                  capacity=review_capacity(body))


def _signature(row: dict[str, Any], body: Body) -> Signature | None:
    if not row["signed_by"]:
        return None
    return Signature(by=UserId(row["signed_by"]), at=_at(row["signed_at"]),
                     attestation=body["attestation"])


def _details(row: dict[str, Any], body: Body) -> VisitDetails:
    visit_date = codec.to_day(row["visit_date"])
    if visit_date is None:
        raise ValueError("a note without a visit date")
    return VisitDetails(
        visit_date=visit_date, time_in=codec.to_clock_time(body["time_in"]),
        time_out=codec.to_clock_time(body["time_out"]), place=Place(body["place"]),
        contact_type=ContactType(row["contact_type"]),
        people_present=tuple(body["people_present"]), services=tuple(body["services"]),
        safety_concerns=bool(body["safety_concerns"]),
        safety_description=body["safety_description"], narrative=body["narrative"],
        next_steps=body["next_steps"], next_visit_date=codec.to_day(row["next_visit_date"]))


def settle_note_status(db: sqlite_utils.Database, key: DataKey, note_ids: set[str], *,
                       now: str) -> None:
    """After reviews or addenda arrived from elsewhere (sync): a signed note's status follows
    its latest review or its author's later addendum; under co-supervision (the program's
    settings, as stored here) a co-signature completes it only once both the intact and the
    SUD supervisor have co-signed since the author's last change (`visits.settled_status`, the
    rule the reviewing laptop applied). Thread rule: the database worker, in the caller's
    transaction."""
    if not note_ids:
        return
    settings = load_settings(db)
    reviews_table = SealedTable(db, key, "note_reviews")
    for note_id in note_ids:
        row = db.execute("SELECT status, author FROM visit_notes WHERE id = ?",
                         [note_id]).fetchone()
        if row is None or row[0] == "draft":
            continue
        reviews = [Review(reviewer=o.row["reviewer"],
                          at=datetime.fromisoformat(o.row["reviewed_at"]),
                          cosigned=bool(o.row["cosigned"]),
                          capacity=review_capacity(o.body or {}))
                   for o in reviews_table.select("note_id = ?", [note_id],
                                                 order="reviewed_at, rowid")]
        changes = [datetime.fromisoformat(at) for (at,) in db.execute(
            "SELECT created_at FROM addenda WHERE note_id = ? AND author = ?",
            [note_id, row[1]]).fetchall()]
        status = str(settled_status(reviews, author_changes=changes, settings=settings))
        if status != row[0]:
            db.execute("UPDATE visit_notes SET status = ?, updated_at = ? WHERE id = ?",
                       [status, now, note_id])


def review_capacity(body: Body) -> SupervisorCapacity | None:
    """The capacity a review's body records; None for a review from before co-supervision or
    one whose value this version does not know."""
    try:
        return SupervisorCapacity(body["capacity"])
    except (KeyError, ValueError):
        return None


def _at(value: object) -> datetime:
    moment = codec.to_moment(value)
    if moment is None:
        raise ValueError("no time where one is required")
    return moment
