"""The demo's home visits, planned as a worker's weeks are lived: a few families a day between
about 9:00 and 17:15, with the drive between two homes, never two visits at once, none on a
Sunday. Seeded like the rest of the demo, so every build of it is the same."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from fieldapp.domain.cases import Case
from fieldapp.domain.people import CaseId
from fieldapp.domain.visits import ContactType, Place, VisitDetails

PLANNED_DAYS = 34  # the demo's visits begin this many days before today
FIRST_VISIT = 8 * 60 + 45  # minutes after midnight: the earliest a worker is at a door
LAST_VISIT_ENDS = 17 * 60 + 15  # the latest a day's visits are planned to end
DRIVES = (15, 20, 25, 30)  # minutes between two homes
VISIT_LENGTHS = (45, 60, 60, 75)
KNOCK = 10  # minutes at a door nobody opens
SUNDAY = 6


@dataclass(frozen=True, kw_only=True)
class VisitStyle:
    """How one worker's visits go.

    Attributes:
        gaps: days between two visits to one family (aftercare families: a week or so).
        per_day: the most visits in one day; a family due on a full day is seen the next.
        narratives: what a visit's narrative may say ({parent}: the parent's first name).
        services: the services of a face-to-face visit.
    """

    gaps: tuple[int, ...]
    per_day: int
    narratives: tuple[str, ...]
    services: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PlannedVisit:
    case: Case
    day: date
    time_in: time
    time_out: time
    attempted: bool
    next_visit: date


def plan_visits(cases: Sequence[Case], *, style: VisitStyle, rng: random.Random, today: date,
                behind: frozenset[CaseId]) -> list[PlannedVisit]:
    """One worker's visits to `cases` from `PLANNED_DAYS` days ago to yesterday, by day and
    time; the `behind` families were last seen six days ago."""
    due = {case.id: today - timedelta(days=PLANNED_DAYS - rng.randrange(3)) for case in cases}
    planned: list[PlannedVisit] = []
    day = today - timedelta(days=PLANNED_DAYS)
    while day < today:
        waiting = [case for case in cases
                   if due[case.id] <= day < today - timedelta(days=6 if case.id in behind else 0)]
        if day.weekday() != SUNDAY and waiting:
            seen = sorted(waiting, key=lambda c: due[c.id])[:style.per_day]  # longest due first
            for case, (time_in, time_out, attempted) in zip(seen, _day(len(seen), rng),
                                                            strict=True):
                gaps = style.gaps if case.visits_per_week > 1 else (6, 7, 8)
                due[case.id] = day + timedelta(days=rng.choice(gaps))
                planned.append(PlannedVisit(case=case, day=day, time_in=time_in,
                                            time_out=time_out, attempted=attempted,
                                            next_visit=due[case.id]))
        day += timedelta(days=1)
    return planned


def _day(count: int, rng: random.Random) -> list[tuple[time, time, bool]]:
    """`count` visits one after another, a drive apart, starting at a quarter hour chosen so
    the day ends by `LAST_VISIT_ENDS` when it can: visits fall in the morning or after school."""
    attempted = [rng.random() < 0.1 for _ in range(count)]
    lengths = [KNOCK if knock else rng.choice(VISIT_LENGTHS) for knock in attempted]
    drives = [rng.choice(DRIVES) for _ in range(count - 1)]
    slack = max(0, LAST_VISIT_ENDS - FIRST_VISIT - sum(lengths) - sum(drives))
    minute = FIRST_VISIT + 15 * rng.randint(0, slack // 15)
    visits = []
    for length, drive, knock in zip(lengths, [*drives, 0], attempted, strict=True):
        visits.append((_at(minute), _at(minute + length), knock))
        minute += length + drive
    return visits


def _at(minute: int) -> time:
    return time(minute // 60, minute % 60)


def visit_details(visit: PlannedVisit, *, style: VisitStyle, rng: random.Random
                  ) -> VisitDetails:
    """The note a worker writes of `visit`."""
    case, seen = visit.case, not visit.attempted
    parent = case.parents[0].name.split()[0]
    return VisitDetails(
        visit_date=visit.day, time_in=visit.time_in, time_out=visit.time_out, place=Place.HOME,
        contact_type=ContactType.FACE_TO_FACE if seen else ContactType.ATTEMPTED,
        people_present=(case.parents[0].name, *(c.name for c in case.children)) if seen else (),
        services=style.services if seen else (),
        narrative=rng.choice(style.narratives).format(parent=parent) if seen
        else "Knocked twice; nobody home. Left a card.",
        next_steps="Next home visit as planned.", next_visit_date=visit.next_visit)
