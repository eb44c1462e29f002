"""The transactional outbox: events commit with the state change that caused them.

A use case calls ``add_events(session, events)`` inside its unit of work; the
rows commit or roll back with the state. ``OutboxRelay`` (relay.py) publishes
them afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

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
