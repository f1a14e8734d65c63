"""The wire protocol between FieldApp clients and the central server (JSON over HTTPS).

Shared by both sides. Sealed content travels as base64 text the server never opens: it sees ids,
roles, assignments and statuses, and nothing clinical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

# One list of roles for the client, the server and the wire (re-exported from here).
from fieldapp.domain.people import Role
from fieldapp.domain.visits import SupervisorCapacity

API = "/v1"
MAX_BLOB = 64 * 1024  # base64 characters of one sealed or wrapped value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


BLOB_PATTERN = r"^[A-Za-z0-9+/=_-]+$"
ID_PATTERN = r"^[A-Za-z0-9._:|-]+$"
# A record id may also hold "/": a drug-screen revision is "<screen id>/<revision>" in the vault
# (fieldapp/storage/screen_store.py), and record ids never appear in a URL path.
RECORD_ID_PATTERN = r"^[A-Za-z0-9._:|/-]+$"


class Problem(Model):
    """Every refusal: a code for programs, a sentence for people, and whether to wipe."""

    error: str
    message: str
    wipe: bool = False


class EnrolRequest(Model):
    code: str = Field(min_length=8, max_length=64)
    device_name: str = Field(min_length=1, max_length=100)
    public_key: str | None = Field(default=None, min_length=1, max_length=MAX_BLOB,
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


class KeyMaterial(Model):
    """The user's public key, and the private key wrapped under their passphrase (opaque here)."""

    public_key: str
    wrapped_private_key: str


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


class Member(Model):
    user_id: str
    role: Role
    public_key: str | None


class WrappedKey(Model):
    version: int = Field(ge=1, le=1_000_000)
    user_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    wrapped_key: str = Field(min_length=1, max_length=MAX_BLOB, pattern=BLOB_PATTERN)


class KeyUpload(Model):
    keys: list[WrappedKey] = Field(min_length=1, max_length=100)


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
SYNCED_TABLES = ("cases", "visit_notes", "addenda", "note_reviews", "drug_screen_revisions",
                 "random_schedules", "trips", "mileage_months",
                 "consents", "consent_ends", "disclosures")
# Written by the server alone: reimbursable miles per worker and month, in trip order.
ALLOCATIONS = "mileage_allocations"
MAX_BATCH_OPS = 500            # ops in one push
MAX_BATCH_BYTES = 2_000_000    # bytes of one push body
MAX_PAGE = 1000                # documents in one pull page
PlainValue = str | int | None
HASH_PATTERN = r"^[0-9a-f]{64}$"
TABLE_PATTERN = "^(" + "|".join(SYNCED_TABLES) + ")$"


class Op(Model):
    """One change to one record, as the client's outbox froze it.

    `op_id` is the idempotency key; `payload_hash` is an HMAC of the plaintext under the scope's
    key (the server compares hashes, it cannot read them). `sealed` is the record's sensitive
    body sealed under the scope's content key version `key_version`; None only for a deletion.
    `base_rev` is the server revision the change was made over (0: a new record).
    """

    op_id: str = Field(min_length=16, max_length=64, pattern=ID_PATTERN)
    table: str = Field(pattern=TABLE_PATTERN)
    record_id: str = Field(min_length=1, max_length=200, pattern=RECORD_ID_PATTERN)
    scope: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    base_rev: int = Field(ge=0, le=2**40)
    deleted: bool = False
    plain: dict[str, PlainValue] = Field(default_factory=dict, max_length=40)
    key_version: int | None = Field(default=None, ge=1, le=1_000_000)
    sealed: str | None = Field(default=None, min_length=1, max_length=4 * MAX_BLOB,
                               pattern=BLOB_PATTERN)
    payload_hash: str = Field(pattern=HASH_PATTERN)


class Push(Model):
    ops: list[Op] = Field(min_length=1, max_length=MAX_BATCH_OPS)


class Doc(Model):
    """A record as the server holds it (its head revision); `seq` orders every change."""

    table: str
    record_id: str
    scope: str
    rev: int
    seq: int
    op_id: str
    author: str
    deleted: bool
    plain: dict[str, PlainValue]
    key_version: int | None
    sealed: str | None


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
    needs_keys: list[str] = Field(default_factory=list)
    # Every key scope (case id or `ledger:<user>`) the caller may hold now; None: not said.
    scopes: list[str] | None = None


class Digest(Model):
    """An order-independent hash of (table, record, revision) over what the caller may hold."""

    count: int
    digest: str


def digest_of(items: Iterable[tuple[str, str, int]]) -> Digest:
    """Sum of SHA-256 of each (table, record, revision) modulo 2**256: order does not matter."""
    total, count = 0, 0
    for table, record_id, rev in items:
        total += int.from_bytes(hashlib.sha256(f"{table}\x1f{record_id}\x1f{rev}".encode())
                                .digest(), "big")
        count += 1
    return Digest(count=count, digest=f"{total % 2**256:064x}")


class ManifestEntry(Model):
    table: str
    record_id: str
    rev: int
    deleted: bool


class Manifest(Model):
    entries: list[ManifestEntry]
