"""Help → Keyboard shortcuts (F1): the declared shortcuts of the open profile's role."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fieldapp.domain.people import Role
from fieldapp.ui.models import Column, RowsModel
from fieldapp.ui.shortcuts import Shortcut, roles_in_words, shortcuts_for
from fieldapp.ui.tables import table
from fieldapp.ui.widgets import fit_to_screen, heading, paragraph

MNEMONICS = ("Every field and button also has an underlined letter: hold Alt and press it to "
             "move there (or to press the button).")


class KeyboardHelp(QDialog):
    """The keys `shortcuts` declares for one role, read from the declaration itself, so the
    list cannot drift from what the windows install. Not modal: it can stay open beside the
    work.

    Attributes:
        model: the rows shown (for tests).
    """

    def __init__(self, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.whose = paragraph("", name="Whose shortcuts")
        self.model: RowsModel[Shortcut] = RowsModel([
            Column("Keys", lambda s: s.keys),
            Column("What they do", lambda s: s.does, tooltip=lambda s: s.does),
            Column("Where", lambda s: s.place.where),
        ])
        self.view = table("Keyboard shortcuts", self.model)
        header = self.view.horizontalHeader()
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.close_button = QPushButton("&Close")
        self.close_button.setAccessibleName("Close")
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.close)
        self._lay_out()
        fit_to_screen(self, QSize(980, 600))

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Keyboard shortcuts"))
        layout.addWidget(self.whose)
        layout.addWidget(self.view, 1)
        layout.addWidget(paragraph(MNEMONICS, name="Underlined letters"))
        layout.addLayout(buttons)

    def set_role(self, role: Role | None) -> None:
        """List `role`'s keys; with no profile open, the keys every role has."""
        self.model.set_rows(shortcuts_for(role))
        self.whose.setText(
            f"The keys of FieldApp for {roles_in_words([role])}." if role is not None else
            "No profile is open: these keys work for everyone. Open your profile to see the "
            "keys of its tabs too.")

    def show_role(self, role: Role | None) -> None:
        """Show the window (raised if already open) with `role`'s keys."""
        self.set_role(role)
        if self.isVisible():
            self.raise_()  # already open behind another window
        self.show()
        self.activateWindow()
