"""The audit log in the gateway's database (SQLAlchemy Core; SQLite or PostgreSQL).

The chain head is locked by an UPDATE of its one row as the transaction's first statement:
PostgreSQL takes the row lock (as SELECT … FOR UPDATE would), SQLite takes the database's write
lock up front (a read first would be upgraded later and could fail with SQLITE_BUSY instead of
waiting). Either way a second writer, in this process or another, waits for the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.outbox import add_events
from baylink.runtime.schema import BigInt
from services.gateway.audit.domain.chain import AuditRecord, ChainHead, Checkpoint, aware

metadata = sa.MetaData()
_TZ = sa.DateTime(timezone=True)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_sequence", BigInt, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("last_recorded_at", _TZ),
    sa.Column("checkpoint_sequence", BigInt, nullable=False),
    sa.Column("pending_since", _TZ),
    sa.Column("key_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("signature", sa.String(256), nullable=False, server_default=""),
)
audit_records = sa.Table(
    "audit_records",
    metadata,
    sa.Column("sequence", BigInt, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", _TZ, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("result", sa.String(100), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("sequence", BigInt, primary_key=True, autoincrement=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("record_count", BigInt, nullable=False),
    sa.Column("first_record_time", _TZ, nullable=False),
    sa.Column("last_record_time", _TZ, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(256), nullable=False),
)
HEAD_ID = 1


class SqlAuditTransaction:
    def __init__(self, session: AsyncSession, event_topic: str | None):
        self.session = session
        self.event_topic = event_topic
        self._head: ChainHead | None = None

    async def lock(self) -> None:
        touch = (
            sa.update(audit_head)
            .where(audit_head.c.id == HEAD_ID)
            .values(last_sequence=audit_head.c.last_sequence)
            .returning(*audit_head.c)
        )
        row = (await self.session.execute(touch)).mappings().one()
        self._head = _head(row)

    async def head(self) -> ChainHead:
        assert self._head is not None, "lock() first"
        return self._head

    async def add_records(self, records: Sequence[AuditRecord]) -> None:
        if records:
            await self.session.execute(sa.insert(audit_records), [_record_row(r) for r in records])

    async def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        await self.session.execute(sa.insert(audit_checkpoints), [_checkpoint_row(checkpoint)])

    async def set_head(self, head: ChainHead) -> None:
        values = {
            "last_sequence": head.last_sequence,
            "last_hash": head.last_hash,
            "last_recorded_at": head.last_recorded_at,
            "checkpoint_sequence": head.checkpoint_sequence,
            "pending_since": head.pending_since,
            "key_id": head.key_id,
            "signature": head.signature,
        }
        await self.session.execute(sa.update(audit_head).where(audit_head.c.id == HEAD_ID).values(**values))
        self._head = head

    async def stage_events(self, events: Sequence[CloudEvent]) -> None:
        await add_events(self.session, events, topic=self.event_topic)


class SqlAuditStore:
    """``event_topic`` overrides the events' own topic (tests and benchmarks use a topic of their own)."""

    def __init__(self, db: Database, *, event_topic: str | None = None, page_size: int = 5000):
        self.db = db
        self.event_topic = event_topic
        self.page_size = page_size

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlAuditTransaction]:
        async with self.db.transaction() as session:
            tx = SqlAuditTransaction(session, self.event_topic)
            await tx.lock()
            yield tx

    async def read_head(self) -> ChainHead | None:
        async with self.db.transaction() as session:
            query = sa.select(audit_head).where(audit_head.c.id == HEAD_ID)
            row = (await session.execute(query)).mappings().one_or_none()
        return None if row is None else _head(row)

    async def checkpoints(self, up_to: int) -> list[Checkpoint]:
        query = (
            sa.select(audit_checkpoints)
            .where(audit_checkpoints.c.sequence <= up_to)
            .order_by(audit_checkpoints.c.sequence)
        )
        async with self.db.transaction() as session:
            rows = (await session.execute(query)).mappings().all()
        return [_checkpoint(row) for row in rows]

    async def records(self, up_to: int) -> AsyncIterator[AuditRecord]:
        after = 0
        while True:
            query = (
                sa.select(audit_records)
                .where(audit_records.c.sequence > after, audit_records.c.sequence <= up_to)
                .order_by(audit_records.c.sequence)
                .limit(self.page_size)
            )
            async with self.db.transaction() as session:
                rows = (await session.execute(query)).mappings().all()
            for row in rows:
                yield _record(row)
            if len(rows) < self.page_size:
                return
            after = rows[-1]["sequence"]

    async def sequence_of_hash(self, digest: str) -> int | None:
        query = sa.select(audit_records.c.sequence).where(audit_records.c.hash == digest).limit(1)
        async with self.db.transaction() as session:
            found = (await session.execute(query)).scalar_one_or_none()
        return None if found is None else int(found)


def _head(row: Any) -> ChainHead:
    return ChainHead(
        last_sequence=int(row["last_sequence"]),
        last_hash=row["last_hash"],
        last_recorded_at=_maybe_aware(row["last_recorded_at"]),
        checkpoint_sequence=int(row["checkpoint_sequence"]),
        pending_since=_maybe_aware(row["pending_since"]),
        key_id=row["key_id"],
        signature=row["signature"],
    )


def _record_row(r: AuditRecord) -> dict[str, Any]:
    return {
        "sequence": r.sequence, "recorded_at": r.recorded_at, "actor": r.actor, "action": r.action,
        "subject": r.subject, "result": r.result, "correlation_id": r.correlation_id, "details": r.details,
        "prev_hash": r.prev_hash, "hash": r.hash,
    }  # fmt: skip


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        int(row["sequence"]), aware(row["recorded_at"]), row["actor"], row["action"], row["subject"],
        row["result"], row["correlation_id"], row["details"], row["prev_hash"], row["hash"],
    )  # fmt: skip


def _checkpoint_row(c: Checkpoint) -> dict[str, Any]:
    return {
        "sequence": c.sequence, "head_hash": c.head_hash, "created_at": c.created_at,
        "record_count": c.record_count, "first_record_time": c.first_record_time,
        "last_record_time": c.last_record_time, "key_id": c.key_id, "signature": c.signature,
    }  # fmt: skip


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        int(row["sequence"]), row["head_hash"], aware(row["created_at"]), int(row["record_count"]),
        aware(row["first_record_time"]), aware(row["last_record_time"]), row["key_id"], row["signature"],
    )  # fmt: skip


def _maybe_aware(value: Any) -> Any:
    return None if value is None else aware(value)
