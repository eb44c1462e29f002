"""The transactional outbox: events commit with the state change that caused them.

A use case calls ``add_events(session, events)`` inside its unit of work; the
rows commit or roll back with the state. Events that record a fact without a
state change go through ``FactRecorder``. ``OutboxRelay`` (relay.py) publishes
them afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.direct import Program, insert, insert_ids
from baylink.runtime.events import CloudEvent
from baylink.runtime.schema import outbox


@dataclass(frozen=True)
class OutboxRow:
    """One staged event as the relay publishes it."""

    id: int
    topic: str
    event_type: str
    subject: str
    headers: list[tuple[str, bytes]]
    payload: bytes


def outbox_rows(events: Iterable[CloudEvent], topic: str | None = None) -> list[dict[str, Any]]:
    """The outbox rows (column values) of ``events``; the topic is the event type's service topic
    unless ``topic`` names another (tests and benchmarks use a topic of their own)."""
    now = datetime.now(UTC)
    return [
        {
            "event_id": e.id,
            "topic": topic or e.topic,
            "event_type": e.type,
            "subject": e.subject,
            # Stored exactly as they go on the wire, so the relay needs no event model.
            "headers": e.header_items(),  # pairs, stored as JSON arrays
            "payload": e.data,
            "created_at": now,
        }
        for e in events
    ]


async def add_events(session: AsyncSession, events: Iterable[CloudEvent], *, topic: str | None = None) -> int:
    """Stage events in the caller's transaction. Returns how many were staged."""
    rows = outbox_rows(events, topic)
    if rows:
        await session.execute(sa.insert(outbox), rows)
    return len(rows)


_INSERT = insert(outbox)


def stage_events(events: Iterable[CloudEvent], *, topic: str | None = None) -> Program[list[OutboxRow]]:
    """``add_events`` as a step of a direct program (``baylink.runtime.direct``). Returns the
    staged rows as the relay publishes them, with the ids the insert gave them (``insert_ids``),
    for its ``hand_over``."""
    rows = outbox_rows(events, topic)
    if not rows:
        return []
    ids = yield insert_ids(_INSERT, rows)
    return relay_rows(ids, rows)


def relay_row(
    row_id: int, topic: str, event_type: str, subject: str, headers: Iterable[Sequence[str]], payload: bytes
) -> OutboxRow:
    """One outbox row as the relay publishes it, from its stored columns (headers as text pairs)."""
    return OutboxRow(row_id, topic, event_type, subject, [(k, v.encode()) for k, v in headers], payload)


def relay_rows(ids: Sequence[int], rows: Sequence[dict[str, Any]]) -> list[OutboxRow]:
    """Outbox rows just written (``outbox_rows``' column values and the ids they got) as the
    relay reads them back."""
    return [
        relay_row(row_id, row["topic"], row["event_type"], row["subject"], row["headers"], row["payload"])
        for row_id, row in zip(ids, rows, strict=True)
    ]


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

    A commit is quick beside the work between two calls (a signature verified), so a busy service
    would still commit nearly every call on its own. ``commit_interval`` (seconds) spaces commits
    at least that far apart, from the start of one to the start of the next: callers arriving in
    between wait for the next one together, so no caller waits more than that for a share of a
    commit. A call that finds the recorder idle (no commit that recent) commits at once. On SQLite
    a commit runs on the event loop's thread (``run_direct(on_loop=True)``): for a few rows the
    hop to the writer's thread cost more than the commit.

    With ``handoff`` (the relay's ``hand_over``), the committed rows are also handed to the relay
    in memory, with the ids the insert returned, so the relay need not read back what this
    process has just written; the table stays the record of what is unsent. ``topic`` sends every
    fact to one topic instead of its type's service topic (tests and benchmarks).
    """

    def __init__(
        self,
        db: Database,
        *,
        on_commit: Callable[[], None] | None = None,
        handoff: Callable[[list[OutboxRow]], None] | None = None,
        max_batch: int = 2000,
        topic: str | None = None,
        commit_interval: float = 0.0,
    ):
        self.db = db
        self.on_commit = on_commit
        self.handoff = handoff
        self.max_batch = max_batch
        self.topic = topic
        self.commit_interval = commit_interval
        self._pending: list[tuple[Sequence[CloudEvent], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._last_commit = -float("inf")  # loop time at which the last commit began

    async def record(self, events: Sequence[CloudEvent]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            wait = self._last_commit + self.commit_interval - loop.time()
            if wait > 0:  # the last commit began just now: let the callers behind it gather
                await asyncio.sleep(wait)
            self._last_commit = loop.time()
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
        events = [event for events, _ in batch for event in events]
        handed = await self.db.run_direct(stage_events(events, topic=self.topic), on_loop=True)
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        if self.handoff is not None and handed:
            self.handoff(handed)
        if self.on_commit is not None:
            self.on_commit()
