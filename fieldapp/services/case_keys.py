"""Content keys for a case, shared with exactly the people entitled to read it.

A case's records will be sealed (by sync) under the case's content key, so every member needs
it: the coordinator, the intact worker and the team's supervisors. A member who holds the key
seals it to each member's public key and uploads the sealed copies; the server only stores them.
Reassigning a case: share again and the new member gets every version. Removing someone: rotate
to a new version shared only with who remains, so what is written afterwards is closed to them.
Sharing and fetching talk to the server: sync/client/keys.py (and the sync engine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fieldapp.crypto.identity import Identity, seal_key, unb64
from fieldapp.crypto.signing import key_statement
from fieldapp.services.session import Session

KEY_KIND = "case key"


def case_keys(session: Session) -> dict[tuple[str, int], bytes]:
    """Every case key this profile holds, by (case id, version)."""
    found = {}
    for opened in session.records().of_kind(KEY_KIND):
        if opened.body is not None:
            body = opened.body
            found[(body["case_id"], int(body["version"]))] = unb64(body["key"])
    return found


def sealed_copies(scope: str, keys: Mapping[int, bytes],
                  members: Iterable[tuple[str, str | None]], *, signer: Identity,
                  signer_id: str) -> list[dict[str, Any]]:
    """Every version of a scope's key sealed to every member who has a key pair, each copy
    signed by `signer` (who sealed it), as the key upload carries them. Every version goes to
    every current member: a new member reads the family's history, and someone no longer on
    the case never receives a version made after they left. The caller passes only members
    whose keys it trusts (`sync/client/pins.py`)."""
    copies = []
    for user_id, public_key in members:
        if not public_key:
            continue
        for v in sorted(keys):
            wrapped = seal_key(keys[v], to_public_key=public_key, case_id=scope, version=v,
                               user_id=user_id)
            copies.append({"version": v, "user_id": user_id, "wrapped_key": wrapped,
                           "signer": signer_id, "signature": signer.sign(key_statement(
                               scope, v, user_id, wrapped, signer_id))})
    return copies
