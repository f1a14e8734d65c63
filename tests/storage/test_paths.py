"""Where a profile lives: --data-dir, then FIELDAPP_HOME, then the platform data folder."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from fieldapp.storage.paths import ENV_VAR, resolve_profile


def test_data_dir_wins(tmp_path: Path) -> None:
    chosen = resolve_profile(str(tmp_path / "a"), {ENV_VAR: str(tmp_path / "b")})
    assert chosen.root == tmp_path / "a"


def test_environment_next(tmp_path: Path) -> None:
    assert resolve_profile(None, {ENV_VAR: str(tmp_path / "b")}).root == tmp_path / "b"


def test_platform_folder_last() -> None:
    expected = Path(platformdirs.user_data_dir("FieldApp", appauthor=False))
    assert resolve_profile(None, {}).root == expected


def test_files_live_under_the_root(tmp_path: Path) -> None:
    paths = resolve_profile(str(tmp_path))
    for path in (paths.database, paths.key_file, paths.unlock_attempts, paths.backups,
                 paths.logs, *paths.sidecars()):
        assert path.parent == tmp_path
