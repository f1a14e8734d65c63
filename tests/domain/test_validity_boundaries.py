"""The reason a specimen's finding gives, in exact words, at every threshold that decides it:
reports print the reason, and a reader checks the finding against the readings it quotes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fieldapp.domain.validity import ValidityReadings, classify, court_status
from tests.domain.test_validity import ONE_POSITIVE, readings, screen

ADULTERATED = "adulterated (49 CFR 40.89(b), HHS Mandatory Guidelines)"
INVALID = "invalid (HHS Mandatory Guidelines, invalid result, 49 CFR part 40)"
SUBSTITUTED = "substituted (49 CFR 40.88(b))"


def reason(taken: ValidityReadings) -> str:
    finding = classify(taken)
    assert finding is not None
    return finding.reason


@pytest.mark.parametrize(("taken", "expected"), [
    (readings("80", None, "11"), f"pH 11 is 11 or above: {ADULTERATED}"),
    (readings("80", None, "4"), f"pH 4 is at least 4 and below 4.5: {INVALID}"),
    (readings("80", None, "4.49"), f"pH 4.49 is at least 4 and below 4.5: {INVALID}"),
    (readings("80", None, "10.9"), f"pH 10.9 is at least 9 and below 11: {INVALID}"),
    (readings("20", "1.0010", "6"),
     "specific gravity 1.0010 is 1.0010 or below but creatinine 20 mg/dL is 2 or above, which "
     f"do not agree: {INVALID}"),
    (readings("1.9", "1.0200", "6"),
     f"creatinine 1.9 mg/dL and specific gravity 1.0200: {SUBSTITUTED}"),
], ids=["pH exactly 11", "pH exactly 4", "pH 4.49", "pH 10.9", "SG exactly 1.0010",
        "SG exactly 1.0200"])
def test_the_reason_at_each_threshold(taken: ValidityReadings, expected: str) -> None:
    assert reason(taken) == expected


# A field cup may read creatinine and specific gravity only: a finding made without pH says so,
# because pH could have found the specimen adulterated instead.
@pytest.mark.parametrize(("taken", "expected"), [
    (readings("1", "1.0300"),
     f"creatinine 1 mg/dL and specific gravity 1.0300: {SUBSTITUTED}; pH not measured"),
    (readings("1.2", "1.0100"),
     "creatinine 1.2 mg/dL is below 2 but specific gravity 1.0100 is above 1.0010 and below "
     f"1.0200, which do not agree: {INVALID}; pH not measured"),
    (readings("50", "1.0005"),
     "specific gravity 1.0005 is 1.0010 or below but creatinine 50 mg/dL is 2 or above, which "
     f"do not agree: {INVALID}; pH not measured"),
], ids=["substituted", "invalid: creatinine below 2", "invalid: low specific gravity"])
def test_a_finding_without_ph_says_ph_was_not_measured(taken: ValidityReadings,
                                                       expected: str) -> None:
    assert reason(taken) == expected


def test_a_finding_with_ph_does_not_say_it_was_missing() -> None:
    assert not reason(readings("50", "1.0005", "6")).endswith("; pH not measured")


def test_without_ph_a_specimen_is_not_called_valid() -> None:
    assert reason(readings("80", "1.0150")) == \
        "creatinine 80 mg/dL, specific gravity 1.0150: without pH, too few readings to call " \
        "the specimen valid"


def test_readings_are_quoted_in_plain_digits() -> None:
    # A reading held in exponent form (20 as 2E+1) is still written the way a person reads it.
    taken = ValidityReadings(creatinine=Decimal("2E+1"), specific_gravity=Decimal("1.0150"),
                             ph=Decimal("6"))
    assert taken.describe() == "creatinine 20 mg/dL, specific gravity 1.0150, pH 6"
    assert reason(ValidityReadings(creatinine=Decimal("2E+1"), specific_gravity=Decimal("1.0010"),
                                   ph=Decimal("6"))).startswith(
        "specific gravity 1.0010 is 1.0010 or below but creatinine 20 mg/dL")


def test_an_unconfirmed_positive_is_labelled_not_for_court() -> None:
    assert court_status(screen(results=ONE_POSITIVE)) == "unconfirmed, not for court"
