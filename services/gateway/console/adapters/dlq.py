"""The console's dead-letter resolutions table, and the producer that replays dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from baylink import errors
from baylink.ops.dlq import DeadLetter, replay_dead_letter
from baylink.runtime.db import Database
from baylink.runtime.kafka import close_quietly, new_producer
from baylink.runtime.settings import KafkaSettings
from services.gateway.console.service_layer.dlq import Resolution

metadata = sa.MetaData()
resolutions = sa.Table(
    "console_dlq_resolutions",
    metadata,
    sa.Column("dlq_id", sa.String(300), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("original_topic", sa.String(255), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
)


class SqlDlqResolutions:
    def __init__(self, db: Database):
        self.db = db

    async def all(self) -> dict[str, Resolution]:
        """Every resolution, by dead-letter id."""
        async with self.db.transaction() as session:
            rows = (await session.execute(sa.select(resolutions))).mappings().all()
        return {row["dlq_id"]: Resolution(**row) for row in rows}

    async def resolve(self, resolution: Resolution, effect: Callable[[], Awaitable[object]] | None = None) -> None:
        """Record ``resolution`` and run ``effect`` inside the same transaction: the row commits only if the
        effect succeeded, and a second resolution of the same id fails (FailedPrecondition) before its effect."""
        try:
            async with self.db.transaction() as session:
                await session.execute(sa.insert(resolutions).values(**resolution.__dict__))
                if effect is not None:
                    await effect()
        except IntegrityError:
            raise errors.FailedPrecondition(
                f"dead letter {resolution.dlq_id} is already resolved", reason="DLQ_ITEM_RESOLVED"
            ) from None


class ReplayProducer:
    """One idempotent producer for replays, started on first use."""

    def __init__(self, kafka: KafkaSettings):
        self.kafka = kafka
        self._producer = None
        self._lock = asyncio.Lock()

    async def replay(self, letter: DeadLetter) -> None:
        """Produce ``letter``'s original record to its original topic; waits for the broker's ack."""
        async with self._lock:
            if self._producer is None:
                producer = new_producer(self.kafka, client_id="gateway-console-replay")
                await producer.start()
                self._producer = producer
        await replay_dead_letter(self._producer, letter)

    async def close(self) -> None:
        if self._producer is not None:
            await close_quietly(self._producer)
            self._producer = None
