"""Events straight through Kafka for the consumer and broker scenarios: a producer that counts what the
broker acknowledged, consumer child processes (``consumer_child``) to kill, and what they applied."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from baylink.events.v1 import registry_events_pb2 as registry_events
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.kafka import close_quietly, new_admin, new_producer
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from tests.chaos.cluster import ROOT, Cluster
from tests.chaos.consumer_child import APPLIED
from tests.support.child import command as child_command

DATABASE = "baylink_chaos"


async def new_topic(settings: KafkaSettings, name: str, partitions: int = 6) -> str:
    admin = new_admin(settings)
    await admin.start()
    try:
        await apply_topics(admin, [TopicSpec(name, partitions, 3600 * 1000)], settings.replication_factor)
    finally:
        await close_quietly(admin)
    return name


@dataclass
class Producer:
    """Sends chaos events one at a time (each awaited: acknowledged by the broker, acks=all, or failed)."""

    settings: KafkaSettings
    topic: str
    acked: list[str] = field(default_factory=list)
    acked_at: list[float] = field(default_factory=list)
    failed: int = 0

    async def send(self, count: int, pause: float = 0.0, stop: asyncio.Event | None = None) -> None:
        types = EventTypes.from_contracts()
        producer = new_producer(self.settings, client_id=f"chaos-{self.topic}")
        await producer.start()
        try:
            for i in range(count):  # bounded: ``count`` events at most
                if stop is not None and stop.is_set():
                    return
                ce = types.new(registry_events.ApplicationDrafted(application_id=f"chaos-{i}"),
                               subject=f"chaos-{i}", source="chaos")  # fmt: skip
                try:
                    await producer.send_and_wait(self.topic, ce.data, key=ce.key, headers=ce.kafka_headers())
                    self.acked.append(ce.id)
                    self.acked_at.append(time.monotonic())
                except Exception:  # noqa: BLE001 - not acknowledged: the producer's caller was told it failed
                    self.failed += 1
                if pause:
                    await asyncio.sleep(pause)
        finally:
            await close_quietly(producer)


class ConsumerChild:
    """``python -m tests.chaos.consumer_child`` in a process of its own, its output lines timed."""

    def __init__(self, cluster: Cluster, url: str, topic: str, group: str, *, pause: bool = False):
        self.cluster, self.url, self.topic, self.group, self.pause = cluster, url, topic, group, pause
        self.lines: list[tuple[float, str]] = []

    async def start(self) -> None:
        env = {**os.environ, **self.cluster.kafka_env("admin")}
        env["PYTHONPATH"] = str(ROOT)
        target = ["-m", "tests.chaos.consumer_child", self.url, self.topic, self.group]
        if self.pause:
            target.append("--pause-after-apply")
        # dies with this process: a scenario stopped by its timeout must not leave a consumer behind
        self.process = await asyncio.create_subprocess_exec(
            *child_command(os.getpid(), target), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))

    async def wait_for(self, prefix: str, timeout: float = 60) -> tuple[float, str]:
        async with asyncio.timeout(timeout):
            while True:
                for moment, line in self.lines:
                    if line.startswith(prefix):
                        return moment, line
                if self.process.returncode is not None:
                    raise AssertionError(f"consumer child exited {self.process.returncode}: {self.output()}")
                await asyncio.sleep(0.05)

    def applied_lines(self) -> list[tuple[float, int, int]]:
        return [(t, int(w[1]), int(w[2])) for t, line in self.lines if (w := line.split()) and w[0] == "APPLIED"]

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines[-30:])

    def kill(self) -> float:
        os.kill(self.process.pid, signal.SIGKILL)
        return time.monotonic()

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await self.reader


async def applied(url: str, group: str) -> Counter[str]:
    """How many times each event was applied by ``group``."""
    db = Database(url)
    try:
        async with db.begin(readonly=True) as conn:
            rows = await conn.execute(sa.select(APPLIED.c.event_id).where(APPLIED.c.consumer_group == group))
            return Counter(rows.scalars())
    finally:
        await db.dispose()


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
