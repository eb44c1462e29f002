"""The signed trust lists in force, persisted: the last good list survives a restart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.events import CloudEvent
from baylink.runtime.outbox import add_events
from services.identity.domain.trustlist import TrustList

metadata = sa.MetaData()
trust_lists = sa.Table(
    "trust_lists",
    metadata,
    sa.Column("jurisdiction", sa.String(2), primary_key=True),
    sa.Column("sequence_number", sa.BigInteger(), nullable=False),
    sa.Column("issue_date", sa.DateTime(timezone=True), nullable=False),
    sa.Column("document", sa.LargeBinary(), nullable=False),
    sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
)


async def save(session: AsyncSession, trust_list: TrustList, document: bytes) -> None:
    """Replace the jurisdiction's list in force with ``document`` (already checked by the store)."""
    await session.execute(sa.delete(trust_lists).where(trust_lists.c.jurisdiction == trust_list.jurisdiction.value))
    await session.execute(
        sa.insert(trust_lists).values(
            jurisdiction=trust_list.jurisdiction.value,
            sequence_number=trust_list.sequence_number,
            issue_date=trust_list.issue_date,
            document=document,
            installed_at=datetime.now(UTC),
        )
    )


async def load_changed(session: AsyncSession, in_force: dict[str, int]) -> list[bytes]:
    """The stored lists whose sequence number is not the one in force here (by jurisdiction)."""
    stored = await session.execute(sa.select(trust_lists.c.jurisdiction, trust_lists.c.sequence_number))
    changed = [j for j, sequence in stored if in_force.get(j) != sequence]
    if not changed:
        return []
    query = sa.select(trust_lists.c.document).where(trust_lists.c.jurisdiction.in_(changed))
    return list((await session.execute(query.order_by(trust_lists.c.jurisdiction))).scalars())


async def load_all(session: AsyncSession) -> list[bytes]:
    result = await session.execute(sa.select(trust_lists.c.document).order_by(trust_lists.c.jurisdiction))
    return list(result.scalars())


class SqlTrustListRepository:
    """`ports.TrustListRepository` on the service's database: each call is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, trust_list: TrustList, document: bytes, events: Sequence[CloudEvent]) -> None:
        async with self.db.transaction() as session:
            await save(session, trust_list, document)
            await add_events(session, events)

    async def load_all(self) -> list[bytes]:
        async with self.db.transaction() as session:
            return await load_all(session)

    async def load_changed(self, in_force: dict[str, int]) -> list[bytes]:
        async with self.db.transaction() as session:
            return await load_changed(session, in_force)
