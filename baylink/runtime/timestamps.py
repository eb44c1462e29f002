"""datetime → google.protobuf.Timestamp, for the mappings at every service's edge.

What ``Timestamp.FromDatetime`` sets, without its detour through ``utctimetuple`` and
``calendar.timegm``: the difference from the epoch is exact. Every report and transfer is
mapped on the hot path, so the detour shows. Datetimes are aware.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def set_timestamp(target: Timestamp, moment: datetime) -> None:
    """Write ``moment`` into a message's timestamp field in place."""
    since = moment - _EPOCH
    target.seconds = since.days * 86_400 + since.seconds
    target.nanos = since.microseconds * 1000


def to_timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    since = moment - _EPOCH
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000)
