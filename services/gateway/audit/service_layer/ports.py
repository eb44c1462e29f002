"""What the audit use cases need from outside: a store that locks the chain head, and a signer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from baylink.runtime.events import CloudEvent
from services.gateway.audit.domain.chain import AuditRecord, ChainHead, Checkpoint


@dataclass(frozen=True)
class Extension:
    """What one transaction adds to the log: its records, a checkpoint, events for the outbox, and
    the head it leaves (signed)."""

    head: ChainHead
    records: Sequence[AuditRecord] = ()
    checkpoint: Checkpoint | None = None
    events: Sequence[CloudEvent] = ()


class AuditStore(Protocol):
    async def extend(self, step: Callable[[ChainHead], Extension | None]) -> Extension | None:
        """In one transaction: lock the chain head (other writers wait until the commit), call
        ``step`` with it, write what it returns (None: nothing) and commit. ``step`` is plain Python
        that may run in the database's own thread: it must not touch what the event loop changes;
        if it raises, nothing is written and the exception propagates."""

    # Reading, for verification: no lock, so appends carry on meanwhile.
    async def read_head(self) -> ChainHead | None:
        """None if the head row is gone (deleted by hand: the log cannot be trusted)."""

    async def checkpoints(self, up_to: int) -> list[Checkpoint]: ...
    def records(self, up_to: int) -> AsyncIterator[AuditRecord]:
        """Records with sequence ≤ ``up_to``, ascending."""

    async def sequence_of_hash(self, digest: str) -> int | None: ...


class Signer(Protocol):
    @property
    def key_id(self) -> str: ...
    def sign(self, message: bytes) -> bytes: ...
    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool:
        """True only for a signature of this key (or of a key it took over from): the head it extends."""


class SignatureVerifier(Protocol):
    def verify(self, key_id: str, message: bytes, signature: bytes) -> bool:
        """True only if a trusted key with ``key_id`` made ``signature`` over ``message``."""


class UnsignedHeads(Protocol):
    """Whether a head written before heads were signed may still be adopted (once, on upgrade).

    Kept where the signing key is, not in the database: whoever can only write the database cannot
    reopen the window by blanking a head's signature."""

    def may_adopt(self) -> bool: ...
    def close(self) -> None:
        """From now on every head must be signed (called once this log has signed a head)."""
