"""A family's case as it is first opened, with only what the form requires: nothing typed is
invented (no address), nobody is assigned who was not named, and a case a supervisor opens is
not waiting for anyone's confirmation."""

from __future__ import annotations

from datetime import date

from fieldapp.domain.cases import Case, Person
from fieldapp.domain.people import CaseId, UserId
from tests.domain.test_cases import make_case

WORKER = UserId("u-intact")


def bare_case() -> Case:
    """Opened with a name, a parent and a start date, and nothing else."""
    return Case(id=CaseId("case-1"), family_name="Okafor", parents=(Person(name="Ada Okafor"),),
                start_date=date(2026, 1, 5))


def test_a_family_opened_without_an_address_has_none_on_record() -> None:
    assert bare_case().address == ""


def test_a_family_opened_without_workers_is_assigned_to_no_one() -> None:
    case = bare_case()
    assert (case.coordinator_id, case.intact_worker_id, case.supervisor_ids) == (None, None, ())


def test_a_case_opened_by_a_supervisor_awaits_no_confirmation() -> None:
    case = bare_case()
    assert case.referred_by is None
    assert case.awaiting_confirmation is False


def test_a_family_a_worker_started_in_the_field_awaits_a_supervisor() -> None:
    assert make_case(referred_by=WORKER).awaiting_confirmation is True


def test_a_family_not_yet_saved_is_at_revision_zero() -> None:
    """The store's first save makes it revision 1; a case claiming 1 before that would pass
    the stale-revision check against the first saved version."""
    assert bare_case().revision == 0
