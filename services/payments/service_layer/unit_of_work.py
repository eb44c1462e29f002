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
from typing import Protocol
from zoneinfo import ZoneInfo

from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.outbox import OutboxRow
from baylink.runtime.sent_marks import SentMarks
from services.payments.domain.events import Event
from services.payments.domain.limits import CorridorLimit
from services.payments.domain.screening import Screener
from services.payments.service_layer.ports import (
    GroupCommits,
    Iso20022,
    Ledger,
    Participants,
    Repositories,
    Staged,
    Store,
    Transaction,
    Transfers,
    Windows,
)


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

    db: Database  # the runtime's database: the host migrates and serves it, the owner disposes it
    stores: Callable[[Database], Store]  # the payments store over a database (``store``)
    publisher: EventPublisher
    screener: Screener
    policy: Policy
    iso20022: Iso20022
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
    group: GroupCommits | None = None  # made on first use (service_layer/group_commit.py)
    store: Store = field(init=False)  # over ``db``, made again when a copy names another database

    def __post_init__(self) -> None:
        self.store = self.stores(self.db)

    @property
    def postgres(self) -> bool:
        return self.store.postgres

    def uow(self) -> UnitOfWork:
        """A writing unit of work."""
        return UnitOfWork(self)

    def read(self) -> AbstractAsyncContextManager[Repositories]:
        """A read-only transaction: no write lock, no events."""
        return self.store.read()


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
    """``async with deps.uow() as uow``: the repositories of one transaction; the events recorded
    go to the outbox in it, and ``on_commit`` is called once it has committed."""

    transfers: Transfers
    ledger: Ledger
    participants: Participants
    windows: Windows

    def __init__(self, deps: Deps):
        self.deps = deps
        self.events: Staged = []

    def record(self, event: Event, context: Context | None = None) -> None:
        """Stage ``event``, to be built in ``context`` if given, else in the current one."""
        self.events.append((event, context))

    async def __aenter__(self) -> UnitOfWork:
        self._tx = self.deps.store.transaction()
        self._work: Transaction = await self._tx.__aenter__()
        work = self._work
        self.transfers, self.ledger, self.participants, self.windows = (
            work.transfers, work.ledger, work.participants, work.windows,
        )  # fmt: skip
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None and self.events:
                staged = cloud_events(self.deps.publisher, self.events)
                await self._work.stage(staged, self.deps.event_topic)
        except BaseException as error:
            await self._tx.__aexit__(type(error), error, error.__traceback__)
            raise
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc is None and self.events:
            self.deps.on_commit()
