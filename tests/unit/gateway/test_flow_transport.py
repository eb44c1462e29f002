"""The flow worker's consumer rewinds stream partitions that have no committed offset (issue 17's stall)."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from services.gateway.flows.config import FlowSettings
from services.gateway.flows.transport import (
    FlowTransport,
    RewindingConsumer,
    held_back,
    never_committed,
    read_again,
    stream_starts,
)
from services.gateway.flows.worker import build_app

CHANGELOG = "flows-changelog"


def is_changelog(tp: TP) -> bool:
    return tp.topic == CHANGELOG


def test_a_stream_partition_without_a_commit_or_at_zero_is_rewound_and_one_with_a_commit_is_not() -> None:
    committed = {TP("pay", 0): None, TP("pay", 1): 0, TP("pay", 2): 3, TP("reg", 4): None}
    assert never_committed(committed, is_changelog) == [TP("pay", 0), TP("pay", 1), TP("reg", 4)]


def test_changelog_partitions_are_left_to_the_table_recovery() -> None:
    assert never_committed({TP(CHANGELOG, 0): None, TP(CHANGELOG, 1): 7}, is_changelog) == []


def test_the_worker_app_consumes_through_the_rewinding_consumer() -> None:
    app = build_app(FlowSettings(app_id="flows-transport-test"), new_refunds=lambda: None)  # type: ignore[arg-type,return-value]
    assert isinstance(app.transport, FlowTransport)
    assert app.transport.Consumer is RewindingConsumer


def test_records_taken_while_streams_are_suspended_are_put_back_at_the_first_of_each_stream_partition() -> None:
    records = {
        TP("pay", 2): [SimpleNamespace(offset=5), SimpleNamespace(offset=6)],
        TP("reg", 0): [SimpleNamespace(offset=0)],
        TP(CHANGELOG, 1): [SimpleNamespace(offset=9)],
        TP("pay", 3): [],
    }
    assert held_back(records, is_changelog) == {TP("pay", 2): 5, TP("reg", 0): 0}


def test_a_fetch_that_starts_at_or_below_the_last_offset_read_is_a_rewind_to_read_again() -> None:
    records = {
        TP("pay", 4): [SimpleNamespace(offset=0), SimpleNamespace(offset=1)],
        TP("pay", 5): [SimpleNamespace(offset=3)],
        TP("reg", 0): [SimpleNamespace(offset=7)],
        TP(CHANGELOG, 0): [SimpleNamespace(offset=2)],
    }
    read = {TP("pay", 4): 1, TP("pay", 5): 2, TP("reg", 0): None, TP(CHANGELOG, 0): 5}
    assert read_again(records, read, is_changelog) == [TP("pay", 4)]


def test_commits_of_a_stream_partition_wait_while_its_replay_is_pending() -> None:
    app = build_app(FlowSettings(app_id="flows-transport-hold"), new_refunds=lambda: None)  # type: ignore[arg-type,return-value]
    consumer = app.consumer
    pay = TP("pay", 1)
    consumer._acked[pay] = [0, 1, 2]
    consumer._held = frozenset({pay})
    assert consumer._new_offset(pay) is None
    consumer._held = frozenset()
    assert consumer._new_offset(pay) == 3


def test_a_generation_starts_at_the_commit_else_the_log_start_else_zero() -> None:
    committed = {TP("pay", 0): None, TP("pay", 1): 0, TP("pay", 2): 3, TP("reg", 4): None, TP(CHANGELOG, 0): None}
    earliest = {TP("pay", 0): 12, TP("pay", 1): 0, TP("pay", 2): 1}
    assert stream_starts(committed, earliest, is_changelog) == {
        TP("pay", 0): 12,  # never committed, the log starts at 12 (retention removed the rest)
        TP("pay", 1): 0,
        TP("pay", 2): 3,  # committed: the commit, whatever the log's start
        TP("reg", 4): 0,  # no broker said where the log starts
    }
