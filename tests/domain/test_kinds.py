"""Each kind of record is declared once (`fieldapp.domain.kinds`), and everything that differs by
kind is derived from that declaration: the protocol's tables, the laptop's outbox and
append-only triggers, the laptop's and the server's rules, forgetting a scope, the attention
list. Two hand-kept lists had already come apart (a writer field the laptop listed and the
server did not); these tests fail if one is written again, or if a declaration says something
the schema does not."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from fieldapp.domain.kinds import (
    BY_TABLE,
    KINDS,
    RecordKind,
    ScopeRule,
    made_in,
    scope_sql,
    tables,
)
from fieldapp.storage.migrations import STEPS, migrate
from fieldapp.storage.sealed import SEALED_COLUMNS
from sync import protocol as wire
from sync.client import forget, local
from sync.client.attention import THINGS
from sync.server import records as server_rules

ROOT = Path(__file__).resolve().parents[2]
KIND_TABLES = set(tables(KINDS))


def _named_kinds(node: ast.AST) -> set[str]:
    """The kinds a collection literal names: a set, list or tuple of strings, or a dict whose
    keys are kinds and whose values are plain strings (a name map such as a writer field)."""
    if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
    elif isinstance(node, ast.Dict) and all(isinstance(v, ast.Constant) for v in node.values):
        values = [k.value for k in node.keys if isinstance(k, ast.Constant)]
    else:
        return set()
    return KIND_TABLES & {v for v in values if isinstance(v, str)}


def test_no_list_of_kinds_is_written_by_hand_outside_the_declaration() -> None:
    """A branch may name the one or two kinds it handles; a list of three or more kinds is a
    fact about kinds, and belongs in the declaration."""
    hand_kept = []
    for path in sorted([*ROOT.glob("fieldapp/**/*.py"), *ROOT.glob("sync/**/*.py")]):
        if path == ROOT / "fieldapp" / "domain" / "kinds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = _named_kinds(node)
            if len(named) >= 3:
                hand_kept.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(named)}")
    assert hand_kept == []


def test_the_scan_finds_a_hand_kept_list() -> None:
    """The test above would see one (it is not blind to the forms the old lists took)."""
    source = ('A = {"trips", "cases", "addenda"}\nB = ("trips", "cases", "consents")\n'
              'C = {"trips": "worker_id", "visit_notes": "author", "addenda": "author"}\n'
              'D = {"trips": f(), "cases": g(), "addenda": h()}\n')
    found = [len(_named_kinds(n)) for n in ast.walk(ast.parse(source)) if _named_kinds(n)]
    assert found == [3, 3, 3]


@pytest.fixture(scope="module")
def laptop() -> sqlite_utils.Database:
    db = sqlite_utils.Database(memory=True)
    migrate(db)
    return db


def _triggers(db: sqlite_utils.Database, pattern: str) -> set[str]:
    names = [str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = "
                                           "'trigger'").fetchall()]
    return {m.group(1) for n in names if (m := re.fullmatch(pattern, n))}


def test_every_kind_travels_in_its_declared_order() -> None:
    assert tuple(k.table for k in KINDS) == wire.SYNCED_TABLES
    assert {k.table: k.scope for k in KINDS} == wire.SCOPE_RULES
    for index, kind in enumerate(KINDS):  # a batch applies parents before their children
        if kind.scope.parent is not None:
            assert tables(KINDS).index(kind.scope.parent[0]) < index, kind.table


def test_the_laptop_captures_every_kind_and_only_them(laptop: sqlite_utils.Database) -> None:
    for event in ("insert", "update", "delete"):
        assert _triggers(laptop, rf"(\w+)_outbox_{event}") == KIND_TABLES


def test_only_append_only_kinds_are_locked_against_change() -> None:
    """The laptop's triggers refuse to change or delete a row of an append-only kind (or of the
    audit log), and let every other kind's fresh row change and go (a note while a draft: a
    signed one is locked by rules of its own)."""
    locked = {table for table in KIND_TABLES | {"audit_log"} if _changes_refused(table)}
    assert locked == {k.table for k in KINDS if k.append_only} | {"audit_log"}


def _changes_refused(table: str) -> bool:
    db = _schema()
    _insert(db, table, {"status": "draft"} if table == "visit_notes" else {})
    refused = 0
    change, remove = f"UPDATE [{table}] SET rowid = rowid", f"DELETE FROM [{table}]"  # noqa: S608
    for sql in (change, remove):
        try:
            db.execute(sql)
        except sqlite3.IntegrityError:
            refused += 1
    assert refused in (0, 2), table  # locked against both or neither
    return refused == 2


def _schema() -> sqlite_utils.Database:
    """A laptop's schema, fresh; rows go in without their checks (the rules under test are the
    triggers and the scope SQL, not the columns' checks)."""
    db = sqlite_utils.Database(memory=True)
    migrate(db)
    db.execute("PRAGMA ignore_check_constraints = ON")
    db.execute("PRAGMA foreign_keys = OFF")
    return db


def _insert(db: sqlite_utils.Database, table: str, values: dict[str, object]) -> None:
    """A row with a value in every NOT NULL column, and `values`."""
    row: dict[str, object] = {}
    for column in db.table(table).columns:
        if column.notnull and column.default_value is None:
            row[column.name] = b"x" if column.type == "BLOB" else \
                1 if column.type == "INTEGER" else "x"
    db.execute(f"INSERT INTO [{table}] ({', '.join(row | values)}) VALUES "  # noqa: S608
               f"({', '.join('?' * len(row | values))})", list((row | values).values()))


def test_each_declaration_names_columns_its_table_has(laptop: sqlite_utils.Database) -> None:
    for kind in KINDS:
        columns = set(laptop.table(kind.table).columns_dict)
        rule = kind.scope
        named = {kind.writer, rule.case_field, rule.ledger_of, rule.series,
                 rule.parent[1] if rule.parent else None,
                 *(rule.named_by[0] if rule.named_by else ())} - {None, "revision"}
        assert named <= columns, (kind.table, named - columns)
        assert columns >= SEALED_COLUMNS, kind.table
        if kind.series_head is not None:
            head, case_column = kind.series_head
            assert case_column in laptop.table(head).columns_dict


def test_each_kind_is_made_by_a_schema_step_that_exists() -> None:
    assert {k.since for k in KINDS} <= set(STEPS)
    assert tables(made_in(STEPS[1])) == tuple(k.table for k in KINDS if k.since == STEPS[1])


def test_the_laptop_and_the_server_judge_writers_and_changes_alike() -> None:
    writers = {k.table: k.writer for k in KINDS if k.writer is not None}
    assert server_rules.WRITER_FIELD == writers == local.WRITER_FIELD
    assert server_rules.APPEND_ONLY == local.APPEND_ONLY == \
        {k.table for k in KINDS if k.append_only}
    assert {k.table for k in KINDS if k.deletable} == server_rules.DELETABLE
    assert local.LOCAL_ONLY == SEALED_COLUMNS


def test_forgetting_a_scope_reaches_every_record_table(laptop: sqlite_utils.Database) -> None:
    """Every kind's table (and the drug screens that head a series) is cleared when a case
    leaves the laptop, children before parents."""
    assert set(forget.SCOPE_OF) == KIND_TABLES | {"drug_screens"}
    order = list(forget.ORDER)
    for kind in KINDS:
        if kind.scope.parent is not None:
            assert order.index(kind.table) < order.index(kind.scope.parent[0])
        if kind.series_head is not None:
            assert order.index(kind.table) < order.index(kind.series_head[0]) < \
                order.index("cases")
    for table, expr in forget.SCOPE_OF.items():  # each one runs on a real schema
        laptop.execute(f"SELECT {expr} FROM [{table}] r").fetchall()  # noqa: S608


def test_a_records_scope_is_found_through_its_parent_and_series() -> None:
    """The scope SQL on rows of a real schema: an addendum's case is its note's, a screen
    result's is its screen's, a trip's is its worker's ledger, a case is its own."""
    db = _schema()
    _insert(db, "cases", {"id": "c-1"})
    _insert(db, "visit_notes", {"id": "n-1", "case_id": "c-1"})
    _insert(db, "addenda", {"id": "a-1", "note_id": "n-1"})
    _insert(db, "drug_screens", {"id": "s-1", "case_id": "c-1"})
    _insert(db, "drug_screen_revisions", {"id": "s-1/1", "screen_id": "s-1"})
    _insert(db, "trips", {"id": "t-1", "worker_id": "w-7"})

    def scope(kind: RecordKind, record_id: str) -> str:
        row = db.execute(f"SELECT {scope_sql(kind)} FROM [{kind.table}] r "  # noqa: S608
                         "WHERE r.id = ?", [record_id]).fetchone()
        return str(row[0])

    assert scope(BY_TABLE["cases"], "c-1") == "c-1"
    assert scope(BY_TABLE["addenda"], "a-1") == "c-1"
    assert scope(BY_TABLE["drug_screen_revisions"], "s-1/1") == "c-1"
    assert scope(BY_TABLE["trips"], "t-1") == "ledger:w-7"


def test_people_see_each_kind_by_its_declared_name() -> None:
    assert {k.table: k.thing for k in KINDS} == THINGS


def test_a_scope_is_found_through_a_parent_that_has_a_parent() -> None:
    """A kind whose parent is itself a child (a reply to an addendum, say) reaches the case
    through both: each level of the SQL names its own row."""
    reply = RecordKind("addendum_replies", "reply", ScopeRule(parent=("addenda", "addendum_id")),
                       "0002_field_records")
    db = _schema()
    db.execute("CREATE TABLE addendum_replies (id TEXT PRIMARY KEY, addendum_id TEXT)")
    _insert(db, "cases", {"id": "c-1"})
    _insert(db, "visit_notes", {"id": "n-1", "case_id": "c-1"})
    _insert(db, "addenda", {"id": "a-1", "note_id": "n-1"})
    _insert(db, "addendum_replies", {"id": "x-1", "addendum_id": "a-1"})
    row = db.execute(f"SELECT {scope_sql(reply)} FROM addendum_replies r").fetchone()  # noqa: S608
    assert row[0] == "c-1"


@pytest.mark.parametrize("rule", [ScopeRule(), ScopeRule(series="screen_id")],
                         ids=["no rule", "a series without its heads' table"])
def test_a_kind_whose_rule_names_no_scope_is_refused(rule: ScopeRule) -> None:
    with pytest.raises(ValueError) as refused:
        scope_sql(RecordKind("orphans", "orphan", rule, "0002_field_records"))
    assert str(refused.value) == ("orphans: its scope rule names no scope (and a series needs "
                                  "the laptop's table of its heads)")
