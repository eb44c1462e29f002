"""The unit of work: one transaction; the events the touched applications recorded go to the outbox in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.outbox import add_events
from services.registry.adapters.event_mapping import to_message
from services.registry.adapters.repository import SqlApplications, SqlNames, SqlRegistrations


class SqlWork:
    """The repositories of one transaction."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self.applications = SqlApplications(session)
        self.names = SqlNames(session)
        self.registrations = SqlRegistrations(session)

    async def stage_events(self, types: EventTypes, source: str, topic: str | None = None) -> int:
        staged = []
        for app in self.applications.seen:
            staged += [types.new(to_message(e), subject=app.application_id, source=source) for e in app.events]
            app.events.clear()
        return await add_events(self.session, staged, topic=topic)


class SqlUnitOfWork:
    """``async with uow() as work``: commits state and events together; calls ``on_commit`` after."""

    def __init__(
        self,
        db: Database,
        types: EventTypes,
        source: str,
        on_commit: Callable[[], None] = lambda: None,
        topic: str | None = None,
    ):
        self.db, self.types, self.source, self.on_commit, self.topic = db, types, source, on_commit, topic

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[SqlWork]:
        staged = 0
        async with self.db.transaction() as session:
            work = SqlWork(session)
            yield work
            staged = await work.stage_events(self.types, self.source, self.topic)
        if staged:
            self.on_commit()

    @asynccontextmanager
    async def within(self, session: AsyncSession) -> AsyncIterator[SqlWork]:
        """Work inside a transaction someone else owns (a consumer's, which commits it with the inbox row)."""
        work = SqlWork(session)
        yield work
        await work.stage_events(self.types, self.source, self.topic)
