"""The audit chain: each entry carries the hash of the one before, so any change shows."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldapp.domain.audit import (
    GENESIS,
    Action,
    AuditEntry,
    chain,
    entry_hash,
    first_break,
)

FIELDS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash")


def build(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for n in range(count):
        entries.append(chain(entries[-1] if entries else None,
                             at=f"2026-03-0{1 + n % 9}T10:00:00.000000+00:00",
                             actor=f"u-{n % 3}", action=list(Action)[n % len(Action)],
                             subject=f"note-{n}", details={"revision": n, "late": n % 2 == 0}))
    return entries


def test_the_first_entry_starts_the_chain() -> None:
    first = chain(None, at="2026-03-01T10:00:00+00:00", actor="u-1", action=Action.SIGN,
                  subject="note-1", details={"late": False})
    assert first.seq == 1
    assert first.prev_hash == GENESIS == "0" * 64
    assert re.fullmatch(r"[0-9a-f]{64}", first.hash)
    assert first.hash == entry_hash(prev_hash=GENESIS, seq=1, at=first.at, actor="u-1",
                                    action="sign", subject="note-1", details={"late": False})


def test_each_entry_links_to_the_one_before() -> None:
    entries = build(6)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    for before, after in pairwise(entries):
        assert after.prev_hash == before.hash
    assert len({e.hash for e in entries}) == 6


def test_an_intact_chain_has_no_break() -> None:
    assert first_break(build(8)) is None
    assert first_break(build(1)) is None
    assert first_break([]) is None


def test_an_edited_entry_is_found() -> None:
    entries = build(5)
    entries[2] = replace(entries[2], actor="u-intruder")
    assert first_break(entries) == 2


def test_an_edited_entry_with_its_own_hash_recomputed_breaks_the_next() -> None:
    entries = build(5)
    old = entries[2]
    forged_hash = entry_hash(prev_hash=old.prev_hash, seq=old.seq, at=old.at, actor="u-intruder",
                             action=old.action, subject=old.subject, details=old.details)
    entries[2] = replace(old, actor="u-intruder", hash=forged_hash)
    assert first_break(entries) == 3


def test_a_removed_entry_is_found() -> None:
    entries = build(5)
    del entries[2]
    assert first_break(entries) == 2
    entries = build(5)
    del entries[0]
    assert first_break(entries) == 0


def test_reordered_entries_are_found() -> None:
    entries = build(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert first_break(entries) == 1


def test_an_inserted_entry_is_found() -> None:
    entries = build(5)
    entries.insert(3, replace(entries[1]))
    assert first_break(entries) == 3


def test_an_inserted_entry_chained_to_the_one_before_breaks_the_next() -> None:
    entries = build(5)
    forged = chain(entries[2], at=entries[2].at, actor="u-intruder", action=Action.EXPORT,
                   subject="case-1", details={})
    entries.insert(3, forged)
    assert first_break(entries) == 4


def test_details_key_order_does_not_change_the_hash() -> None:
    one = chain(None, at="t", actor="a", action="x", subject="s", details={"a": 1, "b": 2})
    two = chain(None, at="t", actor="a", action="x", subject="s", details={"b": 2, "a": 1})
    assert one.hash == two.hash


def test_an_action_hashes_as_its_text() -> None:
    one = chain(None, at="t", actor="a", action=Action.COSIGN, subject="s", details={})
    two = chain(None, at="t", actor="a", action="co-sign", subject="s", details={})
    assert one.hash == two.hash


def test_details_are_copied_into_the_entry() -> None:
    details: dict[str, Any] = {"revision": 1}
    entry = chain(None, at="t", actor="a", action="x", subject="s", details=details)
    details["revision"] = 2
    assert entry.details == {"revision": 1}
    assert first_break([entry]) is None


# --- any single change is detected --------------------------------------------------------------


texts = st.text(max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**6, max_value=10**6),
                    texts)
details_maps = st.dictionaries(st.text(max_size=8), scalars, max_size=4)


@st.composite
def chains(draw: st.DrawFn) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        entries.append(chain(entries[-1] if entries else None, at=draw(texts),
                             actor=draw(texts), action=draw(st.sampled_from(list(Action))),
                             subject=draw(texts), details=draw(details_maps)))
    return entries


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@settings(max_examples=200)
@given(entries=chains(), data=st.data())
def test_any_single_field_change_anywhere_is_detected(entries: list[AuditEntry],
                                                      data: st.DataObject) -> None:
    assert first_break(entries) is None
    index = data.draw(st.integers(min_value=0, max_value=len(entries) - 1))
    name = data.draw(st.sampled_from(FIELDS))
    old = getattr(entries[index], name)
    strategy: st.SearchStrategy[Any] = {
        "seq": st.integers(min_value=-5, max_value=50),
        "details": details_maps,
        "prev_hash": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        "hash": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    }.get(name, texts)
    new = data.draw(strategy.filter(lambda value: canonical(value) != canonical(old)))
    changed = [*entries]
    changed[index] = replace(entries[index], **{name: new})
    assert first_break(changed) == index
