"""Throughput: how many events of each type arrived in each time bucket."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baylink.ops.records import OpsRecord, iso


@dataclass
class Bucket:
    start: datetime
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON shape of the console."""
        return {"start": iso(self.start), "counts": dict(sorted(self.counts.items()))}


def count_buckets(records: Iterable[OpsRecord], start: datetime, end: datetime, bucket_seconds: int) -> list[Bucket]:
    """Buckets of ``bucket_seconds`` from ``start`` (aligned down to a multiple of the bucket) to ``end``,
    every one present even when empty; records outside the range are ignored. Untyped records count as
    ``"(not a CloudEvent)"``."""
    if bucket_seconds < 1:
        raise ValueError("bucket_seconds must be at least 1")
    if end <= start:
        raise ValueError("end must be after start")
    epoch = int(start.timestamp())
    first = start - timedelta(seconds=epoch % bucket_seconds, microseconds=start.microsecond)
    buckets: list[Bucket] = []
    moment = first
    while moment < end:
        buckets.append(Bucket(moment))
        moment += timedelta(seconds=bucket_seconds)
    for record in records:
        if not first <= record.timestamp < end:
            continue
        index = int((record.timestamp - first).total_seconds() // bucket_seconds)
        kind = record.type or "(not a CloudEvent)"
        counts = buckets[index].counts
        counts[kind] = counts.get(kind, 0) + 1
    return buckets
