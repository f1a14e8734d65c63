"""The audit log's rules: append-only entries, each carrying the hash of the one before.

Changing, removing or reordering any entry breaks every hash after it, so `first_break` finds
where the log stops being trustworthy. Entries hold who, what and when, and ids; never content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64


class Action(StrEnum):
    SIGN = "sign"
    COSIGN = "co-sign"
    RETURN_NOTE = "return note"
    ADDENDUM = "addendum"
    DELETE_DRAFT = "delete draft"
    SCREEN_RECORDED = "screen recorded"
    SCREEN_CORRECTED = "screen corrected"
    SCHEDULE_DRAWN = "random schedule drawn"
    MONTH_SUBMIT = "mileage submitted"
    MONTH_APPROVE = "mileage approved"
    MONTH_RETURN = "mileage returned"
    EXPORT = "export"
    CONSENT_RECORDED = "consent recorded"
    CONSENT_ENDED = "consent ended"
    DISCLOSURE = "disclosure"
    SETTINGS_CHANGED = "settings changed"
    RECORDS_REMOVED = "records removed from this laptop"
    RECORDS_ADOPTED = "records written before joining the server made the user's"
    KEY_ACCEPTED = "a colleague's new key accepted"
    KEY_COMPARED = "a colleague's key compared"
    KEYS_REPLACED = "my keys replaced"
    KEYS_TAKEN_UP = "my keys, replaced on another laptop, taken up"


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str
    hash: str


def entry_hash(*, prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str,
               details: Mapping[str, Any]) -> str:
    canonical = json.dumps([prev_hash, seq, at, actor, action, subject, dict(details)],
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain(previous: AuditEntry | None, *, at: str, actor: str, action: str, subject: str,
          details: Mapping[str, Any]) -> AuditEntry:
    """The next entry after `previous` (None for the first)."""
    prev_hash = previous.hash if previous else GENESIS
    seq = previous.seq + 1 if previous else 1
    return AuditEntry(seq=seq, at=at, actor=actor, action=action, subject=subject,
                      details=dict(details), prev_hash=prev_hash,
                      hash=entry_hash(prev_hash=prev_hash, seq=seq, at=at, actor=actor,
                                      action=action, subject=subject, details=details))


def first_break(entries: Sequence[AuditEntry]) -> int | None:
    """Index of the first entry that does not follow from the one before, or None if intact."""
    prev_hash, seq = GENESIS, 0
    for index, entry in enumerate(entries):
        expected = entry_hash(prev_hash=prev_hash, seq=seq + 1, at=entry.at, actor=entry.actor,
                              action=entry.action, subject=entry.subject, details=entry.details)
        if entry.seq != seq + 1 or entry.prev_hash != prev_hash or entry.hash != expected:
            return index
        prev_hash, seq = entry.hash, entry.seq
    return None
