"""Appending to the audit log (group commit) and checkpointing it.

Every gateway request appends, so an append must not cost a transaction of its own: calls that
arrive while a batch is committing are gathered into the next batch, which takes the head lock
once, chains all of them and commits once. Each caller returns only when its record is durable,
so an answered request's record is never lost. Sequence numbers come from the locked head row,
so they stay gapless with any number of gateway replicas on one database.

The head row is signed in every transaction that moves it, so it cannot be moved by hand; and the
log never extends a head it did not sign (that would bless a log cut back or rewritten while the
gateway was not looking): it refuses to append, UNAVAILABLE ``AUDIT_LOG_TAMPERED``, until an
operator has looked (``baylink audit verify``).

A checkpoint is taken in the batch that reaches ``every_records`` records since the last one,
or by ``checkpoint_if_due`` (run periodically by ``run_checkpoints``) once ``every_seconds`` have
passed since the first record it would cover.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from baylink import errors
from baylink.runtime.context import current_correlation_id
from baylink.runtime.events import CloudEvent
from services.gateway.audit.domain.chain import (
    AuditEntry,
    AuditRecord,
    ChainHead,
    Checkpoint,
    CheckpointPolicy,
    DetailValue,
    aware,
    chain,
)
from services.gateway.audit.service_layer.ports import AuditStore, Extension, Signer, UnsignedHeads

log = logging.getLogger("baylink.gateway.audit")
CheckpointEvent = Callable[[Checkpoint], CloudEvent]
Pending = tuple[AuditEntry, Sequence[CloudEvent], "asyncio.Future[AuditRecord]"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    def __init__(
        self,
        store: AuditStore,
        signer: Signer,
        checkpoint_event: CheckpointEvent,
        *,
        policy: CheckpointPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        on_commit: Callable[[], None] | None = None,
        max_batch: int = 1000,
        unsigned_heads: UnsignedHeads | None = None,
    ):
        self.store = store
        self.signer = signer
        self.checkpoint_event = checkpoint_event
        self.policy = policy or CheckpointPolicy()
        self.clock = clock
        # Called after a commit that staged events: e.g. the relay's wake(), so that checkpoint and alert
        # events go out promptly (a commit of records alone gives the relay nothing to do).
        self.on_commit = on_commit
        self.max_batch = max_batch
        self.unsigned_heads = unsigned_heads  # None: never adopt an unsigned head
        self._pending: list[Pending] = []
        # The message and signature of the last head this log signed: found again at the next append (the
        # usual case with one gateway), it is trusted without verifying the signature this log just made.
        self._own_head: tuple[bytes, str] | None = None
        self._flusher: asyncio.Task[None] | None = None

    async def record(
        self,
        actor: str,
        action: str,
        result: str,
        *,
        subject: str = "",
        details: Mapping[str, DetailValue] | None = None,
        events: Sequence[CloudEvent] = (),
    ) -> AuditRecord:
        """Append under the current call's correlation id."""
        entry = AuditEntry(actor, action, result, subject, current_correlation_id() or "", dict(details or {}))
        return await self.append(entry, events)

    async def append(self, entry: AuditEntry, events: Sequence[CloudEvent] = ()) -> AuditRecord:
        """Append ``entry``; ``events`` go to the outbox in the same transaction. Returns once durable."""
        future: asyncio.Future[AuditRecord] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, events, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def checkpoint_if_due(self, *, force: bool = False) -> Checkpoint | None:
        """Checkpoint the head if the policy says so (or ``force``) and any record is not yet covered."""

        def step(head: ChainHead) -> Extension | None:
            head = self._trusted(head)
            now = self.clock()
            pending = head.last_sequence > head.checkpoint_sequence
            if not pending or not (force or self.policy.due(head, now)):
                return None
            head, checkpoint = self._checkpoint(head, now)
            return Extension(self._signed(head), checkpoint=checkpoint, events=[self._checkpointed(checkpoint)])

        extension = await self.store.extend(step)
        if extension is None:
            return None
        self._committed(extension)
        return extension.checkpoint

    async def run_checkpoints(self, interval_seconds: float | None = None) -> None:
        """Check every ``interval_seconds`` (default: a quarter of the policy's period) until cancelled."""
        interval = interval_seconds or max(self.policy.every_seconds / 4, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.checkpoint_if_due()
            except Exception:  # a database hiccup must not end the loop; the next round retries
                log.exception("audit checkpoint failed")

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                await self._commit(batch)
            except Exception as exc:  # noqa: BLE001 - handed to the callers, who decide
                if len(batch) == 1:
                    _fail(batch, exc)
                    continue
                for one in batch:  # isolate the culprit: the others still get their records
                    try:
                        await self._commit([one])
                    except Exception as single:  # noqa: BLE001 - reported to that caller
                        _fail([one], single)

    async def _commit(self, batch: list[Pending]) -> None:
        entries = [entry for entry, _, _ in batch]
        staged = [event for _, events, _ in batch for event in events]

        def step(head: ChainHead) -> Extension:
            head = self._trusted(head)
            records = chain(head, entries, self.clock())
            head = head.after(records)
            events, checkpoint = staged, None
            if self.policy.due(head, records[-1].recorded_at):
                head, checkpoint = self._checkpoint(head, records[-1].recorded_at)
                events = [*staged, self._checkpointed(checkpoint)]
            return Extension(self._signed(head), records, checkpoint, events)

        extension = await self.store.extend(step)
        assert extension is not None
        for (_, _, future), record in zip(batch, extension.records, strict=True):
            if not future.done():
                future.set_result(record)
        self._committed(extension)

    def _checkpoint(self, head: ChainHead, now: datetime) -> tuple[ChainHead, Checkpoint]:
        assert head.pending_since is not None and head.last_recorded_at is not None
        unsigned = Checkpoint(
            sequence=head.last_sequence,
            head_hash=head.last_hash,
            created_at=max(aware(now), aware(head.last_recorded_at)),
            record_count=head.last_sequence - head.checkpoint_sequence,
            first_record_time=aware(head.pending_since),
            last_record_time=aware(head.last_recorded_at),
            key_id=self.signer.key_id,
        )
        checkpoint = replace(unsigned, signature=self.signer.sign(unsigned.message()).hex())
        return replace(head, checkpoint_sequence=checkpoint.sequence, pending_since=None), checkpoint

    def _checkpointed(self, checkpoint: Checkpoint) -> CloudEvent:
        """The checkpoint's event, outside any request's context: a checkpoint covers many requests, and
        its event carries none's correlation id, whichever thread the store runs the step in."""
        return contextvars.Context().run(self.checkpoint_event, checkpoint)

    def _trusted(self, head: ChainHead) -> ChainHead:
        """``head`` if this log signed it (or it is the genesis head); UNAVAILABLE otherwise."""
        if self._own_head is not None and self._own_head == (head.message(), head.signature):
            return head
        try:
            signature = bytes.fromhex(head.signature)
        except ValueError:
            signature = b""
        if head.genesis or (signature and self.signer.verify(head.key_id, head.message(), signature)):
            return head
        if not head.key_id and not head.signature and self.unsigned_heads and self.unsigned_heads.may_adopt():
            log.warning("adopting the audit head from before heads were signed", extra={"seq": head.last_sequence})
            return head
        log.critical("audit head not signed by the audit key; appends refused", extra={"seq": head.last_sequence})
        raise errors.Unavailable(
            "the audit log's head was altered outside the gateway; nothing more is recorded until it is examined",
            reason="AUDIT_LOG_TAMPERED",
        )

    def _signed(self, head: ChainHead) -> ChainHead:
        """The head with the audit key's signature: every head row written is signed."""
        unsigned = replace(head, key_id=self.signer.key_id, signature="")
        message = unsigned.message()
        signed = replace(unsigned, signature=self.signer.sign(message).hex())
        self._own_head = (message, signed.signature)
        return signed

    def _committed(self, extension: Extension) -> None:
        # After the commit nothing may raise: the batch would be retried and its records appended twice.
        if self.unsigned_heads is not None:  # a head is signed now: no unsigned head is adopted again
            try:
                self.unsigned_heads.close()
                self.unsigned_heads = None
            except Exception:
                log.exception("cannot record that the audit head is signed")
        if self.on_commit is not None and extension.events:
            try:
                self.on_commit()
            except Exception:
                log.exception("audit on_commit callback failed")


def _fail(batch: list[Pending], exc: Exception) -> None:
    for _, _, future in batch:
        if not future.done():
            future.set_exception(exc)
