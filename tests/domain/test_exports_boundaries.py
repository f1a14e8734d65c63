"""Export requests at the edges of their rules: the longest period allowed and one day more,
and the exact words that send an accounting of disclosures to a single family."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.exports import LONGEST_PERIOD_DAYS, ReportKind, ScopeKind
from tests.domain.test_export_rules import request

FIRST = date(2024, 1, 1)


def test_the_longest_period_is_accepted_and_one_day_more_is_refused() -> None:
    longest = FIRST + timedelta(days=LONGEST_PERIOD_DAYS)
    assert request(ScopeKind.TEAM, first=FIRST, last=longest).last_day == longest
    with pytest.raises(RuleViolation) as refused:
        request(ScopeKind.TEAM, first=FIRST, last=longest + timedelta(days=1))
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
