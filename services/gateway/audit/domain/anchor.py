"""Comparing the stored log with the checkpoints the gateway published on Kafka.

The database alone cannot tell a log from an older copy of itself: an intruder who saved the
database (head row, signature and all) can put it back after more was recorded, and everything in
it still verifies. The ``audit.checkpointed`` events on Kafka are a second copy the intruder does
not control, so every published checkpoint must be in the database, unchanged, and the database's
head must be at or past the newest one published.

Published checkpoints must be read before the database's head: anything the gateway publishes is
committed first, so what was published before the head was read is covered by that head.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.gateway.audit.domain.chain import ChainHead, Checkpoint, aware
from services.gateway.audit.domain.verify import Finding, FindingKind


@dataclass(frozen=True)
class PublishedCheckpoint:
    """What an ``AuditCheckpointed`` event says."""

    sequence: int
    head_hash: str
    record_count: int
    first_record_time: datetime
    last_record_time: datetime

    def matches(self, stored: Checkpoint) -> bool:
        return (self.sequence, self.head_hash, self.record_count) == (
            stored.sequence,
            stored.head_hash,
            stored.record_count,
        ) and (aware(self.first_record_time), aware(self.last_record_time)) == (
            aware(stored.first_record_time),
            aware(stored.last_record_time),
        )


def compare_published(
    published: Iterable[PublishedCheckpoint], stored: Mapping[int, Checkpoint], head: ChainHead
) -> Finding | None:
    """The first way the stored log falls short of what was published, or None."""
    ordered = sorted(published, key=lambda p: p.sequence)
    if ordered and ordered[-1].sequence > head.last_sequence:
        newest = ordered[-1].sequence
        return Finding(
            FindingKind.REMOVED,
            head.last_sequence + 1,
            f"records from seq {head.last_sequence + 1} missing: a checkpoint at seq {newest} was published "
            f"on Kafka, but the database's head is at seq {head.last_sequence} (the log was cut back)",
        )
    for checkpoint in ordered:
        mine = stored.get(checkpoint.sequence)
        if mine is None:
            return Finding(
                FindingKind.NOT_AS_PUBLISHED,
                checkpoint.sequence,
                f"the checkpoint at seq {checkpoint.sequence} published on Kafka is not in the database",
            )
        if not checkpoint.matches(mine):
            return Finding(
                FindingKind.NOT_AS_PUBLISHED,
                checkpoint.sequence,
                f"the checkpoint at seq {checkpoint.sequence} differs from the one published on Kafka: "
                f"the log up to seq {checkpoint.sequence} was replaced",
            )
    return None
