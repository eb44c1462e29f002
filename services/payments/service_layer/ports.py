"""What the payments use cases need from the outside world; ``bootstrap`` wires in what implements it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import Context
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from baylink.runtime.events import CloudEvent
from baylink.runtime.outbox import OutboxRow
from services.payments.domain.acceptance import PrepareRules
from services.payments.domain.events import Event
from services.payments.domain.ledger import AccountKind, Posting
from services.payments.domain.limits import CorridorLimit, Usage, UsagePeriods
from services.payments.domain.participants import Balance, Participant
from services.payments.domain.pricing import Quote, Rate
from services.payments.domain.settlement import NetPosition, SettlementWindow, WindowState
from services.payments.domain.transfer import PrepareTransfer, Transfer, TransferState

Staged = list[tuple[Event, Context | None]]  # events in order, each with the context to build it in (or None)


class DuplicateKey(Exception):
    """A write met a row with the same key: a concurrent writer put it there first (the transaction
    is rolled back)."""


@dataclass(frozen=True)
class TransferFilter:
    participant_id: str = ""
    states: Sequence[TransferState] = ()
    reference: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


class Transfers(Protocol):
    async def get(self, transfer_id: str) -> Transfer | None: ...
    async def add(self, transfer: Transfer) -> None: ...
    async def finish(self, before: Transfer, after: Transfer, *, now: datetime | None = None) -> bool:
        """RESERVED → ``after``'s final state; False if someone else moved it first. With ``now``
        (a commit) only if it has not expired by then."""

    async def page(self, where: TransferFilter, after: tuple[datetime, str] | None, limit: int) -> list[Transfer]:
        """Oldest first, keyset-paged on (created_at, transfer_id)."""

    async def quote(self, quote_id: str) -> Quote | None: ...
    async def add_quote(self, quote: Quote) -> None: ...
    async def claim_quote(self, quote_id: str, transfer_id: str) -> bool:
        """Bind a free quote to the transfer (the guard of the quote rule); False if already bound."""


class Ledger(Protocol):
    async def ensure_account(
        self, account_id: str, currency: str, kind: AccountKind, participant_id: str | None, cap: int | None
    ) -> None: ...
    async def balance(self, account_id: str) -> Balance | None: ...
    async def set_cap(self, account_id: str, cap: int) -> bool:
        """Set a cap no lower than what the account already owes and has reserved."""

    async def reserve(self, account_id: str, amount: int) -> bool:
        """Reserve within the cap (the guard of the net debit cap rule); False if it would not fit."""

    async def release(self, account_id: str, amount: int) -> None: ...
    async def post(
        self,
        entries: list[Posting],
        *,
        journal_kind: str,
        journal_id: str,
        window_id: str,
        now: datetime,
        pending_release: tuple[str, int] | None = None,
    ) -> None: ...
    async def usage(self, pseudonym: str, corridor: str) -> Usage | None: ...
    async def take_usage(
        self, pseudonym: str, corridor: str, periods: UsagePeriods, amount: int, limit: CorridorLimit
    ) -> bool:
        """Count a transfer against the payer's limits (the guard of the limits rule); False if over."""

    async def give_back_usage(self, pseudonym: str, corridor: str, day: str, year: str, amount: int) -> None: ...


class Participants(Protocol):
    async def get(self, ids: Sequence[str] = ()) -> dict[str, Participant]:
        """By id; every participant when ``ids`` is empty."""

    async def add(self, p: Participant) -> None: ...
    async def set_active(self, participant_id: str, active: bool) -> None: ...
    async def add_rate(self, rate: Rate, now: datetime) -> None: ...
    async def rate_at(self, source: str, target: str, when: datetime) -> Rate | None: ...
    async def rates(self) -> list[Rate]: ...


class Windows(Protocol):
    async def open_window(self, *, share_lock: bool = False) -> SettlementWindow | None: ...
    async def get(self, window_id: str, *, for_update: bool = False) -> SettlementWindow | None: ...
    async def page(self, states: Sequence[WindowState], limit: int) -> list[SettlementWindow]: ...
    async def add(self, window: SettlementWindow) -> None: ...
    async def update(self, window: SettlementWindow, expected: WindowState) -> bool: ...
    async def compute_net_positions(self, window_id: str) -> list[NetPosition]: ...
    async def save_net_positions(self, window_id: str, nets: list[NetPosition]) -> None: ...
    async def saved_net_positions(self, window_id: str) -> list[NetPosition]: ...
    async def committed_count(self, window_id: str) -> int: ...


class Repositories(Protocol):
    """The repositories of one transaction."""

    @property
    def transfers(self) -> Transfers: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def participants(self) -> Participants: ...
    @property
    def windows(self) -> Windows: ...


class Transaction(Repositories, Protocol):
    async def stage(self, events: list[CloudEvent], topic: str | None) -> None:
        """Put the events in the outbox, inside this transaction."""


@dataclass
class BatchWrite:
    """One group-committed batch: its commits, then its prepares, decided and written in one transaction."""

    prepares: list[tuple[PrepareTransfer, str]]  # each with its fingerprint
    prepare_contexts: list[Context]  # each caller's, to build its events in
    commits: list[str]
    commit_contexts: list[Context]
    now: datetime
    rules: PrepareRules
    transfer_ttl_seconds: float
    reserved: dict[str, Transfer]  # what this process reserved; those committed here are taken out
    marks: list[int]  # outbox rows the relay published, to stamp sent in the batch's transaction
    cloud_events: Callable[[Staged], list[CloudEvent]]
    topic: str | None = None


@dataclass
class BatchWritten:
    """Each request's transfer (None: the one-by-one path answers it) and the outbox rows written."""

    prepared: list[Transfer | None]
    committed: list[Transfer | None]
    staged: list[OutboxRow] = field(default_factory=list)


@dataclass
class AuditReport:
    accounts: int = 0
    postings: int = 0
    transfers: int = 0
    committed: int = 0
    breaches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaches


class Store(Protocol):
    """The payments database."""

    @property
    def postgres(self) -> bool:
        """Rows can be share-locked (PostgreSQL); SQLite has one writer instead."""

    @property
    def batches(self) -> bool:
        """Whether ``write_batch`` can run here (the driver runs direct programs)."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    def read(self) -> AbstractAsyncContextManager[Repositories]:
        """A read-only transaction: no write lock, no events."""

    async def write_batch(self, batch: BatchWrite) -> BatchWritten:
        """The group commit's one transaction; raises (and rolls back entirely) if any of it fails."""

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Transfer]:
        """Up to ``limit`` reserved transfers past their deadline, soonest first."""

    async def audit(self) -> AuditReport:
        """Recompute everything from postings and transfers, in one snapshot, and compare."""


@dataclass(frozen=True)
class Rendered:
    document: bytes
    message_definition: str
    message_id: str
    schema_validated: bool


class Iso20022(Protocol):
    def pacs002(self, t: Transfer, now: datetime) -> Rendered: ...
    def pacs008(self, t: Transfer, payer: Participant, payee: Participant, zone: ZoneInfo) -> Rendered: ...


class GroupCommits(Protocol):
    """What the use cases ask of the group commit (``group_commit.GroupCommitter``): each call is
    answered once the batch holding it is durable."""

    async def prepare(self, req: PrepareTransfer, fingerprint: str) -> Transfer | None: ...

    async def commit(self, transfer_id: str) -> Transfer | None: ...

    async def prepare_many(self, items: list[tuple[PrepareTransfer, str]]) -> list[Transfer | None]: ...

    async def commit_many(self, transfer_ids: list[str]) -> list[Transfer | None]: ...
