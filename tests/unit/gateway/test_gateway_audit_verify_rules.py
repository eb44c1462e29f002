"""The chain verifier on records in memory: what the head row and the log's ends must agree on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.gateway.audit.domain.chain import AuditRecord, ChainHead, chain
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
