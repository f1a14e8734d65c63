"""Visit notes at the edges of their rules: a supervisor's addendum to a reviewed note, a review
and an addendum at the same moment, the field each problem is about, and the exact sentences a
worker or supervisor acts on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from fieldapp.domain.errors import NotPermitted, RuleViolation
from fieldapp.domain.visits import (
    ATTESTATION,
    ContactType,
    NoteStatus,
    Place,
    Review,
    VisitDetails,
    VisitNote,
    add_addendum,
    check_complete,
    cosign,
    edit_draft,
    return_note,
    settled_status,
    sign,
    sign_problems,
)
from tests.domain.test_visits import (
    AT,
    COLLEAGUE,
    COSUPERVISED,
    INTACT,
    REVIEW_AT,
    SETTINGS,
    SIGN_AT,
    SUD,
    SUPERVISOR,
    addendum,
    cosigned_by,
    details,
    draft,
    review,
    signed,
)

SUPERVISORS_NOTE = replace(addendum(author=SUPERVISOR.user_id),
                           at=REVIEW_AT + timedelta(hours=1))


def returned() -> VisitNote:
    return return_note(signed(), reviewer=SUPERVISOR, at=REVIEW_AT,
                       comment="The time out looks wrong.")


# --- a note's history ---------------------------------------------------------------------------


def test_a_new_note_is_on_time_and_not_yet_stored() -> None:
    note = draft()
    assert note.late_entry is False
    assert note.revision == 0


def test_a_blank_visit_starts_as_a_face_to_face_visit_at_home() -> None:
    blank = VisitDetails(visit_date=date(2026, 3, 2))
    assert (blank.place, blank.contact_type, blank.safety_concerns) == (
        Place.HOME, ContactType.FACE_TO_FACE, False)


def test_the_attestation_in_full() -> None:
    assert ATTESTATION == ("I attest that this note is a true and complete record of the "
                           "contact it describes, written by me.")


def test_a_co_signature_carries_no_comment() -> None:
    done = cosign(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    assert done.reviews[-1].comment == ""


def test_a_review_recorded_before_co_supervision_has_no_capacity() -> None:
    assert Review(reviewer=SUPERVISOR.user_id, at=REVIEW_AT, cosigned=True).capacity is None


def test_a_supervisors_addendum_leaves_a_cosigned_note_cosigned() -> None:
    done = cosign(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    assert add_addendum(done, SUPERVISORS_NOTE).status is NoteStatus.COSIGNED


def test_a_supervisors_addendum_leaves_a_returned_note_returned() -> None:
    # Only the author's answer sends it back for review.
    assert add_addendum(returned(), SUPERVISORS_NOTE).status is NoteStatus.RETURNED


def test_a_return_records_who_returned_the_note_and_when() -> None:
    (given,) = returned().reviews
    assert (given.reviewer, given.at, given.cosigned) == (SUPERVISOR.user_id, REVIEW_AT, False)


def test_a_return_at_the_moment_of_the_authors_latest_addendum_stands() -> None:
    # The author wrote twice; the return came at the very moment of the second addendum. An
    # addendum at the same moment as a review counts as before it, so the note is returned.
    found = settled_status([review(1, None, cosigned=False)],
                           author_changes=[AT, AT + timedelta(hours=1)], settings=SETTINGS)
    assert found is NoteStatus.RETURNED


def test_a_co_signature_at_the_moment_of_the_authors_latest_addendum_counts() -> None:
    reviews = [review(0, INTACT), review(1, INTACT), review(1, SUD, who="u-sud")]
    found = settled_status(reviews, author_changes=[AT, AT + timedelta(hours=1)],
                           settings=COSUPERVISED)
    assert found is NoteStatus.COSIGNED


# --- the field each problem is about ------------------------------------------------------------


def fields_and_texts(**overrides: object) -> list[tuple[str, str]]:
    return [(p.field, p.text)
            for p in sign_problems(details(**overrides), SETTINGS, at=SIGN_AT)]


def test_a_visit_in_the_future_is_about_its_date() -> None:
    assert fields_and_texts(visit_date=date(2026, 3, 3)) == [
        ("visit_date", "A visit in the future cannot be signed.")]


@pytest.mark.parametrize(("time_in", "time_out", "field"), [
    (None, time(10), "time_in"),
    (time(9), None, "time_out"),
    (None, None, "time_in"),
], ids=["no time in", "no time out", "neither"])
def test_a_missing_time_is_about_the_time_missing(time_in: time | None, time_out: time | None,
                                                  field: str) -> None:
    assert fields_and_texts(time_in=time_in, time_out=time_out) == [
        (field, "Fill in the time in and the time out.")]


def test_undescribed_safety_concerns_are_about_the_description() -> None:
    assert fields_and_texts(safety_concerns=True, safety_description=" ") == [
        ("safety_description", "Describe the safety concerns you saw.")]


def test_a_service_listed_twice_is_about_the_services() -> None:
    assert fields_and_texts(services=("referral", "referral")) == [
        ("services", "Each service is listed once.")]


def test_every_unknown_service_is_named() -> None:
    assert fields_and_texts(services=("pet grooming", "referral", "car wash")) == [
        ("services", "pet grooming, car wash is not on the program's service list.")]


# --- the exact sentences ------------------------------------------------------------------------


def test_every_problem_is_a_sentence_of_one_message() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_complete(details(narrative="", people_present=()), SETTINGS, at=SIGN_AT)
    assert caught.value.message == "Write the narrative of the visit. List who was present."


def test_only_the_author_edits_or_signs_in_those_words() -> None:
    with pytest.raises(NotPermitted) as caught:
        edit_draft(draft(), details(), editor=COLLEAGUE)
    assert caught.value.message == "Only the author can edit a draft note."
    with pytest.raises(NotPermitted) as caught:
        sign(draft(), signer=COLLEAGUE, at=SIGN_AT, settings=SETTINGS)
    assert caught.value.message == "Only the author can sign a note."


def test_a_draft_refuses_an_addendum_in_those_words() -> None:
    with pytest.raises(RuleViolation) as caught:
        add_addendum(draft(), addendum())
    assert caught.value.message == "A draft is edited directly; addenda are for signed notes."


def test_the_review_refusals_are_said_exactly() -> None:
    with pytest.raises(NotPermitted) as caught:
        cosign(signed(), reviewer=COLLEAGUE, at=REVIEW_AT, settings=SETTINGS)
    assert caught.value.message == "Only a supervisor can co-sign or return a note."
    own = sign(replace(draft(), author=SUPERVISOR.user_id), signer=SUPERVISOR, at=SIGN_AT,
               settings=SETTINGS)
    with pytest.raises(NotPermitted) as caught:
        cosign(own, reviewer=SUPERVISOR, at=REVIEW_AT, settings=SETTINGS)
    assert caught.value.message == "A note cannot be co-signed by its own author."
    with pytest.raises(RuleViolation) as refused:
        return_note(signed(), reviewer=SUPERVISOR, at=REVIEW_AT, comment=" ")
    assert refused.value.message == "Say what needs correcting when returning a note."


def test_a_second_co_signature_by_the_same_person_is_refused_exactly() -> None:
    once = cosigned_by(signed(), SUPERVISOR, INTACT)
    with pytest.raises(RuleViolation) as caught:
        cosigned_by(once, SUPERVISOR, SUD, hours=1)
    assert caught.value.message == \
        "You have already co-signed this note; it waits for the other supervisor."

