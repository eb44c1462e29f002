"""A consumer in a process of its own, for the chaos suite to kill -9: the runtime's IdempotentConsumer
applying chaos events to a table (``chaos_applied``, one row per application: no key, so applying an
event twice leaves two rows) in the same transaction as its inbox rows.

    python -m tests.chaos.consumer_child DATABASE_URL TOPIC GROUP [--pause-after-apply]

It is started by ``ConsumerChild`` through ``tests.support.child``, so it dies with the test process.

After each batch it prints ``APPLIED <records> <fresh>`` (fresh: handled now, not found in the inbox).
With ``--pause-after-apply`` it then waits instead of committing the batch's offsets: the moment a
crash would leave the batch applied and its offsets uncommitted. The Kafka settings come from the
environment (``BAYLINK_KAFKA_*``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.consumer import IdempotentConsumer, Record
from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.settings import KafkaSettings

METADATA = sa.MetaData()
APPLIED = sa.Table(
    "chaos_applied",
    METADATA,
    sa.Column("consumer_group", sa.String(200), nullable=False),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
)


class Child(IdempotentConsumer):
    def __init__(self, *args: object, pause: bool, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pause = pause
        self.fresh = 0

    async def process(self, records: Sequence[Record]) -> None:
        self.fresh = 0
        await super().process(records)
        print(f"APPLIED {len(records)} {self.fresh}", flush=True)
        if self.pause:
            await asyncio.sleep(3600)  # killed here: applied and in the inbox, offsets not committed


async def main(url: str, topic: str, group: str, pause: bool) -> None:
    db = Database(url)
    await db.migrate()
    async with db.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    child: Child

    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(sa.insert(APPLIED).values(consumer_group=group, event_id=event.id))
        child.fresh += 1

    child = Child(db, KafkaSettings(), group_id=group, topics=[topic], handler=apply, pause=pause, batch_size=50)
    await child.start()
    print("READY", flush=True)
    try:
        await child.run()
    finally:
        await child.stop()
        await db.dispose()


if __name__ == "__main__":
    url, topic, group = sys.argv[1:4]
    asyncio.run(main(url, topic, group, "--pause-after-apply" in sys.argv[4:]))
