"""Verifying the stored audit log, while the gateway keeps appending to it.

The head is read first and only records and checkpoints up to it are examined: whatever is
appended meanwhile is beyond the snapshot, so a live log verifies without false alarms.
"""

from __future__ import annotations

from services.gateway.audit.domain.chain import Checkpoint
from services.gateway.audit.domain.verify import ChainVerifier, VerificationReport, link_break
from services.gateway.audit.service_layer.ports import AuditStore, SignatureVerifier


async def verify_log(store: AuditStore, keys: SignatureVerifier) -> VerificationReport:
    head = await store.read_head()
    checkpoints = await store.checkpoints(head.last_sequence)

    def signature_ok(checkpoint: Checkpoint) -> bool:
        try:
            signature = bytes.fromhex(checkpoint.signature)
        except ValueError:
            return False
        return keys.verify(checkpoint.key_id, checkpoint.message(), signature)

    verifier = ChainVerifier(checkpoints, signature_ok)
    async for record in store.records(head.last_sequence):
        finding = verifier.feed(record)
        if finding is not None:
            if finding.orphan_prev_hash:
                chains_from = await store.sequence_of_hash(finding.orphan_prev_hash)
                finding = link_break(finding.sequence, chains_from)
            return verifier.report(finding)
    return verifier.report(verifier.finish(head))
