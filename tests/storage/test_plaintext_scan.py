"""No plaintext of a sealed record reaches any file of the profile, in any common encoding.

Records holding a known phrase are written, updated and deleted; then every byte of every file
under the profile (database, WAL, SHM, backups, logs, key file, leftover temp files) is searched
for the phrase in UTF-8, UTF-16 (LE and BE), base64 (all three alignments) and hex. The search
itself is checked first against files that do hold the phrase, so a blind scanner fails.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from fieldapp.services.session import Session
from fieldapp.storage.paths import ProfilePaths
from fieldapp.storage.records import Record, RecordStore
from tests.conftest import PASSPHRASE, FakeClock
from tests.scanning import encodings_of, found_in

PHRASE = "Marigold Uxbridge relapse 4471"
RECORDS = 300
TEMP_STORE_MEMORY = 2


def scan(files: Iterable[Path], phrase: str = PHRASE) -> list[tuple[str, str]]:
    """(file, encoding) for every file holding the phrase in some encoding."""
    return [(str(path), name) for path, name in found_in(files, phrase)]


def files_under(root: Path) -> list[Path]:
    """Every regular file below `root`, hidden ones included."""
    return sorted(path for path in root.rglob("*") if path.is_file())


# --- the scanner itself must find the phrase where it is --------------------------------------


def _embedded(encoding: str, offset: int) -> bytes:
    """The phrase in `encoding`, preceded by `offset` bytes so base64 and UTF-16 shift."""
    raw, prefix = PHRASE.encode("utf-8"), bytes(range(0xA0, 0xA0 + offset))
    if encoding == "base64":
        body = base64.b64encode(prefix + raw + b"tail")
    elif encoding == "hex":
        text = (prefix + raw).hex()
        body = (text.upper() if offset % 2 else text).encode()
    elif encoding == "utf-8":
        body = prefix + raw
    else:
        body = prefix + PHRASE.encode(encoding)
    return b"\x00junk before\xff" + body + b"\x01junk after"


@pytest.mark.parametrize("offset", [0, 1, 2])
@pytest.mark.parametrize("encoding", sorted(encodings_of(PHRASE)))
def test_scanner_finds_the_phrase_in_each_encoding(tmp_path: Path, encoding: str,
                                                   offset: int) -> None:
    planted = tmp_path / "planted.bin"
    planted.write_bytes(_embedded(encoding, offset))
    assert (str(planted), encoding) in scan([planted])


def test_scanner_ignores_a_near_miss(tmp_path: Path) -> None:
    near = PHRASE.replace("Uxbridge", "Oxbridge")
    decoy = tmp_path / "decoy.bin"
    decoy.write_bytes(b"".join(b"".join(sorted(n)) for n in encodings_of(near).values()))
    assert scan([decoy], near) != [] and scan([decoy]) == []


# --- the profile itself ------------------------------------------------------------------------


def _body(rng: random.Random, n: int, *, secret: bool) -> dict[str, object]:
    text = f"visit {n}: {PHRASE} noted" if secret else f"visit {n}: routine check-in"
    return {"n": n, "text": text, "tags": [PHRASE] if secret and n % 2 else ["ok"],
            "pad": "x" * rng.randrange(0, 6000)}


def _exercise(session: Session, store: RecordStore, clock: FakeClock) -> int:
    """Write, update and delete records with and without the phrase; back up midway."""
    rng = random.Random(4471)
    kept: list[Record] = []
    for n in range(RECORDS):
        kept.append(store.add(kind="note", body=_body(rng, n, secret=n % 3 == 0)))
        clock.advance(1)
        if n == RECORDS // 2:
            session.backup_now()
    for i, record in enumerate(list(kept[::4])):  # to and from bodies holding the phrase
        body = _body(rng, i, secret=PHRASE not in str(record.body))
        updated = store.replace(record.id, body=body, expected_revision=record.revision)
        kept[kept.index(record)] = updated
    doomed = kept[1::5]
    for record in doomed:
        store.remove(record.id)
    return sum(PHRASE in str(r.body) for r in kept if r not in doomed)


def _open_scan(session: Session, paths: ProfilePaths) -> None:
    """While open: SQLite keeps temp data in memory and its live files hold only ciphertext."""
    db, _ = session.vault().open_parts()
    assert db.execute("PRAGMA temp_store").fetchone()[0] == TEMP_STORE_MEMORY
    live = [paths.database, *paths.sidecars()]
    assert all(path.exists() for path in live), live
    assert paths.sidecars()[0].stat().st_size > 0, "the WAL should hold the recent writes"
    assert scan(live) == []


def test_no_plaintext_in_any_profile_file(paths: ProfilePaths, clock: FakeClock,
                                          app_logging: None) -> None:
    session = Session(paths, clock=clock)
    session.create(PASSPHRASE)
    expected_with_phrase = _exercise(session, session.records(), clock)
    _open_scan(session, paths)
    session.lock()

    session.unlock(PASSPHRASE)  # the phrase really is in the vault, sealed
    with_phrase = sum(PHRASE in str(o.body) for o in session.records().all())
    assert with_phrase == expected_with_phrase > 0
    session.lock()

    files = files_under(paths.root)
    assert paths.database in files and paths.key_file in files
    assert len(session.profile.backups()) >= 2, "the midway backup and the one at lock"
    log_file = paths.logs / "fieldapp.log"
    assert log_file in files and b"backup written" in log_file.read_bytes()
    assert scan(files) == [], [str(f.relative_to(paths.root)) for f in files]
