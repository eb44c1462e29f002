"""``verify_log`` names the first tampered record, on SQLite and PostgreSQL.

Each test appends a real log, then alters the database directly, as an intruder with SQL access
would, and checks the finding's kind and sequence number.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.runtime.db import Database
from services.gateway.audit.adapters.keys import Ed25519Signer, Ed25519Verifier
from services.gateway.audit.adapters.store import SqlAuditStore, audit_checkpoints, audit_head, audit_records
from services.gateway.audit.domain.chain import AuditRecord, CheckpointPolicy, record_hash
from services.gateway.audit.domain.verify import FindingKind, VerificationReport
from services.gateway.audit.service_layer.verify import verify_log
from tests.unit.gateway.conftest import entry, make_log, migrate_gateway

RECORDS = 30  # checkpoints at 10, 20, 30


async def _log(database: Database, signer: Ed25519Signer, records: int = RECORDS) -> SqlAuditStore:
    await migrate_gateway(database)
    log = make_log(database, signer, policy=CheckpointPolicy(every_records=10, every_seconds=3600))
    for i in range(records):
        await log.append(entry(i))
    return SqlAuditStore(database)


async def _verify(database: Database, keys: Ed25519Verifier) -> VerificationReport:
    return await verify_log(SqlAuditStore(database), keys)


async def _execute(database: Database, *statements: sa.Executable) -> None:
    async with database.transaction() as session:
        for statement in statements:
            await session.execute(statement)


def _where(seq: int) -> sa.ColumnElement[bool]:
    return audit_records.c.sequence == seq


async def test_an_untouched_log_verifies_with_its_counts(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    report = await _verify(database, keys)
    assert report.ok and (report.records, report.checkpoints, report.last_sequence) == (RECORDS, 3, RECORDS)


async def test_an_edited_field_is_named_by_its_sequence(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    await _execute(database, sa.update(audit_records).where(_where(17)).values(result="PERMISSION_DENIED"))
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.EDITED, 17)
    assert "seq 17" in finding.message


async def test_a_removed_record_is_named_as_the_gap(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    await _execute(database, sa.delete(audit_records).where(_where(12)))
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.REMOVED, 12)
    assert "seq 12 missing" in finding.message


async def test_the_newest_record_removed_is_caught_by_the_head_and_checkpoint(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    await _execute(database, sa.delete(audit_records).where(_where(RECORDS)))
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.REMOVED, RECORDS)


async def test_two_swapped_records_are_named_as_reordered(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    store = await _log(database, signer)
    records = {r.sequence: r for r in [r async for r in store.records(RECORDS)]}
    await _execute(
        database,
        sa.update(audit_records).where(_where(5)).values(**_contents(records[8])),
        sa.update(audit_records).where(_where(8)).values(**_contents(records[5])),
    )
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.REORDERED, 5)
    assert "written after seq 7, not after seq 4" in finding.message


async def test_a_tampered_checkpoint_signature_is_named(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    [signature] = [c.signature for c in await SqlAuditStore(database).checkpoints(20) if c.sequence == 20]
    forged = ("0" if signature[0] != "0" else "1") + signature[1:]
    await _execute(
        database, sa.update(audit_checkpoints).where(audit_checkpoints.c.sequence == 20).values(signature=forged)
    )
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.CHECKPOINT_SIGNATURE_INVALID, 20)


async def test_a_chain_rewritten_consistently_after_an_edit_is_caught_at_the_next_checkpoint(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    store = await _log(database, signer)
    records = [r async for r in store.records(RECORDS)]
    # The intruder edits seq 13 and recomputes every later hash and the head: the chain alone looks fine.
    await _execute(database, *_rechained(records, 13, "DENIED"))
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.CHECKPOINT_MISMATCH, 20)
    assert "after seq 10" in finding.message


async def test_a_removed_checkpoint_is_noticed_by_the_next_ones_count(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    await _execute(database, sa.delete(audit_checkpoints).where(audit_checkpoints.c.sequence == 10))
    finding = (await _verify(database, keys)).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.CHECKPOINT_MISSING, 20)


async def test_checkpoints_signed_by_a_key_the_auditor_does_not_trust_fail(
    database: Database, signer: Ed25519Signer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from services.gateway.audit.adapters.keys import load_or_create_signing_key

    await _log(database, signer)
    stranger = load_or_create_signing_key(tmp_path / "stranger.pem")
    finding = (await _verify(database, Ed25519Verifier([stranger.public_key]))).finding
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.CHECKPOINT_SIGNATURE_INVALID, 10)


async def test_the_tail_cut_off_with_its_checkpoint_and_the_head_row_rewritten_is_caught(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    store = await _log(database, signer)
    kept = [r async for r in store.records(20)][-1]
    # The intruder deletes seq 21..30 and the checkpoint at 30, then points the head at seq 20.
    await _execute(
        database,
        sa.delete(audit_records).where(audit_records.c.sequence > 20),
        sa.delete(audit_checkpoints).where(audit_checkpoints.c.sequence > 20),
        sa.update(audit_head).values(
            last_sequence=20, last_hash=kept.hash, last_recorded_at=kept.recorded_at, checkpoint_sequence=20,
            pending_since=None,
        ),
    )  # fmt: skip
    report = await _verify(database, keys)
    assert report.finding is not None
    assert (report.finding.kind, report.finding.sequence) == (FindingKind.HEAD_SIGNATURE_INVALID, 20)


async def test_the_gateway_refuses_to_extend_a_head_it_did_not_sign(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    store = await _log(database, signer)
    kept = [r async for r in store.records(20)][-1]
    await _execute(
        database,
        sa.delete(audit_records).where(audit_records.c.sequence > 20),
        sa.delete(audit_checkpoints).where(audit_checkpoints.c.sequence > 20),
        sa.update(audit_head).values(last_sequence=20, last_hash=kept.hash, checkpoint_sequence=20),
    )
    # Appending on top would sign the cut-back head and hide the cut: the gateway refuses instead.
    log = make_log(database, signer)
    with pytest.raises(errors.Unavailable) as refused:
        await log.append(entry(99))
    assert refused.value.reason == "AUDIT_LOG_TAMPERED"
    with pytest.raises(errors.Unavailable):
        await log.checkpoint_if_due(force=True)
    report = await _verify(database, keys)
    assert report.finding is not None and report.finding.kind == FindingKind.HEAD_SIGNATURE_INVALID


async def test_records_after_the_last_checkpoint_rewritten_with_the_head_are_caught(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    store = await _log(database, signer, records=25)  # checkpoints at 10 and 20; 21..25 after the last
    records = [r async for r in store.records(25)]
    # The intruder edits seq 23, re-chains 23..25 and moves the head to the new hash: no checkpoint covers them.
    await _execute(database, *_rechained(records, 23, "DENIED"))
    report = await _verify(database, keys)
    assert report.finding is not None
    assert (report.finding.kind, report.finding.sequence) == (FindingKind.HEAD_SIGNATURE_INVALID, 25)


async def test_a_deleted_head_row_is_a_finding_not_a_crash(
    database: Database, signer: Ed25519Signer, keys: Ed25519Verifier
) -> None:
    await _log(database, signer)
    await _execute(database, sa.delete(audit_head))
    finding = (await _verify(database, keys)).finding
    assert finding is not None and finding.kind == FindingKind.HEAD_SIGNATURE_INVALID
    assert "head row is missing" in finding.message


def _rechained(records: list[AuditRecord], edited: int, result: str) -> list[sa.Executable]:
    """Statements that edit ``edited``'s result and recompute every later hash and the head's."""
    prev, statements = records[edited - 2].hash, []
    for r in records[edited - 1 :]:
        value = result if r.sequence == edited else r.result
        digest = _rehash(r, value, prev)
        statements.append(
            sa.update(audit_records).where(_where(r.sequence)).values(result=value, prev_hash=prev, hash=digest)
        )
        prev = digest
    return [*statements, sa.update(audit_head).values(last_hash=prev)]


def _contents(r: AuditRecord) -> dict[str, object]:
    return {
        "recorded_at": r.recorded_at, "actor": r.actor, "action": r.action, "subject": r.subject,
        "result": r.result, "correlation_id": r.correlation_id, "details": r.details,
        "prev_hash": r.prev_hash, "hash": r.hash,
    }  # fmt: skip


def _rehash(r: AuditRecord, result: str, prev: str) -> str:
    from services.gateway.audit.domain.chain import iso

    return record_hash(
        str(r.sequence), iso(r.recorded_at), r.actor, r.action, r.subject, result, r.correlation_id, r.details, prev
    )
