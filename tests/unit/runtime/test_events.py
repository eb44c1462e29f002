from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baylink.events.v1 import runtime_events_pb2
from baylink.runtime.context import correlation_scope
from baylink.runtime.events import CloudEvent, EventTypes, MalformedEvent, from_kafka, topic_for_type

TYPES = EventTypes.from_contracts()


def probe(n: int = 1) -> runtime_events_pb2.ProbeRecorded:
    return runtime_events_pb2.ProbeRecorded(aggregate_id="agg-1", sequence=n, note="hello")


def test_every_event_message_of_the_contracts_declares_a_well_formed_unique_type() -> None:
    assert "baylink.registry.application.submitted.v1" in TYPES.types
    assert "baylink.payments.transfer.committed.v1" in TYPES.types
    for event_type in TYPES.types:
        service, version = event_type.split(".")[1], event_type.split(".")[-1]
        assert topic_for_type(event_type) == f"baylink.{service}.{version}"


def test_new_event_carries_type_subject_source_and_the_calls_correlation_id() -> None:
    with correlation_scope("corr-123", causation_id="cause-9", traceparent="00-abc-def-01"):
        event = TYPES.new(probe(), subject="agg-1", source="/baylink/runtime")
    assert event.type == "baylink.runtime.probe.recorded.v1"
    assert event.topic == "baylink.runtime.v1"
    assert (event.correlation_id, event.causation_id, event.traceparent) == (
        "corr-123",
        "cause-9",
        "00-abc-def-01",
    )
    assert event.key == b"agg-1"


def test_binary_mode_headers_round_trip_to_the_same_event_and_message() -> None:
    with correlation_scope("corr-1"):
        event = TYPES.new(probe(7), subject="agg-1", source="/baylink/runtime")
    headers = event.kafka_headers()
    names = [name for name, _ in headers]
    assert names[:7] == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "content-type",
    ]
    assert dict(headers)["content-type"] == b"application/protobuf"
    back = from_kafka(headers, event.data)
    assert back == event
    assert TYPES.decode(back) == probe(7)


def test_non_cloudevents_headers_are_kept_untouched() -> None:
    event = TYPES.new(probe(), subject="a", source="/s")
    back = from_kafka([*event.kafka_headers(), ("baylink_dlq_error", b"boom")], event.data)
    assert back.extra_headers == (("baylink_dlq_error", b"boom"),)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([], "missing CloudEvents headers: ce_specversion, ce_id, ce_source, ce_type"),
        (
            [("ce_specversion", b"0.3"), ("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t")],
            "unsupported ce_specversion",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"\xff"), ("ce_source", b"/s"), ("ce_type", b"t")],
            "not UTF-8",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/s"),
                ("ce_type", b"t"),
                ("ce_time", b"yesterday"),
            ],
            "not ISO 8601",
        ),
    ],
)
def test_records_that_are_not_cloudevents_are_refused_with_the_reason(headers, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedEvent, match=message):
        from_kafka(headers, b"")


def test_unknown_type_and_undecodable_body_are_malformed() -> None:
    base = dict(id="1", source="/s", subject="a", time=datetime.now(UTC))
    with pytest.raises(MalformedEvent, match="unknown event type"):
        TYPES.decode(CloudEvent(type="baylink.nobody.thing.happened.v1", data=b"", **base))
    with pytest.raises(MalformedEvent, match="does not decode"):
        TYPES.decode(CloudEvent(type="baylink.runtime.probe.recorded.v1", data=b"\xff\xff\xff", **base))


def test_a_message_that_is_not_an_event_has_no_type() -> None:
    from google.protobuf import timestamp_pb2

    with pytest.raises(ValueError, match="not an event message"):
        TYPES.type_of(timestamp_pb2.Timestamp())
