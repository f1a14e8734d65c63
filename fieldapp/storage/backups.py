"""Encrypted backups of the whole database, made with SQLite's backup API.

The live database is copied with SQLite's backup API and sealed with the data key in 1 MiB chunks,
each bound to the backup's header, its index and whether it is the last, so a reordered,
truncated or altered file is refused. Backups are rotated: the newest `KEEP` stay.

File layout: `MAGIC`, one JSON header line, then chunks of `length (4 bytes) | nonce | sealed`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.crypto.aead import NONCE_LENGTH, DataKey
from fieldapp.domain.errors import BackupUnusable
from fieldapp.storage.database import APPLICATION_ID
from fieldapp.storage.files import fsync_dir

MAGIC = b"FIELDAPP-BACKUP/1\n"
SUFFIX = ".fabackup"
CHUNK = 1 << 20
KEEP = 7
BACKUP_PAGES = 1024  # pages per backup step; Python's lock is free between steps
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True, kw_only=True)
class BackupInfo:
    """What a backup's plain header says about it."""

    path: Path
    backup_id: str
    key_id: str
    created_at: str
    size: int


def write_backup(conn: sqlite3.Connection, key: DataKey, *, folder: Path, now: datetime,
                 keep: int = KEEP) -> BackupInfo:
    """Back up the database behind `conn` into `folder`, then rotate old backups.

    SQLite's backup API first copies the live database, a few pages at a time, into a temporary
    file beside the backups: the same bytes as the database file itself (sealed blobs stay
    sealed), removed as soon as it is encrypted and swept at the next unlock if a crash leaves
    it. The copy is then sealed in chunks as it is read. Nothing here holds Python's lock for
    long, so the window stays responsive while a large profile locks.
    """
    backup_id = os.urandom(8).hex()
    created = now.strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"backup-{created}-{backup_id}{SUFFIX}"
    copy = folder / f".{path.name}.copy.tmp"
    try:
        target = sqlite3.connect(copy)
        try:
            conn.backup(target, pages=BACKUP_PAGES)
        finally:
            target.close()
        size = copy.stat().st_size
        header = json.dumps({"backup_id": backup_id, "key_id": key.key_id, "created_at": created,
                             "size": size}).encode() + b"\n"
        _seal_file(copy, path, header=header, size=size, key=key)
    finally:
        copy.unlink(missing_ok=True)
    rotate(folder, keep=keep)
    return BackupInfo(path=path, backup_id=backup_id, key_id=key.key_id, created_at=created,
                      size=size)


def _seal_file(source: Path, path: Path, *, header: bytes, size: int, key: DataKey) -> None:
    """Write `source` to `path` sealed chunk by chunk: temp file, fsync, rename, fsync folder."""
    aead = AESGCM(key.material())
    chunks = max(1, -(-size // CHUNK))
    staging = path.with_name(f".{path.name}.tmp")
    try:
        with source.open("rb") as plain, staging.open("wb") as sealed_out:
            os.chmod(staging, 0o600)
            sealed_out.write(MAGIC + header)
            for index in range(chunks):
                chunk = plain.read(CHUNK)
                if index == 0:
                    chunk = _without_wal_flag(chunk)
                nonce = os.urandom(NONCE_LENGTH)
                sealed = nonce + aead.encrypt(nonce, chunk,
                                              _chunk_binding(header, index, index == chunks - 1))
                sealed_out.write(_LENGTH.pack(len(sealed)) + sealed)
            sealed_out.flush()
            os.fsync(sealed_out.fileno())
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def list_backups(folder: Path) -> list[Path]:
    """Backups in `folder`, newest first (names sort by time)."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"backup-*{SUFFIX}"), reverse=True)


def rotate(folder: Path, *, keep: int) -> None:
    for old in list_backups(folder)[keep:]:
        old.unlink()


def read_info(path: Path) -> BackupInfo:
    """Read a backup's header without the key; `BackupUnusable` if it is not one."""
    with path.open("rb") as handle:
        return _parse_header(path, handle.read(len(MAGIC)), handle.readline())


def open_image(path: Path, key: DataKey) -> bytes:
    """Decrypt a backup into the database image it holds, checking every chunk."""
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        raise BackupUnusable(f"{path.name} is not a FieldApp backup.")
    end = raw.index(b"\n", len(MAGIC)) + 1 if b"\n" in raw[len(MAGIC) :] else len(raw)
    header = raw[len(MAGIC) : end]
    info = _parse_header(path, MAGIC, header)
    if info.key_id != key.key_id:
        raise BackupUnusable(f"{path.name} was made with another profile's key.")
    aead = AESGCM(key.material())
    image, offset, index, last = bytearray(), end, 0, False
    while offset < len(raw) and not last:
        if offset + _LENGTH.size > len(raw):
            break
        (length,) = _LENGTH.unpack_from(raw, offset)
        sealed = raw[offset + _LENGTH.size : offset + _LENGTH.size + length]
        offset += _LENGTH.size + length
        last = offset >= len(raw)
        try:
            image += aead.decrypt(sealed[:NONCE_LENGTH], sealed[NONCE_LENGTH:],
                                  _chunk_binding(header, index, last))
        except InvalidTag as exc:
            raise BackupUnusable(f"{path.name} is damaged or was altered (part {index}).") from exc
        index += 1
    if not last or len(image) != info.size:
        raise BackupUnusable(f"{path.name} is incomplete.")
    return bytes(image)


def load(path: Path, key: DataKey) -> sqlite3.Connection:
    """Decrypt a backup into an in-memory database and check it; the caller closes it."""
    memory = sqlite3.connect(":memory:")
    try:
        memory.deserialize(_without_wal_flag(open_image(path, key)))
        result = [row[0] for row in memory.execute("PRAGMA integrity_check").fetchall()]
        app_id = memory.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        memory.close()
        raise BackupUnusable(f"{path.name} holds a damaged database.") from exc
    if result != ["ok"] or app_id != APPLICATION_ID:
        memory.close()
        raise BackupUnusable(f"{path.name} holds a damaged or foreign database.")
    return memory


def _without_wal_flag(image: bytes) -> bytes:
    # Bytes 18 and 19 of the header say "WAL mode"; an image in memory has no WAL file beside it
    # and SQLite refuses to open it that way. Mark it as a rollback-journal database instead; the
    # restored file is switched back to WAL when it is opened.
    if len(image) < 20 or image[18:20] == b"\x01\x01":
        return image
    return image[:18] + b"\x01\x01" + image[20:]


def _chunk_binding(header: bytes, index: int, last: bool) -> bytes:
    digest = hashlib.sha256(header).hexdigest()
    return json.dumps(["fieldapp/backup/v1", digest, index, last]).encode()


def _parse_header(path: Path, magic: bytes, line: bytes) -> BackupInfo:
    if magic != MAGIC:
        raise BackupUnusable(f"{path.name} is not a FieldApp backup.")
    try:
        data = json.loads(line)
        return BackupInfo(path=path, backup_id=str(data["backup_id"]), key_id=str(data["key_id"]),
                          created_at=str(data["created_at"]), size=int(data["size"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupUnusable(f"{path.name} has a damaged header.") from exc
