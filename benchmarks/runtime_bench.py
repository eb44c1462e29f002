"""Events/s through outbox → relay → Kafka → idempotent consumer, beside Kafka's own producer tool.

    python -m benchmarks.runtime_bench [--events 100000] [--size 100]

1. Pipeline: a writer commits ProbeRecorded events to a service's outbox
   (SQLite, 500 events per transaction, each with its state change), the relay
   publishes them, and a consumer group applies each one exactly once through
   its inbox (its own SQLite database, as another service would have). The
   clock runs from the first write to the last event applied.
2. Baseline: Kafka's ProducerPerformance (same jars, same broker, acks=all,
   idempotent) sends the same number of records of the same size.
Both figures and their ratio are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from baylink.events.v1 import runtime_events_pb2
from baylink.runtime.consumer import IdempotentConsumer
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.outbox import add_events
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics

TYPES = EventTypes.from_contracts()
AGGREGATES = 1000
TX_SIZE = 500


async def create_topic(kafka: KafkaSettings, name: str, partitions: int) -> None:
    admin = new_admin(kafka)
    await admin.start()
    try:
        await apply_topics(admin, [TopicSpec(name, partitions, 3_600_000)], kafka.replication_factor)
    finally:
        await close_quietly(admin)


async def delete_topics(kafka: KafkaSettings, names: list[str]) -> None:
    admin = new_admin(kafka)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await close_quietly(admin)


async def pipeline(kafka: KafkaSettings, events: int, size: int, workdir: Path) -> float:
    topic = f"bench.pipeline.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka, topic, 6)
    producer_db = Database(f"sqlite+aiosqlite:///{workdir / 'producer.db'}")
    consumer_db = Database(f"sqlite+aiosqlite:///{workdir / 'consumer.db'}")
    await producer_db.migrate()
    await consumer_db.migrate()
    state = sa.Table(
        "bench_state",
        sa.MetaData(),
        sa.Column("aggregate_id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer),
    )
    async with producer_db.engine.begin() as conn:
        await conn.run_sync(state.metadata.create_all)

    metrics = ServiceMetrics()
    relay = OutboxRelay(producer_db, kafka, name="bench", metrics=metrics, batch_size=2000, poll_seconds=0.05)
    applied = 0

    async def handler(session, event) -> None:  # type: ignore[no-untyped-def]
        nonlocal applied
        TYPES.decode(event)  # a real consumer decodes what it applies
        applied += 1

    consumer = IdempotentConsumer(
        consumer_db,
        kafka,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        handler=handler,
        metrics=metrics,
        batch_size=2000,
    )
    await consumer.start()
    note = "x" * max(0, size - 40)  # the serialised event body is about `size` bytes

    async def write() -> None:
        for start in range(0, events, TX_SIZE):
            batch = []
            async with producer_db.transaction() as session:
                for n in range(start, min(start + TX_SIZE, events)):
                    aggregate = f"agg-{n % AGGREGATES}"
                    message = runtime_events_pb2.ProbeRecorded(aggregate_id=aggregate, sequence=n, note=note)
                    batch.append(TYPES.new(message, subject=aggregate, source="/baylink/bench"))
                await session.execute(
                    sa.insert(state).prefix_with("OR REPLACE"),
                    [{"aggregate_id": e.subject, "version": 1} for e in batch],
                )
                await add_events(session, batch, topic=topic)
            relay.wake()

    started = time.perf_counter()
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    await write()
    while applied < events:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await relay.stop()
    await consumer.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    await producer_db.dispose()
    await consumer_db.dispose()
    await delete_topics(kafka, [topic])
    return events / elapsed


def kafka_producer_perf(kafka: KafkaSettings, events: int, size: int) -> float:
    topic = f"bench.perf.{uuid.uuid4().hex[:8]}"
    asyncio.run(create_topic(kafka, topic, 6))
    try:
        out = subprocess.run(
            ["bash", str(REPO_ROOT / "deploy" / "kafka" / "kafka.sh"), "perf", str(events), str(size), topic],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
    finally:
        asyncio.run(delete_topics(kafka, [topic]))
    match = re.search(r"([\d.]+) records/sec", out.strip().splitlines()[-1])
    if not match:
        raise RuntimeError(f"unexpected ProducerPerformance output: {out[-500:]}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=100, help="approximate event body size in bytes")
    args = parser.parse_args()
    kafka = KafkaSettings()
    with tempfile.TemporaryDirectory(prefix="baylink-bench-") as tmp:
        ours = asyncio.run(pipeline(kafka, args.events, args.size, Path(tmp)))
    baseline = kafka_producer_perf(kafka, args.events, args.size)
    print(
        f"runtime: outbox→relay→Kafka→idempotent consumer: {ours:,.0f} events/s "
        f"({args.events:,} events of ~{args.size} B, SQLite both ends)"
    )
    print(f"runtime: Kafka ProducerPerformance (acks=all, idempotent): {baseline:,.0f} records/s")
    print(f"runtime: ratio pipeline / producer-perf = {ours / baseline:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
