"""Where a profile lives: `--data-dir`, else `FIELDAPP_HOME`, else the platform's data folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_VAR = "FIELDAPP_HOME"


@dataclass(frozen=True)
class ProfilePaths:
    """Every file of one profile, all under `root`."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "fieldapp.sqlite3"

    @property
    def key_file(self) -> Path:
        return self.root / "vault.key"

    @property
    def instance_lock(self) -> Path:
        return self.root / "profile.lock"

    @property
    def unlock_attempts(self) -> Path:
        return self.root / "unlock-attempts.json"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def set_aside(self) -> Path:
        """Where damaged or replaced databases are moved; FieldApp never deletes them."""
        return self.root / "set-aside"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def sidecars(self) -> list[Path]:
        """The database's write-ahead log and shared-memory files."""
        return [Path(f"{self.database}-wal"), Path(f"{self.database}-shm")]

    def ensure_root(self) -> None:
        """Create the profile folders, readable by their owner only.

        A folder that already exists keeps its permissions (it may be one the person chose for
        other things too); `fieldapp doctor` reports one that others can read.
        """
        for folder in (self.root, self.backups, self.set_aside, self.logs):
            try:
                folder.mkdir(mode=0o700, parents=True)
            except FileExistsError:
                continue
            os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask


def resolve_profile(data_dir: str | None, environ: Mapping[str, str] | None = None) -> ProfilePaths:
    """Pick the profile folder: an explicit folder wins, then the environment, then the platform."""
    env = os.environ if environ is None else environ
    if data_dir:
        return ProfilePaths(Path(data_dir).expanduser().resolve())
    if env.get(ENV_VAR):
        return ProfilePaths(Path(env[ENV_VAR]).expanduser().resolve())
    return ProfilePaths(Path(platformdirs.user_data_dir("FieldApp", appauthor=False)))
