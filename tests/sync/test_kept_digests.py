"""The digests kept per scope (`sync/digests.py`, `sync/server/digests.py`): whatever changes
were made, one at a time, the kept digest of a set of scopes is the digest of the live records
in them counted afresh (`wire.digest_of`). Real SQLite files: a bare table for the arithmetic,
and a real `ServerStore` with `RecordSync` for the server's side."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync import digests as kept
from sync import protocol as wire
from sync.server import digests as server_digests
from sync.server.records import RecordSync
from sync.server.store import ServerStore
from tests.server.test_records_rules import World, note, op, world  # noqa: F401

NOW = "2026-11-20T10:00:00+00:00"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "digests.sqlite3")
    conn.execute(kept.CREATE)
    yield conn
    conn.close()


def kept_digest(db: sqlite3.Connection, scopes: list[str] | None = None) -> wire.Digest:
    return wire.digest_sum(kept.parts(db, scopes))


def test_a_new_record_counts_in_its_scope_only(db: sqlite3.Connection) -> None:
    """A record taken for the first time adds itself to its own scope's digest and to no
    other scope's."""
    kept.account(db, None, ("fam-1", "visit_notes", "n1", 1, False))
    assert kept_digest(db, ["fam-1"]) == wire.digest_of([("visit_notes", "n1", 1)])
    assert kept_digest(db, ["fam-2"]) == wire.digest_of([])


def test_a_new_revision_replaces_the_one_before(db: sqlite3.Connection) -> None:
    """A record moving from revision 1 to 2 counts once, at revision 2."""
    kept.account(db, None, ("fam-1", "visit_notes", "n1", 1, False))
    kept.account(db, ("fam-1", "visit_notes", "n1", 1, False),
                 ("fam-1", "visit_notes", "n1", 2, False))
    assert kept_digest(db) == wire.digest_of([("visit_notes", "n1", 2)])


def test_a_deleted_record_leaves_the_digest(db: sqlite3.Connection) -> None:
    """A record deleted is in no digest; deleting it again, or learning of a record that
    arrives already deleted, changes nothing."""
    kept.account(db, None, ("fam-1", "visit_notes", "n1", 1, False))
    kept.account(db, None, ("fam-1", "visit_notes", "n2", 1, False))
    kept.account(db, ("fam-1", "visit_notes", "n1", 1, False),
                 ("fam-1", "visit_notes", "n1", 2, True))
    kept.account(db, ("fam-1", "visit_notes", "n1", 2, True),
                 ("fam-1", "visit_notes", "n1", 3, True))
    kept.account(db, None, ("fam-1", "visit_notes", "n3", 4, True))
    assert kept_digest(db) == wire.digest_of([("visit_notes", "n2", 1)])


def test_a_record_moved_to_another_scope_leaves_the_first(db: sqlite3.Connection) -> None:
    """A record whose scope changes with its new revision counts only in the new scope."""
    kept.account(db, None, ("fam-1", "visit_notes", "n1", 1, False))
    kept.account(db, ("fam-1", "visit_notes", "n1", 1, False),
                 ("fam-2", "visit_notes", "n1", 2, False))
    assert kept_digest(db, ["fam-1"]) == wire.digest_of([])
    assert kept_digest(db, ["fam-2"]) == wire.digest_of([("visit_notes", "n1", 2)])


def test_the_same_standing_again_changes_nothing(db: sqlite3.Connection) -> None:
    """Taking a record at the revision already held (a document delivered twice) leaves every
    digest as it was."""
    held = ("fam-1", "visit_notes", "n1", 1, False)
    kept.account(db, None, held)
    kept.account(db, held, held)
    assert db.execute("SELECT scope, count FROM scope_digests").fetchall() == [("fam-1", 1)]
    assert kept_digest(db) == wire.digest_of([("visit_notes", "n1", 1)])


def test_the_sum_wraps_around_modulo_2_to_the_256(db: sqlite3.Connection) -> None:
    """The kept sum stays within 64 hex digits whichever way it passes the modulus: upwards
    when many records are added, downwards when records are taken away."""
    items = [("visit_notes", f"n{i}", 1) for i in range(40)]
    for table, record_id, rev in items:
        kept.account(db, None, ("fam-1", table, record_id, rev, False))
    assert sum(wire.digest_item(*item) for item in items) >= wire.DIGEST_MODULUS
    assert kept_digest(db) == wire.digest_of(items)
    for table, record_id, rev in items[:39]:
        kept.account(db, ("fam-1", table, record_id, rev, False), None)
    assert kept_digest(db) == wire.digest_of(items[39:])
    for (total,) in db.execute("SELECT total FROM scope_digests"):
        assert len(total) == 64 and int(total, 16) < wire.DIGEST_MODULUS
    kept.account(db, ("fam-1", *items[39], False), None)
    assert db.execute("SELECT count, total FROM scope_digests").fetchall() == [(0, "0" * 64)]


def test_parts_are_those_of_the_scopes_asked_each_once(db: sqlite3.Connection) -> None:
    """The parts of a set of scopes are those of each scope in it once, however often it is
    named; of no scope, nothing; of None, every scope."""
    for scope, record_id in (("a", "r1"), ("b", "r2"), ("c", "r3")):
        kept.account(db, None, (scope, "visit_notes", record_id, 1, False))
    item = {r: wire.digest_item("visit_notes", r, 1) for r in ("r1", "r2", "r3")}
    assert sorted(kept.parts(db, ["a", "c", "a"])) == sorted([(1, item["r1"]), (1, item["r3"])])
    assert kept.parts(db, []) == []
    assert kept.parts(db, ["nobody"]) == []
    assert sorted(kept.parts(db, None)) == sorted((1, i) for i in item.values())


def test_counting_afresh_replaces_what_was_kept(db: sqlite3.Connection) -> None:
    """Counting every scope from the live records forgets what was kept before (a scope no
    longer held is gone) and gives each scope its records' digest."""
    kept.account(db, None, ("gone", "visit_notes", "old", 1, False))
    rows = [("a", "visit_notes", "r1", 1), ("a", "trips", "t1", 3), ("b", "visit_notes", "r2", 2)]
    kept.count_all(db, rows)
    assert kept_digest(db, ["a"]) == wire.digest_of([("visit_notes", "r1", 1), ("trips", "t1", 3)])
    assert kept_digest(db, ["b"]) == wire.digest_of([("visit_notes", "r2", 2)])
    assert kept.parts(db, ["gone"]) == []
    assert sorted(db.execute("SELECT scope, count FROM scope_digests")) == [("a", 2), ("b", 1)]


def test_counting_afresh_wraps_around_too(db: sqlite3.Connection) -> None:
    """Many records counted afresh give the same 64-digit sum as kept one by one."""
    rows = [("a", "visit_notes", f"n{i}", 1) for i in range(40)]
    kept.count_all(db, rows)
    [(total,)] = db.execute("SELECT total FROM scope_digests").fetchall()
    assert total == wire.digest_of([r[1:] for r in rows]).digest


# -- the server ----------------------------------------------------------------------------------


@pytest.fixture
def store(world: World) -> ServerStore:  # noqa: F811 (the fixture imported above)
    """The two-team program of tests/server/test_records_rules.py, in process."""
    return world.store


def live_records(store: ServerStore, scopes: list[str]) -> wire.Digest:
    with store.reading() as db:
        rows = db.execute("SELECT scope, tbl, record_id, rev FROM records WHERE deleted = 0"
                          ).fetchall()
    return wire.digest_of((t, r, v) for s, t, r, v in rows if s in scopes)


def test_the_servers_digest_follows_every_push(store: ServerStore) -> None:
    """On the server, each member's digest is that of the live records of their scopes, after
    records are written, changed and deleted: a scope they do not hold does not count."""
    sync = RecordSync(store)
    program = World(store, sync)
    program.push("cora", note("a1", "cora"), note("a2", "cora"))
    program.push("cora", note("a1", "cora", status="draft", base_rev=1))
    program.push("cora", op("visit_notes", "a2", "n-1", {}, base_rev=1, deleted=True))
    program.push("sol", note("b1", "sol", case="s-1"))
    cora = program.who("cora")
    with store.reading() as db:
        assert server_digests.digest(db, ["n-1"]) == live_records(store, ["n-1"])
    assert sync.digest(cora) == live_records(store, ["n-1", wire.ledger_scope("cora")])
    assert sync.digest(cora).count == 1
    assert sync.digest(program.who("sol")).count == 1


def test_a_server_from_before_counts_its_digests_once(store: ServerStore) -> None:
    """A server that kept records before it kept digests counts each scope's digest from its
    live records when it opens, and only then: what is kept afterwards is not counted again."""
    program = World(store, RecordSync(store))
    program.push("cora", note("a1", "cora"), note("a2", "cora"))
    program.push("cora", op("visit_notes", "a2", "n-1", {}, base_rev=1, deleted=True))
    with store.unit() as db:  # as a server from before digests were kept
        db.execute("DROP TABLE scope_digests")
        db.execute("DELETE FROM counters WHERE name = ?", [server_digests.COUNTED])
    RecordSync(store)
    with store.reading() as db:
        assert server_digests.digest(db, ["n-1"]) == live_records(store, ["n-1"])
        assert server_digests.digest(db, ["n-1"]).count == 1
    with store.unit() as db:
        db.execute("UPDATE scope_digests SET count = 7")
        server_digests.count_once(db)
        assert {c for (c,) in db.execute("SELECT count FROM scope_digests")} == {7}
