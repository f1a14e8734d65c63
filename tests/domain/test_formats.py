"""How dates read: one style, the locale's, in one module; and no other module writes a date for
people by hand (a scan of the source, like the shortcut scan)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldapp.domain import formats
from fieldapp.domain.formats import (
    DateStyle,
    DayOrder,
    day_text,
    long_day_text,
    moment_text,
    month_text,
    order_of,
    set_style,
    time_text,
    weekday_text,
)

ROOT = Path(__file__).resolve().parents[2]
# Machine stamps in file names, never shown to a person as a date.
MACHINE_STAMPS = {"fieldapp/storage/backups.py", "fieldapp/storage/vault.py"}
DATE_DIRECTIVE = re.compile(r"%[aAbBcdjmUWxyYe]")
MONTH_NAMES = set(formats.MONTHS) | {m[:3] for m in formats.MONTHS if m != "May"}
DAY = date(2026, 11, 24)  # a Tuesday


@pytest.fixture
def american() -> Iterator[None]:
    old = set_style(DateStyle(order=DayOrder.MONTH_FIRST))
    yield
    set_style(old)


def test_the_default_style_is_day_first() -> None:
    assert day_text(DAY) == "24 Nov 2026"
    assert weekday_text(DAY) == "Tue 24 Nov 2026"
    assert long_day_text(DAY) == "Tuesday 24 November 2026"
    assert month_text("2026-11") == "November 2026" and month_text(DAY, short=True) == "Nov 2026"
    moment = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
    assert moment_text(moment, ZoneInfo("America/Chicago")) == "24 Nov 2026, 15:30"
    assert time_text(time(9, 5)) == "09:05"
    assert day_text(None) == "—" and day_text(None, none="not set") == "not set"


def test_a_month_first_style_changes_every_form_alike(american: None) -> None:
    assert day_text(DAY) == "Nov 24, 2026"
    assert weekday_text(DAY) == "Tue, Nov 24, 2026"
    assert long_day_text(DAY) == "Tuesday, November 24, 2026"
    assert month_text("2026-11") == "November 2026"
    assert moment_text(datetime(2026, 11, 24, 15, 30)) == "Nov 24, 2026, 15:30"


@pytest.mark.parametrize(("pattern", "order"), [
    ("M/d/yy", DayOrder.MONTH_FIRST), ("dd/MM/yyyy", DayOrder.DAY_FIRST),
    ("dd.MM.yy", DayOrder.DAY_FIRST), ("yyyy-MM-dd", DayOrder.YEAR_FIRST),
    ("yyyy/MM/dd", DayOrder.YEAR_FIRST), ("d MMM", DayOrder.DAY_FIRST),
    ("M/d", DayOrder.MONTH_FIRST), ("", DayOrder.DAY_FIRST),
    ("dddd, MMMM d, yyyy", DayOrder.MONTH_FIRST), ("dddd, d MMMM yyyy", DayOrder.DAY_FIRST),
    ("yyyy年M月d日dddd", DayOrder.YEAR_FIRST)])
def test_the_order_comes_from_the_locales_date_format(pattern: str, order: DayOrder) -> None:
    assert order_of(pattern) is order


def test_a_style_needs_every_name() -> None:
    with pytest.raises(ValueError, match="12 month names"):
        DateStyle(months=("January",))


# Nobody else writes dates ----------------------------------------------------------------------

def hand_written_dates(source: str) -> Iterator[int]:
    """Lines of `source` that write a date by hand: strftime, a date format in an f-string
    ("{day:%d %b}"), or a list of month names. (A time alone, "{t:%H:%M}", reads the same in
    every locale, so it is left alone.)"""
    for node in ast.walk(ast.parse(source)):
        if _calls_strftime(node) or _formats_a_date(node) or _lists_months(node):
            yield getattr(node, "lineno", 0)


def _calls_strftime(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "strftime"


def _formats_a_date(node: ast.AST) -> bool:
    return isinstance(node, ast.FormattedValue) and node.format_spec is not None \
        and any(isinstance(part, ast.Constant) and DATE_DIRECTIVE.search(str(part.value))
                for part in ast.walk(node.format_spec))


def _lists_months(node: ast.AST) -> bool:
    return isinstance(node, ast.Tuple | ast.List) and sum(
        isinstance(e, ast.Constant) and e.value in MONTH_NAMES for e in node.elts) >= 3


def python_files() -> list[Path]:
    return sorted(path for path in (ROOT / "fieldapp").rglob("*.py")
                  if path != ROOT / "fieldapp/domain/formats.py"
                  and path.relative_to(ROOT).as_posix() not in MACHINE_STAMPS)


def test_no_module_writes_a_date_by_hand() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}" for path in python_files()
             for line in hand_written_dates(path.read_text(encoding="utf-8"))]
    assert found == [], "write dates with fieldapp.domain.formats"


def test_the_scan_catches_each_way_of_writing_a_date_by_hand() -> None:
    source = ("a = day.strftime('%d %b')\n"
              "b = f'{day:%a} {day.day}'\n"
              "C = ('Jan', 'Feb', 'Mar')\n"
              "d = f'{miles:.1f} {day.isoformat()} {when:%H:%M}'\n")
    assert sorted(set(hand_written_dates(source))) == [1, 2, 3]
