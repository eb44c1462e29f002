"""One live tail per gateway, fanned out to every console stream.

The hub reads the console's topics once and offers each record to every subscriber's bounded queue.
A subscriber that cannot keep up (a slow browser) loses records — counted, and told in the stream —
instead of stalling the others or growing memory. Alerts are raised here, from the same tail.

A stream that asks for ``since`` first subscribes (so nothing new is missed), then takes the end
offsets, replays from ``since`` up to them with a reader of its own, and then takes from its queue
only what lies at or past those ends: no gap and no duplicate.

Every replica's hub reads every partition outside any consumer group, so each shows every alert. On
start it reads the last ``alert_lookback`` too, for the alerts alone (what lies before the end offsets
taken at the start is offered to no stream), so a replica started or restarted later shows the alerts
raised before it came up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.structs import TopicPartition

from baylink.ops.reader import TopicReader
from baylink.ops.records import OpsRecord, RecordFilter
from services.gateway.console.service_layer.alerts import Alert, AlertBook

log = logging.getLogger("baylink.gateway.console")
Item = tuple[str, Any]  # ("record", OpsRecord) | ("alert", Alert)


@dataclass(eq=False)
class Subscriber:
    where: RecordFilter
    queue: asyncio.Queue[Item]
    dropped: int = 0

    def offer(self, item: Item) -> None:
        """Queue ``item`` unless the queue is full (then count it as dropped)."""
        if item[0] == "record" and not self.where.matches(item[1]):
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1


@dataclass
class ConsoleHub:
    reader: TopicReader
    alerts: AlertBook
    buffer: int = 1000
    alert_lookback: timedelta = timedelta(0)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _subscribers: set[Subscriber] = field(default_factory=set)

    async def run(self) -> None:
        """Tail the topics until cancelled (the host restarts this if it fails)."""
        self.ready.clear()
        since, live_from = None, {}
        if self.alert_lookback:
            since, live_from = datetime.now(UTC) - self.alert_lookback, await self.reader.end_offsets()
            self.alerts.clear()  # rebuilt from the topics (the host restarts this after a failure)
        async for record in self.reader.tail(since=since, ready=self.ready):
            alert = self.alerts.observe(record)
            if _replayed(record, live_from):
                continue  # from before the start: for the alerts only
            for subscriber in list(self._subscribers):
                subscriber.offer(("record", record))
                if alert is not None:
                    subscriber.offer(("alert", alert))

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def stream(
        self, where: RecordFilter, *, since: datetime | None = None, heartbeat_seconds: float = 15.0
    ) -> AsyncGenerator[Item | None, None]:
        """Items for one console stream; None when ``heartbeat_seconds`` passed without any. The first item
        is a None too, once the stream is live (anything produced afterwards will be delivered)."""
        await self.ready.wait()
        subscriber = Subscriber(where, asyncio.Queue(self.buffer))
        self._subscribers.add(subscriber)
        try:
            ends: dict[TopicPartition, int] = {}
            if since is not None:
                ends = await self.reader.end_offsets()
                for record in await self.reader.read(since, where=where, stop_at=ends):
                    yield ("record", record)
            yield None
            dropped = 0
            while True:
                try:
                    item = await asyncio.wait_for(subscriber.queue.get(), heartbeat_seconds)
                except TimeoutError:
                    yield None
                    continue
                if subscriber.dropped != dropped:
                    yield ("dropped", subscriber.dropped - dropped)
                    dropped = subscriber.dropped
                if item[0] == "record" and _replayed(item[1], ends):
                    continue
                yield item
        finally:
            self._subscribers.discard(subscriber)


def _replayed(record: OpsRecord, ends: dict[TopicPartition, int]) -> bool:
    end = ends.get(TopicPartition(record.topic, record.partition))
    return end is not None and record.offset < end


__all__ = ["Alert", "ConsoleHub", "Subscriber"]
