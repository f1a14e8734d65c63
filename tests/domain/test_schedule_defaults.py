"""A random screen schedule written down without naming its method (its seed, period and days
copied from a court exhibit, say) is checked by the method every schedule is drawn with now."""

from __future__ import annotations

from datetime import date

from fieldapp.domain.people import CaseId
from fieldapp.domain.schedule import RANK, RandomSchedule, draw_days, verify

CASE = CaseId("case-1")
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)  # March


def test_a_schedule_naming_no_method_is_checked_by_rank() -> None:
    days = draw_days(case_id=CASE, per_month=2, seed="exhibit-12", method=RANK,
                      first_day=FIRST, last_day=LAST)
    written_down = RandomSchedule(case_id=CASE, per_month=2, seed="exhibit-12", days=days,
                                  first_day=FIRST, last_day=LAST)
    assert written_down.method == RANK
    assert verify(written_down)
