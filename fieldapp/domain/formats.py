"""How dates and times read for people: the one place every screen and printout takes them from.

The style (the order of day, month and year, and the names of months and weekdays) is set once
at start-up from the system's locale (`fieldapp.ui.run`), so an en_US laptop reads "Nov 24, 2026"
and an en_GB one "24 Nov 2026" on every table, heading and PDF alike. Until then, and in tests
that do not set it, the default is day first with English names. Times are always 24-hour
("15:30"): visit times are typed that way. Files for machines (CSV) do not come here: they keep
ISO dates and say so in their column names.

Thread rule: the style is set on the UI thread before any worker starts; after that it is only
read (a PDF export reads it on its worker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from enum import StrEnum


class DayOrder(StrEnum):
    DAY_FIRST = "dmy"  # 24 Nov 2026
    MONTH_FIRST = "mdy"  # Nov 24, 2026
    YEAR_FIRST = "ymd"  # 2026 Nov 24


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, kw_only=True)
class DateStyle:
    """Attributes:
    order: where the day, month and year go.
    months, short_months: January first; weekdays, short_weekdays: Monday first.
    """

    order: DayOrder = DayOrder.DAY_FIRST
    months: tuple[str, ...] = MONTHS
    short_months: tuple[str, ...] = tuple(m[:3] for m in MONTHS)
    weekdays: tuple[str, ...] = WEEKDAYS
    short_weekdays: tuple[str, ...] = tuple(d[:3] for d in WEEKDAYS)

    def __post_init__(self) -> None:
        if not (len(self.months) == len(self.short_months) == 12
                and len(self.weekdays) == len(self.short_weekdays) == 7):
            raise ValueError("A date style needs 12 month names and 7 weekday names of each kind.")


def order_of(pattern: str) -> DayOrder:
    """The order a Qt date pattern ("dddd, MMMM d, yyyy", "d MMMM yyyy", "yyyy-MM-dd") writes
    the day, month and year in (a weekday, "ddd" or "dddd", is not the day); day first when it
    cannot tell."""
    pattern = re.sub(r"d{3,}", "", pattern)
    day, month, year = pattern.find("d"), pattern.find("M"), pattern.find("y")
    if day < 0 or month < 0:
        return DayOrder.DAY_FIRST
    if 0 <= year < min(day, month):
        return DayOrder.YEAR_FIRST
    return DayOrder.MONTH_FIRST if month < day else DayOrder.DAY_FIRST


_style = DateStyle()


def set_style(style: DateStyle) -> DateStyle:
    """Use `style` from now on; returns the one it replaces (a test puts it back)."""
    global _style
    old, _style = _style, style
    return old


def current_style() -> DateStyle:
    return _style


def _arrange(day: int, month: str, year: int) -> str:
    if _style.order is DayOrder.MONTH_FIRST:
        return f"{month} {day}, {year}"
    if _style.order is DayOrder.YEAR_FIRST:
        return f"{year} {month} {day}"
    return f"{day} {month} {year}"


def day_text(day: date | None, *, none: str = "—") -> str:
    """The short form, for tables and sentences: '24 Nov 2026' ('Nov 24, 2026'); `none` for no
    date."""
    if day is None:
        return none
    return _arrange(day.day, _style.short_months[day.month - 1], day.year)


def weekday_text(day: date | None, *, none: str = "—") -> str:
    """With its weekday, where the weekday matters (a visit, a day in a chart): 'Tue 24 Nov
    2026' ('Tue, Nov 24, 2026')."""
    if day is None:
        return none
    comma = "," if _style.order is DayOrder.MONTH_FIRST else ""
    return f"{_style.short_weekdays[day.weekday()]}{comma} {day_text(day)}"


def long_day_text(day: date) -> str:
    """The long form, for headings and printed prose: 'Tuesday 24 November 2026'
    ('Tuesday, November 24, 2026')."""
    comma = "," if _style.order is DayOrder.MONTH_FIRST else ""
    return (f"{_style.weekdays[day.weekday()]}{comma} "
            f"{_arrange(day.day, _style.months[day.month - 1], day.year)}")


def month_text(month: str | date, *, short: bool = False) -> str:
    """A month ('2026-11' or a day in it) as 'November 2026', or 'Nov 2026' when `short`."""
    if isinstance(month, str):
        year, number = (int(part) for part in month.split("-")[:2])
    else:
        year, number = month.year, month.month
    names = _style.short_months if short else _style.months
    if _style.order is DayOrder.YEAR_FIRST:
        return f"{year} {names[number - 1]}"
    return f"{names[number - 1]} {year}"


def month_name(number: int, *, short: bool = False) -> str:
    """The name of month `number` (1 is January) alone, for a chart's axis."""
    return (_style.short_months if short else _style.months)[number - 1]


def time_text(value: time | datetime | None, *, none: str = "") -> str:
    """A time of day, 24-hour: '15:30'."""
    return f"{value.hour:02d}:{value.minute:02d}" if value is not None else none


def moment_text(moment: datetime, zone: tzinfo | None = None) -> str:
    """A day and a time, in `zone` (the program's) when given: '24 Nov 2026, 15:30'."""
    local = moment.astimezone(zone) if zone is not None else moment
    return f"{day_text(local.date())}, {time_text(local)}"


def iso_moment_text(moment: datetime) -> str:
    """For machines (a CSV, whose column name says so), not people: '2026-11-24 03:30 CST'."""
    return f"{moment.isoformat(' ', 'minutes')[:16]} {moment.tzname() or ''}".rstrip()
