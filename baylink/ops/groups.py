"""Consumer groups and their lag per partition: committed offsets against end offsets.

Lag of a partition is ``end - committed``; a partition the group has never committed counts from 0
only when the group has committed nothing at all there (``committed`` is then -1 and ``lag`` the
whole partition). Only partitions of the topics asked about are shown.

On a cluster with ACLs the broker answers only for what the caller may DESCRIBE: the groups it lists
are those it may describe, and the committed offsets it returns leave out topics it may not describe
(the console runs as baylink-gateway: ``describe_groups`` in deploy/kafka/topics.toml).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from baylink.ops.reader import open_assigned
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import KafkaSettings

log = logging.getLogger("baylink.ops")


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int  # -1: nothing committed
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - max(self.committed, 0), 0)

    def to_json(self) -> dict[str, Any]:
        """JSON shape of the console."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "committed": self.committed,
            "end": self.end,
            "lag": self.lag,
        }


@dataclass(frozen=True)
class GroupLag:
    group_id: str
    state: str
    members: int
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def total_lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    def to_json(self) -> dict[str, Any]:
        """JSON shape of the console."""
        return {
            "group_id": self.group_id,
            "state": self.state,
            "members": self.members,
            "total_lag": self.total_lag,
            "partitions": [p.to_json() for p in self.partitions],
        }


async def consumer_group_lags(
    kafka: KafkaSettings,
    *,
    topics: Sequence[str] | None = None,
    group_ids: Sequence[str] | None = None,
    concurrency: int = 8,
) -> list[GroupLag]:
    """Groups (all, or ``group_ids``) that committed offsets on ``topics`` (all, if None) or have members now,
    with lag per committed partition, by group id."""
    admin = new_admin(kafka, client_id=f"ops-groups-{uuid.uuid4().hex[:6]}")
    await admin.start()
    try:
        wanted = list(group_ids) if group_ids is not None else sorted(g[0] for g in await admin.list_consumer_groups())
        limit = asyncio.Semaphore(concurrency)

        async def committed(group: str) -> dict[TopicPartition, int]:
            async with limit:
                offsets = await admin.list_consumer_group_offsets(group)
            return {tp: meta.offset for tp, meta in offsets.items() if topics is None or tp.topic in topics}

        commits = dict(zip(wanted, await asyncio.gather(*(committed(g) for g in wanted)), strict=True))
        described = {group: await _describe(admin, group) for group in wanted}
        # A group with members but nothing committed yet (a consumer that has not been sent anything) is
        # shown too, without partitions: operators look for it right after a deployment.
        commits = {g: c for g, c in commits.items() if c or group_ids is not None or described[g][1] > 0}
    finally:
        await close_quietly(admin)
    ends = await end_offsets(kafka, {tp for c in commits.values() for tp in c})
    result = []
    for group, offsets in sorted(commits.items()):
        state, members = described[group]
        partitions = [
            PartitionLag(tp.topic, tp.partition, offsets[tp], ends.get(tp, 0))
            for tp in sorted(offsets, key=lambda t: (t.topic, t.partition))
        ]
        result.append(GroupLag(group, state, members, partitions))
    return result


async def _describe(admin: AIOKafkaAdminClient, group: str) -> tuple[str, int]:
    """(state, members) of one group; ("Unknown", 0) when the broker's answer cannot be read (aiokafka fails to
    decode some member metadata), so one odd group does not hide the others' lag."""
    try:
        [response] = await admin.describe_consumer_groups([group])
        [found] = response.to_object()["groups"]
        return str(found["state"]), len(found["members"])
    except (KafkaError, ValueError) as exc:
        log.warning("cannot describe consumer group", extra={"group": group, "error": repr(exc)})
        return "Unknown", 0


async def end_offsets(kafka: KafkaSettings, partitions: set[TopicPartition]) -> dict[TopicPartition, int]:
    """End offsets of ``partitions`` (partitions of deleted topics are left out)."""
    if not partitions:
        return {}
    async with open_assigned(kafka, sorted({tp.topic for tp in partitions}), "ops-ends") as (consumer, assigned):
        alive = [tp for tp in partitions if tp in set(assigned)]
        return dict(await consumer.end_offsets(alive)) if alive else {}
