"""Verifying the stored audit log, while the gateway keeps appending to it.

The head is read first and only records and checkpoints up to it are examined: whatever is
appended meanwhile is beyond the snapshot, so a live log verifies without false alarms. Given the
checkpoints published on Kafka (read before this is called, see ``domain.anchor``), the log must
also hold every one of them unchanged, with its head at or past the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from services.gateway.audit.domain.anchor import PublishedCheckpoint, compare_published
from services.gateway.audit.domain.chain import GENESIS_HASH, ChainHead, Checkpoint
from services.gateway.audit.domain.verify import ChainVerifier, Finding, FindingKind, VerificationReport, link_break
from services.gateway.audit.service_layer.ports import AuditStore, SignatureVerifier


async def verify_log(
    store: AuditStore, keys: SignatureVerifier, published: Sequence[PublishedCheckpoint] | None = None
) -> VerificationReport:
    head = await store.read_head()
    if head is None:
        missing = Finding(FindingKind.HEAD_SIGNATURE_INVALID, 0, "the chain head row is missing: it was deleted")
        return VerificationReport(0, 0, 0, GENESIS_HASH, missing)
    checkpoints = await store.checkpoints(head.last_sequence)

    def signature_ok(signed: Checkpoint | ChainHead) -> bool:
        try:
            signature = bytes.fromhex(signed.signature)
        except ValueError:
            return False
        return bool(signature) and keys.verify(signed.key_id, signed.message(), signature)

    verifier = ChainVerifier(checkpoints, signature_ok)
    async for record in store.records(head.last_sequence):
        finding = verifier.feed(record)
        if finding is not None:
            if finding.orphan_prev_hash:
                chains_from = await store.sequence_of_hash(finding.orphan_prev_hash)
                finding = link_break(finding.sequence, chains_from)
            return verifier.report(finding)
    report = verifier.report(verifier.finish(head))
    if published is None or not report.ok:
        return report
    finding = compare_published(published, {c.sequence: c for c in checkpoints}, head)
    return replace(report, finding=finding, published=len({p.sequence for p in published}))
