"""The transactional outbox: events commit with the state change that caused them.

A use case calls ``add_events(session, events)`` inside its unit of work; the
rows commit or roll back with the state. Events that record a fact without a
state change go through ``FactRecorder``. ``OutboxRelay`` (relay.py) publishes
them afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.schema import outbox


async def add_events(session: AsyncSession, events: Iterable[CloudEvent], *, topic: str | None = None) -> int:
    """Stage events in the caller's transaction. Returns how many were staged.

    The topic is the event type's service topic unless ``topic`` names another
    (tests and benchmarks use a topic of their own).
    """
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": e.id,
            "topic": topic or e.topic,
            "event_type": e.type,
            "subject": e.subject,
            # Stored exactly as they go on the wire, so the relay needs no event model.
            "headers": [[k, v.decode()] for k, v in e.kafka_headers()],
            "payload": e.data,
            "created_at": now,
        }
        for e in events
    ]
    if rows:
        await session.execute(sa.insert(outbox), rows)
    return len(rows)


async def backlog(session: AsyncSession) -> int:
    """How many staged events are not yet published."""
    query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    return int((await session.execute(query)).scalar_one())


class FactRecorder:
    """Stages events that record a fact without a state change (e.g. "a certificate was validated").

    Such events have no transaction of their own to ride in, and one transaction per call would
    cap a busy read-mostly service at the database's commit rate. Calls that arrive while a commit
    is in flight are gathered into the next one (group commit); each caller returns only once its
    events are durable, so an answered call's event is never lost.
    """

    def __init__(self, db: Database, *, on_commit: Callable[[], None] | None = None, max_batch: int = 2000):
        self.db = db
        self.on_commit = on_commit
        self.max_batch = max_batch
        self._pending: list[tuple[Sequence[CloudEvent], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, events: Sequence[CloudEvent]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                await self._commit(batch)
            except Exception:  # noqa: BLE001 - one caller's bad event must not fail the others
                for one in batch:
                    try:
                        await self._commit([one])
                    except Exception as exc:  # noqa: BLE001 - reported to that caller
                        if not one[1].done():
                            one[1].set_exception(exc)

    async def _commit(self, batch: list[tuple[Sequence[CloudEvent], asyncio.Future[None]]]) -> None:
        async with self.db.transaction() as session:
            await add_events(session, [event for events, _ in batch for event in events])
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        if self.on_commit is not None:
            self.on_commit()
