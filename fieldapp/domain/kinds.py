"""The kinds of record that travel between laptops and the server, each declared once.

Everything that differs from one kind to the next is said here: its table, what people call one,
the key scope it belongs to, whether it ever changes or is deleted, which plain field names the
person who wrote it, which plain fields travel in clear (`RecordKind.clear`: only those a server
rule reads), and the schema step that made its table on the laptop. The protocol's table
list, the laptop's outbox and append-only triggers, the laptop's and the server's rules,
forgetting a scope and the attention list are all derived from `KINDS`;
tests/domain/test_kinds.py fails if a list of kinds is written by hand anywhere else.

Adding a kind: one `RecordKind` below (in the order a batch applies them: parents first), its
domain type and its store, and its table in a new schema step named by `since`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeRule:
    """How one kind of record names the scope it belongs to, from its own plain fields and its
    parent's. Server and laptops both judge every record by it (`sync.protocol.misplaced`).

    Attributes:
        own: the record is a scope itself (a case: its id is the scope).
        case_field: the plain field naming its case.
        ledger_of: the plain field naming the worker whose ledger it belongs to.
        parent: (table, plain field with the parent's id): it belongs where its parent does.
        series: the plain field naming a series (a drug screen) all of whose records share
            one scope; the series' first record to arrive fixes it.
        named_by: the plain fields its record id is made of, and the separator joining them.
    """

    own: bool = False
    case_field: str | None = None
    ledger_of: str | None = None
    parent: tuple[str, str] | None = None
    series: str | None = None
    named_by: tuple[tuple[str, ...], str] | None = None


@dataclass(frozen=True)
class RecordKind:
    """One kind of record.

    Attributes:
        table: its table, on the laptop and on the wire.
        thing: what people call one ("visit note"), in messages and lists.
        scope: the key scope it belongs to.
        since: the laptop's schema step that made its table (its outbox triggers come with it,
            or with the sync step for tables made before sync). Never changes once released.
        append_only: never changed or deleted once written (addenda, reviews, consents...).
        deletable: may be deleted (a draft note, a trip); the others are never removed.
        writer: the plain field naming whoever wrote it: only that person may write it in
            their name, and only they may change it. None where its own rule decides (a case:
            supervisors; a mileage month: its worker submits, a supervisor decides).
        series_head: on the laptop, the table holding a series' first record and the column
            of its case (drug screens: the screen a result belongs to).
        server_reads: the plain fields a server rule reads beyond those naming its scope and
            its writer (a note's status: a signed note is locked; a trip's miles, month, date
            and time: the monthly cap). Every other column of the laptop's row travels inside
            the sealed body (`clear`, `sync/client/wire_shape.py`, docs/server.md).
    """

    table: str
    thing: str
    scope: ScopeRule
    since: str
    append_only: bool = False
    deletable: bool = False
    writer: str | None = None
    series_head: tuple[str, str] | None = None
    server_reads: tuple[str, ...] = ()

    @property
    def clear(self) -> frozenset[str]:
        """The plain fields that travel in clear, each because a server rule needs it: those
        naming the record's scope (and its id), its writer, and `server_reads`."""
        rule = self.scope
        named = rule.named_by[0] if rule.named_by else ()
        fields = (rule.case_field, rule.ledger_of, rule.parent[1] if rule.parent else None,
                  rule.series, self.writer, *named, *self.server_reads)
        return frozenset(f for f in fields if f is not None)


# The laptop's schema steps that made record tables (fieldapp/storage/migrations.py).
FIELD_RECORDS_STEP = "0002_field_records"
CONSENTS_STEP = "0004_consents"

KINDS: tuple[RecordKind, ...] = (
    RecordKind("cases", "family's case", ScopeRule(own=True), FIELD_RECORDS_STEP,
               server_reads=("status", "coordinator_id", "intact_worker_id", "referred_by")),
    RecordKind("visit_notes", "visit note", ScopeRule(case_field="case_id"), FIELD_RECORDS_STEP,
               deletable=True, writer="author", server_reads=("status",)),
    RecordKind("addenda", "addendum", ScopeRule(parent=("visit_notes", "note_id")),
               FIELD_RECORDS_STEP, append_only=True, writer="author"),
    RecordKind("note_reviews", "review of a note", ScopeRule(parent=("visit_notes", "note_id")),
               FIELD_RECORDS_STEP, append_only=True, writer="reviewer"),
    RecordKind("drug_screen_revisions", "drug screen result",
               ScopeRule(series="screen_id", named_by=(("screen_id", "revision"), "/")),
               FIELD_RECORDS_STEP, append_only=True, writer="recorded_by",
               series_head=("drug_screens", "case_id")),
    RecordKind("random_schedules", "random screen schedule", ScopeRule(case_field="case_id"),
               FIELD_RECORDS_STEP, append_only=True, writer="created_by"),
    RecordKind("trips", "trip", ScopeRule(ledger_of="worker_id"), FIELD_RECORDS_STEP,
               deletable=True, writer="worker_id",
               server_reads=("month", "trip_date", "recorded_at", "total_miles")),
    RecordKind("mileage_months", "month of mileage",
               ScopeRule(ledger_of="worker_id", named_by=(("worker_id", "month"), "|")),
               FIELD_RECORDS_STEP, server_reads=("status", "decided_by")),
    RecordKind("consents", "consent", ScopeRule(case_field="case_id"), CONSENTS_STEP,
               append_only=True, writer="recorded_by"),
    RecordKind("consent_ends", "revocation or end of a consent",
               ScopeRule(case_field="case_id", parent=("consents", "consent_id")), CONSENTS_STEP,
               append_only=True, writer="recorded_by"),
    RecordKind("disclosures", "record of a disclosure", ScopeRule(case_field="case_id"),
               CONSENTS_STEP, append_only=True, writer="disclosed_by",
               server_reads=("disclosed_at",)),
)

BY_TABLE: dict[str, RecordKind] = {kind.table: kind for kind in KINDS}


def tables(kinds: Iterable[RecordKind] = KINDS) -> tuple[str, ...]:
    """The tables of `kinds`, in the order a batch applies them."""
    return tuple(kind.table for kind in kinds)


def made_in(step: str) -> tuple[RecordKind, ...]:
    """The kinds whose table the laptop's schema step `step` made."""
    return tuple(kind for kind in KINDS if kind.since == step)


def scope_sql(kind: RecordKind, row: str = "r") -> str:
    """SQL naming the key scope of a row of `kind`'s table aliased `row`, on the laptop."""
    rule = kind.scope
    if rule.own:
        return f"{row}.id"
    if rule.case_field is not None:
        return f"{row}.{rule.case_field}"
    if rule.ledger_of is not None:
        return f"'ledger:' || {row}.{rule.ledger_of}"
    if rule.parent is not None:
        table, field = rule.parent
        up = row + "p"
        return (f"(SELECT {scope_sql(BY_TABLE[table], up)} FROM {table} {up} "  # noqa: S608
                f"WHERE {up}.id = {row}.{field})")  # names declared above, never input
    if rule.series is None or kind.series_head is None:
        raise ValueError(f"{kind.table}: its scope rule names no scope (and a series needs "
                         "the laptop's table of its heads)")
    head, case_column = kind.series_head
    return f"(SELECT h.{case_column} FROM {head} h WHERE h.id = {row}.{rule.series})"  # noqa: S608
