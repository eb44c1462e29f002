"""The retention sweep: the outbox and the inbox stay bounded.

- A published outbox row is history once Kafka holds the event; it is kept
  ``outbox_retention_hours`` after it was sent (for operators looking into what
  went out) and then deleted. An unsent row is never deleted, however old: it
  is an event not yet delivered.
- An inbox row remembers that a consumer group processed an event, so that a
  redelivery is recognised as a duplicate. Redeliveries can come as late as the
  consumed topics keep their records (a group whose committed offsets expired
  reads from the earliest), so ``inbox_retention_hours`` must exceed the
  longest ``retention_ms`` of the topics the service consumes
  (deploy/kafka/topics.toml): 35 days by default against 30-day service topics.

Each sweep is one short transaction per table (indexed by runtime_0002), run by
every process of a service: deleting what another process already deleted
changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from baylink.runtime.db import Database
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.schema import inbox, outbox

log = logging.getLogger("baylink.retention")


@dataclass(frozen=True)
class Retention:
    outbox: timedelta  # how long a sent row is kept after sending
    inbox: timedelta  # how long a processed event id is remembered


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int


async def prune(db: Database, retention: Retention, now: datetime | None = None) -> Pruned:
    """Delete outbox rows sent before ``now - retention.outbox`` and inbox rows processed before
    ``now - retention.inbox``. Returns how many rows of each went."""
    now = now or datetime.now(UTC)
    async with db.begin() as conn:
        sent = await conn.execute(sa.delete(outbox).where(outbox.c.sent_at < now - retention.outbox))
    async with db.begin() as conn:
        processed = await conn.execute(sa.delete(inbox).where(inbox.c.processed_at < now - retention.inbox))
    return Pruned(int(sent.rowcount), int(processed.rowcount))


async def run_retention(
    db: Database, retention: Retention, every_seconds: float, stopping: asyncio.Event, metrics: ServiceMetrics
) -> None:
    """Sweep now and then every ``every_seconds`` until ``stopping`` is set; a failed sweep is
    logged and tried again at the next one."""
    while not stopping.is_set():
        try:
            pruned = await prune(db, retention)
        except Exception:
            log.exception("retention sweep failed; trying again later")
        else:
            metrics.retention_pruned.labels("outbox").inc(pruned.outbox)
            metrics.retention_pruned.labels("inbox").inc(pruned.inbox)
            if pruned.outbox or pruned.inbox:
                log.info("retention sweep", extra={"outbox_rows": pruned.outbox, "inbox_rows": pruned.inbox})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=every_seconds)
