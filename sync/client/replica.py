"""The laptop's side of sync, in the database: freeze outbox entries into ops, settle the server's
answers, apply pulled documents, keep conflicts, compute the digest.

Thread rule: the database worker. Every public method is one transaction: a crash or a kill at
any point leaves either all of a step or none of it, and the pull checkpoint is written in the
transaction of the documents it covers.
"""

from __future__ import annotations

from sync.client.outbox import Outbox, Settled
from sync.client.sealing import KeyRing
from sync.client.verification import Verification

__all__ = ["KeyRing", "Replica", "Settled"]


class Replica(Outbox, Verification):
    """One profile's side of sync, each job in its module: `outbox` (freeze and settle), `inbox`
    (apply and retry), `conflicts`, `verification` (digest and repair), over `local` (state and
    the writes they share).

    Thread rule: the database worker.
    """
