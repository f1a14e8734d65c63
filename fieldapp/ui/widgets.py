"""Small building blocks shared by the pages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget


def heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    return label


def paragraph(text: str, *, name: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def message_label(name: str) -> QLabel:
    """A label for errors and guidance; screen readers announce its changes."""
    label = QLabel()
    label.setWordWrap(True)
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
    """Centre `children` in a column of readable width."""
    outer = QWidget()
    outer_layout = QVBoxLayout(outer)
    outer_layout.addStretch(1)
    frame = QFrame()
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    frame.setMaximumWidth(560)
    inner = QVBoxLayout(frame)
    inner.setContentsMargins(28, 24, 28, 24)
    inner.setSpacing(12)
    for child in children:
        inner.addWidget(child)
    outer_layout.addWidget(frame, 0, Qt.AlignmentFlag.AlignHCenter)
    outer_layout.addStretch(2)
    return outer


def set_error(label: QLabel, text: str) -> None:
    label.setStyleSheet("color: white; background: #b3261e; border-radius: 4px; padding: 6px;"
                        if text else "")
    label.setText(text)
