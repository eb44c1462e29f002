"""Replicas that start together on one PostgreSQL database take turns migrating it."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]
import pytest

from baylink.runtime.db import MIGRATION_LOCK_KEY, Database
from tests.conftest import postgres_database

pytestmark = pytest.mark.postgres


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(_plain(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_a_migration_waits_for_the_replica_holding_the_lock() -> None:
    async with postgres_database() as url:
        holder = await asyncpg.connect(_plain(url))
        db = Database(url)
        try:
            await holder.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            migrating = asyncio.create_task(db.migrate())
            await asyncio.sleep(1.5)
            assert not migrating.done(), "migrated while another replica held the migration lock"
            assert "alembic_version" not in await _tables(url)

            await holder.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
            await asyncio.wait_for(migrating, 60)
            assert {"alembic_version", "outbox", "inbox"} <= await _tables(url)
        finally:
            await holder.close()
            await db.dispose()


async def test_replicas_migrating_at_once_all_succeed_on_one_schema() -> None:
    async with postgres_database() as url:
        replicas = [Database(url) for _ in range(3)]
        try:
            await asyncio.wait_for(asyncio.gather(*(db.migrate() for db in replicas)), 120)
            conn = await asyncpg.connect(_plain(url))
            try:
                heads = await conn.fetch("SELECT version_num FROM alembic_version")
            finally:
                await conn.close()
            assert len(heads) >= 1
            assert len({r["version_num"] for r in heads}) == len(heads)
        finally:
            for db in replicas:
                await db.dispose()
