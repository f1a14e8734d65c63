"""PyInstaller's hook for PySide6.QtWidgets without Qt plugins or translations (see build.spec)."""

from fieldapp_qt_hooks import dependencies_without_plugins

hiddenimports, binaries, datas = dependencies_without_plugins(__file__)
