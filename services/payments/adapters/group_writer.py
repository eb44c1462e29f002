"""The group commit's one transaction, as a direct program (``baylink.runtime.direct``).

The service layer's ``GroupCommitter`` gathers the requests and answers the
callers; this writes a batch of them: its commits, then its prepares (each
decided by ``domain/acceptance.py``), then their events in the outbox, then the
relay's published rows stamped sent, all on the database driver's own
connection (``Database.run_direct``), so that it commits or rolls back whole.
"""

from __future__ import annotations

from datetime import datetime

from baylink.runtime.db import Database
from baylink.runtime.direct import Program
from baylink.runtime.outbox import OutboxRow, stage_events
from baylink.runtime.sent_marks import mark_sent
from services.payments.adapters.batch_commit import commit_batch
from services.payments.adapters.batch_prepare import prepare_batch
from services.payments.domain.transfer import Transfer
from services.payments.service_layer.ports import BatchWrite, BatchWritten, Staged


async def write(db: Database, batch: BatchWrite) -> BatchWritten:
    prepared, committed, staged = await db.run_direct(_program(batch, batch.now, db.dialect == "postgresql"))
    return BatchWritten(prepared, committed, staged)


def _program(
    batch: BatchWrite, now: datetime, postgres: bool
) -> Program[tuple[list[Transfer | None], list[Transfer | None], list[OutboxRow]]]:
    """The batch's one transaction: its commits, then its prepares, then their events in the outbox
    (returned with their ids, for the relay), then the relay's ``marks`` stamped sent (on SQLite,
    where a marking transaction of the relay's own would hold up the next batch). ``reserved``
    loses what commits here; were the transaction to roll back, those transfers are read back
    from the table by the one-by-one path, so nothing is lost with them."""
    events: Staged = []
    committed: list[Transfer | None] = []
    prepared: list[Transfer | None] = []
    if batch.commits:
        committed = yield from commit_batch(postgres, batch.commits, now, events, batch.commit_contexts, batch.reserved)
    if batch.prepares:
        prepared = yield from prepare_batch(
            postgres, batch.rules, batch.transfer_ttl_seconds, batch.prepares, now, events, batch.prepare_contexts
        )
    staged: list[OutboxRow] = []
    if events:
        staged = yield from stage_events(batch.cloud_events(events), topic=batch.topic)
    if batch.marks:
        yield from mark_sent(now, batch.marks)
    return prepared, committed, staged
