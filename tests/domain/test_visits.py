"""Visit notes: draft, signed and locked, addenda, co-signature or return, and late entries."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fieldapp.domain.errors import KnownError, NotPermitted, RuleViolation
from fieldapp.domain.people import Actor, CaseId, NoteId, Role, UserId
from fieldapp.domain.settings import ProgramSettings
from fieldapp.domain.visits import (
    ATTESTATION,
    COSUPERVISION_UNKNOWN,
    Addendum,
    ContactType,
    NoteStatus,
    Review,
    SupervisorCapacity,
    VisitDetails,
    VisitNote,
    add_addendum,
    check_complete,
    cosign,
    cosignatures,
    edit_draft,
    is_late,
    missing_cosigners,
    return_note,
    settled_status,
    sign,
    sign_problems,
    signing_deadline,
)

SETTINGS = ProgramSettings()
CHICAGO = ZoneInfo("America/Chicago")

AUTHOR = Actor(user_id=UserId("u-author"), role=Role.RECOVERY_COORDINATOR)
COLLEAGUE = Actor(user_id=UserId("u-colleague"), role=Role.INTACT_WORKER)
SUPERVISOR = Actor(user_id=UserId("u-supervisor"), role=Role.SUPERVISOR)
ADMIN = Actor(user_id=UserId("u-admin"), role=Role.ADMIN)

VISIT_DAY = date(2026, 3, 2)  # a Monday, Central Standard Time (UTC-6)
# 18:00 UTC is noon in Chicago, two hours after the visit ended.
SIGN_AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
REVIEW_AT = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def details(**overrides: Any) -> VisitDetails:
    fields: dict[str, Any] = {
        "visit_date": VISIT_DAY,
        "time_in": time(9, 0),
        "time_out": time(10, 0),
        "people_present": ("Ada Okafor", "Tobi Okafor"),
        "services": ("recovery coaching", "safety check"),
        "narrative": "Met Ada at home; reviewed her treatment attendance.",
        "next_steps": "Bring the transport schedule.",
        "next_visit_date": date(2026, 3, 5),
    }
    fields.update(overrides)
    return VisitDetails(**fields)


def draft(**overrides: Any) -> VisitNote:
    return VisitNote(id=NoteId("note-1"), case_id=CaseId("case-1"), author=AUTHOR.user_id,
                     details=details(**overrides))


def signed(**overrides: Any) -> VisitNote:
    return sign(draft(**overrides), signer=AUTHOR, at=SIGN_AT, settings=SETTINGS)


def addendum(*, note_id: str = "note-1", reason: str = "Correct the time out.",
             text: str = "The visit ended at 10:15, not 10:00.",
             author: UserId = AUTHOR.user_id) -> Addendum:
    return Addendum(id="add-1", note_id=NoteId(note_id), author=author,
                    at=SIGN_AT + timedelta(hours=1), reason=reason, text=text)


# --- drafts -------------------------------------------------------------------------------------


def test_a_new_note_is_an_unlocked_draft() -> None:
    note = draft()
    assert note.status is NoteStatus.DRAFT
    assert not note.locked
    assert note.signature is None


def test_a_draft_may_be_incomplete() -> None:
    bare = VisitDetails(visit_date=VISIT_DAY)
    edited = edit_draft(draft(), bare, editor=AUTHOR)
    assert edited.details == bare


DRAFT_PROBLEMS: dict[str, tuple[dict[str, Any], str]] = {
    "time out before time in": ({"time_in": time(10), "time_out": time(9, 30)},
                                "The time out must be after the time in."),
    "time out equal to time in": ({"time_in": time(10), "time_out": time(10)},
                                  "The time out must be after the time in."),
    "unknown service": ({"services": ("recovery coaching", "pet grooming")},
                        "pet grooming is not on the program's service list."),
    "service listed twice": ({"services": ("referral", "referral")},
                             "Each service is listed once."),
    "next visit before this one": ({"next_visit_date": date(2026, 3, 1)},
                                   "The next visit cannot be before this one."),
}


@pytest.mark.parametrize("case", DRAFT_PROBLEMS.values(), ids=DRAFT_PROBLEMS.keys())
def test_a_draft_keeps_what_it_holds_and_only_signing_refuses_it(
        case: tuple[dict[str, Any], str]) -> None:
    # A half-typed time must not cost the narrative: the draft is stored, the signature waits.
    overrides, message = case
    edited = edit_draft(draft(), details(**overrides), editor=AUTHOR)
    assert edited.details == details(**overrides)
    with pytest.raises(RuleViolation) as caught:
        sign(edited, signer=AUTHOR, at=SIGN_AT, settings=SETTINGS)
    assert caught.value.message == message


def test_each_problem_names_the_field_it_is_about() -> None:
    found = sign_problems(details(time_in=time(10), time_out=time(9, 30), narrative=" ",
                                  services=("pet grooming",), people_present=(),
                                  next_visit_date=date(2026, 3, 1)), SETTINGS, at=SIGN_AT)
    assert [(p.field, p.text) for p in found] == [
        ("time_out", "The time out must be after the time in."),
        ("services", "pet grooming is not on the program's service list."),
        ("next_visit_date", "The next visit cannot be before this one."),
        ("narrative", "Write the narrative of the visit."),
        ("people_present", "List who was present."),
    ]
    assert sign_problems(details(), SETTINGS, at=SIGN_AT) == ()
    assert {p.field for p in found} <= {f.name for f in fields(VisitDetails)}


def test_a_visit_starting_at_midnight_is_checked_too() -> None:
    # time(0, 0) is a real time, not "no time".
    with pytest.raises(RuleViolation, match="time out must be after"):
        check_complete(details(time_in=time(0, 30), time_out=time(0, 0)), SETTINGS, at=SIGN_AT)
    check_complete(details(time_in=time(0, 0), time_out=time(0, 30)), SETTINGS, at=SIGN_AT)


def test_next_visit_on_the_same_day_is_allowed() -> None:
    check_complete(details(next_visit_date=VISIT_DAY), SETTINGS, at=SIGN_AT)


def test_edit_draft_returns_a_new_note() -> None:
    note = draft()
    new = details(narrative="Rewritten.")
    edited = edit_draft(note, new, editor=AUTHOR)
    assert edited.details.narrative == "Rewritten."
    assert note.details.narrative != "Rewritten."
    assert edited.status is NoteStatus.DRAFT


@pytest.mark.parametrize("editor", [COLLEAGUE, SUPERVISOR, ADMIN], ids=lambda a: a.role)
def test_only_the_author_edits_a_draft(editor: Actor) -> None:
    with pytest.raises(NotPermitted, match="Only the author can edit a draft note"):
        edit_draft(draft(), details(), editor=editor)


def test_a_signed_note_cannot_be_edited() -> None:
    with pytest.raises(RuleViolation) as caught:
        edit_draft(signed(), details(narrative="Changed later."), editor=AUTHOR)
    assert caught.value.message == "This note is signed and locked; add an addendum instead."


# --- signing ------------------------------------------------------------------------------------


def test_signing_locks_the_note_with_the_attestation() -> None:
    note = signed()
    assert note.status is NoteStatus.SIGNED
    assert note.locked
    assert note.signature is not None
    assert note.signature.by == AUTHOR.user_id
    assert note.signature.at == SIGN_AT
    assert note.signature.attestation == ATTESTATION
    assert "true and complete record" in ATTESTATION
    assert note.late_entry is False
    assert draft().status is NoteStatus.DRAFT  # the draft itself is untouched


@pytest.mark.parametrize("signer", [COLLEAGUE, SUPERVISOR], ids=lambda a: a.role)
def test_only_the_author_signs(signer: Actor) -> None:
    with pytest.raises(NotPermitted, match="Only the author can sign a note"):
        sign(draft(), signer=signer, at=SIGN_AT, settings=SETTINGS)


def test_a_note_is_signed_once() -> None:
    with pytest.raises(RuleViolation, match="signed and locked"):
        sign(signed(), signer=AUTHOR, at=SIGN_AT, settings=SETTINGS)


INCOMPLETE: dict[str, tuple[dict[str, Any], str]] = {
    "no time in": ({"time_in": None}, "Fill in the time in and the time out."),
    "no time out": ({"time_out": None}, "Fill in the time in and the time out."),
    "no narrative": ({"narrative": "  \n "}, "Write the narrative of the visit."),
    "safety concern not described": ({"safety_concerns": True},
                                     "Describe the safety concerns you saw."),
    "face to face, nobody listed": ({"people_present": ()}, "List who was present."),
    "visit in the future": ({"visit_date": date(2026, 3, 3), "next_visit_date": None},
                            "A visit in the future cannot be signed."),
    "draft rule broken": ({"time_out": time(8)}, "The time out must be after the time in."),
}


@pytest.mark.parametrize("case", INCOMPLETE.values(), ids=INCOMPLETE.keys())
def test_an_incomplete_note_cannot_be_signed(case: tuple[dict[str, Any], str]) -> None:
    overrides, message = case
    with pytest.raises(RuleViolation) as caught:
        sign(draft(**overrides), signer=AUTHOR, at=SIGN_AT, settings=SETTINGS)
    assert caught.value.message == message
    assert isinstance(caught.value, KnownError)


def test_incomplete_names_every_problem() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_complete(details(time_in=None, narrative="", people_present=()), SETTINGS,
                       at=SIGN_AT)
    for sentence in ("Fill in the time in", "Write the narrative", "List who was present"):
        assert sentence in caught.value.message


@pytest.mark.parametrize("contact", [ContactType.PHONE, ContactType.VIDEO,
                                     ContactType.ATTEMPTED])
def test_only_face_to_face_needs_people_present(contact: ContactType) -> None:
    note = sign(draft(people_present=(), contact_type=contact), signer=AUTHOR, at=SIGN_AT,
                settings=SETTINGS)
    assert note.status is NoteStatus.SIGNED


def test_described_safety_concerns_can_be_signed() -> None:
    note = signed(safety_concerns=True, safety_description="Loose railing on the stairs.")
    assert note.details.safety_concerns


def test_today_is_the_programs_today() -> None:
    # 02:00 UTC on 3 March is still 2 March, 20:00 in Chicago: a 2 March visit can be signed,
    # and a 3 March visit is still in the future.
    evening = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    assert sign(draft(), signer=AUTHOR, at=evening, settings=SETTINGS).locked
    with pytest.raises(RuleViolation, match="A visit in the future cannot be signed"):
        sign(draft(visit_date=date(2026, 3, 3), next_visit_date=None), signer=AUTHOR,
             at=evening, settings=SETTINGS)


# The visit on 2 March runs 15:00 to 16:01 Chicago time (CST, UTC-6): it ends at 22:01 UTC.
AFTERNOON = {"time_in": time(15, 0), "time_out": time(16, 1)}
AFTERNOON_ENDS = datetime(2026, 3, 2, 22, 1, tzinfo=UTC)


@pytest.mark.parametrize("at", [datetime(2026, 3, 2, 13, 17, tzinfo=UTC),  # 07:17 that day
                                AFTERNOON_ENDS - timedelta(seconds=1)],
                         ids=["that morning", "a second before the end"])
def test_a_visit_cannot_be_signed_before_it_ends(at: datetime) -> None:
    with pytest.raises(RuleViolation) as caught:
        sign(draft(**AFTERNOON), signer=AUTHOR, at=at, settings=SETTINGS)
    assert caught.value.message == "This visit ends at 16:01; it can be signed after that."
    assert [p.field for p in sign_problems(details(**AFTERNOON), SETTINGS, at=at)] == [
        "time_out"]


@pytest.mark.parametrize("at", [AFTERNOON_ENDS, AFTERNOON_ENDS + timedelta(seconds=1)],
                         ids=["exactly at the end", "a second after"])
def test_a_visit_can_be_signed_from_the_moment_it_ends(at: datetime) -> None:
    note = sign(draft(**AFTERNOON), signer=AUTHOR, at=at, settings=SETTINGS)
    assert note.locked and note.signature is not None and note.signature.at == at


def test_the_end_of_a_visit_is_the_programs_clock_time() -> None:
    # 16:30 UTC is past 16:01 in London but only 10:30 in Chicago, the program's zone.
    at = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
    with pytest.raises(RuleViolation, match="ends at 16:01"):
        sign(draft(**AFTERNOON), signer=AUTHOR, at=at.astimezone(ZoneInfo("Europe/London")),
             settings=SETTINGS)
    london = replace(SETTINGS, timezone="Europe/London")
    assert sign(draft(**AFTERNOON), signer=AUTHOR, at=at, settings=london).locked


def test_a_visit_with_times_in_the_wrong_order_is_told_that_not_when_it_ends() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_complete(details(time_in=time(16, 1), time_out=time(15, 0)), SETTINGS,
                       at=datetime(2026, 3, 2, 13, 17, tzinfo=UTC))
    assert caught.value.message == "The time out must be after the time in."


# --- late entries -------------------------------------------------------------------------------


# The visit on 2 March ends at 10:00 Chicago time (CST, UTC-6), i.e. 16:00 UTC.
ENDED_UTC = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("signed_at", "late"), [
    (ENDED_UTC + timedelta(hours=1), False),
    (ENDED_UTC + timedelta(hours=24) - timedelta(seconds=1), False),
    (ENDED_UTC + timedelta(hours=24), False),
    (ENDED_UTC + timedelta(hours=24, seconds=1), True),
    (ENDED_UTC + timedelta(days=10), True),
], ids=["1h", "24h-1s", "exactly 24h", "24h+1s", "10 days"])
def test_late_entry_edge(signed_at: datetime, late: bool) -> None:
    assert is_late(details(), signed_at=signed_at, settings=SETTINGS) is late
    note = sign(draft(), signer=AUTHOR, at=signed_at, settings=SETTINGS)
    assert note.late_entry is late


def test_the_programs_time_zone_decides_when_the_visit_ended() -> None:
    # 12:00 UTC the next day is 20 hours after 10:00 in Chicago, but 26 hours after 10:00 UTC.
    signed_at = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert is_late(details(), signed_at=signed_at, settings=SETTINGS) is False
    utc_program = ProgramSettings(timezone="UTC")
    assert is_late(details(), signed_at=signed_at, settings=utc_program) is True


def test_the_late_entry_limit_is_the_programs() -> None:
    signed_at = ENDED_UTC + timedelta(hours=30)
    assert is_late(details(), signed_at=signed_at, settings=SETTINGS) is True
    relaxed = ProgramSettings(late_entry_hours=48)
    assert is_late(details(), signed_at=signed_at, settings=relaxed) is False
    assert is_late(details(), signed_at=ENDED_UTC + timedelta(hours=48, seconds=1),
                   settings=relaxed) is True


def test_without_a_time_out_the_visit_counts_as_ending_at_23_59() -> None:
    ended = datetime(2026, 3, 2, 23, 59, tzinfo=CHICAGO)
    bare = details(time_out=None)
    assert is_late(bare, signed_at=ended + timedelta(hours=24), settings=SETTINGS) is False
    assert is_late(bare, signed_at=ended + timedelta(hours=24, seconds=1),
                   settings=SETTINGS) is True


def test_late_entry_across_the_end_of_daylight_time_counts_real_hours() -> None:
    # Visit ends 10:00 CDT on 31 October 2026 (15:00 UTC); clocks fall back on 1 November.
    visit = details(visit_date=date(2026, 10, 31), next_visit_date=None)
    ended = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    assert is_late(visit, signed_at=ended + timedelta(hours=24), settings=SETTINGS) is False
    assert is_late(visit, signed_at=ended + timedelta(hours=24, seconds=1),
                   settings=SETTINGS) is True


def test_late_entry_does_not_depend_on_the_zone_the_signing_time_is_given_in() -> None:
    # Regression: with signed_at in the program's own ZoneInfo, Python subtracted wall clocks,
    # so 10:00 CST on 1 November (25 real hours after 10:00 CDT on 31 October) was not late.
    visit = details(visit_date=date(2026, 10, 31), next_visit_date=None)
    local = datetime(2026, 11, 1, 10, 0, tzinfo=CHICAGO)
    in_utc = local.astimezone(UTC)
    assert local == in_utc
    assert is_late(visit, signed_at=in_utc, settings=SETTINGS) is True
    assert is_late(visit, signed_at=local, settings=SETTINGS) is True


# --- addenda ------------------------------------------------------------------------------------


def test_an_addendum_is_appended_to_a_signed_note() -> None:
    note = signed()
    first = addendum()
    second = replace(addendum(reason="Add a service.", text="Also gave a referral."), id="add-2")
    after = add_addendum(add_addendum(note, first), second)
    assert after.addenda == (first, second)
    assert after.status is NoteStatus.SIGNED
    assert after.details == note.details  # the signed text never changes
    assert after.signature == note.signature
    assert note.addenda == ()
    assert after.addenda[0].author == AUTHOR.user_id
    assert after.addenda[0].reason == "Correct the time out."


def test_a_draft_takes_no_addendum() -> None:
    with pytest.raises(RuleViolation,
                       match="A draft is edited directly; addenda are for signed notes"):
        add_addendum(draft(), addendum())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reason": ""}, "Give the reason for the addendum."),
    ({"reason": "   "}, "Give the reason for the addendum."),
    ({"text": ""}, "Write the text of the addendum."),
    ({"text": "\t\n"}, "Write the text of the addendum."),
    ({"note_id": "note-2"}, "This addendum belongs to another note."),
], ids=["no reason", "blank reason", "no text", "blank text", "other note"])
def test_an_incomplete_addendum_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        add_addendum(signed(), addendum(**kwargs))
    assert caught.value.message == message


# --- review -------------------------------------------------------------------------------------


def test_a_supervisor_cosigns_a_signed_note() -> None:
    note = cosign(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    assert note.status is NoteStatus.COSIGNED
    assert note.locked
    (review,) = note.reviews
    assert review.reviewer == SUPERVISOR.user_id
    assert review.at == REVIEW_AT
    assert review.cosigned is True


@pytest.mark.parametrize("reviewer", [AUTHOR, COLLEAGUE, ADMIN], ids=lambda a: a.role)
def test_only_a_supervisor_reviews(reviewer: Actor) -> None:
    with pytest.raises(NotPermitted, match="Only a supervisor"):
        cosign(signed(), reviewer=reviewer, at=REVIEW_AT, settings=SETTINGS)
    with pytest.raises(NotPermitted, match="Only a supervisor"):
        return_note(signed(), reviewer=reviewer, at=REVIEW_AT, comment="Fix it.")


def test_a_supervisor_does_not_cosign_their_own_note() -> None:
    own = sign(replace(draft(), author=SUPERVISOR.user_id), signer=SUPERVISOR, at=SIGN_AT,
               settings=SETTINGS)
    with pytest.raises(NotPermitted, match="cannot be co-signed by its own author"):
        cosign(own, reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    with pytest.raises(NotPermitted, match="cannot be co-signed by its own author"):
        return_note(own, reviewer=SUPERVISOR, at=REVIEW_AT, comment="Fix it.")


def test_a_draft_cannot_be_reviewed() -> None:
    with pytest.raises(RuleViolation, match=r"Only a signed note .* \(this one is draft\)"):
        cosign(draft(), reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    with pytest.raises(RuleViolation, match=r"\(this one is draft\)"):
        return_note(draft(), reviewer=SUPERVISOR, at=REVIEW_AT, comment="Fix it.")


def test_a_cosigned_note_cannot_be_reviewed_again() -> None:
    done = cosign(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    with pytest.raises(RuleViolation, match="this one is cosigned"):
        cosign(done, reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    with pytest.raises(RuleViolation, match="this one is cosigned"):
        return_note(done, reviewer=SUPERVISOR, at=REVIEW_AT, comment="Fix it.")


@pytest.mark.parametrize("comment", ["", "   "])
def test_a_return_says_what_to_correct(comment: str) -> None:
    with pytest.raises(RuleViolation, match="Say what needs correcting when returning a note"):
        return_note(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, comment=comment)


def test_returned_then_addendum_then_cosign() -> None:
    returned = return_note(signed(), reviewer=SUPERVISOR, at=REVIEW_AT,
                           comment="The time out looks wrong.")
    assert returned.status is NoteStatus.RETURNED
    assert returned.locked
    (review,) = returned.reviews
    assert review.cosigned is False
    assert review.comment == "The time out looks wrong."

    # While returned it waits for the author's addendum, not for a second review.
    with pytest.raises(RuleViolation, match="this one is returned"):
        cosign(returned, reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    with pytest.raises(RuleViolation, match="signed and locked"):
        edit_draft(returned, details(), editor=AUTHOR)

    answered = add_addendum(returned, addendum())
    assert answered.status is NoteStatus.SIGNED
    assert answered.addenda == (addendum(),)

    done = cosign(answered, reviewer=SUPERVISOR, at=REVIEW_AT + timedelta(hours=2),
                  settings=SETTINGS)
    assert done.status is NoteStatus.COSIGNED
    assert [r.cosigned for r in done.reviews] == [False, True]
    assert done.details == signed().details


def test_the_authors_addendum_to_a_cosigned_note_goes_back_for_review() -> None:
    done = cosign(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    after = add_addendum(done, addendum())
    assert after.status is NoteStatus.SIGNED, "a supervisor must see what changed"
    assert len(after.addenda) == 1
    assert after.reviews == done.reviews, "the earlier co-signature is kept"


# --- co-supervision -----------------------------------------------------------------------------


COSUPERVISED = ProgramSettings(cosupervision_required=True)
INTACT, SUD = SupervisorCapacity.INTACT, SupervisorCapacity.SUD
SUD_SUPERVISOR = Actor(user_id=UserId("u-sud-supervisor"), role=Role.SUPERVISOR)


def cosigned_by(note: VisitNote, reviewer: Actor, capacity: SupervisorCapacity | None, *,
                hours: int = 0, settings: ProgramSettings = COSUPERVISED) -> VisitNote:
    return cosign(note, reviewer=reviewer, at=REVIEW_AT + timedelta(hours=hours),
                  settings=settings, capacity=capacity)


def test_one_capacity_leaves_the_note_signed_and_both_co_sign_it() -> None:
    assert missing_cosigners(signed(), settings=COSUPERVISED) == (INTACT, SUD)
    once = cosigned_by(signed(), SUPERVISOR, INTACT)
    assert once.status is NoteStatus.SIGNED, "one co-signature of two does not complete it"
    assert missing_cosigners(once, settings=COSUPERVISED) == (SUD,)
    assert [r.capacity for r in cosignatures(once)] == [INTACT]
    both = cosigned_by(once, SUD_SUPERVISOR, SUD, hours=1)
    assert both.status is NoteStatus.COSIGNED
    assert missing_cosigners(both, settings=COSUPERVISED) == ()
    assert [(r.reviewer, r.capacity) for r in both.reviews] == [
        (SUPERVISOR.user_id, INTACT), (SUD_SUPERVISOR.user_id, SUD)]


def test_the_sud_supervisor_may_co_sign_first() -> None:
    once = cosigned_by(signed(), SUD_SUPERVISOR, SUD)
    assert (once.status, missing_cosigners(once, settings=COSUPERVISED)) == (
        NoteStatus.SIGNED, (INTACT,))
    assert cosigned_by(once, SUPERVISOR, INTACT, hours=1).status is NoteStatus.COSIGNED


def test_the_same_capacity_cannot_co_sign_twice() -> None:
    once = cosigned_by(signed(), SUPERVISOR, INTACT)
    other_intact = Actor(user_id=UserId("u-second-intact"), role=Role.SUPERVISOR)
    with pytest.raises(RuleViolation) as caught:
        cosigned_by(once, other_intact, INTACT, hours=1)
    assert caught.value.message == ("The intact supervisor has already co-signed this note; it "
                                    "waits for the SUD supervisor.")
    with pytest.raises(RuleViolation, match="You have already co-signed this note"):
        cosigned_by(once, SUPERVISOR, SUD, hours=1)  # one person, not both capacities


def test_an_unknown_capacity_is_refused_in_a_plain_sentence() -> None:
    with pytest.raises(RuleViolation) as caught:
        cosigned_by(signed(), SUPERVISOR, None)
    assert caught.value.message == COSUPERVISION_UNKNOWN == (
        "The program requires co-signature by the intact and the SUD supervisor, and the server "
        "has not said which you are; sync, or ask the administrator.")


def test_without_co_supervision_one_co_signature_completes_the_note_as_before() -> None:
    for capacity in (None, INTACT, SUD):
        note = cosigned_by(signed(), SUPERVISOR, capacity, settings=SETTINGS)
        assert note.status is NoteStatus.COSIGNED
        assert note.reviews[-1].capacity is capacity
        assert missing_cosigners(note, settings=SETTINGS) == ()
    assert missing_cosigners(signed(), settings=SETTINGS) == ()


def test_the_authors_addendum_restarts_co_signing() -> None:
    once = cosigned_by(signed(), SUPERVISOR, INTACT)
    answer = replace(addendum(), at=REVIEW_AT + timedelta(hours=1))
    changed = add_addendum(once, answer)
    assert changed.status is NoteStatus.SIGNED
    assert cosignatures(changed) == ()
    assert missing_cosigners(changed, settings=COSUPERVISED) == (INTACT, SUD)
    # The SUD co-signature after the change does not complete it: the intact one came before.
    after = cosigned_by(changed, SUD_SUPERVISOR, SUD, hours=2)
    assert after.status is NoteStatus.SIGNED
    assert missing_cosigners(after, settings=COSUPERVISED) == (INTACT,)
    done = cosigned_by(after, SUPERVISOR, INTACT, hours=3)  # the intact supervisor, again
    assert done.status is NoteStatus.COSIGNED


def test_someone_elses_addendum_does_not_restart_co_signing() -> None:
    once = cosigned_by(signed(), SUPERVISOR, INTACT)
    theirs = replace(addendum(author=SUD_SUPERVISOR.user_id), at=REVIEW_AT + timedelta(hours=1))
    noted = add_addendum(once, theirs)
    assert missing_cosigners(noted, settings=COSUPERVISED) == (SUD,)
    assert cosigned_by(noted, SUD_SUPERVISOR, SUD, hours=2).status is NoteStatus.COSIGNED


def test_a_return_restarts_co_signing() -> None:
    once = cosigned_by(signed(), SUPERVISOR, INTACT)
    returned = return_note(once, reviewer=SUD_SUPERVISOR, at=REVIEW_AT + timedelta(hours=1),
                           comment="Who drove the children?", capacity=SUD)
    assert returned.status is NoteStatus.RETURNED
    assert returned.reviews[-1].capacity is SUD
    answered = add_addendum(returned, replace(addendum(), at=REVIEW_AT + timedelta(hours=2)))
    assert missing_cosigners(answered, settings=COSUPERVISED) == (INTACT, SUD)
    assert cosigned_by(answered, SUD_SUPERVISOR, SUD, hours=3).status is NoteStatus.SIGNED


# settled_status is what a laptop re-derives after sync; it must agree with cosign above.
AT = REVIEW_AT


def review(hours: int, capacity: SupervisorCapacity | None, *, cosigned: bool = True,
           who: str = "u-supervisor") -> Review:
    return Review(reviewer=UserId(who), at=AT + timedelta(hours=hours), cosigned=cosigned,
                  capacity=capacity)


@pytest.mark.parametrize(("reviews", "changes", "cosupervised", "expected"), [
    ([], [], True, NoteStatus.SIGNED),
    ([review(0, INTACT)], [], False, NoteStatus.COSIGNED),
    ([review(0, INTACT)], [], True, NoteStatus.SIGNED),
    ([review(0, INTACT), review(1, SUD)], [], True, NoteStatus.COSIGNED),
    ([review(0, None), review(1, SUD)], [], True, NoteStatus.SIGNED),  # an old co-signature
    ([review(0, INTACT), review(2, SUD)], [1], True, NoteStatus.SIGNED),  # author changed
    ([review(0, INTACT), review(2, SUD)], [1], False, NoteStatus.COSIGNED),
    ([review(0, INTACT), review(1, SUD)], [2], True, NoteStatus.SIGNED),  # addendum is latest
    ([review(0, INTACT), review(1, None, cosigned=False)], [], True, NoteStatus.RETURNED),
    ([review(0, None, cosigned=False), review(2, INTACT), review(3, SUD)], [1], True,
     NoteStatus.COSIGNED),
    ([review(1, INTACT), review(1, SUD)], [1], True, NoteStatus.COSIGNED),  # same moment
], ids=["none", "one, single", "one of two", "both", "old and SUD", "change between",
        "change between, single", "addendum last", "returned", "after return", "same moment"])
def test_settled_status_from_history(reviews: list[Review], changes: list[int],
                                     cosupervised: bool, expected: NoteStatus) -> None:
    settings = COSUPERVISED if cosupervised else SETTINGS
    found = settled_status(reviews, author_changes=[AT + timedelta(hours=h) for h in changes],
                           settings=settings)
    assert found is expected


def test_the_signing_deadline_is_late_entry_hours_after_the_visit_ended() -> None:
    note = signed()
    deadline = signing_deadline(note.details, settings=SETTINGS)
    # 10:00 Chicago (16:00 UTC) on 2 March, plus 24 hours.
    assert deadline == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    assert not is_late(note.details, signed_at=deadline, settings=SETTINGS)
    assert is_late(note.details, signed_at=deadline + timedelta(microseconds=1),
                   settings=SETTINGS)
