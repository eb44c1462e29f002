"""The unit of work: one transaction; the events the touched applications recorded go to the outbox in it.

Its repositories' operations are direct programs (``baylink.runtime.direct``), run on the database
driver's own connection: a command's transaction is ``Database.direct_transaction``; a consumer's
(which commits with its inbox row) is the consumer's session, run in through ``Database.run_within``;
a read (``reading``) is one read-only program per operation (``Database.run_direct``).

Every event of an application carries its flow id as correlation id (see ``flow_scope``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.context import causation_id_var, correlation_scope, current_correlation_id, traceparent_var
from baylink.runtime.db import Database
from baylink.runtime.direct import Op, Program
from baylink.runtime.events import EventTypes
from baylink.runtime.outbox import stage_events
from services.registry.adapters.event_mapping import to_message
from services.registry.adapters.evidence_repository import SqlEvidence
from services.registry.adapters.repository import Run, SqlApplications, SqlNames, SqlRegistrations


class SqlWork:
    """The repositories of one transaction; ``run`` runs a direct program in it."""

    def __init__(self, run: Run):
        self.run = run
        self.applications = SqlApplications(run)
        self.names = SqlNames(run)
        self.registrations = SqlRegistrations(run)
        self.evidence = SqlEvidence(run)

    async def stage_events(self, types: EventTypes, source: str, topic: str | None = None) -> int:
        staged = []
        for app in self.applications.seen:
            with flow_scope(app.flow_id or app.application_id):
                staged += [types.new(to_message(e), subject=app.application_id, source=source) for e in app.events]
            app.events.clear()
        if staged:
            await self.run(stage_events(staged, topic=topic))
        return len(staged)


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
        async with self.db.direct_transaction() as run:
            work = SqlWork(run)
            yield work
            staged = await work.stage_events(self.types, self.source, self.topic)
        if staged:
            self.on_commit()

    @asynccontextmanager
    async def within(self, session: AsyncSession) -> AsyncIterator[SqlWork]:
        """Work inside a transaction someone else owns (a consumer's, which commits it with the inbox row)."""
        work = SqlWork(partial(self.db.run_within, session))
        yield work
        await work.stage_events(self.types, self.source, self.topic)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlWork]:
        """Reads only, no transaction around them: each operation reads one snapshot of its own
        (on SQLite beside the writer, taking no write lock). A write in it is a programming error."""
        yield SqlWork(self._read)

    async def _read(self, program: Program[Any]) -> Any:
        return await self.db.run_direct(_reads_only(program), readonly=True)


def _reads_only(program: Program[Any]) -> Generator[Op, Any, Any]:
    result = None
    while True:
        try:
            op = program.send(result)
        except StopIteration as done:
            return done.value
        if op.kind != "fetch":
            raise RuntimeError(f"a write in a reading unit of work: {op.statement!r}")
        result = yield op
