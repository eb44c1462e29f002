"""Two flow workers against the real broker; one is killed (SIGKILL) mid-run and every flow finishes on the other.

Each worker has its own data directory; the flow table is restored on the survivor from its changelog
(or its standby copy). The fee step is the proof: payments' committed transfer names only the fee
reference, which the flow learnt from the registry's event before the kill, and which only the
table remembers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf.message import Message

from baylink.common.v1 import common_pb2
from baylink.events.v1 import gateway_events_pb2 as gw
from baylink.events.v1 import payments_events_pb2 as pe
from baylink.events.v1 import registry_events_pb2 as re
from baylink.ops.groups import consumer_group_lags
from baylink.ops.reader import TopicReader
from baylink.runtime.events import CloudEvent
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.integration.gateway.flows_support import (
    FlowTopics,
    Out,
    Worker,
    cloud_event,
    delete_internal_topics,
    distinct,
    flow_outputs,
    flow_topics,
    produce,
)

pytestmark = pytest.mark.kafka
NANHAI = "440605"
FEE = common_pb2.Money(currency="CNY", minor_units=50_000)
SUCCEEDED = f"completed:{gw.FLOW_OUTCOME_SUCCEEDED}"
FLOWS = 8  # over 6 partitions, shared by two workers: some flows are on the worker that dies
SESSION_TIMEOUT = 10
EVERY_STEP = [
    "started",
    "step:drafted",
    "step:submitted",
    "step:fee_requested",
    "step:fee_paid",
    "step:review_started",
    "step:approved",
    SUCCEEDED,
]


class OneFlow:
    def __init__(self) -> None:
        self.id, self.app = f"corr-{uuid.uuid4().hex}", f"app-{uuid.uuid4().hex[:8]}"
        self.ref, self.transfer = f"NH-FEE-{uuid.uuid4().hex[:6]}", f"fee-{uuid.uuid4().hex[:6]}"

    def reg(self, message: Message) -> CloudEvent:
        return cloud_event(message, subject=self.app, correlation_id=self.id)

    def before(self) -> list[CloudEvent]:
        a = {"application_id": self.app, "authority_code": NANHAI}
        return [
            self.reg(re.ApplicationDrafted(**a, applicant_ref="p" * 52)),
            self.reg(re.ApplicationSubmitted(**a)),
            self.reg(re.ApplicationFeeRequested(**a, amount=FEE, payment_reference=self.ref)),
        ]

    def committed(self) -> CloudEvent:
        parties = {"payer_participant_id": "HKBANK", "payee_participant_id": "REGISTRY"}
        transfer = pe.TransferCommitted(transfer_id=self.transfer, receive_amount=FEE, reference=self.ref, **parties)
        return cloud_event(transfer, subject=self.transfer, correlation_id=self.id, service="payments")

    def after(self) -> list[CloudEvent]:
        a = {"application_id": self.app, "authority_code": NANHAI}
        return [
            self.reg(re.ApplicationFeePaid(**a, payment_reference=self.ref, transfer_id=self.transfer)),
            self.reg(re.ApplicationReviewStarted(**a, reviewer_id="r1")),
            self.reg(re.ApplicationApproved(**a, uscc="91440605MA00000000")),
        ]


def labels_of(outs: list[Out]) -> list[str]:
    return [o.label for o in distinct(outs)]


def every_step_once(labels: list[str]) -> bool:
    """Started first, completed last, every step in between exactly once. A step whose record the
    worker read again after a rebalance (services/gateway/flows/transport.py) may come later than the
    next one; a missing or repeated step fails."""
    return labels[:1] == ["started"] and labels[-1:] == [SUCCEEDED] and sorted(labels) == sorted(EVERY_STEP)


async def group_members(kafka: KafkaSettings, group: str) -> tuple[str, int]:
    admin = new_admin(kafka)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
        [found] = response.to_object()["groups"]
        return str(found["state"]), len(found["members"])
    finally:
        await close_quietly(admin)


async def until_stable_with(kafka: KafkaSettings, topics: FlowTopics, members: int, timeout: float = 90) -> None:
    async with asyncio.timeout(timeout):
        while await group_members(kafka, topics.app_id) != ("Stable", members):
            await asyncio.sleep(0.5)


async def all_reach(kafka: KafkaSettings, topics: FlowTopics, flows: list[OneFlow], label: str) -> list[list]:  # type: ignore[type-arg]
    try:
        return list(
            await asyncio.gather(*(flow_outputs(kafka, topics.sink, f.id, {label: 1}, timeout=150) for f in flows))
        )
    except TimeoutError:
        raise AssertionError(f"not every flow reached {label}:\n{await stall_report(kafka, topics, flows)}") from None


async def stall_report(kafka: KafkaSettings, topics: FlowTopics, flows: list[OneFlow]) -> str:
    """What a failed run leaves to read: each flow's records on every topic it crosses (sources, the
    regrouping topic, the sink), the steps its last row in the table's changelog holds, and the group's
    committed offsets against the end of each partition (each worker's own output is in its log)."""
    since = datetime.now(UTC) - timedelta(minutes=10)
    reader = TopicReader(kafka, [topics.registry, topics.payments, f"{topics.app_id}-flow-events", topics.sink])
    changelog = await TopicReader(kafka, [f"{topics.app_id}-flows-changelog"]).read(since, timeout=20)
    lines = []
    for f in flows:
        timeline = await reader.flow(f.id, since=since, timeout=20)
        seen = ", ".join(f"{r.topic[-12:]}[{r.partition}]@{r.offset} {r.type.split('.')[-2]}" for r in timeline)
        rows = [r for r in changelog if r.key == json.dumps(f.id).encode()]
        last = json.loads(rows[-1].value or b"null") or {} if rows else {}
        steps, commits = sorted(last.get("steps", {})), sorted(last.get("committed", {}))
        table = f"{len(rows)} rows, the last: steps {steps}, payments seen {commits}"
        lines.append(f"flow {f.id[-6:]}: {seen}\n  table: {table if rows else 'no row'}")
    [group] = await consumer_group_lags(kafka, group_ids=[topics.app_id])
    lines.append(f"group {group.state}, {group.members} member(s)")
    lines += [f"  {p.topic}[{p.partition}] committed {p.committed} end {p.end}" for p in group.partitions]
    return "\n".join(lines)


# Two Faust workers start, one dies, the group rebalances after the session timeout: under the full
# suite's load on 2 cores this alone has taken over the default 120 s; every wait inside is bounded.
@pytest.mark.timeout(300)
async def test_every_flow_started_finishes_on_the_other_worker_after_one_is_killed(
    kafka_settings: KafkaSettings, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topics = await flow_topics(
        new_topic, BAYLINK_FLOWS_SESSION_TIMEOUT_SECONDS=str(SESSION_TIMEOUT), BAYLINK_FLOWS_STANDBY_REPLICAS="1"
    )
    flows = [OneFlow() for _ in range(FLOWS)]
    workers = [
        Worker(topics, log=tmp_path / f"worker-{n}.log", BAYLINK_FLOWS_DATADIR=str(tmp_path / f"flows-{n}"))
        for n in (1, 2)
    ]
    async with AsyncExitStack() as stack:
        stack.push_async_callback(delete_internal_topics, kafka_settings, topics)
        for worker in workers:
            stack.push_async_callback(worker.stop)
            await worker.start()
        await until_stable_with(kafka_settings, topics, 2)

        for f in flows:
            await produce(kafka_settings, topics.registry, *f.before())
        await all_reach(kafka_settings, topics, flows, "step:fee_requested")

        await workers[0].kill()  # mid-run: every flow is waiting for its fee
        for f in flows:
            await produce(kafka_settings, topics.payments, f.committed())
        await all_reach(kafka_settings, topics, flows, "step:fee_paid")  # needs the reference the table kept
        for f in flows:
            await produce(kafka_settings, topics.registry, *f.after())
        finished = await all_reach(kafka_settings, topics, flows, SUCCEEDED)
        incomplete = [f.id for f, outs in zip(flows, finished, strict=True) if not every_step_once(labels_of(outs))]
        if incomplete:
            raise AssertionError(f"flows {incomplete}:\n{await stall_report(kafka_settings, topics, flows)}")

    for f, outs in zip(flows, finished, strict=True):
        paid = next(o for o in distinct(outs) if o.label == "step:fee_paid")
        assert list(paid.message.related_ids) == [f.app, f.transfer]  # type: ignore[attr-defined]
    assert len({out.event.id for outs in finished for out in outs if out.label == SUCCEEDED}) == FLOWS
