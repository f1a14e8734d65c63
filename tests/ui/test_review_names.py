"""A supervisor's review dialogs name people, not ids, and write miles as the Mileage page does
(a new user met "Approved rc1's mileage" and "170.0 miles" beside the page's "170")."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.conftest import ContextFactory
from tests.ui.test_supervisor_page import LEFT, supervisor_page, wait_dialog

WORKERS = ("Jordan Demo (demo-coordinator)", "Rowan Ellery (demo-intact-worker)")


def test_a_note_under_review_names_its_author(qtbot: QtBot, make_context: ContextFactory
                                              ) -> None:
    _, page = supervisor_page(qtbot, make_context)
    page.tabs.setCurrentWidget(page.cosign)
    qtbot.mouseClick(page.cosign.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: page.cosign.review_dialog)
    text = review.view.toPlainText()
    author = text.split("Author", 1)[1].split("Time", 1)[0].strip()
    assert author in WORKERS, text[:200]


def test_a_month_under_review_names_its_worker_and_writes_miles_as_the_page_does(
        qtbot: QtBot, make_context: ContextFactory) -> None:
    _, page = supervisor_page(qtbot, make_context)
    section = page.mileage
    page.tabs.setCurrentWidget(section)
    qtbot.mouseClick(section.review_button, LEFT)
    review = wait_dialog(qtbot, lambda: section.review_dialog)
    heading = next(label.text() for label in review.findChildren(QLabel)
                   if label.accessibleName() == "Month")
    assert heading.startswith(WORKERS) and "'s mileage for " in heading, heading
    assert ".0 miles" not in review.totals.text(), review.totals.text()
    model = review.model
    miles = [model.index(r, c).data() for r in range(model.rowCount()) for c in (4, 5, 6)]
    assert miles and not any(m.endswith(".0") for m in miles), miles
    assert model.headerData(4, Qt.Orientation.Horizontal) == "Miles"
