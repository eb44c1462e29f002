"""With the broker stopped, writes still commit and the outbox grows; after restart all is delivered in order.

This test stops and starts a broker, so it runs a second single-node broker of
its own (deploy/kafka/kafka.sh with another state dir and ports) rather than
the shared one.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from baylink.runtime.db import Database
from baylink.runtime.events import from_kafka
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.outbox import backlog
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from tests.integration.runtime.conftest import TYPES, create_test_tables, read_topic, record
from tests.support.ports import free_port

pytestmark = pytest.mark.kafka
KAFKA_SH = REPO_ROOT / "deploy" / "kafka" / "kafka.sh"


class Broker:
    def __init__(self, home: Path, port: int, controller_port: int):
        self.env = {
            **os.environ,
            "BAYLINK_KAFKA_HOME": str(home),
            "BAYLINK_KAFKA_PORT": str(port),
            "BAYLINK_KAFKA_CONTROLLER_PORT": str(controller_port),
            "BAYLINK_KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
        }
        self.settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000)

    def run(self, command: str) -> None:
        subprocess.run(
            ["bash", str(KAFKA_SH), command], env=self.env, check=True, timeout=180, stdout=subprocess.DEVNULL
        )


@pytest.fixture
def broker(tmp_path: Path, kafka_settings: KafkaSettings) -> Iterator[Broker]:
    b = Broker(tmp_path / "kafka", free_port(), free_port())  # free ports: another run may have a broker of its own
    b.run("start")
    try:
        yield b
    finally:
        b.run("stop")


async def test_writes_commit_while_the_broker_is_down_and_go_out_in_order_when_it_returns(
    database: Database, broker: Broker
) -> None:
    await create_test_tables(database)
    topic = "outage.test"
    admin = new_admin(broker.settings)
    await admin.start()
    await apply_topics(admin, [TopicSpec(topic, 3, 3_600_000)], 1)
    await close_quietly(admin)

    metrics = ServiceMetrics()
    relay = OutboxRelay(
        database, broker.settings, name="outage", metrics=metrics, poll_seconds=0.1, max_backoff_seconds=1.0
    )
    task = asyncio.create_task(relay.run())
    await record(database, topic, "agg-0", 0)
    await wait_for(lambda: backlog_of(database), 0)

    await asyncio.to_thread(broker.run, "stop")
    for i in range(1, 31):  # thirty writes across three aggregates while the broker is away
        await record(database, topic, f"agg-{i % 3}", i)
    await asyncio.sleep(2)
    assert await backlog_of(database) == 30  # committed, but nothing could go out

    # The relay keeps failing and backing off; its backlog gauge shows what waits.
    async def gauge() -> int:
        return int(metrics.registry.get_sample_value("baylink_outbox_backlog") or 0)

    await wait_for(gauge, 30, timeout=30)

    await asyncio.to_thread(broker.run, "start")
    await wait_for(lambda: backlog_of(database), 0, timeout=90)
    await relay.stop()
    await asyncio.gather(task, return_exceptions=True)

    records = await read_topic(broker.settings, topic, expected=31)
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for r in records:
        event = TYPES.decode(from_kafka(r.headers, r.value))
        by_aggregate[r.key.decode()].append(event.sequence)
    assert sorted(s for seqs in by_aggregate.values() for s in set(seqs)) == list(range(31))
    for aggregate, sequences in by_aggregate.items():
        deduplicated = list(dict.fromkeys(sequences))
        assert deduplicated == sorted(deduplicated), f"{aggregate} out of order: {sequences}"


async def backlog_of(db: Database) -> int:
    async with db.transaction() as session:
        return await backlog(session)


async def wait_for(probe, expected: int, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while await probe() != expected:
            await asyncio.sleep(0.2)
