"""The payments store on SQLAlchemy: the service layer's ports (``service_layer/ports.py``) over one
``Database``. The repositories are thin: each method is one of the ``*_repo`` modules' statements,
run on the transaction's Core connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.outbox import add_events
from services.payments.adapters import admin_repo, batch_repo, group_writer, ledger_audit, ledger_repo, transfer_repo
from services.payments.domain.ledger import AccountKind, Posting
from services.payments.domain.limits import CorridorLimit, Usage, UsagePeriods
from services.payments.domain.participants import Balance, Participant
from services.payments.domain.pricing import Quote, Rate
from services.payments.domain.settlement import NetPosition, SettlementWindow, WindowState
from services.payments.domain.transfer import Transfer
from services.payments.service_layer.ports import AuditReport, BatchWrite, BatchWritten, DuplicateKey, TransferFilter


class SqlTransfers:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def get(self, transfer_id: str) -> Transfer | None:
        return await transfer_repo.get_transfer(self.conn, transfer_id)

    async def add(self, transfer: Transfer) -> None:
        await transfer_repo.add_transfer(self.conn, transfer)

    async def finish(self, before: Transfer, after: Transfer, *, now: datetime | None = None) -> bool:
        return await transfer_repo.finish(self.conn, before, after, now=now)

    async def page(self, where: TransferFilter, after: tuple[datetime, str] | None, limit: int) -> list[Transfer]:
        return await transfer_repo.list_transfers(self.conn, where, after, limit)

    async def quote(self, quote_id: str) -> Quote | None:
        return await transfer_repo.get_quote(self.conn, quote_id)

    async def add_quote(self, quote: Quote) -> None:
        await transfer_repo.add_quote(self.conn, quote)

    async def claim_quote(self, quote_id: str, transfer_id: str) -> bool:
        return await transfer_repo.claim_quote(self.conn, quote_id, transfer_id)


class SqlLedger:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def ensure_account(
        self, account_id: str, currency: str, kind: AccountKind, participant_id: str | None, cap: int | None
    ) -> None:
        await ledger_repo.ensure_account(self.conn, account_id, currency, kind, participant_id, cap)

    async def balance(self, account_id: str) -> Balance | None:
        return await ledger_repo.get_balance(self.conn, account_id)

    async def set_cap(self, account_id: str, cap: int) -> bool:
        return await admin_repo.set_cap(self.conn, account_id, cap)

    async def reserve(self, account_id: str, amount: int) -> bool:
        return await ledger_repo.reserve(self.conn, account_id, amount)

    async def release(self, account_id: str, amount: int) -> None:
        await ledger_repo.release(self.conn, account_id, amount)

    async def post(
        self,
        entries: list[Posting],
        *,
        journal_kind: str,
        journal_id: str,
        window_id: str,
        now: datetime,
        pending_release: tuple[str, int] | None = None,
    ) -> None:
        await ledger_repo.post(
            self.conn, entries, journal_kind=journal_kind, journal_id=journal_id, window_id=window_id, now=now,
            pending_release=pending_release,
        )  # fmt: skip

    async def usage(self, pseudonym: str, corridor: str) -> Usage | None:
        return await ledger_repo.get_usage(self.conn, pseudonym, corridor)

    async def take_usage(
        self, pseudonym: str, corridor: str, periods: UsagePeriods, amount: int, limit: CorridorLimit
    ) -> bool:
        return await ledger_repo.take_usage(self.conn, pseudonym, corridor, periods, amount, limit)

    async def give_back_usage(self, pseudonym: str, corridor: str, day: str, year: str, amount: int) -> None:
        await ledger_repo.give_back_usage(self.conn, pseudonym, corridor, day, year, amount)


class SqlParticipants:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def get(self, ids: Sequence[str] = ()) -> dict[str, Participant]:
        return await admin_repo.get_participants(self.conn, ids)

    async def add(self, p: Participant) -> None:
        await admin_repo.add_participant(self.conn, p)

    async def set_active(self, participant_id: str, active: bool) -> None:
        await admin_repo.set_active(self.conn, participant_id, active)

    async def add_rate(self, rate: Rate, now: datetime) -> None:
        await admin_repo.add_rate(self.conn, rate, now)

    async def rate_at(self, source: str, target: str, when: datetime) -> Rate | None:
        return await admin_repo.rate_at(self.conn, source, target, when)

    async def rates(self) -> list[Rate]:
        return await admin_repo.list_rates(self.conn)


class SqlWindows:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def open_window(self, *, share_lock: bool = False) -> SettlementWindow | None:
        return await admin_repo.open_window(self.conn, share_lock=share_lock)

    async def get(self, window_id: str, *, for_update: bool = False) -> SettlementWindow | None:
        return await admin_repo.get_window(self.conn, window_id, for_update=for_update)

    async def page(self, states: Sequence[WindowState], limit: int) -> list[SettlementWindow]:
        return await admin_repo.list_windows(self.conn, states, limit)

    async def add(self, window: SettlementWindow) -> None:
        await admin_repo.add_window(self.conn, window)

    async def update(self, window: SettlementWindow, expected: WindowState) -> bool:
        return await admin_repo.update_window(self.conn, window, expected)

    async def compute_net_positions(self, window_id: str) -> list[NetPosition]:
        return await admin_repo.compute_net_positions(self.conn, window_id)

    async def save_net_positions(self, window_id: str, nets: list[NetPosition]) -> None:
        await admin_repo.save_net_positions(self.conn, window_id, nets)

    async def saved_net_positions(self, window_id: str) -> list[NetPosition]:
        return await admin_repo.saved_net_positions(self.conn, window_id)

    async def committed_count(self, window_id: str) -> int:
        return await admin_repo.committed_count(self.conn, window_id)


class SqlRepositories:
    """The repositories of one transaction (``ports.Repositories``; ``ports.Transaction`` with ``stage``)."""

    def __init__(self, conn: AsyncConnection):
        self.conn = conn
        self.transfers = SqlTransfers(conn)
        self.ledger = SqlLedger(conn)
        self.participants = SqlParticipants(conn)
        self.windows = SqlWindows(conn)

    async def stage(self, events: list[CloudEvent], topic: str | None) -> None:
        await add_events(self.conn, events, topic=topic)  # type: ignore[arg-type]  # a Core connection serves


class SqlStore:
    """``ports.Store`` over one database."""

    def __init__(self, db: Database):
        self.db = db

    @property
    def postgres(self) -> bool:
        return self.db.dialect == "postgresql"

    @property
    def batches(self) -> bool:
        return self.db.runs_direct

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlRepositories]:
        # A Core connection, not an ORM session: the repositories issue Core statements only, and
        # the session's per-statement bookkeeping costs a third of the time.
        try:
            async with self.db.begin() as conn:
                yield SqlRepositories(conn)
        except IntegrityError as error:
            raise DuplicateKey(str(error.orig)) from error

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlRepositories]:
        async with self.db.begin(readonly=True) as conn:
            yield SqlRepositories(conn)

    async def write_batch(self, batch: BatchWrite) -> BatchWritten:
        return await group_writer.write(self.db, batch)

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Transfer]:
        # A direct read: the sweeper reads every half second beside the hot path, and usually finds nothing.
        return await self.db.run_direct(batch_repo.due_for_expiry(now, limit), readonly=True)

    async def audit(self) -> AuditReport:
        return await ledger_audit.audit(self.db)
