"""Encrypted backups of the whole database, made with SQLite's backup API.

The live database is copied page by page into memory (`Connection.backup`), serialised, and sealed
with the data key in 1 MiB chunks, each bound to the backup id, its index and whether it is the
last, so a reordered, truncated or altered file is refused. Nothing unsealed ever reaches the
disk. Backups are rotated: the newest `KEEP` stay.

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
from fieldapp.storage.files import atomic_write

MAGIC = b"FIELDAPP-BACKUP/1\n"
SUFFIX = ".fabackup"
CHUNK = 1 << 20
KEEP = 7
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
    """Back up the database behind `conn` into `folder`, then rotate old backups."""
    memory = sqlite3.connect(":memory:")
    try:
        conn.backup(memory)
        image = _without_wal_flag(memory.serialize())
    finally:
        memory.close()
    backup_id = os.urandom(8).hex()
    created = now.strftime("%Y%m%dT%H%M%S.%fZ")
    header = json.dumps({"backup_id": backup_id, "key_id": key.key_id, "created_at": created,
                         "size": len(image)}).encode() + b"\n"
    parts = [MAGIC, header]
    aead = AESGCM(key.material())
    chunks = [image[i : i + CHUNK] for i in range(0, len(image), CHUNK)] or [b""]
    for index, chunk in enumerate(chunks):
        nonce = os.urandom(NONCE_LENGTH)
        sealed = nonce + aead.encrypt(nonce, chunk,
                                      _chunk_binding(header, index, index == len(chunks) - 1))
        parts += [_LENGTH.pack(len(sealed)), sealed]
    path = folder / f"backup-{created}-{backup_id}{SUFFIX}"
    atomic_write(path, b"".join(parts))
    rotate(folder, keep=keep)
    return BackupInfo(path=path, backup_id=backup_id, key_id=key.key_id, created_at=created,
                      size=len(image))


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
