"""Verifying the audit chain: walk it in sequence order and name the first thing that is wrong.

Checks, per record N in order:
1. numbering: N is the next number (a gap means records were removed);
2. linkage: N's ``prev_hash`` is the hash of N-1 (otherwise N was moved here: reordered);
3. content: N's hash is the hash of its own fields (otherwise N was edited);
4. checkpoint at N, if any: its signature verifies, it names N's hash, and its record count
   reaches back to the previous checkpoint (otherwise a checkpoint was removed).
At the end: the head row's signature verifies (unless it is the untouched genesis head), and the
head and the newest checkpoint neither claim records that are not there nor leave records out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.gateway.audit.domain.chain import GENESIS_HASH, AuditRecord, ChainHead, Checkpoint

# True only if a trusted audit key made the item's signature over its message (checkpoint or head).
SignatureCheck = Callable[[Checkpoint | ChainHead], bool]


class FindingKind(StrEnum):
    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    CHECKPOINT_SIGNATURE_INVALID = "checkpoint_signature_invalid"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    CHECKPOINT_MISSING = "checkpoint_missing"
    HEAD_MISMATCH = "head_mismatch"
    HEAD_SIGNATURE_INVALID = "head_signature_invalid"
    NOT_AS_PUBLISHED = "not_as_published"  # a checkpoint published on Kafka is missing or different


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    sequence: int
    message: str
    # For a broken link: the prev_hash the record carries, so the caller can find whom it follows.
    orphan_prev_hash: str = ""


@dataclass(frozen=True)
class VerificationReport:
    records: int
    checkpoints: int
    last_sequence: int
    last_hash: str
    finding: Finding | None
    published: int | None = None  # checkpoints compared with those published on Kafka, if asked

    @property
    def ok(self) -> bool:
        return self.finding is None


def link_break(sequence: int, chains_from: int | None) -> Finding:
    """The finding for a record whose prev_hash is not its predecessor's hash."""
    if chains_from is None:
        why = "its prev_hash matches no record (the record it followed was removed or rewritten)"
    else:
        why = f"it was written after seq {chains_from}, not after seq {sequence - 1}"
    return Finding(FindingKind.REORDERED, sequence, f"seq {sequence} is out of place: {why}")


class ChainVerifier:
    """Feed records in ascending sequence; stop at the first finding; then ``finish``."""

    def __init__(self, checkpoints: Iterable[Checkpoint], signature_ok: SignatureCheck):
        self.checkpoints = {c.sequence: c for c in checkpoints}
        self.signature_ok = signature_ok
        self.records = 0
        self.last_sequence = 0
        self.last_hash = GENESIS_HASH
        self._previous_checkpoint = 0

    def feed(self, record: AuditRecord) -> Finding | None:
        n, expected = record.sequence, self.last_sequence + 1
        if n > expected:
            missing = f"seq {expected}" if n == expected + 1 else f"seqs {expected}..{n - 1}"
            where = f"the log starts at seq {n}" if expected == 1 else f"the log jumps from seq {expected - 1} to {n}"
            return Finding(FindingKind.REMOVED, expected, f"{missing} missing: {where}")
        if n < expected:
            return Finding(FindingKind.REORDERED, n, f"seq {n} appears after seq {self.last_sequence}")
        if record.prev_hash != self.last_hash:
            return Finding(FindingKind.REORDERED, n, f"seq {n} is out of place", orphan_prev_hash=record.prev_hash)
        if record.computed_hash() != record.hash:
            return Finding(FindingKind.EDITED, n, f"seq {n} was edited: its hash does not match its contents")
        self.records += 1
        self.last_sequence, self.last_hash = n, record.hash
        checkpoint = self.checkpoints.get(n)
        return self._check_checkpoint(checkpoint) if checkpoint else None

    def _check_checkpoint(self, checkpoint: Checkpoint) -> Finding | None:
        n = checkpoint.sequence
        if not self.signature_ok(checkpoint):
            return Finding(
                FindingKind.CHECKPOINT_SIGNATURE_INVALID,
                n,
                f"checkpoint at seq {n}: signature does not verify with the audit key (key id {checkpoint.key_id})",
            )
        if checkpoint.head_hash != self.last_hash:
            return Finding(
                FindingKind.CHECKPOINT_MISMATCH,
                n,
                f"checkpoint at seq {n} signed another head hash: records after seq "
                f"{self._previous_checkpoint} were rewritten",
            )
        if checkpoint.record_count != n - self._previous_checkpoint:
            return Finding(
                FindingKind.CHECKPOINT_MISSING,
                n,
                f"checkpoint at seq {n} follows seq {n - checkpoint.record_count}, "
                f"but the previous checkpoint found is at seq {self._previous_checkpoint}",
            )
        self._previous_checkpoint = n
        return None

    def finish(self, head: ChainHead) -> Finding | None:
        """After the last record: what the head row and the checkpoints claim must be there."""
        last = self.last_sequence
        if not head.genesis and not self.signature_ok(head):
            return Finding(
                FindingKind.HEAD_SIGNATURE_INVALID,
                head.last_sequence,
                f"the chain head (seq {head.last_sequence}) is not signed by a trusted audit key (key id "
                f"{head.key_id or 'none'}): the head row was rewritten, so records were cut off or rewritten",
            )
        beyond = sorted(s for s in self.checkpoints if s > last)
        if beyond:
            return Finding(
                FindingKind.REMOVED,
                last + 1,
                f"records from seq {last + 1} missing: a checkpoint covers seq {beyond[-1]}",
            )
        if head.last_sequence > last:
            return Finding(
                FindingKind.REMOVED,
                last + 1,
                f"records from seq {last + 1} missing: the head is at seq {head.last_sequence}",
            )
        if head.last_sequence < last:
            return Finding(
                FindingKind.HEAD_MISMATCH,
                head.last_sequence + 1,
                f"seq {head.last_sequence + 1}..{last} lie beyond the head: added outside the audit log",
            )
        if head.last_hash != self.last_hash:
            return Finding(FindingKind.HEAD_MISMATCH, last, f"the head's hash differs from seq {last}'s hash")
        if head.checkpoint_sequence and head.checkpoint_sequence not in self.checkpoints:
            n = head.checkpoint_sequence
            return Finding(FindingKind.CHECKPOINT_MISSING, n, f"the checkpoint at seq {n} is missing")
        return None

    def report(self, finding: Finding | None) -> VerificationReport:
        return VerificationReport(self.records, len(self.checkpoints), self.last_sequence, self.last_hash, finding)
