"""The compliance radar: each kind of item, who sees it, and the edges of every deadline (exactly
at a deadline is not yet late; a moment later is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.due import DueStatus, due_status
from fieldapp.domain.mileage import MonthStatus
from fieldapp.domain.people import Actor, CaseId, NoteId, Role, UserId
from fieldapp.domain.radar import (
    ConsentDue,
    MonthOfTrips,
    Opens,
    RadarItem,
    RadarKind,
    Severity,
    compliance_radar,
    mileage_due,
)
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import (
    Addendum,
    SupervisorCapacity,
    VisitDetails,
    VisitNote,
    add_addendum,
    cosign,
    return_note,
    sign,
    signing_deadline,
)

SETTINGS = ProgramSettings()  # America/Chicago; 5, 3, 30 and 30 days; 24 hours to sign
COSUPERVISED = ProgramSettings(cosupervision_required=True)
WORKER = Actor(user_id=UserId("rc-1"), role=Role.RECOVERY_COORDINATOR)
INTACT_SUP = Actor(user_id=UserId("sup-intact"), role=Role.SUPERVISOR)
SUD_SUP = Actor(user_id=UserId("sup-sud"), role=Role.SUPERVISOR)
OUTSIDER = UserId("sup-other-team")
CASE = Case(id=CaseId("c-1"), family_name="Alder", parents=(Person(name="Robin Alder"),),
            coordinator_id=WORKER.user_id, supervisor_ids=(INTACT_SUP.user_id, SUD_SUP.user_id),
            start_date=date(2026, 1, 5))
VISIT = date(2026, 11, 16)  # a Monday
# The visit ended 17:15 Chicago time (23:15 UTC); signed that evening.
SIGNED_AT = datetime(2026, 11, 17, 1, 0, tzinfo=UTC)
NAMES = {WORKER.user_id: "Jordan Demo"}


def note(*, visit: date = VISIT, note_id: str = "n-1") -> VisitNote:
    return VisitNote(id=NoteId(note_id), case_id=CASE.id, author=WORKER.user_id,
                     details=VisitDetails(visit_date=visit, time_in=time(16, 0),
                                          time_out=time(17, 15), people_present=("Robin",),
                                          narrative="Home visit."))


def signed_note(at: datetime = SIGNED_AT, **kwargs: Any) -> VisitNote:
    return sign(note(**kwargs), signer=WORKER, at=at, settings=SETTINGS)


def radar(viewer: UserId, *, now: datetime, notes: Sequence[VisitNote] = (),
          settings: ProgramSettings = SETTINGS, **kwargs: Any) -> list[RadarItem]:
    caseload = kwargs.pop("caseload", [(CASE, on_track(now))])
    return compliance_radar(viewer=viewer, now=now, settings=settings, caseload=caseload,
                            notes=notes, names=NAMES, **kwargs)


def on_track(now: datetime) -> DueStatus:
    today = now.astimezone(SETTINGS.zone).date()
    return due_status(replace(CASE, visits_per_week=0), [], today=today)


def kinds(items: list[RadarItem]) -> list[tuple[RadarKind, Severity]]:
    return [(i.kind, i.severity) for i in items]


# --- co-signature deadline ----------------------------------------------------------------------


DEADLINE = SIGNED_AT + timedelta(days=5)


def test_a_note_waiting_exactly_the_deadline_is_not_yet_escalated() -> None:
    assert radar(WORKER.user_id, now=DEADLINE, notes=[signed_note()]) == []


@pytest.mark.parametrize("viewer", [WORKER.user_id, INTACT_SUP.user_id, SUD_SUP.user_id])
def test_past_the_deadline_it_is_escalated_to_the_author_and_every_case_supervisor(
        viewer: UserId) -> None:
    (item,) = radar(viewer, now=DEADLINE + timedelta(seconds=1), notes=[signed_note()])
    assert (item.kind, item.severity) == (RadarKind.COSIGNATURE_OVERDUE, Severity.OVERDUE)
    assert (item.case_id, item.note_id, item.opens) == (CASE.id, "n-1", Opens.NOTE)
    assert item.due == date(2026, 11, 21)  # 19:00 Chicago time on 21 November
    whose = "Your" if viewer == WORKER.user_id else "Jordan Demo's"
    assert item.sentence == (f"{whose} note of 16 Nov 2026 has waited 5 days for co-signature "
                             "(the program allows 5); no supervisor has co-signed it.")


def test_nobody_outside_the_case_sees_it() -> None:
    assert radar(OUTSIDER, now=DEADLINE + timedelta(days=1), notes=[signed_note()]) == []


def test_under_co_supervision_each_supervisor_sees_which_co_signature_is_missing() -> None:
    once = cosign(signed_note(), reviewer=INTACT_SUP, at=SIGNED_AT + timedelta(days=1),
                  settings=COSUPERVISED, capacity=SupervisorCapacity.INTACT)
    late = DEADLINE + timedelta(days=2)
    for viewer in (INTACT_SUP.user_id, SUD_SUP.user_id, WORKER.user_id):
        (item,) = radar(viewer, now=late, notes=[once], settings=COSUPERVISED)
        assert item.sentence.endswith("; the SUD supervisor's co-signature is missing.")
    (both,) = radar(SUD_SUP.user_id, now=late, notes=[signed_note()], settings=COSUPERVISED)
    assert both.sentence.endswith(
        "; the intact and the SUD supervisor's co-signatures are missing.")


def test_a_co_signed_or_returned_note_is_not_waiting() -> None:
    done = cosign(signed_note(), reviewer=INTACT_SUP, at=SIGNED_AT, settings=SETTINGS)
    back = return_note(signed_note(), reviewer=INTACT_SUP, at=SIGNED_AT, comment="Who else?")
    assert radar(WORKER.user_id, now=DEADLINE + timedelta(days=9), notes=[done, back]) == []


def test_after_a_return_the_wait_counts_from_the_authors_answer() -> None:
    back = return_note(signed_note(), reviewer=INTACT_SUP, at=SIGNED_AT + timedelta(days=1),
                       comment="Who else was there?")
    answered_at = SIGNED_AT + timedelta(days=3)
    answer = Addendum(id="a-1", note_id=back.id, author=WORKER.user_id, at=answered_at,
                      reason="Answer", text="Grandmother was there.")
    answered = add_addendum(back, answer)
    assert radar(WORKER.user_id, now=answered_at + timedelta(days=5), notes=[answered]) == []
    (item,) = radar(WORKER.user_id, now=answered_at + timedelta(days=5, seconds=1),
                    notes=[answered])
    assert item.kind is RadarKind.COSIGNATURE_OVERDUE


# --- drafts -------------------------------------------------------------------------------------


SIGN_BY = signing_deadline(note().details, settings=SETTINGS)  # 17 Nov, 23:15 UTC


def test_a_fresh_draft_is_not_on_the_radar_until_its_deadline_is_a_day_away() -> None:
    assert radar(WORKER.user_id, now=SIGN_BY - timedelta(hours=24, seconds=1),
                 notes=[note()]) == []
    (item,) = radar(WORKER.user_id, now=SIGN_BY - timedelta(hours=24), notes=[note()])
    assert (item.kind, item.severity) == (RadarKind.UNSIGNED_VISIT, Severity.DUE_SOON)
    assert item.sentence == ("Sign the note of the 16 Nov 2026 visit by 17 Nov 2026, 17:15, or "
                             "it becomes a late entry.")
    assert (item.note_id, item.opens, item.due) == ("n-1", Opens.NOTE, date(2026, 11, 17))


def test_a_draft_is_overdue_a_moment_after_the_signing_deadline() -> None:
    (at_deadline,) = radar(WORKER.user_id, now=SIGN_BY, notes=[note()])
    assert at_deadline.severity is Severity.DUE_SOON
    (after,) = radar(WORKER.user_id, now=SIGN_BY + timedelta(microseconds=1), notes=[note()])
    assert (after.kind, after.severity) == (RadarKind.UNSIGNED_VISIT, Severity.OVERDUE)
    assert after.sentence == ("Your note of the 16 Nov 2026 visit is not signed; the deadline "
                              "was 17 Nov 2026, 17:15, so signing it now marks it a late entry.")


def test_a_draft_older_than_the_stale_limit_says_so() -> None:
    # 3 days after the visit (19 Nov) it is past the signing deadline, not yet stale.
    on_day_3 = datetime(2026, 11, 19, 23, 0, tzinfo=SETTINGS.zone)
    (item,) = radar(WORKER.user_id, now=on_day_3, notes=[note()])
    assert item.kind is RadarKind.UNSIGNED_VISIT
    (stale,) = radar(WORKER.user_id, now=on_day_3 + timedelta(hours=2), notes=[note()])
    assert (stale.kind, stale.severity) == (RadarKind.STALE_DRAFT, Severity.OVERDUE)
    assert stale.due == date(2026, 11, 19)
    assert stale.sentence == (
        "Your draft of the 16 Nov 2026 visit is 4 days old and not signed (the program allows "
        "3). It is past the signing deadline, so signing it now marks it a late entry.")


def test_a_stale_draft_before_its_signing_deadline_says_only_that() -> None:
    patient = ProgramSettings(draft_stale_days=1, late_entry_hours=24 * 5)
    (item,) = radar(WORKER.user_id, now=datetime(2026, 11, 18, 9, 0, tzinfo=SETTINGS.zone),
                    notes=[note()], settings=patient)
    assert item.kind is RadarKind.STALE_DRAFT
    assert "late entry" not in item.sentence


def test_supervisors_see_a_draft_only_once_it_is_overdue() -> None:
    soon = SIGN_BY - timedelta(hours=1)
    assert radar(INTACT_SUP.user_id, now=soon, notes=[note()]) == []
    (item,) = radar(INTACT_SUP.user_id, now=SIGN_BY + timedelta(hours=1), notes=[note()])
    assert item.sentence.startswith("Jordan Demo's note of the 16 Nov 2026 visit is not signed")
    assert radar(OUTSIDER, now=SIGN_BY + timedelta(days=9), notes=[note()]) == []


# --- visits behind ------------------------------------------------------------------------------


def test_a_case_behind_its_visits_opens_the_case() -> None:
    thursday = datetime(2026, 11, 19, 12, 0, tzinfo=SETTINGS.zone)
    behind = due_status(CASE, [signed_note(visit=date(2026, 11, 10))], today=thursday.date())
    assert behind.behind
    (item,) = radar(WORKER.user_id, now=thursday, caseload=[(CASE, behind)])
    assert (item.kind, item.severity, item.opens) == (RadarKind.VISITS_BEHIND, Severity.OVERDUE,
                                                      Opens.CASE)
    assert (item.case_id, item.due) == (CASE.id, thursday.date())
    assert item.sentence == ("0 of the 1 face-to-face visits expected by today this week; the "
                             "last was 10 Nov 2026.")
    seen = due_status(CASE, [signed_note()], today=thursday.date())
    assert radar(WORKER.user_id, now=thursday, caseload=[(CASE, seen)]) == []


# --- mileage ------------------------------------------------------------------------------------


def test_mileage_is_due_the_submit_days_after_the_month_ends() -> None:
    assert mileage_due("2026-10", settings=SETTINGS) == date(2026, 11, 30)
    assert mileage_due("2026-12", settings=SETTINGS) == date(2027, 1, 30)
    assert mileage_due("2027-02", settings=SETTINGS) == date(2027, 3, 30)


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 11, 22), None),                    # 8 days before it is due
    (date(2026, 11, 23), Severity.DUE_SOON),       # 7 days before
    (date(2026, 11, 30), Severity.DUE_SOON),       # the due day itself
    (date(2026, 12, 1), Severity.OVERDUE),         # the day after
])
def test_a_months_mileage_shows_within_a_week_of_its_due_day_and_after(
        today: date, expected: Severity | None) -> None:
    october = MonthOfTrips(month="2026-10", status=MonthStatus.OPEN, trips=12)
    now = datetime.combine(today, time(9, 0), tzinfo=SETTINGS.zone)
    items = radar(WORKER.user_id, now=now, months=[october])
    assert [i.severity for i in items] == ([expected] if expected else [])
    if items:
        assert (items[0].kind, items[0].month, items[0].opens) == (
            RadarKind.MILEAGE_NOT_SUBMITTED, "2026-10", Opens.MILEAGE)


def test_mileage_sentences() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=SETTINGS.zone)
    (soon,) = radar(WORKER.user_id, now=now, months=[
        MonthOfTrips(month="2026-10", status=MonthStatus.RETURNED, trips=3)])
    assert soon.sentence == ("Submit the mileage for October 2026 by 30 Nov 2026 (in 2 days). "
                             "It was returned to you.")
    (late,) = radar(WORKER.user_id, now=now, months=[
        MonthOfTrips(month="2026-09", status=MonthStatus.OPEN, trips=3)])
    assert late.sentence == ("The mileage for September 2026 is not submitted; it was due by "
                             "30 Oct 2026, 30 days after the month ended.")


@pytest.mark.parametrize("month", [
    MonthOfTrips(month="2026-09", status=MonthStatus.SUBMITTED, trips=3),
    MonthOfTrips(month="2026-09", status=MonthStatus.APPROVED, trips=3),
    MonthOfTrips(month="2026-09", status=MonthStatus.OPEN, trips=0),
], ids=["submitted", "approved", "no trips"])
def test_submitted_approved_or_empty_months_are_not_on_the_radar(month: MonthOfTrips) -> None:
    assert radar(WORKER.user_id, now=datetime(2027, 3, 1, tzinfo=UTC), months=[month]) == []


# --- consents -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("expires_on", "expected"), [
    (date(2026, 12, 25), None),                    # 31 days away
    (date(2026, 12, 24), Severity.DUE_SOON),       # exactly 30 days away
    (date(2026, 11, 24), Severity.DUE_SOON),       # today
    (date(2026, 11, 23), Severity.OVERDUE),        # ended yesterday
])
def test_a_consent_shows_within_the_warning_days(expires_on: date,
                                                 expected: Severity | None) -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    consent = ConsentDue(CASE.id, "Robin Alder", expires_on)
    items = radar(WORKER.user_id, now=now, consents=[consent])
    assert [i.severity for i in items] == ([expected] if expected else [])
    if items:
        assert (items[0].kind, items[0].case_id, items[0].opens, items[0].due) == (
            RadarKind.CONSENT_EXPIRING, CASE.id, Opens.CASE, expires_on)


def test_consent_sentences_and_plain_tuples() -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    # The consent registry's own records may come as plain (case, patient, expiry) tuples.
    (soon,) = radar(WORKER.user_id, now=now,
                    consents=[ConsentDue(*(CASE.id, "Robin Alder", date(2026, 11, 25)))])
    assert soon.sentence == ("Robin Alder's consent ends on 25 Nov 2026 (tomorrow); ask about "
                             "renewing it.")
    (ended,) = radar(WORKER.user_id, now=now,
                     consents=[ConsentDue(CASE.id, "Robin Alder", date(2026, 11, 1))])
    assert ended.sentence == ("Robin Alder's consent ended on 1 Nov 2026; nothing it covered can "
                              "be disclosed until a new one is signed.")


# --- all together -------------------------------------------------------------------------------


def test_overdue_items_come_first_then_by_due_day() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=SETTINGS.zone)
    items = radar(WORKER.user_id, now=now, notes=[signed_note(), note(note_id="n-2")],
                  months=[MonthOfTrips(month="2026-10", status=MonthStatus.OPEN, trips=1)],
                  consents=[ConsentDue(CASE.id, "Robin Alder", date(2026, 12, 1))])
    assert kinds(items) == [(RadarKind.STALE_DRAFT, Severity.OVERDUE),
                            (RadarKind.COSIGNATURE_OVERDUE, Severity.OVERDUE),
                            (RadarKind.MILEAGE_NOT_SUBMITTED, Severity.DUE_SOON),
                            (RadarKind.CONSENT_EXPIRING, Severity.DUE_SOON)]
    assert [i.due for i in items] == [date(2026, 11, 19), date(2026, 11, 21),
                                      date(2026, 11, 30), date(2026, 12, 1)]


# --- families referred from the field -----------------------------------------------------------


@pytest.mark.parametrize(("viewer", "shown"), [(INTACT_SUP.user_id, True), (SUD_SUP.user_id, True),
                                               (WORKER.user_id, False), (OUTSIDER, False)])
def test_a_family_started_in_the_field_is_on_its_supervisors_radar(viewer: UserId,
                                                                    shown: bool) -> None:
    """The supervisors who confirm it see it; the worker who waits does not, nor anyone
    outside the case."""
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    referred = replace(CASE, referred_by=WORKER.user_id)
    items = radar(viewer, now=now, caseload=[(referred, on_track(now))])
    if not shown:
        assert items == []
        return
    (item,) = items
    assert (item.kind, item.severity, item.opens) == (RadarKind.REFERRAL_WAITING,
                                                      Severity.DUE_SOON, Opens.CASE)
    assert (item.case_id, item.due) == (CASE.id, date(2026, 11, 24))
    assert item.sentence == ("Jordan Demo started this family in the field: confirm it and "
                             "assign the team (Caseload, Edit family).")


def test_a_confirmed_family_leaves_the_radar() -> None:
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert radar(INTACT_SUP.user_id, now=now, caseload=[(CASE, on_track(now))]) == []
