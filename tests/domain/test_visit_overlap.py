"""Overlapping visits: a worker's signed notes on the same day whose times intersect."""

from __future__ import annotations

from datetime import date, time

import pytest

from fieldapp.domain.due import overlapping_visits
from fieldapp.domain.people import CaseId, NoteId, UserId
from fieldapp.domain.visits import NoteStatus, VisitDetails, VisitNote

DAY = date(2026, 11, 23)
ME, OTHER = UserId("rc-1"), UserId("rc-2")


def note(start: str | None, end: str | None, *, note_id: str = "n-1", author: UserId = ME,
         day: date = DAY, status: NoteStatus = NoteStatus.SIGNED) -> VisitNote:
    return VisitNote(id=NoteId(note_id), case_id=CaseId("c-1"), author=author, status=status,
                     details=VisitDetails(visit_date=day,
                                          time_in=time.fromisoformat(start) if start else None,
                                          time_out=time.fromisoformat(end) if end else None))


SIGNING = note("16:30", "17:00", note_id="new", status=NoteStatus.DRAFT)


@pytest.mark.parametrize(("start", "end", "overlaps"), [
    ("16:00", "17:15", True),   # contains it
    ("16:45", "16:50", True),   # inside it
    ("16:30", "17:00", True),   # the same times
    ("16:59", "18:00", True),   # one minute in common at the end
    ("15:00", "16:31", True),   # one minute in common at the start
    ("17:00", "18:00", False),  # begins as it ends
    ("15:00", "16:30", False),  # ends as it begins
    ("09:00", "10:00", False),
])
def test_time_ranges_that_intersect_overlap(start: str, end: str, overlaps: bool) -> None:
    other = note(start, end, note_id="old")
    assert overlapping_visits(SIGNING, [other]) == ([other] if overlaps else [])


@pytest.mark.parametrize("status", [NoteStatus.SIGNED, NoteStatus.RETURNED,
                                    NoteStatus.COSIGNED])
def test_any_signed_note_is_overlapped(status: NoteStatus) -> None:
    other = note("16:00", "17:15", note_id="old", status=status)
    assert overlapping_visits(SIGNING, [other]) == [other]


def test_only_the_same_authors_signed_notes_the_same_day_count() -> None:
    others = [note("16:00", "17:15", note_id="draft", status=NoteStatus.DRAFT),
              note("16:00", "17:15", note_id="theirs", author=OTHER),
              note("16:00", "17:15", note_id="next-day", day=date(2026, 11, 24)),
              note(None, None, note_id="no-times")]
    assert overlapping_visits(SIGNING, others) == []


def test_a_note_does_not_overlap_itself() -> None:
    signed = note("16:30", "17:00", note_id="new")
    assert overlapping_visits(SIGNING, [signed]) == []


def test_a_note_without_times_overlaps_nothing() -> None:
    assert overlapping_visits(note("16:00", None, note_id="new"),
                              [note("16:00", "17:15", note_id="old")]) == []


def test_four_visits_at_once_are_all_named_earliest_first() -> None:
    others = [note("16:40", "17:15", note_id="d"), note("16:00", "17:15", note_id="a"),
              note("16:20", "17:15", note_id="c"), note("16:00", "16:45", note_id="b")]
    assert [n.id for n in overlapping_visits(SIGNING, others)] == ["a", "b", "c", "d"]
