"""One process at a time per profile: an advisory lock held while the vault is open.

Two windows on one profile would each keep their own idea of what is saved and what is locked;
the second is told plainly instead. The operating system drops the lock when a process dies, so a
crash never leaves a profile stuck.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fieldapp.domain.errors import ProfileInUse

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, as before this module
    fcntl = None  # type: ignore[assignment]


class InstanceLock:
    """An exclusive, non-blocking lock on a file in the profile folder."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `ProfileInUse`; taking it twice in one holder is a no-op."""
        if self._fd is not None:
            return
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ProfileInUse() from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
