"""kill -9 the Kafka broker leading the most partitions, under the registration load and a steady stream
of events through two consumer groups, and start it again 10 s later: every event the producer had
acknowledged is applied exactly once by each group, and no registration's flow stalls.

Three-node cluster only (``BAYLINK_CLUSTER_KAFKA=cluster``, ``deploy/kafka/cluster.sh``): on the single
dev broker there is no leader to lose that another node could take over from.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from tests.chaos.cluster import Cluster, kafka_cluster_available
from tests.chaos.load import Load
from tests.chaos.report import RECOVERY_GOAL_SECONDS
from tests.chaos.scenario import assert_clean, under_load
from tests.chaos.streams import DATABASE, ConsumerChild, Producer, applied, new_name, new_topic

WHY_NOT = kafka_cluster_available()
pytestmark = [pytest.mark.chaos_short, pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)]
EVENTS, PAUSE = 600, 0.05  # at most 30 s of steady production
DOWN_SECONDS = 10.0


def most_leading(leaders: list[tuple[str, int, int, str]]) -> tuple[int, int]:
    """The node leading the most partitions, and how many it leads."""
    counts = Counter(node for _, _, node, _ in leaders if node >= 0)
    node, led = counts.most_common(1)[0]
    return node, led


async def test_kill_the_broker_leading_most_partitions(cluster: Cluster) -> None:
    cluster.pg("createdb", DATABASE)
    url = cluster.database_url(DATABASE)
    settings = cluster.kafka_settings()
    topic = await new_topic(settings, new_name("chaos.broker"), partitions=6)
    groups = [new_name("chaos-broker-a"), new_name("chaos-broker-b")]
    consumers = [ConsumerChild(cluster, url, topic, group) for group in groups]
    producer = Producer(settings, topic)
    stop = asyncio.Event()
    moments: list[float] = []

    async def broker_kill(load: Load) -> tuple[float, str]:
        node, led = most_leading(await cluster.leaders())
        await asyncio.to_thread(cluster.kafka_node, "kill", node)
        moment = time.monotonic()
        moments.append(moment)
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(cluster.kafka_node, "start-node", node)
        after = await cluster.leaders()
        return moment, (
            f"kill -9 node {node} (leader of {led} of {len(after)} partitions), {DOWN_SECONDS:.0f} s down, "
            f"start-node {node}; it leads {sum(1 for _, _, n, _ in after if n == node)} after"
        )

    try:
        for consumer in consumers:
            await consumer.start()
        for consumer in consumers:
            await consumer.wait_for("READY")
        sending = asyncio.create_task(producer.send(EVENTS, pause=PAUSE, stop=stop))
        outcome = await under_load(cluster, "broker leading most partitions killed", "kill -9 a Kafka node",
                                   broker_kill, record=False)  # fmt: skip
        stop.set()
        await sending
        deadline = time.monotonic() + 60
        counts = {g: await applied(url, g) for g in groups}
        while time.monotonic() < deadline and any(sum(c.values()) < len(producer.acked) for c in counts.values()):
            await asyncio.sleep(1)
            counts = {g: await applied(url, g) for g in groups}
    finally:
        stop.set()
        for consumer in consumers:
            await consumer.close()
    acked = set(producer.acked)
    for group, got in counts.items():
        lost, doubled = len(acked - set(got)), sum(n - 1 for n in got.values() if n > 1)
        outcome.problems += [f"{group}: {lost} acknowledged events never applied"] if lost else []
        outcome.problems += [f"{group}: {doubled} events applied twice"] if doubled else []
        outcome.lost += lost
        outcome.duplicated += doubled
    after_fault = [t - moments[0] for t in producer.acked_at if moments and t >= moments[0]]
    outcome.did += (
        f"; producer: {len(acked)} acknowledged, {producer.failed} refused; first ack after the kill "
        f"{after_fault[0]:.2f} s"
        if after_fault
        else "; producer: no ack after the kill"
    )
    outcome.acked += len(acked) * len(groups)
    outcome.consumed += sum(len(set(got) & acked) for got in counts.values())
    print("\n" + outcome.show())
    outcome.save()
    assert_clean(outcome)
    assert after_fault and after_fault[0] < RECOVERY_GOAL_SECONDS, outcome.show()
    assert outcome.recovery_seconds is not None and outcome.recovery_seconds < RECOVERY_GOAL_SECONDS
