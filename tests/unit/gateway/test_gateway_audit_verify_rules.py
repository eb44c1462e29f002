"""The chain verifier on records in memory: what the head row and the log's ends must agree on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.gateway.audit.domain.anchor import PublishedCheckpoint, compare_published
from services.gateway.audit.domain.chain import AuditRecord, ChainHead, Checkpoint, chain
from services.gateway.audit.domain.verify import ChainVerifier, Finding, FindingKind
from tests.unit.gateway.conftest import entry

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _records(n: int) -> list[AuditRecord]:
    return chain(ChainHead(), [entry(i) for i in range(n)], NOW)


def _walk(records: list[AuditRecord], head: ChainHead) -> Finding | None:
    verifier = ChainVerifier([], lambda _: True)
    for record in records:
        finding = verifier.feed(record)
        if finding is not None:
            return finding
    return verifier.finish(head)


def test_a_log_whose_first_records_were_removed_says_where_it_starts() -> None:
    records = _records(5)
    finding = _walk(records[2:], ChainHead().after(records))
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.REMOVED, 1)
    assert "seqs 1..2 missing: the log starts at seq 3" in finding.message


def test_records_beyond_the_head_were_added_outside_the_audit_log() -> None:
    records = _records(5)
    finding = _walk(records, ChainHead().after(records[:3]))
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.HEAD_MISMATCH, 4)


def test_a_head_claiming_more_records_than_there_are_means_the_newest_were_removed() -> None:
    records = _records(5)
    finding = _walk(records[:4], ChainHead().after(records))
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.REMOVED, 5)


def test_a_record_whose_predecessor_vanished_is_out_of_place_and_says_whose_hash_it_lacks() -> None:
    records = _records(5)
    renumbered = [*records[:2], *(replace(r, sequence=r.sequence - 1) for r in records[3:])]
    finding = _walk(renumbered, ChainHead().after(records))
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.REORDERED, 3)
    assert finding.orphan_prev_hash == records[2].hash


def test_an_empty_log_with_an_empty_head_verifies() -> None:
    assert _walk([], ChainHead()) is None


def test_only_the_untouched_genesis_head_may_go_unsigned() -> None:
    records = _records(3)
    unsigned = ChainVerifier([], lambda signed: bool(signed.signature))
    for record in records:
        assert unsigned.feed(record) is None
    finding = unsigned.finish(ChainHead().after(records))
    assert finding is not None and (finding.kind, finding.sequence) == (FindingKind.HEAD_SIGNATURE_INVALID, 3)
    assert ChainVerifier([], lambda signed: bool(signed.signature)).finish(ChainHead()) is None


def _published(checkpoint: Checkpoint, **changes: object) -> PublishedCheckpoint:
    fields: dict[str, object] = {
        "sequence": checkpoint.sequence, "head_hash": checkpoint.head_hash, "record_count": checkpoint.record_count,
        "first_record_time": checkpoint.first_record_time, "last_record_time": checkpoint.last_record_time,
    }  # fmt: skip
    return PublishedCheckpoint(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_stored_log_must_hold_every_published_checkpoint_unchanged_and_reach_the_newest() -> None:
    records = _records(20)
    # Two checkpoints of ten records each, as the database holds them.
    stored = {n: Checkpoint(n, records[n - 1].hash, NOW, 10, NOW, NOW, "k", "s") for n in (10, 20)}
    head = ChainHead().after(records)
    assert compare_published([_published(c) for c in stored.values()], stored, head) is None
    ahead = _published(stored[20], sequence=30)
    cut = compare_published([_published(stored[10]), ahead], stored, head)
    assert cut is not None and (cut.kind, cut.sequence) == (FindingKind.REMOVED, 21)
    other = compare_published([_published(stored[10], head_hash="f" * 64)], stored, head)
    assert other is not None and (other.kind, other.sequence) == (FindingKind.NOT_AS_PUBLISHED, 10)
    missing = compare_published([_published(stored[10])], {20: stored[20]}, head)
    assert missing is not None and (missing.kind, missing.sequence) == (FindingKind.NOT_AS_PUBLISHED, 10)
