"""The date style of a Qt locale: the order of its long date format and its names."""

from __future__ import annotations

from PySide6.QtCore import QLocale

from fieldapp.domain.formats import DateStyle, order_of


def date_style(locale: QLocale) -> DateStyle:
    """How `locale` writes dates, for `fieldapp.domain.formats.set_style` (the domain knows no
    Qt, so the UI reads the locale and hands the style down once at start-up). The order is the
    long format's, which writes the month as a name as the style does: en_CA writes
    "2026-11-24" in figures but "November 24, 2026" in words."""
    short, long = QLocale.FormatType.ShortFormat, QLocale.FormatType.LongFormat
    return DateStyle(order=order_of(locale.dateFormat(long)),
                     months=tuple(locale.monthName(m, long) for m in range(1, 13)),
                     short_months=tuple(locale.monthName(m, short) for m in range(1, 13)),
                     weekdays=tuple(locale.dayName(d, long) for d in range(1, 8)),
                     short_weekdays=tuple(locale.dayName(d, short) for d in range(1, 8)))
