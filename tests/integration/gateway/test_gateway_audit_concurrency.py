"""Concurrent appends stay gapless and chained, on SQLite and PostgreSQL, within one gateway and across two."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from baylink.runtime.db import Database
from services.gateway.audit.adapters.keys import Ed25519Signer, Ed25519Verifier
from services.gateway.audit.adapters.store import SqlAuditStore, audit_records
from services.gateway.audit.domain.chain import CheckpointPolicy
from services.gateway.audit.service_layer.verify import verify_log
from tests.unit.gateway.conftest import entry, make_log, migrate_gateway


async def _sequences(db: Database) -> list[int]:
    async with db.transaction() as session:
        rows = await session.execute(sa.select(audit_records.c.sequence).order_by(audit_records.c.sequence))
    return [r[0] for r in rows]


async def test_500_concurrent_appends_are_numbered_1_to_500_without_gaps_and_chain(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await migrate_gateway(database)
    log = make_log(database, signer, policy=CheckpointPolicy(every_records=100, every_seconds=3600), max_batch=64)
    records = await asyncio.gather(*(log.append(entry(i)) for i in range(500)))
    assert sorted(r.sequence for r in records) == list(range(1, 501))
    assert await _sequences(database) == list(range(1, 501))
    report = await verify_log(SqlAuditStore(database), keys)
    assert report.ok and report.records == 500 and report.checkpoints >= 4


async def test_two_gateway_replicas_appending_at_once_share_one_gapless_chain(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await migrate_gateway(database)
    other = Database(database.url)  # a second process's engine: its own connections, same database
    try:
        first = make_log(database, signer, max_batch=16)
        second = make_log(other, signer, max_batch=16)
        await asyncio.gather(
            *(first.append(entry(i, actor="kiosk:HK-TST-01")) for i in range(250)),
            *(second.append(entry(i, actor="kiosk:MO-SEN-02")) for i in range(250)),
        )
    finally:
        await other.dispose()
    assert await _sequences(database) == list(range(1, 501))
    report = await verify_log(SqlAuditStore(database), keys)
    assert report.ok, report.finding


async def test_verifying_while_appends_continue_raises_no_false_alarm(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await migrate_gateway(database)
    log = make_log(database, signer, max_batch=8)
    await asyncio.gather(*(log.append(entry(i)) for i in range(100)))
    appending = asyncio.gather(*(log.append(entry(i)) for i in range(200)))
    reports = await asyncio.gather(*(verify_log(SqlAuditStore(database, page_size=7), keys) for _ in range(3)))
    await appending
    assert all(r.ok for r in reports), [r.finding for r in reports]
