"""Helpers for the flow worker's tests: its own topics, the worker in a subprocess, CloudEvents in and out."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from google.protobuf.message import Message

from baylink.runtime.context import correlation_scope
from baylink.runtime.events import CloudEvent, EventTypes, from_kafka
from baylink.runtime.kafka import client_kwargs, close_quietly, new_admin
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from tests.conftest import TopicFactory
from tests.support.topics import scan_topic

TYPES = EventTypes.from_contracts()
PARTITIONS = 6


@dataclass
class FlowTopics:
    app_id: str
    registry: str
    payments: str
    sink: str
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BAYLINK_FLOWS_APP_ID": self.app_id,
            "BAYLINK_FLOWS_REGISTRY_TOPIC": self.registry,
            "BAYLINK_FLOWS_PAYMENTS_TOPIC": self.payments,
            "BAYLINK_FLOWS_SINK_TOPIC": self.sink,
            "BAYLINK_FLOWS_PARTITIONS": str(PARTITIONS),
            **self.extra_env,
        }


async def flow_topics(new_topic: TopicFactory, **extra_env: str) -> FlowTopics:
    registry, payments, sink = [await new_topic(f"flows.{k}", partitions=PARTITIONS) for k in ("reg", "pay", "gw")]
    return FlowTopics(f"flows-test-{uuid.uuid4().hex[:8]}", registry, payments, sink, extra_env=dict(extra_env))


class Worker:
    """``python -m services.gateway.flows`` in a subprocess; stop() is SIGTERM and waits for the exit,
    kill() is SIGKILL. ``env`` adds to the topics' environment (a worker's own data directory, say)."""

    def __init__(self, topics: FlowTopics, log: Path | None = None, **env: str):
        self.topics = topics
        self.env = env
        self.log = log  # the worker's output, appended (kept for a failure's post-mortem); else dropped
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = self._output()
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.gateway.flows", cwd=REPO_ROOT, env={**self.topics.env(), **self.env},
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        finally:
            os.close(out)

    def _output(self) -> int:
        path = self.log if self.log is not None else os.devnull
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 60)
        self.process = None

    async def kill(self) -> None:
        """SIGKILL: no goodbye to the group, no flush, no commit."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), 30)
        self.process = None


async def delete_internal_topics(kafka: KafkaSettings, topics: FlowTopics) -> None:
    """The app's own topics (regrouping, changelog), made by the worker."""
    admin = new_admin(kafka)
    await admin.start()
    try:
        await admin.delete_topics([t for t in await admin.list_topics() if t.startswith(topics.app_id)])
    finally:
        await close_quietly(admin)


@asynccontextmanager
async def running_worker(kafka: KafkaSettings, topics: FlowTopics) -> AsyncIterator[Worker]:
    worker = Worker(topics)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
        await delete_internal_topics(kafka, topics)


def cloud_event(message: Message, *, subject: str, correlation_id: str, service: str = "registry") -> CloudEvent:
    with correlation_scope(correlation_id):
        return TYPES.new(message, subject=subject, source=f"/baylink/{service}")


async def produce(kafka: KafkaSettings, topic: str, *events: CloudEvent) -> None:
    producer = AIOKafkaProducer(**client_kwargs(kafka), enable_idempotence=True)
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(topic, e.data, key=e.key, headers=e.kafka_headers())
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Out:
    event: CloudEvent
    message: Message
    record_ms: int  # the Kafka record's timestamp (milliseconds since the epoch)

    @property
    def label(self) -> str:
        """``started``, ``step:<name>``, ``compensated`` or ``completed:<outcome>`` (for assertions)."""
        kind = self.event.type.split(".")[-2]
        step = getattr(self.message, "step", "")
        if kind == "completed":
            return f"completed:{self.message.outcome}"  # type: ignore[attr-defined]
        return f"step:{step}" if step else kind


def decoded(record: ConsumerRecord) -> Out:
    event = from_kafka(record.headers, record.value)
    return Out(event, TYPES.decode(event), record.timestamp)


async def flow_outputs(
    kafka: KafkaSettings, topic: str, flow_id: str, until: Mapping[str, int], timeout: float = 90
) -> list[Out]:
    """The flow's gateway events (copies included) once each label of ``until`` is there, then 1 s more."""

    def done(records: list[ConsumerRecord]) -> bool:
        labels = [decoded(r).label for r in records]
        return all(labels.count(label) >= n for label, n in until.items())

    records = await scan_topic(kafka, topic, done=done, match=lambda r: r.key == flow_id.encode(),
                               timeout=timeout, linger_ms=1000)  # fmt: skip
    return [decoded(r) for r in records]


def distinct(outs: list[Out]) -> list[Out]:
    """What a deduplicating consumer keeps: the first of each ce_id."""
    seen: set[str] = set()
    kept = []
    for out in outs:
        if out.event.id not in seen:
            seen.add(out.event.id)
            kept.append(out)
    return kept
