"""The unit of work: one database transaction, the events it records, and what the use cases need.

Events recorded during the transaction are staged in the outbox inside it, so
they commit or vanish with the state. On SQLite, writing transactions of this
process (the outbox relay's too) take turns on the database's write lock
(``Database.begin``); reads take none.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextvars import Context
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.outbox import OutboxRow, add_events
from baylink.runtime.sent_marks import SentMarks
from services.payments.domain.events import Event
from services.payments.domain.limits import CorridorLimit
from services.payments.domain.screening import Screener


class EventPublisher(Protocol):
    def to_cloud_events(self, events: list[Event]) -> list[CloudEvent]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Policy:
    """Rules the use cases apply, from settings."""

    quote_ttl_seconds: float = 120
    transfer_ttl_seconds: float = 300
    max_transfer_ttl_seconds: float = 3600
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Hong_Kong"))
    limits: dict[str, CorridorLimit] = field(default_factory=dict)
    list_page_size: int = 100
    expiry_batch_size: int = 200
    group_commit: bool = True  # concurrent prepares and commits share a transaction (group_commit.py)
    group_commit_max: int = 256


@dataclass
class Deps:
    """Everything a use case may touch; built by ``bootstrap`` only."""

    db: Database
    publisher: EventPublisher
    screener: Screener
    policy: Policy
    clock: Callable[[], datetime] = utc_now
    on_commit: Callable[[], None] = lambda: None
    # The relay's hand_over: outbox rows the group commit wrote, with their ids, so that the relay
    # publishes them without reading them back (see baylink.runtime.outbox.stage_events).
    handoff: Callable[[list[OutboxRow]], None] = lambda rows: None
    # The relay's published rows awaiting their "sent" stamp, which the group commit's transactions
    # carry on SQLite (baylink.runtime.sent_marks.SentMarks); elsewhere no relay fills these and it
    # stamps its own.
    marks: SentMarks = field(default_factory=SentMarks)
    event_topic: str | None = None  # tests and benchmarks publish to a topic of their own
    group: Any = None  # the GroupCommitter, made on first use (service_layer/group_commit.py)

    @property
    def postgres(self) -> bool:
        return self.db.dialect == "postgresql"

    def uow(self) -> UnitOfWork:
        """A writing unit of work."""
        return UnitOfWork(self)

    def read(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A read-only transaction: no write lock, no events."""
        return self.db.begin(readonly=True)  # type: ignore[return-value]


Staged = list[tuple[Event, Context | None]]  # events in order, each with the context to build it in (or None)


def cloud_events(publisher: EventPublisher, staged: Staged) -> list[CloudEvent]:
    """The outbox's CloudEvents of ``staged``, each built (correlation id, causation, trace) in its
    own context if it has one, else in the current one: a group commit writes many callers' events
    in one task."""
    out: list[CloudEvent] = []
    start = 0
    for end in range(1, len(staged) + 1):  # runs of events sharing a context, in order
        if end == len(staged) or staged[end][1] is not staged[start][1]:
            run, context = [e for e, _ in staged[start:end]], staged[start][1]
            build = publisher.to_cloud_events
            out += context.run(build, run) if context is not None else build(run)
            start = end
    return out


class UnitOfWork:
    session: AsyncSession

    def __init__(self, deps: Deps):
        self.deps = deps
        self.events: Staged = []

    def record(self, event: Event, context: Context | None = None) -> None:
        """Stage ``event``, to be built in ``context`` if given, else in the current one."""
        self.events.append((event, context))

    async def __aenter__(self) -> UnitOfWork:
        # A Core connection, not an ORM session: the use cases issue Core statements
        # only, and the session's per-statement bookkeeping costs a third of the time.
        self._tx = self.deps.db.begin()
        self.session = await self._tx.__aenter__()  # type: ignore[assignment]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None and self.events:
                staged = cloud_events(self.deps.publisher, self.events)
                await add_events(self.session, staged, topic=self.deps.event_topic)
        except BaseException as error:
            await self._tx.__aexit__(type(error), error, error.__traceback__)
            raise
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc is None and self.events:
            self.deps.on_commit()
