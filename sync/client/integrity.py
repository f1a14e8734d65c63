"""What a laptop checks in every document before it shows or applies it (it trusts no server).

- The author's signature, against the key this laptop pinned for the author
  (`sync/client/pins.py`), over everything the author wrote (`wire.doc_statement`): the plain
  columns, the sealed body, the record, its scope and key version, the revision it was made
  over. A server that changes any of it, or puts one author's change in another's name, fails.
- Only the columns the server decides itself (`wire.STAMPED`: a case's assignment, a review's
  capacity) are taken from outside the signature.
- Rollbacks and replays (`Inbox`, with `seen_ops`): a revision older than one this laptop has
  seen, or a change it has seen before served again as current, is refused.

A document that fails waits aside, shown under Needs attention; it is never applied and never
stops the rest of the sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fieldapp.crypto.signing import on_every_core, verifies
from sync import protocol as wire

# The inbox reason of a document that fails these checks.
UNVERIFIED = "unverified: "


def signature_problem(doc: wire.Doc, signing_keys: Mapping[str, Sequence[str]]
                      ) -> str | None:
    """Why `doc` is not its author's, as signed (with their pinned key, or one they had
    before: `Pins.signing_keys`); None if it is."""
    keys = signing_keys.get(doc.author)
    if not keys:
        return ("Its author's key is not known on this laptop, so it cannot be checked; it "
                "waits until it can.")
    statement = wire.doc_statement(doc)
    if not any(verifies(key, statement, doc.signature) for key in keys):
        return ("It is not signed with its author's key: it was changed after it was written, "
                "or it is not theirs.")
    if doc.rev <= doc.base_rev:
        return "Its revision does not follow the one it was made over."
    return None


def signature_problems(docs: Sequence[wire.Doc], signing_keys: Mapping[str, Sequence[str]]
                       ) -> dict[tuple[str, str, int], str | None]:
    """`signature_problem` of each document, by (table, record id, revision), checked on every
    core (a new laptop's first pull checks thousands)."""
    def check(chunk: Sequence[wire.Doc]) -> list[str | None]:
        return [signature_problem(doc, signing_keys) for doc in chunk]

    found = on_every_core(check, docs)
    return {(d.table, d.record_id, d.rev): why for d, why in zip(docs, found, strict=True)}


def with_stamps(doc: wire.Doc) -> wire.Doc:
    """`doc` with the columns the server decides (and only those) over what its author wrote;
    a deletion takes none (nothing of it is applied but the deletion)."""
    allowed = wire.STAMPED.get(doc.table, frozenset())
    stamps = {k: v for k, v in doc.stamped.items() if k in allowed}
    if doc.deleted or not stamps:
        return doc
    return doc.model_copy(update={"plain": {**doc.plain, **stamps}})
