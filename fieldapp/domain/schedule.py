"""Random screen schedules a supervisor can re-derive, so nobody can say the days were picked.

The days are drawn from a seed recorded when the schedule is made: every day of the period,
weekends included, has the same chance. Given the same seed, case and period, `draw_days` gives
the same days on any machine, now or in court years later.

Two methods, recorded with each schedule:
- `RANK` (every schedule drawn since this version): each day of the period gets the SHA-256 of
  "fieldapp/schedule/v2|<seed>|<case id>|<day>" and the days with the smallest hashes are
  chosen. Anyone can redo it with any SHA-256 tool and a spreadsheet; a hash's order is a
  uniformly random order of the days, so each day has the same chance.
- `SAMPLE` (schedules drawn before): Python's `random.Random(seed).sample`, which Python does not
  promise to keep the same between versions; kept so those schedules can still be checked.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fieldapp.domain.errors import RuleViolation
from fieldapp.domain.people import CaseId, UserId

AVERAGE_MONTH_DAYS = 365.25 / 12
RANK = "sha256-rank/v2"
SAMPLE = "python-sample/v1"
METHODS = (RANK, SAMPLE)


@dataclass(frozen=True, kw_only=True)
class RandomSchedule:
    case_id: CaseId
    first_day: date
    last_day: date
    per_month: int
    seed: str
    days: tuple[date, ...]
    method: str = RANK

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
              seed: str, method: str = RANK) -> tuple[date, ...]:
    """The schedule's days: a uniform sample without replacement, fixed by the seed."""
    if last_day < first_day:
        raise RuleViolation("The period must end on or after its first day.")
    if per_month < 0:
        raise RuleViolation("The number of screens per month cannot be negative.")
    if method not in METHODS:
        raise RuleViolation(f"This schedule was drawn by a method this FieldApp does not know "
                            f"({method}); update FieldApp to check it.")
    span = (last_day - first_day).days + 1
    count = draw_count(first_day, last_day, per_month)
    days = [first_day + timedelta(days=offset) for offset in range(span)]
    if method == RANK:
        return tuple(sorted(sorted(days, key=lambda d: day_hash(seed, case_id, d))[:count]))
    material = f"fieldapp/schedule/v1|{seed}|{case_id}|{first_day}|{last_day}|{per_month}"
    rng = random.Random(int.from_bytes(hashlib.sha256(material.encode()).digest(), "big"))
    return tuple(days[offset] for offset in sorted(rng.sample(range(span), count)))


def day_hash(seed: str, case_id: CaseId, day: date) -> str:
    """A day's rank in a `RANK` draw: the SHA-256 (hex) of the seed, case and day."""
    return hashlib.sha256(f"fieldapp/schedule/v2|{seed}|{case_id}|{day.isoformat()}"
                          .encode()).hexdigest()


def make_schedule(*, case_id: CaseId, first_day: date, last_day: date, per_month: int,
                  seed: str | None = None, method: str = RANK) -> RandomSchedule:
    seed = seed or new_seed()
    return RandomSchedule(case_id=case_id, first_day=first_day, last_day=last_day,
                          per_month=per_month, seed=seed, method=method,
                          days=draw_days(case_id=case_id, first_day=first_day,
                                         last_day=last_day, per_month=per_month, seed=seed,
                                         method=method))


def verify(schedule: RandomSchedule) -> bool:
    """True when the recorded days are exactly what the recorded seed draws by the recorded
    method."""
    return schedule.days == draw_days(case_id=schedule.case_id, first_day=schedule.first_day,
                                      last_day=schedule.last_day, per_month=schedule.per_month,
                                      seed=schedule.seed, method=schedule.method)


@dataclass(frozen=True, kw_only=True)
class DrawnSchedule:
    """A schedule with who drew it and when (the audit log holds its fingerprint from then)."""

    schedule: RandomSchedule
    drawn_by: UserId
    drawn_at: datetime


def court_statement(drawn: DrawnSchedule, *, today: date, drawn_on: date, by: str) -> str:
    """How the schedule was drawn, in words a court can check: after the period has ended the
    seed and every day, so anyone can re-derive them; before, only the days already past (the
    seed would give away the rest)."""
    s = drawn.schedule
    head = (f"Random screen days for {s.first_day.isoformat()} to {s.last_day.isoformat()} "
            f"({s.per_month} a month, every day of the period equally likely, weekends "
            f"included), drawn on {drawn_on.isoformat()} by {by}"
            f"{' before the period began' if drawn_on < s.first_day else ''}; fingerprint "
            f"{s.fingerprint}; method {s.method}.")
    if today <= s.last_day:
        past = [d.isoformat() for d in s.days if d < today]
        return (f"{head} The seed stays sealed until the period ends; days so far: "
                f"{', '.join(past) or 'none'}; {len(s.days) - len(past)} more to come.")
    checked = "the same days" if verify(s) else "DIFFERENT days: the record was changed"
    how = (" Each day's rank is the SHA-256 of fieldapp/schedule/v2|<seed>|<case id>|<day>; "
           "the smallest are chosen." if s.method == RANK else "")
    return (f"{head} Seed {s.seed} (SHA-256 begins {s.fingerprint}); case id {s.case_id}; "
            f"days: {', '.join(d.isoformat() for d in s.days)}. Drawn again from the seed "
            f"for this report: {checked}.{how}")
