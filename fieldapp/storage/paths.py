"""Where a profile lives: `--data-dir`, else `FIELDAPP_HOME`, else the platform's data folder.

Other profiles (a second job, a supervisor who is also a worker, the demos) live beside that
folder, the default profile, as `<folder>-<slug>`; the slug is the only place a profile's name is
kept, so it is not encrypted.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from fieldapp.domain.errors import KnownError

ENV_VAR = "FIELDAPP_HOME"
DEFAULT_NAME = "default"
DEMO_SLUG = "demo"
MAX_SLUG = 40


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


    def holds_vault(self) -> bool:
        """Whether this folder holds a FieldApp profile (its key file and its database)."""
        return self.key_file.is_file() and self.database.is_file()


class ProfileNameRefused(KnownError):
    """A new profile's name is empty, reserved, too long or already taken."""


@dataclass(frozen=True)
class ProfileEntry:
    """One profile beside the default one, as a person sees it in the profile chooser.

    Attributes:
        paths: its files.
        label: "Default", the slug's words ("Evening job"), or "Demo (supervisor)" for a demo.
        is_demo: a demo profile (invented families; its passphrase is no secret).
    """

    paths: ProfilePaths
    label: str
    is_demo: bool = False


def resolve_profile(data_dir: str | None, environ: Mapping[str, str] | None = None, *,
                    profile: str | None = None) -> ProfilePaths:
    """Pick the profile folder: an explicit folder wins, then the environment, then the platform.

    With `profile` (`--profile NAME`), the named profile beside that folder instead.
    """
    env = os.environ if environ is None else environ
    if data_dir:
        home = Path(data_dir).expanduser().resolve()
    elif env.get(ENV_VAR):
        home = Path(env[ENV_VAR]).expanduser().resolve()
    else:
        home = Path(platformdirs.user_data_dir("FieldApp", appauthor=False))
    return named_profile(home, profile) if profile else ProfilePaths(home)


def profile_slug(name: str) -> str:
    """The folder-name form of a profile name: lowercase letters, digits and single dashes
    ("Évening  Job!" -> "evening-job"); empty when nothing of the name is left."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def named_profile(home: Path, name: str) -> ProfilePaths:
    """The folder of the profile called `name` beside the default profile `home`, existing or
    not; "default" is `home` itself."""
    slug = profile_slug(name)
    if not slug:
        raise ProfileNameRefused("A profile name needs at least one letter or digit.")
    if slug == DEFAULT_NAME:
        return ProfilePaths(home)
    return ProfilePaths(home.with_name(f"{home.name}-{slug}"))


def new_profile(home: Path, name: str) -> ProfilePaths:
    """The folder for a new profile called `name`, or `ProfileNameRefused` saying why not.

    A folder left by a creation that failed (no key file) may be reused; a profile, a demo's
    name or "default" may not.
    """
    slug = profile_slug(name)
    if len(slug) > MAX_SLUG:
        raise ProfileNameRefused(f"Keep the profile name to {MAX_SLUG} characters or fewer.")
    if slug == DEFAULT_NAME or _is_demo(slug):
        raise ProfileNameRefused(
            f"“{name.strip()}” is kept for FieldApp's own profiles; choose another name.")
    paths = named_profile(home, name)
    if paths.key_file.exists() or (paths.root.exists() and not paths.root.is_dir()):
        raise ProfileNameRefused(
            f"There is already a profile called “{_words(slug)}”; choose another name.")
    return paths


def list_profiles(home: Path) -> list[ProfileEntry]:
    """Every profile that holds a vault: the default one first, then the others by label
    (the demos last)."""
    found = [ProfileEntry(ProfilePaths(home), "Default")] \
        if ProfilePaths(home).holds_vault() else []
    prefix = f"{home.name}-"
    others = []
    if home.parent.is_dir():
        for folder in home.parent.iterdir():
            slug = folder.name[len(prefix):]
            if folder.name.startswith(prefix) and slug == profile_slug(slug) and slug \
                    and ProfilePaths(folder).holds_vault():
                others.append(_entry(folder, slug))
    return found + sorted(others, key=lambda e: (e.is_demo, e.label.lower()))


def _entry(folder: Path, slug: str) -> ProfileEntry:
    if _is_demo(slug):
        # The coordinator's demo is the demo folder itself; other roles' add theirs to it.
        rest = slug[len(DEMO_SLUG):].strip("-") or "coordinator"
        return ProfileEntry(ProfilePaths(folder), f"Demo ({_words(rest)})", is_demo=True)
    return ProfileEntry(ProfilePaths(folder), _words(slug).capitalize())


def _is_demo(slug: str) -> bool:
    return slug == DEMO_SLUG or slug.startswith(f"{DEMO_SLUG}-")


def _words(slug: str) -> str:
    return slug.replace("-", " ")
