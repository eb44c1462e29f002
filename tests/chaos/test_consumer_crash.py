"""A consumer killed (-9) between applying a batch and committing its offsets: its successor is given the
batch again and the inbox makes the redelivery a no-op, so every acknowledged event is applied once."""

from __future__ import annotations

import asyncio
import time

from baylink.runtime.settings import KafkaSettings
from tests.chaos.cluster import Cluster
from tests.chaos.report import RECOVERY_GOAL_SECONDS, Outcome
from tests.chaos.streams import DATABASE, ConsumerChild, Producer, applied, new_name, new_topic

EVENTS = 300
SESSION_TIMEOUT_SECONDS = KafkaSettings().session_timeout_ms / 1000  # the runtime consumers' own


async def test_consumer_killed_after_applying_before_committing(cluster: Cluster) -> None:
    began = time.monotonic()
    cluster.pg("createdb", DATABASE)
    url = cluster.database_url(DATABASE)
    settings = cluster.kafka_settings()
    topic = await new_topic(settings, new_name("chaos.inbox"), partitions=3)
    group = new_name("chaos-inbox")
    producer = Producer(settings, topic)
    await producer.send(EVENTS)

    first = ConsumerChild(cluster, url, topic, group, pause=True)
    second = ConsumerChild(cluster, url, topic, group)
    outcome = Outcome("consumer killed between apply and commit", "kill -9 of a consumer child process")
    try:
        await first.start()
        _, line = await first.wait_for("APPLIED", timeout=90)
        moment = first.kill()
        batch = int(line.split()[1])
        await first.close()
        await second.start()
        deadline = time.monotonic() + 90
        while sum((await applied(url, group)).values()) < len(producer.acked) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        counts = await applied(url, group)
        lines = second.applied_lines()
    finally:
        await first.close()
        await second.close()
    redelivered = sum(records - fresh for _, records, fresh in lines)
    resumed = [t for t, _, fresh in lines if fresh]
    outcome.did = (
        f"{EVENTS} events on {topic} (3 partitions); child 1 applied a batch of {batch} and was killed before "
        f"committing; child 2 got {redelivered} redelivered, skipped by the inbox"
    )
    outcome.acked = len(producer.acked)
    outcome.consumed = len(counts)
    outcome.lost = len(set(producer.acked) - set(counts))
    outcome.duplicated = sum(n - 1 for n in counts.values() if n > 1)
    outcome.recovery_seconds = (min(resumed) - moment) if resumed else None
    outcome.wall_seconds = time.monotonic() - began
    print("\n" + outcome.show())
    outcome.save()
    assert producer.failed == 0 and outcome.acked == EVENTS
    assert outcome.lost == 0 and outcome.duplicated == 0, outcome.show()
    assert outcome.consumed == outcome.acked, outcome.show()
    assert redelivered >= batch, f"the killed batch was not redelivered: {second.output()}"
    # The successor joins the group only once the broker has given up on the killed member: its session
    # timeout (aiokafka's default, 10 s) is the floor of this recovery, so the 10 s goal is missed by a
    # little (docs/chaos.md); a bound past the floor still catches a consumer that does not come back.
    assert outcome.recovery_seconds is not None, outcome.show()
    assert outcome.recovery_seconds < SESSION_TIMEOUT_SECONDS + RECOVERY_GOAL_SECONDS / 2, outcome.show()
