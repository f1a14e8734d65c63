"""Disclosure terms and bases with nothing typed for the exception's reference: an exception
is never taken as documented by default, and each exception is explained in the words the
export dialog and the export's basis statement show."""

from __future__ import annotations

import pytest

from fieldapp.domain.consent import Recipient, RecipientKind
from fieldapp.domain.disclosure import Basis, Exception_, Terms
from fieldapp.domain.errors import RuleViolation

EMERGENCY_ROOM = Recipient(name="St. John's emergency department",
                           kind=RecipientKind.TREATMENT_PROVIDER)


def test_terms_on_an_exception_with_no_reference_typed_are_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        Terms(recipient=EMERGENCY_ROOM, purpose="overdose",
              exception=Exception_.MEDICAL_EMERGENCY)
    assert refused.value.message == \
        "Document the exception: The emergency, the facility and the person who asked."


def test_a_basis_on_an_exception_with_no_reference_typed_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        Basis(exception=Exception_.COURT_ORDER)
    assert refused.value.message == \
        "Document the exception: The court, the case number and the date of the order."


@pytest.mark.parametrize(("exception", "explanation"), [
    (Exception_.PROGRAM_USE, "Communication within the program, to staff who need the "
                             "information for their work (supervision, payroll, audit)."),
    (Exception_.PATIENT_ACCESS, "The person's own records, given to them at their request."),
    (Exception_.CHILD_ABUSE_REPORT, "The initial report of suspected child abuse or neglect "
                                    "made under state law; Part 2 does not restrict it."),
    (Exception_.MEDICAL_EMERGENCY, "Medical personnel, to the extent needed to meet a bona fide "
                                   "medical emergency."),
    (Exception_.COURT_ORDER, "An order of a court issued under 42 CFR 2.64 after notice and a "
                             "finding of good cause (a subpoena alone is not enough)."),
])
def test_each_exception_is_explained_in_these_words(exception: Exception_,
                                                    explanation: str) -> None:
    assert exception.explanation == explanation
