"""Reading Baylink's Kafka topics for operators: the console and the operator CLI stand on this.

Nothing here joins a consumer group or commits an offset: readers assign partitions themselves and
seek by offset or by time, so looking never moves a service's position.

- ``records``: a Kafka record decoded into the operator's view (``OpsRecord``) and filters over it;
- ``reader``: a live tail, bounded reads since a time, a flow's timeline by correlation id;
- ``groups``: consumer groups with committed offsets, end offsets and lag per partition;
- ``dlq``: the dead-letter topic's records with their ``baylink_dlq_*`` headers, and replay;
- ``throughput``: counts per event type in time buckets.
"""

from baylink.ops.dlq import DeadLetter, DeadLetterIndex, parse_dlq_id, replay_dead_letter
from baylink.ops.groups import GroupLag, PartitionLag, consumer_group_lags
from baylink.ops.reader import TopicReader
from baylink.ops.records import OpsRecord, RecordFilter, decode_record
from baylink.ops.throughput import Bucket, count_buckets

__all__ = [
    "Bucket",
    "DeadLetter",
    "DeadLetterIndex",
    "GroupLag",
    "OpsRecord",
    "PartitionLag",
    "RecordFilter",
    "TopicReader",
    "consumer_group_lags",
    "count_buckets",
    "decode_record",
    "parse_dlq_id",
    "replay_dead_letter",
]
