"""The wire protocol between FieldApp clients and the central server (JSON over HTTPS).

Shared by both sides. Sealed content travels as base64 text the server never opens: it sees ids,
roles, assignments and statuses, and nothing clinical.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

# One list of roles for the client, the server and the wire (re-exported from here).
from fieldapp.crypto.signing import canonical
from fieldapp.domain.kinds import KINDS, ScopeRule, tables
from fieldapp.domain.people import Role
from fieldapp.domain.visits import SupervisorCapacity

API = "/v1"
MAX_BLOB = 64 * 1024  # base64 characters of one sealed or wrapped value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FromLaptop(Model):
    """What a laptop sends: strict, a value of the wrong type is refused, never coerced ("true"
    is not 1, 1 is not "1"), so what the server stores is what the schema says."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


BLOB_PATTERN = r"^[A-Za-z0-9+/=_-]+$"
ID_PATTERN = r"^[A-Za-z0-9._:|-]+$"
# A case id and a user id are names: never ":" (which begins a ledger's scope) nor "|" (which
# joins a worker and a month in a month's record id), so no case can ever be taken for a
# worker's mileage ledger, whatever a laptop sends.
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
NAME_PATTERN = f"^{NAME}$"
LEDGER_PREFIX = "ledger:"
SCOPE_PATTERN = f"^(?:{LEDGER_PREFIX})?{NAME}$"
# A record id may also hold "/": a drug-screen revision is "<screen id>/<revision>" in the vault
# (fieldapp/storage/screen_store.py), and record ids never appear in a URL path.
RECORD_ID_PATTERN = r"^[A-Za-z0-9._:|/-]+$"


class Problem(Model):
    """Every refusal: a code for programs, a sentence for people, and whether to wipe."""

    error: str
    message: str
    wipe: bool = False


class EnrolRequest(FromLaptop):
    code: str = Field(min_length=8, max_length=64)
    device_name: str = Field(min_length=1, max_length=100)
    public_key: str | None = Field(default=None, min_length=1, max_length=MAX_BLOB,
                                   pattern=BLOB_PATTERN)
    signing_key: str | None = Field(default=None, min_length=1, max_length=MAX_BLOB,
                                    pattern=BLOB_PATTERN)
    wrapped_private_key: str | None = Field(default=None, min_length=1, max_length=MAX_BLOB,
                                            pattern=BLOB_PATTERN)


class UserInfo(Model):
    id: str
    name: str
    role: Role
    team_id: str | None = None


class StaffInfo(Model):
    """One person of the caller's team as the server lists them, for names in reports.

    `supervises` (a supervisor's capacity where the program co-supervises) is left out of the
    answer when not set, so a laptop older than it still reads the list.
    """

    id: str
    name: str
    role: Role
    supervises: SupervisorCapacity | None = None
    public_key: str | None = None
    signing_key: str | None = None
    # Their keys are being replaced (a laptop of theirs revoked, or reset): the keys above are
    # withheld meanwhile, and for the caller themselves, their laptop must make new ones.
    keys_due: bool | None = None
    former_signing_keys: list[str] | None = None  # what they signed with before, oldest first


class KeyMaterial(Model):
    """The user's public keys, and the private keys wrapped under their secret (opaque here)."""

    public_key: str
    wrapped_private_key: str
    signing_key: str | None = None
    former_signing_keys: list[str] = Field(default_factory=list)


class EnrolResponse(Model):
    device_id: str
    device_token: str
    user: UserInfo
    key_material: KeyMaterial | None
    program: dict[str, object]


class CaseInfo(Model):
    id: str
    status: str
    coordinator_id: str | None
    intact_worker_id: str | None
    team_id: str
    sealed_details: str | None = None
    referred_by: str | None = None  # a family a worker started, until a supervisor confirms


class Member(Model):
    user_id: str
    role: Role
    public_key: str | None
    signing_key: str | None = None
    keys_due: bool = False  # being replaced: the keys above are withheld meanwhile


class PersonKeys(Model):
    """A person's public keys as the server registered them (a laptop pins them on first sight
    and trusts a change only on its person's decision: `sync/client/pins.py`), and the signing
    keys they had before (taken only at first sight, to check what they signed then)."""

    user_id: str
    public_key: str | None
    signing_key: str | None
    former_signing_keys: list[str] = Field(default_factory=list)


Signature = Annotated[str, Field(min_length=1, max_length=200, pattern=BLOB_PATTERN)]


class WrappedKey(FromLaptop):
    """One version of a scope's key sealed to one member, signed by the member who sealed it."""

    version: int = Field(ge=1, le=1_000_000)
    user_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    wrapped_key: str = Field(min_length=1, max_length=MAX_BLOB, pattern=BLOB_PATTERN)
    signer: str | None = Field(default=None, min_length=1, max_length=64, pattern=ID_PATTERN)
    signature: Signature | None = None


class KeyUpload(FromLaptop):
    keys: list[WrappedKey] = Field(min_length=1, max_length=100)


MAX_OWN_COPIES = 10_000  # the newest versions first, if a laptop holds more


class OwnCopy(FromLaptop):
    """A case key version the caller holds, sealed to their new keys and signed with them."""

    scope: str = Field(min_length=1, max_length=100, pattern=SCOPE_PATTERN)
    version: int = Field(ge=1, le=1_000_000)
    # A sealed 32-byte key is 124 characters; the bound keeps the whole request small.
    wrapped_key: str = Field(min_length=1, max_length=512, pattern=BLOB_PATTERN)
    signature: Signature


class NewKeys(FromLaptop):
    """A laptop's replacement for its person's keys, when the server says they are due: the
    public keys, the private ones wrapped under a new recovery code, and every case key the
    laptop holds sealed to the new keys (the copies sealed to the old ones are removed)."""

    public_key: str = Field(min_length=1, max_length=MAX_BLOB, pattern=BLOB_PATTERN)
    signing_key: str = Field(min_length=1, max_length=MAX_BLOB, pattern=BLOB_PATTERN)
    wrapped_private_key: str = Field(min_length=1, max_length=MAX_BLOB, pattern=BLOB_PATTERN)
    copies: list[OwnCopy] = Field(default_factory=list, max_length=MAX_OWN_COPIES)


class KeysReplaced(Model):
    """The server took a laptop's new keys (`NewKeys`); `reason`: why the old ones had to go."""

    reason: str


class DeviceInfo(Model):
    id: str
    user_id: str
    name: str
    enrolled_at: str
    revoked_at: str | None


class Health(Model):
    status: str
    version: str


# -- record sync -------------------------------------------------------------------------------

# The record tables that travel, in the order a batch applies them (parents before children).
SYNCED_TABLES = tables(KINDS)
# Written by the server alone: reimbursable miles per worker and month, in trip order.
ALLOCATIONS = "mileage_allocations"
MAX_BATCH_OPS = 500            # ops in one push
MAX_BATCH_BYTES = 2_000_000    # bytes of one push body
MAX_PAGE = 1000                # documents in one pull page
MAX_PAGE_BYTES = 4_000_000     # sealed characters in one pull page (at least one document)
MAX_PLAIN = 4096               # characters of one plain value
MAX_INT = 2**53                # the integers every JSON reader keeps exactly
PlainValue = Annotated[StrictStr, Field(max_length=MAX_PLAIN)] | Annotated[
    StrictInt, Field(ge=-MAX_INT, le=MAX_INT)] | None
ScopeName = Annotated[str, Field(pattern=SCOPE_PATTERN)]
PlainKey = Annotated[StrictStr, Field(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]  # a column
# What the server sends: its own allocations carry a whole month's split in one value.
DocValue = StrictStr | StrictInt | None
HASH_PATTERN = r"^[0-9a-f]{64}$"
TABLE_PATTERN = "^(" + "|".join(SYNCED_TABLES) + ")$"


class Op(FromLaptop):
    """One change to one record, as the client's outbox froze it.

    `op_id` is the idempotency key; `payload_hash` is an HMAC of the plaintext under the scope's
    key (the server compares hashes, it cannot read them). `sealed` is the record's sensitive
    body sealed under the scope's content key version `key_version`; None only for a deletion.
    `base_rev` is the server revision the change was made over (0: a new record).
    """

    op_id: str = Field(min_length=16, max_length=64, pattern=ID_PATTERN)
    table: str = Field(pattern=TABLE_PATTERN)
    record_id: str = Field(min_length=1, max_length=200, pattern=RECORD_ID_PATTERN)
    scope: str = Field(min_length=1, max_length=100, pattern=SCOPE_PATTERN)
    base_rev: int = Field(ge=0, le=2**40)
    deleted: bool = False
    plain: dict[PlainKey, PlainValue] = Field(default_factory=dict, max_length=40)
    key_version: int | None = Field(default=None, ge=1, le=1_000_000)
    sealed: str | None = Field(default=None, min_length=1, max_length=4 * MAX_BLOB,
                               pattern=BLOB_PATTERN)
    payload_hash: str = Field(pattern=HASH_PATTERN)
    signature: Signature | None = None


def op_statement(author: str, *, op_id: str, table: str, record_id: str, scope: str,
                 base_rev: int, deleted: bool, plain: Mapping[str, object],
                 key_version: int | None, sealed: str | None, payload_hash: str) -> bytes:
    """What the author of a change signs: everything a laptop shows or acts on, bound to who
    wrote it. The revision the server gives it is not known when it is signed; `base_rev` is,
    and a laptop refuses a revision older than one it has seen (`sync/client/integrity.py`)."""
    return canonical(["fieldapp/op/v1", author, op_id, table, record_id, scope, base_rev,
                      deleted, dict(plain), key_version, sealed, payload_hash])


def signed_statement(op: Op, author: str) -> bytes:
    return op_statement(author, op_id=op.op_id, table=op.table, record_id=op.record_id,
                        scope=op.scope, base_rev=op.base_rev, deleted=op.deleted,
                        plain=op.plain, key_version=op.key_version, sealed=op.sealed,
                        payload_hash=op.payload_hash)


class Push(FromLaptop):
    ops: list[Op] = Field(min_length=1, max_length=MAX_BATCH_OPS)


class Doc(Model):
    """A record as the server holds it (its head revision); `seq` orders every change.

    `plain`, `base_rev`, `payload_hash` and the rest are the author's op as signed
    (`signature`); `stamped` are the columns the server sets from its own tables (a case's
    assignment, the capacity a review counts in: `STAMPED`), which no author signs.
    """

    table: str
    record_id: str
    scope: str = Field(pattern=SCOPE_PATTERN)  # checked here too: it names URLs
    rev: int
    seq: int
    op_id: str
    author: str
    deleted: bool
    plain: dict[str, DocValue]
    key_version: int | None
    sealed: str | None
    base_rev: int = 0
    payload_hash: str = ""
    signature: str | None = None
    stamped: dict[str, DocValue] = Field(default_factory=dict)


def doc_statement(doc: Doc) -> bytes:
    """The statement a document's signature must cover: its author's op."""
    return op_statement(doc.author, op_id=doc.op_id, table=doc.table, record_id=doc.record_id,
                        scope=doc.scope, base_rev=doc.base_rev, deleted=doc.deleted,
                        plain=doc.plain, key_version=doc.key_version, sealed=doc.sealed,
                        payload_hash=doc.payload_hash)


# The columns the server sets on a record from its own tables, by table; a laptop takes only
# these from `Doc.stamped` (the server decides assignment and capacity: docs/server.md).
STAMPED: dict[str, frozenset[str]] = {
    "cases": frozenset({"coordinator_id", "intact_worker_id", "referred_by",
                        "supervisor_ids"}),
    "note_reviews": frozenset({"capacity"}),
}


class Answer(Model):
    """The server's verdict on one op.

    outcome: applied | duplicate | mismatch | conflict | rejected | gone.
    `rev` is the head revision after the op; `theirs` the other side of a conflict (the head
    that was kept, or the draft a signed note replaced); `first` the original verdict of a
    duplicate; `reason` a sentence for people.
    """

    op_id: str
    outcome: str
    rev: int | None = None
    reason: str | None = None
    theirs: Doc | None = None
    first: Answer | None = None


class PushResult(Model):
    answers: list[Answer]


class Page(Model):
    """Documents after `since` in sequence order; `next` is the checkpoint that covers them."""

    docs: list[Doc]
    next: int
    more: bool
    needs_keys: list[ScopeName] = Field(default_factory=list)
    # Every key scope (case id or `ledger:<user>`) the caller may hold now; None: not said.
    scopes: list[ScopeName] | None = None
    # Scopes whose newest key someone no longer a member holds: the caller makes the next.
    rotate: list[ScopeName] = Field(default_factory=list)


class Digest(Model):
    """An order-independent hash of (table, record, revision) over what the caller may hold."""

    count: int
    digest: str


DIGEST_MODULUS = 2**256


def digest_item(table: str, record_id: str, rev: int) -> int:
    """One record's part of a digest: the SHA-256 of (table, record, revision) as a number."""
    return int.from_bytes(hashlib.sha256(f"{table}\x1f{record_id}\x1f{rev}".encode())
                          .digest(), "big")


def digest_of(items: Iterable[tuple[str, str, int]]) -> Digest:
    """Sum of SHA-256 of each (table, record, revision) modulo 2**256: order does not matter,
    and a change moves it by the difference of two items, so it can be kept up to date."""
    total, count = 0, 0
    for table, record_id, rev in items:
        total += digest_item(table, record_id, rev)
        count += 1
    return Digest(count=count, digest=f"{total % DIGEST_MODULUS:064x}")


def digest_sum(parts: Iterable[tuple[int, int]]) -> Digest:
    """The digest of several sets of records from each one's (count, sum)."""
    count, total = 0, 0
    for part_count, part_total in parts:
        count += part_count
        total += part_total
    return Digest(count=count, digest=f"{total % DIGEST_MODULUS:064x}")


class ManifestEntry(Model):
    table: str
    record_id: str
    rev: int
    deleted: bool


class Manifest(Model):
    entries: list[ManifestEntry]


# -- scopes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseScope:
    case_id: str


@dataclass(frozen=True)
class LedgerScope:
    worker_id: str


def ledger_scope(worker_id: str) -> str:
    return f"{LEDGER_PREFIX}{worker_id}"


def parse_scope(scope: str) -> CaseScope | LedgerScope:
    """A key scope's kind; `ValueError` for anything that is neither a case nor a ledger."""
    if not re.fullmatch(SCOPE_PATTERN, scope):
        raise ValueError(f"not a scope: {scope!r}")
    if scope.startswith(LEDGER_PREFIX):
        return LedgerScope(scope.removeprefix(LEDGER_PREFIX))
    return CaseScope(scope)


# How each kind of record names its scope: declared with the kind (`fieldapp.domain.kinds`).
SCOPE_RULES: dict[str, ScopeRule] = {kind.table: kind.scope for kind in KINDS}

# (table, record id) -> the scope that record belongs to where it is judged; None: not there.
Lookup = Callable[[str, str], str | None]


def misplaced(table: str, record_id: str, plain: Mapping[str, object], scope: str, *,
              parent_scope: Lookup, series_scope: Lookup, parent_required: bool) -> str | None:
    """Why a record does not belong to the scope it travels under; None if it does.

    `parent_scope` and `series_scope` look up where the judge (the server, or a laptop) holds
    the parent or the series; with `parent_required`, a parent the judge does not hold is a
    reason to refuse (the server: a child never arrives before its parent there).
    """
    rule = SCOPE_RULES.get(table)
    if rule is None:
        return "This kind of record does not travel."
    try:
        kind = parse_scope(scope)
    except ValueError:
        return "This record travels under something that is neither a case nor a ledger."
    why = _named_otherwise(rule, record_id, plain) or _kind_differs(rule, kind, record_id, plain)
    if why is not None or rule.own or rule.ledger_of is not None:
        return why
    return _related(rule, plain, scope, parent_scope=parent_scope, series_scope=series_scope,
                    parent_required=parent_required, table=table)


def _named_otherwise(rule: ScopeRule, record_id: str, plain: Mapping[str, object]
                     ) -> str | None:
    if rule.named_by is None:
        return None
    fields, joiner = rule.named_by
    if record_id != joiner.join(str(plain.get(f)) for f in fields):
        return "This record's id does not match what it records."
    return None


def _kind_differs(rule: ScopeRule, kind: CaseScope | LedgerScope, record_id: str,
                  plain: Mapping[str, object]) -> str | None:
    """Why the scope is not the case or ledger the record's own fields name."""
    if rule.own:
        return None if kind == CaseScope(record_id) else "A case travels under its own id."
    if rule.ledger_of is not None:
        return None if kind == LedgerScope(str(plain.get(rule.ledger_of))) else \
            "Mileage belongs in its worker's ledger."
    if not isinstance(kind, CaseScope):
        return "A case's record does not belong in a mileage ledger."
    if rule.case_field is not None and plain.get(rule.case_field) != kind.case_id:
        return "This record names another case than the one it was filed under."
    return None


def _related(rule: ScopeRule, plain: Mapping[str, object], scope: str, *, table: str,
             parent_scope: Lookup, series_scope: Lookup, parent_required: bool) -> str | None:
    """Why the record's parent or series says it belongs elsewhere; None if nothing does."""
    if rule.parent is not None:
        parent_table, field = rule.parent
        found = parent_scope(parent_table, str(plain.get(field)))
        if found is None and parent_required:
            return "This record's parent is not on the server."
        if found is not None and found != scope:
            return "This record's parent belongs to another case."
    if rule.series is not None:
        found = series_scope(table, str(plain.get(rule.series)))
        if found is not None and found != scope:
            return "This record continues one that belongs to another case."
    return None


# -- request size limits -----------------------------------------------------------------------

# The largest body each route takes, in bytes: the server refuses a larger one (413) before
# reading it (sync/server/limits.py), and a proxy in front of it must let these through
# (docs/server.md, "Running behind a proxy"). Each is its route's largest valid request, with room.
# Enrolment: a code, a device name, and a public and a wrapped private key of MAX_BLOB each.
MAX_ENROL_BYTES = 4 * MAX_BLOB
# A key upload: as many wrapped keys as KeyUpload allows, each MAX_BLOB and its JSON around it.
MAX_KEY_UPLOAD_BYTES = max(getattr(m, "max_length", 0) or 0
                           for m in KeyUpload.model_fields["keys"].metadata) \
    * (MAX_BLOB + 256) + 256
# New keys: three keys, and each copy as OwnCopy bounds it with the JSON around it.
MAX_NEW_KEYS_BYTES = 3 * MAX_BLOB + MAX_OWN_COPIES * 1024
# A push: a batch of MAX_BATCH_BYTES of ops (as the client measures them) and the JSON around it.
MAX_PUSH_BYTES = MAX_BATCH_BYTES + 100_000
# Every other request: none of them has a body.
MAX_OTHER_BYTES = 4 * 1024
