"""What travels is sealed under a scope's key: the key ring, sealing and opening a record for the
wire, and the payload hash the server compares without reading.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldapp.crypto.aead import Binding, DataKey
from fieldapp.crypto.identity import Identity, b64, unb64
from fieldapp.crypto.signing import on_every_core
from fieldapp.storage.sealed import Body
from sync import protocol as wire


@dataclass
class KeyRing:
    """Content keys by (scope, version), as held in the vault."""

    keys: dict[tuple[str, int], bytes] = field(default_factory=dict)

    def newest(self, scope: str) -> tuple[int, bytes] | None:
        versions = [v for (s, v) in self.keys if s == scope]
        return (max(versions), self.keys[(scope, max(versions))]) if versions else None

    def get(self, scope: str, version: int) -> bytes | None:
        return self.keys.get((scope, version))


def wire_key(scope: str, version: int, key: bytes) -> DataKey:
    return DataKey(key, key_id=f"{scope}#{version}")


def seal_for_wire(key: bytes, *, scope: str, version: int, table: str, record_id: str,
                  op_id: str, content: Mapping[str, Any]) -> str:
    """Seal a record's body under a scope key, bound to table, record, op and key version."""
    data_key = wire_key(scope, version, key)
    plaintext = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return b64(data_key.seal(plaintext.encode(), Binding(
        table=table, record_id=f"{record_id}@{op_id}", revision=0, key_id=data_key.key_id)))


def open_from_wire(key: bytes, doc: wire.Doc) -> Body:
    assert doc.sealed is not None and doc.key_version is not None
    data_key = wire_key(doc.scope, doc.key_version, key)
    plaintext = data_key.open(unb64(doc.sealed), Binding(
        table=doc.table, record_id=f"{doc.record_id}@{doc.op_id}", revision=0,
        key_id=data_key.key_id))
    body = json.loads(plaintext.decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError("not a record body")
    return body


# Characters a signature adds to an op's JSON, counted before it is signed (a batch's size).
SIGNATURE_ROOM = 110
def sign_ops(identity: Identity, author: str, ops: Sequence[wire.Op]) -> list[wire.Op]:
    """Each op signed by `identity` as `author` (`wire.op_statement`), in the same order."""
    def sign(chunk: Sequence[wire.Op]) -> list[wire.Op]:
        return [op.model_copy(update={"signature": identity.sign(
            wire.signed_statement(op, author))}) for op in chunk]

    return on_every_core(sign, ops)


def payload_hash(key: bytes, content: Mapping[str, Any]) -> str:
    """An HMAC under the scope key: equal for equal changes, meaningless to the server."""
    canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


