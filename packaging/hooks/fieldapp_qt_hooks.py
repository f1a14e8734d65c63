"""Shared by the hook-PySide6.*.py files here (build.spec puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

from PyInstaller.utils.hooks.qt import add_qt6_dependencies, pyside6_library_info

Toc = list[tuple[str, str]]


def dependencies_without_plugins(hook_file: str) -> tuple[list[str], Toc, Toc]:
    """PyInstaller's own Qt hook result for one PySide6 module, less every Qt plugin and
    translation: the hook collects whole plugin folders (every platform, every image format,
    the virtual keyboard that pulls in QtQuick and QtQml, ...); build.spec names the plugins
    FieldApp needs, and the app ships no Qt translations (it is in English and installs no
    QTranslator)."""
    hiddenimports, binaries, datas = add_qt6_dependencies(hook_file)
    plugins = _qt_folder("PluginsPath")
    translations = _qt_folder("TranslationsPath")
    binaries = [(src, dst) for src, dst in binaries if not _inside(src, plugins)]
    datas = [(src, dst) for src, dst in datas if not _inside(src, translations)]
    return hiddenimports, binaries, datas


def _qt_folder(name: str) -> Path:
    return Path(pyside6_library_info.location[name]).resolve()


def _inside(file: str, folder: Path) -> bool:
    return Path(file).resolve().is_relative_to(folder)
