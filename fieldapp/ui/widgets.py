"""Small building blocks shared by the pages."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

# What a window manager adds around a window (title bar, borders), so that the whole window, not
# only its inside, fits the screen's free area; not known before the window is shown.
WINDOW_FRAME = QSize(16, 40)
DESIGN_SIZE = "design_size"  # the property holding the size a window was designed at


def fitted_size(design: QSize, available: QRect) -> QSize:
    """A window's design size, or less on a screen whose free area (without the taskbar) is
    `available`, so that the window with its frame fits."""
    return design.boundedTo(available.size() - WINDOW_FRAME)


def fit_to_screen(window: QWidget, design: QSize, available: QRect | None = None) -> None:
    """Size a top-level window: its design size, shrunk to the screen it opens on (or to
    `available`); never below its minimum. What it holds scrolls; its buttons stay in view."""
    area = available if available is not None else window.screen().availableGeometry()
    window.setProperty(DESIGN_SIZE, design)  # kept: the window is fitted again on another screen
    window.resize(fitted_size(design, area).expandedTo(window.minimumSize()))


def heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


class _Paragraph(QLabel):
    """Wrapped text that asks for the height its lines need at the width it is given: layouts
    size a wrapped label by a guessed width, and a newcomer once read "…records not yet synced
    cannot be" and no more."""

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


def paragraph(text: str, *, name: str) -> QLabel:
    label = _Paragraph(text)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def message_label(name: str, *, lines: int = 1) -> QLabel:
    """A label for errors and guidance; it keeps room for `lines` lines so nothing is clipped."""
    label = QLabel()
    label.setWordWrap(True)
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * lines + 12)
    label.setAccessibleName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def passphrase_field(name: str, placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    field.setPlaceholderText(placeholder)
    field.setMinimumWidth(360)
    # No autocomplete, no input method prediction: a passphrase must not be remembered elsewhere.
    field.setInputMethodHints(Qt.InputMethodHint.ImhHiddenText
                              | Qt.InputMethodHint.ImhNoPredictiveText
                              | Qt.InputMethodHint.ImhSensitiveData)
    return field


def labelled(text: str, field: QWidget) -> QWidget:
    """A visible label above `field`; the label's mnemonic moves the focus to the field.

    Placeholders vanish as soon as someone types, so every field also has a real label.
    """
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(4)
    label = QLabel(text)
    label.setBuddy(field)
    column.addWidget(label)
    column.addWidget(field)
    return box


def show_toggle(*fields: QLineEdit) -> QCheckBox:
    box = QCheckBox("&Show passphrase")
    box.setAccessibleName("Show passphrase")

    def toggle(checked: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if checked else QLineEdit.EchoMode.Password
        for field in fields:
            field.setEchoMode(mode)

    box.toggled.connect(toggle)
    return box


def card(*children: QWidget) -> QWidget:
    """Centre `children` in a column of readable width.

    No layout alignment flags here: an aligned item is sized by its size hint, which ignores
    the height that wrapped labels need at the final width, and their text gets clipped.
    """
    outer = QWidget()
    column = QVBoxLayout(outer)
    row = QHBoxLayout()
    frame = QFrame()
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    frame.setMinimumWidth(460)
    frame.setMaximumWidth(600)
    inner = QVBoxLayout(frame)
    inner.setContentsMargins(28, 24, 28, 24)
    inner.setSpacing(12)
    for child in children:
        inner.addWidget(child)
    row.addStretch(1)
    row.addWidget(frame, 4)
    row.addStretch(1)
    column.addStretch(1)
    column.addLayout(row)
    column.addStretch(2)
    return outer


def set_error(label: QLabel, text: str) -> None:
    label.setStyleSheet("color: white; background: #b3261e; border-radius: 4px; padding: 6px;"
                        if text else "")
    label.setText(text)
