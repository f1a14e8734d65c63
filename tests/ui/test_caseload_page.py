"""The caseload list: the order it opens in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from fieldapp.ui.caseload_page import CaseloadPage
from tests.ui.conftest import ContextFactory


def test_a_fresh_caseload_is_sorted_a_to_z_by_family_name(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    page = CaseloadPage(make_context(demo=True))
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 2, timeout=10_000)
    shown = [page.proxy.index(row, 0).data() for row in range(page.proxy.rowCount())]
    assert shown == sorted(shown, key=str.casefold)
    assert shown != sorted(shown, key=str.casefold, reverse=True), "names that differ"
    header = page.view.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == \
        (0, Qt.SortOrder.AscendingOrder)
