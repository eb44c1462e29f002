"""The audit log in the gateway's database (SQLAlchemy Core; SQLite in a file or PostgreSQL).

An extension of the log is one direct transaction (``baylink.runtime.direct``: on SQLite the whole
of it on the event loop's thread, no hop to a thread, as every request appends; on PostgreSQL one
statement after another on one connection). The chain head is locked by an UPDATE of its one row as
the transaction's first statement: PostgreSQL takes the row lock (as SELECT … FOR UPDATE would),
SQLite holds the database's write lock from BEGIN IMMEDIATE. Either way a second writer, in this
process or another, waits for the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import sqlalchemy as sa

from baylink.runtime import direct
from baylink.runtime.db import Database
from baylink.runtime.outbox import stage_events
from baylink.runtime.schema import BigInt
from services.gateway.audit.domain.chain import AuditRecord, ChainHead, Checkpoint, aware
from services.gateway.audit.service_layer.ports import Extension

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


LOCK_HEAD = direct.Statement(
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values(last_sequence=audit_head.c.last_sequence)
    .returning(*audit_head.c)
)
_HEAD_VALUES = ("last_sequence", "last_hash", "last_recorded_at", "checkpoint_sequence", "pending_since", "key_id",
                "signature")  # fmt: skip
SET_HEAD = direct.Statement(
    sa.update(audit_head)
    .where(audit_head.c.id == HEAD_ID)
    .values({name: sa.bindparam(name, type_=audit_head.c[name].type) for name in _HEAD_VALUES})
)
INSERT_RECORD = direct.insert(audit_records)
INSERT_CHECKPOINT = direct.insert(audit_checkpoints)


class SqlAuditStore:
    """``event_topic`` overrides the events' own topic (tests and benchmarks use a topic of their own)."""

    def __init__(self, db: Database, *, event_topic: str | None = None, page_size: int = 5000):
        if not db.runs_direct:
            raise ValueError("the audit log needs SQLite in a file or PostgreSQL through asyncpg")
        self.db = db
        self.event_topic = event_topic
        self.page_size = page_size

    async def extend(self, step: Callable[[ChainHead], Extension | None]) -> Extension | None:
        return await self.db.run_direct(self._extend(step), on_loop=True)

    def _extend(self, step: Callable[[ChainHead], Extension | None]) -> Generator[direct.Op, Any, Extension | None]:
        (row,) = yield direct.fetch(LOCK_HEAD)
        extension = step(_head(row._asdict()))
        if extension is None:
            return None
        yield direct.execute_many(INSERT_RECORD, [_record_row(r) for r in extension.records])
        if extension.checkpoint is not None:
            yield direct.execute_many(INSERT_CHECKPOINT, [_checkpoint_row(extension.checkpoint)])
        yield from stage_events(extension.events, topic=self.event_topic)
        head = extension.head
        yield direct.execute(SET_HEAD, **{name: getattr(head, name) for name in _HEAD_VALUES})
        return extension

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
