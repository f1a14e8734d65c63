"""Random screen schedules a supervisor can re-derive, so nobody can say the days were picked.

The days are drawn from a seed recorded when the schedule is made: every day of the period,
weekends included, has the same chance. Given the same seed, case and period, `draw_days` gives
the same days on any machine, now or in court years later.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId

AVERAGE_MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True, kw_only=True)
class RandomSchedule:
    case_id: CaseId
    first_day: date
    last_day: date
    per_month: int
    seed: str
    days: tuple[date, ...]

    @property
    def fingerprint(self) -> str:
        """A short code a supervisor can note in advance and compare later."""
        return hashlib.sha256(self.seed.encode()).hexdigest()[:12]


def new_seed() -> str:
    return secrets.token_hex(16)


def draw_count(first_day: date, last_day: date, per_month: int) -> int:
    days = (last_day - first_day).days + 1
    return min(days, round(per_month * days / AVERAGE_MONTH_DAYS))


def draw_days(*, case_id: CaseId, first_day: date, last_day: date, per_month: int,
              seed: str) -> tuple[date, ...]:
    """The schedule's days: a uniform sample without replacement, fixed by the seed."""
    if last_day < first_day:
        raise RuleViolation("The period must end on or after its first day.")
    if per_month < 0:
        raise RuleViolation("The number of screens per month cannot be negative.")
    span = (last_day - first_day).days + 1
    material = f"fieldapp/schedule/v1|{seed}|{case_id}|{first_day}|{last_day}|{per_month}"
    rng = random.Random(int.from_bytes(hashlib.sha256(material.encode()).digest(), "big"))
    picked = sorted(rng.sample(range(span), draw_count(first_day, last_day, per_month)))
    return tuple(first_day + timedelta(days=offset) for offset in picked)


def make_schedule(*, case_id: CaseId, first_day: date, last_day: date, per_month: int,
                  seed: str | None = None) -> RandomSchedule:
    seed = seed or new_seed()
    return RandomSchedule(case_id=case_id, first_day=first_day, last_day=last_day,
                          per_month=per_month, seed=seed,
                          days=draw_days(case_id=case_id, first_day=first_day,
                                         last_day=last_day, per_month=per_month, seed=seed))


def verify(schedule: RandomSchedule) -> bool:
    """True when the recorded days are exactly what the recorded seed draws."""
    return schedule.days == draw_days(case_id=schedule.case_id, first_day=schedule.first_day,
                                      last_day=schedule.last_day, per_month=schedule.per_month,
                                      seed=schedule.seed)
