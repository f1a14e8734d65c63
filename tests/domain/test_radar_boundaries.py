"""The compliance radar at its edges: the program's own day (not the laptop's), due today, an
answer at the moment of a return, a stale draft exactly at its signing deadline, staff without a
name, the backlog line, and every item still listed after one that is not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from fieldapp.domain.due import due_status
from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.people import CaseId, UserId
from fieldapp.domain.radar import (
    ConsentDue,
    MonthOfTrips,
    Opens,
    RadarKind,
    Severity,
)
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import (
    Addendum,
    VisitNote,
    add_addendum,
    return_note,
    signing_deadline,
)
from tests.domain.test_radar import (
    CASE,
    INTACT_SUP,
    SETTINGS,
    SIGN_BY,
    SIGNED_AT,
    WORKER,
    kinds,
    note,
    on_track,
    radar,
    signed_note,
)

DEADLINE = SIGNED_AT + timedelta(days=5)
LATE = DEADLINE + timedelta(seconds=1)
UNNAMED = UserId("rc-2")  # a colleague the viewer's list of names does not know


# --- the program's day --------------------------------------------------------------------------


def test_today_is_the_programs_day_not_the_laptops() -> None:
    """At 11:00 UTC it is already tomorrow at UTC+14, and still today anywhere from -11 to +12:
    a consent ending on the program's today is due today, whatever zone the laptop is in."""
    kiritimati = ProgramSettings(timezone="Pacific/Kiritimati")
    now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 25 Nov, 01:00 in Kiritimati
    (item,) = radar(WORKER.user_id, now=now, settings=kiritimati,
                    consents=[ConsentDue(CASE.id, "Robin Alder", date(2026, 11, 25))])
    assert item.severity is Severity.DUE_SOON
    assert item.sentence == ("Robin Alder's consent ends on 25 Nov 2026 (today); ask about "
                             "renewing it.")


# --- the backlog of late co-signatures ----------------------------------------------------------


def test_one_unlisted_late_note_is_said_last_in_one_line() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=SETTINGS.zone)
    items = radar(WORKER.user_id, now=now, unlisted_cosignatures=1,
                  consents=[ConsentDue(CASE.id, "Robin Alder", date(2026, 12, 1))])
    assert kinds(items) == [(RadarKind.CONSENT_EXPIRING, Severity.DUE_SOON),
                            (RadarKind.COSIGNATURE_OVERDUE, Severity.OVERDUE)]
    more = items[-1]
    assert more.due == date(2026, 11, 28)
    assert (more.case_id, more.note_id, more.month, more.opens) == (None, None, None, None)
    assert more.sentence == ("And 1 more signed note has waited longer than 5 days for "
                             "co-signature; those that have waited longest are listed.")


def test_no_unlisted_late_notes_no_backlog_line() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=SETTINGS.zone)
    assert radar(WORKER.user_id, now=now, unlisted_cosignatures=0) == []


# --- staff the viewer has no name for ----------------------------------------------------------


def test_a_colleague_without_a_name_is_called_by_their_id() -> None:
    theirs = replace(signed_note(), author=UNNAMED)
    (item,) = radar(INTACT_SUP.user_id, now=LATE, notes=[theirs])
    assert item.sentence.startswith("rc-2's note of 16 Nov 2026 has waited 5 days")


def test_a_family_started_by_a_colleague_without_a_name_says_their_id() -> None:
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    referred = replace(CASE, referred_by=UNNAMED)
    (item,) = radar(INTACT_SUP.user_id, now=now, caseload=[(referred, on_track(now))])
    assert item.sentence == ("rc-2 started this family in the field: confirm it and assign the "
                             "team (Caseload, Edit family).")


# --- visits behind ------------------------------------------------------------------------------


def test_a_case_never_visited_says_never_and_follows_one_on_track() -> None:
    thursday = datetime(2026, 11, 19, 12, 0, tzinfo=SETTINGS.zone)
    other = replace(CASE, id=CaseId("c-2"))
    items = radar(WORKER.user_id, now=thursday,
                  caseload=[(CASE, on_track(thursday)),
                            (other, due_status(other, [], today=thursday.date()))])
    (item,) = items
    assert (item.kind, item.case_id) == (RadarKind.VISITS_BEHIND, CaseId("c-2"))
    assert item.sentence == ("0 of the 1 face-to-face visits expected by today this week; the "
                             "last was never.")


# --- co-signature -------------------------------------------------------------------------------


RETURNED_AT = SIGNED_AT + timedelta(days=1)


def returned_and_answered(*, answered_at: datetime, earlier: datetime | None = None
                          ) -> VisitNote:
    """Returned a day after signing; answered by its author at `answered_at` (and, when
    `earlier` is given, with an addendum of the author's before the return too)."""
    signed = signed_note()
    if earlier is not None:
        signed = add_addendum(signed, Addendum(id="a-0", note_id=signed.id,
                                               author=WORKER.user_id, at=earlier,
                                               reason="Correction", text="Spelling."))
    back = return_note(signed, reviewer=INTACT_SUP, at=RETURNED_AT, comment="Who else?")
    answer = Addendum(id="a-1", note_id=back.id, author=WORKER.user_id, at=answered_at,
                      reason="Answer", text="Grandmother was there.")
    return add_addendum(back, answer)


def test_an_answer_at_the_very_moment_of_the_return_starts_the_wait() -> None:
    answered = returned_and_answered(answered_at=RETURNED_AT)
    assert radar(WORKER.user_id, now=RETURNED_AT + timedelta(days=5), notes=[answered]) == []
    (item,) = radar(WORKER.user_id, now=RETURNED_AT + timedelta(days=5, seconds=1),
                    notes=[answered])
    assert item.kind is RadarKind.COSIGNATURE_OVERDUE


def test_an_authors_addendum_before_the_return_is_no_answer_to_it() -> None:
    answered_at = SIGNED_AT + timedelta(days=3)
    answered = returned_and_answered(answered_at=answered_at,
                                     earlier=SIGNED_AT + timedelta(hours=2))
    assert radar(WORKER.user_id, now=answered_at + timedelta(days=5), notes=[answered]) == []


def test_a_late_note_is_listed_after_a_draft_a_note_of_another_team_and_one_not_late() -> None:
    other_team = replace(signed_note(note_id="n-other"), case_id=CaseId("c-elsewhere"))
    recent = signed_note(at=LATE - timedelta(days=1), note_id="n-recent")
    late = signed_note(note_id="n-late")
    draft = note(note_id="n-draft", visit=date(2026, 11, 23))
    items = radar(INTACT_SUP.user_id, now=LATE, notes=[draft, other_team, recent, late])
    assert [(i.kind, i.note_id) for i in items] == [(RadarKind.COSIGNATURE_OVERDUE, "n-late")]


# --- drafts -------------------------------------------------------------------------------------


# Stale a day after the visit; the signing deadline two days after it ended (18 Nov, 17:15).
PATIENT = ProgramSettings(draft_stale_days=1, late_entry_hours=48)


def test_a_stale_draft_exactly_at_its_signing_deadline_is_not_yet_past_it() -> None:
    deadline = signing_deadline(note().details, settings=PATIENT)
    (item,) = radar(WORKER.user_id, now=deadline, notes=[note()], settings=PATIENT)
    assert (item.kind, item.severity, item.due) == (RadarKind.STALE_DRAFT, Severity.OVERDUE,
                                                    date(2026, 11, 17))
    assert (item.case_id, item.note_id, item.opens) == (CASE.id, "n-1", Opens.NOTE)
    assert item.sentence == ("Your draft of the 16 Nov 2026 visit is 2 days old and not signed "
                             "(the program allows 1).")
    (past,) = radar(WORKER.user_id, now=deadline + timedelta(microseconds=1), notes=[note()],
                    settings=PATIENT)
    assert past.sentence.endswith(
        "(the program allows 1). It is past the signing deadline, so signing it now marks it a "
        "late entry.")


def test_a_draft_past_its_deadline_is_due_the_deadlines_day_and_opens_its_note() -> None:
    (item,) = radar(WORKER.user_id, now=SIGN_BY + timedelta(microseconds=1), notes=[note()])
    assert (item.kind, item.severity) == (RadarKind.UNSIGNED_VISIT, Severity.OVERDUE)
    assert (item.due, item.case_id, item.note_id, item.opens) == (
        date(2026, 11, 17), CASE.id, "n-1", Opens.NOTE)


# --- mileage ------------------------------------------------------------------------------------


def test_mileage_due_today_says_today() -> None:
    on_due_day = datetime(2026, 11, 30, 9, 0, tzinfo=SETTINGS.zone)
    (item,) = radar(WORKER.user_id, now=on_due_day, months=[
        MonthOfTrips(month="2026-10", status=MonthStatus.OPEN, trips=2)])
    assert item.severity is Severity.DUE_SOON
    assert item.sentence == "Submit the mileage for October 2026 by 30 Nov 2026 (today)."


def test_a_late_month_is_listed_after_a_submitted_one_and_one_not_yet_due() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=SETTINGS.zone)
    items = radar(WORKER.user_id, now=now, months=[
        MonthOfTrips(month="2026-08", status=MonthStatus.SUBMITTED, trips=4),
        MonthOfTrips(month="2026-11", status=MonthStatus.OPEN, trips=4),
        MonthOfTrips(month="2026-09", status=MonthStatus.OPEN, trips=4)])
    assert [(i.month, i.severity) for i in items] == [("2026-09", Severity.OVERDUE)]


# --- consents -----------------------------------------------------------------------------------


def test_a_consent_ending_today_is_not_yet_ended() -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    (item,) = radar(WORKER.user_id, now=now,
                    consents=[ConsentDue(CASE.id, "Robin Alder", date(2026, 11, 24))])
    assert item.sentence == ("Robin Alder's consent ends on 24 Nov 2026 (today); ask about "
                             "renewing it.")


def test_a_consent_ending_soon_is_listed_after_one_far_off() -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    items = radar(WORKER.user_id, now=now,
                  consents=[ConsentDue(CASE.id, "Robin Alder", date(2027, 6, 1)),
                            ConsentDue(CASE.id, "Sam Alder", date(2026, 12, 2))])
    assert [i.sentence for i in items] == [
        "Sam Alder's consent ends on 2 Dec 2026 (in 8 days); ask about renewing it."]
