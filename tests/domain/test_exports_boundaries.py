"""Export requests at the edges of their rules: the longest period allowed and one day more,
and the exact words that send an accounting of disclosures to a single family."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.exports import ReportKind, ScopeKind
from tests.domain.test_export_rules import request

FIRST = date(2024, 1, 1)


@pytest.mark.parametrize(("first", "longest"), [
    (FIRST, date(2027, 1, 1)),                 # a leap day among the three years
    (date(2025, 3, 1), date(2028, 3, 1)),      # and at the end of them
    (date(2024, 2, 29), date(2027, 3, 1)),     # from a leap day: the day after 28 February
])
def test_three_years_to_the_day_are_accepted_and_one_day_more_is_refused(
        first: date, longest: date) -> None:
    assert request(ScopeKind.TEAM, first=first, last=longest).last_day == longest
    with pytest.raises(RuleViolation) as refused:
        request(ScopeKind.TEAM, first=first, last=longest + timedelta(days=1))
    assert refused.value.message == "Export at most three years at a time."


def test_three_years_and_a_day_are_within_the_longest_period() -> None:
    # An accounting reaches back three years to the day (42 CFR 2.24), a leap day among them.
    assert request(ScopeKind.TEAM, first=FIRST, last=date(2027, 1, 1)).months[-1] == "2027-01"


@pytest.mark.parametrize("scope", [ScopeKind.TEAM, ScopeKind.WORKER])
def test_an_accounting_for_a_team_or_a_worker_is_refused_in_these_words(
        scope: ScopeKind) -> None:
    with pytest.raises(RuleViolation) as refused:
        request(scope, kind=ReportKind.ACCOUNTING, worker="rc-1")
    assert refused.value.message == \
        "The accounting of disclosures is kept per family: choose the case."


def test_an_accounting_for_one_family_is_accepted() -> None:
    asked = request(ScopeKind.CASES, kind=ReportKind.ACCOUNTING, cases=("c-alder",))
    assert asked.kind is ReportKind.ACCOUNTING
