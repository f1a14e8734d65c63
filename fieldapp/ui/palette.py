"""Light or dark, as the system says (or as FIELDAPP_COLOR_SCHEME=light|dark forces)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ENV_VAR = "FIELDAPP_COLOR_SCHEME"

_DARK = {
    QPalette.ColorRole.Window: "#2b2b2e", QPalette.ColorRole.WindowText: "#eeeeee",
    QPalette.ColorRole.Base: "#1f1f22", QPalette.ColorRole.AlternateBase: "#29292d",
    QPalette.ColorRole.Text: "#eeeeee", QPalette.ColorRole.Button: "#35353a",
    QPalette.ColorRole.ButtonText: "#eeeeee", QPalette.ColorRole.ToolTipBase: "#3a3a40",
    QPalette.ColorRole.ToolTipText: "#eeeeee", QPalette.ColorRole.Highlight: "#3d7fd6",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.PlaceholderText: "#9a9aa0", QPalette.ColorRole.BrightText: "#ffffff",
}


def follow_color_scheme(app: QApplication) -> None:
    """Use a dark palette when the system (or the environment) asks for dark, and keep
    following the system as it changes."""
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if forced in ("light", "dark"):
        _apply(app, dark=forced == "dark")
        return
    hints = app.styleHints()
    _apply(app, dark=hints.colorScheme() == Qt.ColorScheme.Dark)
    hints.colorSchemeChanged.connect(
        lambda scheme: _apply(app, dark=scheme == Qt.ColorScheme.Dark))


def _apply(app: QApplication, *, dark: bool) -> None:
    palette = app.style().standardPalette()
    if dark:
        for role, colour in _DARK.items():
            palette.setColor(role, QColor(colour))
        disabled = QColor("#7a7a80")
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                     QPalette.ColorRole.ButtonText):
            palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
