"""``baylink audit verify --against-kafka``: the checkpoints published on the real broker anchor the log.

A signed head cannot tell a log from an older copy of itself: an intruder who saved the database
puts it back after more was recorded, and everything in it verifies. The checkpoints the gateway
published on Kafka (through the real outbox relay) are the second copy that catches it.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baylink.cli.main import app
from baylink.runtime.db import Database
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.settings import KafkaSettings
from services.gateway.audit.adapters.keys import Ed25519Signer, Ed25519Verifier
from services.gateway.audit.adapters.published import published_checkpoints
from services.gateway.audit.adapters.store import SqlAuditStore
from services.gateway.audit.domain.verify import FindingKind
from services.gateway.audit.service_layer.log import AuditLog
from services.gateway.audit.service_layer.verify import verify_log
from tests.unit.gateway.conftest import entry, make_log, migrate_gateway

pytestmark = pytest.mark.kafka
runner = CliRunner()


async def _append(log: AuditLog, db: Database, kafka: KafkaSettings, start: int, count: int) -> None:
    """Append ``count`` records and publish their checkpoints to Kafka with the real relay."""
    for i in range(start, start + count):
        await log.append(entry(i))
    relay = OutboxRelay(db, kafka, name=f"audit-test-{start}", poll_seconds=0.05)
    await relay.drain()
    await relay.stop()


async def test_a_database_put_back_from_an_older_copy_verifies_alone_but_not_against_kafka(
    tmp_path: Path, signer: Ed25519Signer, keys: Ed25519Verifier, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("gateway-audit")
    path, saved = tmp_path / "gateway.db", tmp_path / "saved.db"
    db = await migrate_gateway(Database(f"sqlite+aiosqlite:///{path}"))
    log = make_log(db, signer, event_topic=topic)  # a checkpoint every 10 records
    await _append(log, db, kafka_settings, 0, 20)
    await db.dispose()
    shutil.copy(path, saved)  # the intruder's copy, taken at seq 20
    db = Database(f"sqlite+aiosqlite:///{path}")
    await _append(make_log(db, signer, event_topic=topic), db, kafka_settings, 20, 15)
    published = await published_checkpoints(kafka_settings, topic, "/baylink/gateway")
    assert [p.sequence for p in published] == [10, 20, 30]
    assert (await verify_log(SqlAuditStore(db), keys, published)).ok
    await db.dispose()

    shutil.copy(saved, path)  # seq 21..35 gone, the head and its signature as they were at seq 20
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert (await verify_log(SqlAuditStore(db), keys)).ok  # the database alone cannot tell
        report = await verify_log(SqlAuditStore(db), keys, published)
    finally:
        await db.dispose()
    assert report.finding is not None and (report.finding.kind, report.finding.sequence) == (FindingKind.REMOVED, 21)
    assert "checkpoint at seq 30 was published" in report.finding.message


async def test_audit_verify_against_kafka_on_the_command_line(
    tmp_path: Path, signer: Ed25519Signer, kafka_settings: KafkaSettings, new_topic, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("gateway-audit")
    path, saved = tmp_path / "gateway.db", tmp_path / "saved.db"
    url = f"sqlite+aiosqlite:///{path}"
    db = await migrate_gateway(Database(url))
    await _append(make_log(db, signer, event_topic=topic), db, kafka_settings, 0, 10)
    await db.dispose()
    shutil.copy(path, saved)
    db = Database(url)
    await _append(make_log(db, signer, event_topic=topic), db, kafka_settings, 10, 10)
    await db.dispose()
    public_key = tmp_path / "audit.pub"
    public_key.write_bytes(signer.public_pem())
    monkeypatch.setenv("BAYLINK_KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    command = ["audit", "verify", "--database", url, "--public-key", str(public_key), "--against-kafka"]

    intact = await asyncio.to_thread(runner.invoke, app, [*command, "--topic", topic])
    shutil.copy(saved, path)
    cut = await asyncio.to_thread(runner.invoke, app, [*command, "--topic", topic])
    assert intact.exit_code == 0, intact.output
    assert "2 published checkpoints match Kafka" in intact.output
    assert cut.exit_code == 1, cut.output
    assert cut.output.startswith("TAMPERED: removed at seq 11")
