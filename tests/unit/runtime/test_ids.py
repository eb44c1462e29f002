"""Identifiers: UUID version 7, time-ordered across milliseconds, unique."""

from __future__ import annotations

import time
import uuid

from baylink.runtime.context import new_id, uuid7_int, uuid_text


def test_new_ids_are_version_7_uuids_carrying_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(new_id())
    after = time.time_ns() // 1_000_000
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= value.int >> 80 <= after


def test_ids_of_later_milliseconds_sort_after_earlier_ones_and_none_repeat() -> None:
    earlier = [str(uuid.UUID(int=uuid7_int(1_795_000_000_000, r))) for r in (0, 2**80 - 1, 12345)]
    later = [str(uuid.UUID(int=uuid7_int(1_795_000_000_001, r))) for r in (0, 2**80 - 1)]
    assert max(earlier) < min(later)  # as text too: what the outbox's unique index compares
    assert len({new_id() for _ in range(20_000)}) == 20_000


def test_the_random_bits_do_not_spill_into_the_version_or_variant() -> None:
    for random80 in (0, 2**80 - 1, 0xAAAA_AAAA_AAAA_AAAA_AAAA):
        value = uuid.UUID(int=uuid7_int(2**48 - 1, random80))
        assert value.version == 7 and value.variant == uuid.RFC_4122
        assert value.int >> 80 == 2**48 - 1


def test_uuid_text_is_the_standard_form() -> None:
    for value in (0, 1, 2**128 - 1, 0x0123456789ABCDEF0123456789ABCDEF, uuid7_int(1_795_000_000_000, 2**80 - 1)):
        assert uuid_text(value) == str(uuid.UUID(int=value))
