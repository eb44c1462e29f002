"""The unit of work: one transaction; the events the touched applications recorded go to the outbox in it.

Every event of an application carries its flow id as correlation id (see ``flow_scope``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.context import causation_id_var, correlation_scope, current_correlation_id, traceparent_var
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes
from baylink.runtime.outbox import add_events
from services.registry.adapters.event_mapping import to_message
from services.registry.adapters.evidence_repository import SqlEvidence
from services.registry.adapters.repository import SqlApplications, SqlNames, SqlRegistrations


class SqlWork:
    """The repositories of one transaction."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self.applications = SqlApplications(session)
        self.names = SqlNames(session)
        self.registrations = SqlRegistrations(session)
        self.evidence = SqlEvidence(session)

    async def stage_events(self, types: EventTypes, source: str, topic: str | None = None) -> int:
        staged = []
        for app in self.applications.seen:
            with flow_scope(app.flow_id or app.application_id):
                staged += [types.new(to_message(e), subject=app.application_id, source=source) for e in app.events]
            app.events.clear()
        return await add_events(self.session, staged, topic=topic)


@contextmanager
def flow_scope(flow_id: str) -> Iterator[str]:
    """Build an application's events under its flow id, whoever's call caused them.

    The correlation id is the flow id (set when the application was drafted); the causation id keeps
    what caused them: the event a consumer is handling, else the current call's correlation id (a
    decision over the partner API, a payment, a timer).
    """
    cause = causation_id_var.get() or current_correlation_id()
    with correlation_scope(flow_id, causation_id=cause, traceparent=traceparent_var.get()) as cid:
        yield cid


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
