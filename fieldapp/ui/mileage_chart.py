"""The last twelve months of mileage as a stacked bar chart, and the words shared about a month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from fieldapp.domain import formats
from fieldapp.domain.formats import month_name, month_text
from fieldapp.domain.mileage import MileageMonth, MonthStatus, month_key
from fieldapp.services.mileage import MileageService
from fieldapp.services.workspace import Workspace
from fieldapp.ui.context import UiContext
from fieldapp.ui.ops import query
from fieldapp.ui.widgets import message_label

MONTHS = 12
TICK = 50  # miles between the value axis lines
REIMBURSABLE_COLOUR = "#2e7d32"
OVER_CAP_COLOUR = "#c77700"


def month_label(month: str, *, short: bool = False) -> str:
    """'2026-11' as 'November 2026', or 'Nov 2026' when `short` (`fieldapp.domain.formats`)."""
    return month_text(month, short=short)


def day_text(day: date) -> str:
    """A trip's day, as every table writes a day."""
    return formats.day_text(day)


def miles_text(miles: Decimal) -> str:
    """Miles to a tenth, without a trailing '.0': '150', '37.6'. The one way screens write miles."""
    tenths = miles.quantize(Decimal("0.1"))
    return str(tenths.to_integral_value()) if tenths == tenths.to_integral_value() else str(tenths)


def used_text(month: MileageMonth) -> str:
    """The month against the cap, as every meter says it: '120 of 150 miles used · 30 left ·
    $87.00'."""
    return (f"{miles_text(month.reimbursable)} of {miles_text(month.cap)} miles used · "
            f"{miles_text(month.remaining)} left · ${month.amount:,.2f}")


def shift_month(month: str, delta: int) -> str:
    """The month key `delta` months after `month` (before, if negative)."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + delta
    return month_key(date(index // 12, index % 12 + 1, 1))


def last_months(end: str, count: int = MONTHS) -> list[str]:
    """The `count` month keys ending with `end`, oldest first."""
    return [shift_month(end, -back) for back in range(count - 1, -1, -1)]


NOT_CONNECTED_SUBMITTED = ("Status: submitted. This profile is not connected to the program's "
                           "server yet: the month goes to your supervisor at the next sync, "
                           "once you connect it in Settings.")


def status_text(status: MonthStatus, reason: str, *, connected: bool) -> str:
    """The month's status in a sentence; `connected`: the profile is enrolled with a server,
    so a submitted month can reach the supervisor."""
    if status is MonthStatus.SUBMITTED and not connected:
        return NOT_CONNECTED_SUBMITTED
    return {
        MonthStatus.OPEN: "Status: open. Submit the month when its trips are complete.",
        MonthStatus.SUBMITTED: "Status: submitted, waiting for your supervisor's approval.",
        MonthStatus.APPROVED: "Status: approved.",
        MonthStatus.RETURNED: f"Status: returned by your supervisor: {reason or 'no reason given'}"
                              " Correct the trips and submit the month again.",
    }[status]


def lock_text(ledger: MileageMonth) -> str:
    """Why trips cannot change in this month, or '' if they can."""
    name = month_label(ledger.month)
    if ledger.status is MonthStatus.SUBMITTED:
        return (f"{name} is submitted, so its trips can no longer be added, edited or removed. "
                "If something is wrong, ask your supervisor to return it.")
    if ledger.status is MonthStatus.APPROVED:
        return f"{name} is approved: its trips are final and can no longer be changed."
    return ""


@dataclass(frozen=True)
class ChartData:
    """Twelve months, oldest first, read in one worker call."""

    months: tuple[MileageMonth, ...]


class MileageChart(QWidget):
    """Stacked bars of reimbursable and over-cap miles for the last twelve months, and the cap.

    Signals:
        loaded: the chart shows fresh figures.
    """

    loaded = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._request = 0
        self.data: ChartData | None = None
        self.reimbursable_set = QBarSet("Reimbursable")
        self.reimbursable_set.setColor(QColor(REIMBURSABLE_COLOUR))
        self.over_cap_set = QBarSet("Over the cap (not reimbursed)")
        self.over_cap_set.setColor(QColor(OVER_CAP_COLOUR))
        self.series = QStackedBarSeries()
        self.series.append(self.reimbursable_set)
        self.series.append(self.over_cap_set)
        self.cap_line = QLineSeries()
        self.cap_line.setName("Monthly cap")
        self.cap_line.setPen(QPen(QColor("#555555"), 2, Qt.PenStyle.DashLine))
        self.chart = QChart()
        self.chart.setTitle("Miles per month, last 12 months")
        self.chart.addSeries(self.series)
        self.chart.addSeries(self.cap_line)
        self.chart.legend().setVisible(True)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setMargins(QMargins(4, 4, 4, 4))
        self.x_axis = QBarCategoryAxis()
        self.x_axis.setTitleText("Month")
        self.y_axis = QValueAxis()
        self.y_axis.setTitleText("Miles")
        self.y_axis.setLabelFormat("%d")
        self.chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.series, self.cap_line):
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumHeight(200)  # a 1280x720 screen still shows the page whole
        self.view.setAccessibleName("Mileage chart, last 12 months")
        self.view.setAccessibleDescription("Loading the figures.")
        self.view.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a screen reader reaches the summary
        self.error = message_label("Chart message")
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        layout.addWidget(self.error)

    def refresh(self) -> None:
        """Read the twelve months ending with this month, in one worker call."""
        self._request += 1
        request = self._request

        def read(workspace: Workspace) -> ChartData:
            service = MileageService(workspace)
            end = month_key(workspace.today())
            return ChartData(months=tuple(service.month(m) for m in last_months(end)))

        query(self._ctx, read, owner=self).done(lambda data: self._show(request, data)) \
            .shown_in(self.error, after_failure=self.error.show).run()

    def categories(self) -> list[str]:
        return list(self.x_axis.categories())

    def _show(self, request: int, data: ChartData) -> None:
        if request != self._request:
            return  # a newer refresh is on its way
        self.data = data
        self.error.hide()
        months = data.months
        self.reimbursable_set.remove(0, self.reimbursable_set.count())
        self.over_cap_set.remove(0, self.over_cap_set.count())
        self.reimbursable_set.append([float(m.reimbursable) for m in months])
        self.over_cap_set.append([float(m.over_cap) for m in months])
        self.x_axis.clear()
        self.x_axis.append([month_name(int(m.month[5:7]), short=True) for m in months])
        self.x_axis.setTitleText(f"Month ({month_label(months[0].month, short=True)} to "
                                 f"{month_label(months[-1].month, short=True)})")
        cap = float(months[-1].cap)
        self.cap_line.clear()
        self.cap_line.append([QPointF(-0.5, cap), QPointF(len(months) - 0.5, cap)])
        self.cap_line.setName(f"Monthly cap ({miles_text(months[-1].cap)} miles)")
        top = max([cap, *(float(m.total) for m in months)])
        ceiling = _round_up(top * 1.1)
        self.y_axis.setRange(0, ceiling)
        self.y_axis.setTickCount(ceiling // TICK + 1 if ceiling <= 10 * TICK else 6)
        self.view.setAccessibleDescription(describe(months))
        self.loaded.emit()


def describe(months: tuple[MileageMonth, ...]) -> str:
    """The chart in words, for people who cannot see it."""
    parts = []
    for month in months:
        text = f"{month_label(month.month, short=True)}: {miles_text(month.reimbursable)} " \
               "reimbursable"
        if month.over_cap > 0:
            text += f", {miles_text(month.over_cap)} over the cap"
        parts.append(text)
    cap = miles_text(months[-1].cap) if months else "?"
    return (f"Miles per month for the last {len(months)} months; the cap is {cap} miles. "
            + "; ".join(parts) + ".")


def _round_up(value: float) -> int:
    """Up to a whole number of ticks (50 miles each; for big figures, five even steps)."""
    step = TICK if value <= 10 * TICK else -(-int(value) // (5 * TICK)) * TICK
    return max(TICK, int(-(-value // step) * step))
