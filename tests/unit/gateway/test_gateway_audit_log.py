"""Appending to the audit log and checkpointing it, on a real SQLite database with a real key."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.events.v1 import gateway_events_pb2
from baylink.runtime.context import correlation_scope
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes, from_kafka
from baylink.runtime.schema import outbox
from services.gateway.audit.adapters.events import GatewaySecurityEvents
from services.gateway.audit.adapters.keys import (
    Ed25519Signer,
    Ed25519Verifier,
    UnsignedHeadsMarker,
    load_or_create_signing_key,
)
from services.gateway.audit.adapters.store import SqlAuditStore, audit_checkpoints, audit_head
from services.gateway.audit.domain.chain import ChainHead, CheckpointPolicy
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.audit.service_layer.ports import Extension
from services.gateway.audit.service_layer.verify import verify_log
from services.gateway.shared.domain.guard import SecurityAlert, Severity
from tests.conftest import postgres_database
from tests.unit.gateway.conftest import Clock, entry, make_log, migrate_gateway, outbox_types

CHECKPOINTED = "baylink.gateway.audit.checkpointed.v1"


async def test_appended_records_are_numbered_in_order_and_verify(
    audit_db: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    log = make_log(audit_db, signer)
    first = await log.append(entry(1))
    second = await log.append(entry(2))
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.prev_hash == first.hash
    report = await verify_log(SqlAuditStore(audit_db), keys)
    assert report.ok and report.records == 2 and report.last_hash == second.hash


async def test_record_takes_the_correlation_id_of_the_current_call(audit_db: Database, signer: Ed25519Signer) -> None:
    log = make_log(audit_db, signer)
    with correlation_scope("flow-42"):
        record = await log.record("kiosk:HK-TST-01", "identify", "OK", subject="p" * 40, details={"step": 1})
    assert (record.actor, record.correlation_id, record.details) == ("kiosk:HK-TST-01", "flow-42", '{"step":1}')


async def test_every_n_records_a_signed_checkpoint_is_stored_and_its_event_staged(
    audit_db: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    log = make_log(audit_db, signer, policy=CheckpointPolicy(every_records=10, every_seconds=3600))
    for i in range(25):
        await log.append(entry(i))
    checkpoints = await SqlAuditStore(audit_db).checkpoints(up_to=25)
    assert [(c.sequence, c.record_count) for c in checkpoints] == [(10, 10), (20, 10)]
    for c in checkpoints:
        assert keys.verify(c.key_id, c.message(), bytes.fromhex(c.signature))
    assert await outbox_types(audit_db) == [CHECKPOINTED, CHECKPOINTED]
    event = await _last_outbox_event(audit_db)
    message = EventTypes.from_contracts().decode(event)
    assert isinstance(message, gateway_events_pb2.AuditCheckpointed)
    assert (message.last_sequence, message.record_count) == (20, 10)
    assert message.chain_hash.hex() == checkpoints[-1].head_hash
    assert event.source == "/baylink/gateway" and event.subject == "audit-log"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def either_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The gateway's database on SQLite (the store's step runs in its writer thread) and on PostgreSQL
    (on the event loop)."""
    if request.param == "sqlite":
        db = await migrate_gateway(Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"))
        yield db
        await db.dispose()
        return
    async with postgres_database() as url:
        db = await migrate_gateway(Database(url))
        yield db
        await db.dispose()


async def test_a_checkpoint_event_carries_no_requests_correlation_id(
    either_db: Database, signer: Ed25519Signer
) -> None:
    log = make_log(either_db, signer, policy=CheckpointPolicy(every_records=1, every_seconds=3600))
    with correlation_scope("flow-42"):
        record = await log.record("kiosk:HK-TST-01", "identify", "OK")
    assert record.correlation_id == "flow-42"  # the record is the request's; the checkpoint covers many
    event = await _last_outbox_event(either_db)
    assert event.type == CHECKPOINTED and event.correlation_id is None


async def test_a_checkpoint_follows_t_seconds_after_the_first_uncovered_record(
    audit_db: Database, signer: Ed25519Signer, clock: Clock
) -> None:
    log = make_log(audit_db, signer, clock=clock, policy=CheckpointPolicy(every_records=1000, every_seconds=60))
    await log.append(entry(1))
    clock.advance(30)
    await log.append(entry(2))
    assert await log.checkpoint_if_due() is None
    clock.advance(30)
    checkpoint = await log.checkpoint_if_due()
    assert checkpoint is not None and (checkpoint.sequence, checkpoint.record_count) == (2, 2)
    assert checkpoint.last_record_time - checkpoint.first_record_time == timedelta(seconds=30)
    clock.advance(3600)
    assert await log.checkpoint_if_due() is None  # nothing new to cover


async def test_periodic_checkpointing_runs_until_cancelled(audit_db: Database, signer: Ed25519Signer) -> None:
    log = make_log(audit_db, signer, policy=CheckpointPolicy(every_records=1000, every_seconds=0.05))
    await log.append(entry(1))
    task = asyncio.create_task(log.run_checkpoints(0.02))
    try:
        async with asyncio.timeout(5):
            while not await SqlAuditStore(audit_db).checkpoints(up_to=1):
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [c.record_count for c in await SqlAuditStore(audit_db).checkpoints(up_to=1)] == [1]


async def test_events_given_with_an_append_are_committed_with_the_record(
    audit_db: Database, signer: Ed25519Signer
) -> None:
    log = make_log(audit_db, signer)
    alert = SecurityAlert("bulk_subject_read", Severity.HIGH, "too many", actor="city:440300", city_code="440300")
    await log.record("city:440300", "security.alert_raised", "bulk_subject_read", events=[
        GatewaySecurityEvents().alert_raised(alert)
    ])  # fmt: skip
    assert await outbox_types(audit_db) == ["baylink.gateway.security.alert_raised.v1"]


class CountedStore(SqlAuditStore):
    """The real store, counting its transactions."""

    def __init__(self, db: Database):
        super().__init__(db)
        self.transactions = 0

    async def extend(self, step: Callable[[ChainHead], Extension | None]) -> Extension | None:
        self.transactions += 1
        return await super().extend(step)


def counted_log(db: Database, signer: Ed25519Signer) -> tuple[AuditLog, CountedStore]:
    store = CountedStore(db)
    policy = CheckpointPolicy(every_records=100_000)
    return AuditLog(store, signer, GatewaySecurityEvents().checkpointed, policy=policy), store


async def test_concurrent_appends_are_group_committed_in_few_transactions(
    audit_db: Database, signer: Ed25519Signer
) -> None:
    log, store = counted_log(audit_db, signer)
    records = await asyncio.gather(*(log.append(entry(i)) for i in range(300)))
    assert sorted(r.sequence for r in records) == list(range(1, 301))
    assert store.transactions <= 3


async def test_a_lone_append_commits_at_once_in_one_transaction(audit_db: Database, signer: Ed25519Signer) -> None:
    log, store = counted_log(audit_db, signer)
    record = await asyncio.wait_for(log.append(entry(1)), timeout=5)  # no batching timer to wait out
    assert (record.sequence, store.transactions) == (1, 1)
    assert (await SqlAuditStore(audit_db).read_head()).last_sequence == 1  # type: ignore[union-attr]


async def test_when_a_shared_commit_fails_every_waiting_append_fails_and_none_is_recorded(
    audit_db: Database, signer: Ed25519Signer
) -> None:
    log, store = counted_log(audit_db, signer)
    await log.append(entry(0))
    await _execute(audit_db, sa.update(audit_head).values(signature="00" * 64))  # a head it did not sign
    results = await asyncio.gather(*(log.append(entry(i)) for i in range(1, 21)), return_exceptions=True)
    assert all(isinstance(r, errors.Unavailable) and r.reason == "AUDIT_LOG_TAMPERED" for r in results)
    assert 2 <= store.transactions - 1 <= 21  # the shared commit, then each alone (so one culprit spares the rest)
    assert (await SqlAuditStore(audit_db).read_head()).last_sequence == 1  # type: ignore[union-attr]


async def test_the_relay_is_woken_only_by_commits_that_staged_events(audit_db: Database, signer: Ed25519Signer) -> None:
    log = make_log(audit_db, signer, policy=CheckpointPolicy(every_records=3, every_seconds=3600))
    wakes = 0

    def wake() -> None:
        nonlocal wakes
        wakes += 1

    log.on_commit = wake
    await log.append(entry(1))
    await log.append(entry(2))
    assert wakes == 0  # records alone: nothing for the relay
    await log.append(entry(3))  # its commit takes a checkpoint and stages its event
    assert wakes == 1 and await outbox_types(audit_db) == [CHECKPOINTED]


async def test_a_forced_checkpoint_covers_whatever_is_pending(audit_db: Database, signer: Ed25519Signer) -> None:
    log = make_log(audit_db, signer)
    await log.append(entry(1))
    assert (await log.checkpoint_if_due(force=True)) is not None
    async with audit_db.transaction() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(audit_checkpoints))).scalar_one() == 1


def test_the_signing_key_is_made_once_private_to_its_owner_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "gw" / "audit.pem"
    made = load_or_create_signing_key(path)
    again = load_or_create_signing_key(path)
    assert made.key_id == again.key_id
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    verifier = Ed25519Verifier.from_pem_files([path.with_name("audit.pem.pub")])
    assert verifier.verify(made.key_id, b"m", again.sign(b"m"))
    assert not verifier.verify(made.key_id, b"other", again.sign(b"m"))


async def _last_outbox_event(db: Database):  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        row = (await session.execute(sa.select(outbox).order_by(outbox.c.id.desc()).limit(1))).mappings().one()
    return from_kafka([(k, v.encode()) for k, v in row["headers"]], row["payload"])


async def test_every_head_the_log_writes_is_signed_by_the_audit_key(
    audit_db: Database, signer: Ed25519Signer, keys: Ed25519Verifier, clock: Clock
) -> None:
    log = make_log(audit_db, signer, clock=clock, policy=CheckpointPolicy(every_records=1000, every_seconds=60))
    store = SqlAuditStore(audit_db)
    genesis = await store.read_head()
    assert genesis is not None and genesis.signature == ""  # as the migration made it
    await log.append(entry(1))
    appended = await store.read_head()
    clock.advance(60)
    assert await log.checkpoint_if_due() is not None
    checkpointed = await store.read_head()
    assert appended is not None and checkpointed is not None
    for head in (appended, checkpointed):
        assert head.key_id == signer.key_id
        assert keys.verify(head.key_id, head.message(), bytes.fromhex(head.signature))
    assert (appended.checkpoint_sequence, checkpointed.checkpoint_sequence) == (0, 1)


async def test_a_head_from_before_signed_heads_is_adopted_once_then_unsigned_heads_are_refused(
    audit_db: Database, signer: Ed25519Signer, keys: Ed25519Verifier, tmp_path: Path
) -> None:
    await make_log(audit_db, signer).append(entry(1))
    unsigned = sa.update(audit_head).values(key_id="", signature="")
    await _execute(audit_db, unsigned)  # as the upgrade's migration leaves an existing log
    marker = UnsignedHeadsMarker(tmp_path / "keys" / "audit.pem")
    upgraded = make_log(audit_db, signer, unsigned_heads=marker)
    assert (await upgraded.append(entry(2))).sequence == 2
    assert not marker.may_adopt() and (await verify_log(SqlAuditStore(audit_db), keys)).ok
    await _execute(audit_db, unsigned)  # later, someone blanks the signature to pass a rewritten head
    with pytest.raises(errors.Unavailable) as refused:
        await make_log(audit_db, signer, unsigned_heads=marker).append(entry(3))
    assert refused.value.reason == "AUDIT_LOG_TAMPERED"


async def _execute(db: Database, statement: sa.Executable) -> None:
    async with db.transaction() as session:
        await session.execute(statement)
