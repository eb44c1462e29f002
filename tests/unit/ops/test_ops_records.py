"""The operators' library without a broker: decoding, filters, buckets, dead-letter headers, alerts, cursors,
console passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from baylink import errors
from baylink.events.v1 import registry_events_pb2 as reg
from baylink.ops import RecordFilter, count_buckets, decode_record, parse_dlq_id
from baylink.ops.dlq import parse_dead_letter
from baylink.runtime.context import correlation_scope
from baylink.runtime.events import EventTypes
from services.gateway.console.adapters.users import load_users
from services.gateway.console.domain.passwords import hash_password, verify_password
from services.gateway.console.service_layer.alerts import AlertBook
from services.gateway.partner.adapters.events import decode_cursor, encode_cursor

TYPES = EventTypes.from_contracts()
T0 = datetime(2026, 12, 1, 8, 0, 7, tzinfo=UTC)


def record(headers: list[tuple[str, bytes]], value: bytes, *, topic: str = "t", offset: int = 0, at: datetime = T0):
    return ConsumerRecord(topic, 0, offset, int(at.timestamp() * 1000), 0, b"k", value, None, len(value), 0, headers)


def overdue_record(authority: str = "440605", at: datetime = T0, topic: str = "t"):
    with correlation_scope("flow-1"):
        event = TYPES.new(reg.ApplicationOverdue(application_id="a-1", authority_code=authority), subject="a-1",
                          source="/baylink/registry")  # fmt: skip
    return record(event.kafka_headers(), event.data, at=at, topic=topic)


def test_an_event_decodes_into_the_console_shape_with_service_city_and_body() -> None:
    decoded = decode_record(overdue_record(), TYPES).to_json()
    assert (decoded["type"], decoded["service"], decoded["city"]) == (
        "baylink.registry.application.overdue.v1", "registry", "440605")  # fmt: skip
    assert decoded["correlation_id"] == "flow-1" and decoded["subject"] == "a-1"
    assert decoded["timestamp"] == "2026-12-01T08:00:07.000Z" and decoded["data"]["application_id"] == "a-1"


def test_a_record_that_is_not_a_cloudevent_is_shown_with_the_reason() -> None:
    decoded = decode_record(record([], b"\x00junk"), TYPES)
    assert decoded.type == "" and "missing CloudEvents headers" in decoded.data["undecodable"]


def test_filters_match_types_by_prefix_and_every_given_field() -> None:
    decoded = decode_record(overdue_record(), TYPES)
    assert RecordFilter.of(["baylink.registry"]).matches(decoded)
    assert not RecordFilter.of(["baylink.reg"]).matches(decoded)  # a prefix is whole dotted parts
    assert RecordFilter.of([""], service="registry", city="440605", correlation_id="flow-1").matches(decoded)
    assert not RecordFilter.of(city="440300").matches(decoded)
    assert not RecordFilter.of(correlation_id="other").matches(decoded)


def test_buckets_are_aligned_complete_and_count_per_type() -> None:
    records = [decode_record(overdue_record(at=T0 + timedelta(seconds=s)), TYPES) for s in (0, 1, 25, 90)]
    buckets = count_buckets(records, T0, T0 + timedelta(seconds=60), 10)
    assert buckets[0].start == datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC) and len(buckets) == 7
    assert [sum(b.counts.values()) for b in buckets] == [2, 0, 0, 1, 0, 0, 0]  # :32 in the 4th; +90 s is past
    with pytest.raises(ValueError):
        count_buckets([], T0, T0, 10)


def test_a_dead_letter_reads_its_origin_and_keeps_only_the_original_headers() -> None:
    original = overdue_record()
    headers = [*original.headers, ("baylink_dlq_error", b"boom"), ("baylink_dlq_topic", b"baylink.registry.v1"),
               ("baylink_dlq_partition", b"4"), ("baylink_dlq_offset", b"17"), ("baylink_dlq_group", b"g"),
               ("baylink_dlq_attempts", b"3"), ("baylink_dlq_time", T0.isoformat().encode())]  # fmt: skip
    letter = parse_dead_letter(record(headers, original.value, topic="baylink.dlq.v1", offset=9))
    assert letter.dlq_id == "baylink.dlq.v1:0:9" and parse_dlq_id(letter.dlq_id) == ("baylink.dlq.v1", 0, 9)
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == ("baylink.registry.v1", 4, 17)
    assert (letter.error, letter.attempts, letter.group, letter.dead_at) == ("boom", 3, "g", T0)
    assert list(letter.original_headers) == list(original.headers)
    for bad in ("", "topic", "topic:x:1", "topic:1:-1"):
        with pytest.raises(ValueError):
            parse_dlq_id(bad)


def test_alerts_come_from_overdue_events_and_a_growing_dlq_once_per_window() -> None:
    book = AlertBook("dlq", threshold=3, window_seconds=60)
    assert book.observe(decode_record(overdue_record(), TYPES)).kind == "overdue"  # type: ignore[union-attr]
    dead = [decode_record(overdue_record(at=T0 + timedelta(seconds=s), topic="dlq"), TYPES) for s in (1, 2, 3, 4)]
    raised = [book.observe(d) for d in dead]
    assert [a.kind if a else None for a in raised] == [None, None, "dlq_growth", None]
    assert [a.kind for a in book.alerts] == ["dlq_growth", "overdue"]  # newest first


def test_console_passwords_are_salted_scrypt_and_users_files_are_checked(tmp_path: Path) -> None:
    stored = hash_password("correct horse", n=2**10)
    assert stored.startswith("scrypt$n=1024,r=8,p=1$") and stored != hash_password("correct horse", n=2**10)
    assert verify_password("correct horse", stored) and not verify_password("wrong horse", stored)
    users = tmp_path / "users.toml"
    users.write_text(f'[[user]]\nname = "ana"\nrole = "operator"\npassword_hash = "{stored}"\n')
    assert load_users(users)["ana"].role == "operator"
    users.write_text(f'[[user]]\nname = "ana"\nrole = "admin"\npassword_hash = "{stored}"\n')
    with pytest.raises(ValueError, match="role must be one of viewer, operator"):
        load_users(users)
    users.write_text('[[user]]\nname = "ana"\nrole = "viewer"\npassword_hash = "plain"\n')
    with pytest.raises(ValueError, match="password_hash"):
        load_users(users)


def test_partner_cursors_round_trip_and_foreign_ones_are_refused() -> None:
    cursor = encode_cursor("registry", {0: 5, 2: 9})
    assert decode_cursor(cursor, "registry") == {0: 5, 2: 9}
    for bad in (cursor + "x", "c1.!!", encode_cursor("other", {0: 1}), "v9.abc"):
        with pytest.raises(errors.InvalidInput):
            decode_cursor(bad, "registry")
