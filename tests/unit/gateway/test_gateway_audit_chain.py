"""The audit chain's model: hashing, encoding, validation of what may be logged, checkpoint policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from baylink import errors
from services.gateway.audit.domain.chain import (
    GENESIS_HASH,
    AuditEntry,
    ChainHead,
    CheckpointPolicy,
    chain,
    contains_identity_number,
)
from tests.unit.gateway.conftest import entry

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_records_are_numbered_from_the_head_and_each_chains_to_the_previous_hash() -> None:
    records = chain(ChainHead(), [entry(i) for i in range(3)], NOW)
    assert [r.sequence for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(r.computed_hash() == r.hash for r in records)

    more = chain(ChainHead().after(records), [entry(9)], NOW)
    assert (more[0].sequence, more[0].prev_hash) == (4, records[-1].hash)


@pytest.mark.parametrize(
    "change",
    [
        {"sequence": 2},
        {"recorded_at": NOW + timedelta(microseconds=1)},
        {"actor": "city:440300"},
        {"action": "partner.DecideApplication"},
        {"subject": "another-pseudonym"},
        {"result": "PERMISSION_DENIED"},
        {"correlation_id": "other"},
        {"details": '{"n":2}'},
        {"prev_hash": "f" * 64},
    ],
    ids=lambda c: next(iter(c)),
)
def test_changing_any_field_changes_the_hash(change: dict[str, object]) -> None:
    record = chain(ChainHead(), [entry(1)], NOW)[0]
    assert replace(record, **change).computed_hash() != record.hash  # type: ignore[arg-type]


def test_field_boundaries_cannot_be_shifted_without_changing_the_hash() -> None:
    one = chain(ChainHead(), [entry(1, action="partner.Get", result="OK")], NOW)[0]
    two = chain(ChainHead(), [entry(1, action="partner.Ge", result="tOK")], NOW)[0]
    assert one.hash != two.hash


def test_record_times_never_run_backwards_even_if_the_clock_does() -> None:
    later = NOW + timedelta(seconds=30)
    head = ChainHead(last_sequence=5, last_hash="a" * 64, last_recorded_at=later)
    assert chain(head, [entry(1)], NOW)[0].recorded_at == later


def test_naive_times_read_back_from_sqlite_hash_as_utc() -> None:
    record = chain(ChainHead(), [entry(1)], NOW)[0]
    assert replace(record, recorded_at=NOW.replace(tzinfo=None)).computed_hash() == record.hash


@pytest.mark.parametrize(
    "number",
    [
        "A123456(3)",
        "G1234567",
        "AB9876543",
        "1234567(8)",
        "H12345678",
        "M1234567801",
        "HA1234567",
        "44060519900101123X",
    ],
)
def test_raw_identity_numbers_are_refused_as_subject_or_in_details(number: str) -> None:
    with pytest.raises(errors.InvalidInput) as subject_refused:
        entry(subject=number)
    assert subject_refused.value.violations[0].field == "subject"
    with pytest.raises(errors.InvalidInput) as details_refused:
        entry(details={"note": f"holder {number} came"})
    assert details_refused.value.violations[0].field == "details.note"


@pytest.mark.parametrize(
    "value",
    ["9f2c" * 16, "c0ffee00-1234-4567-89ab-0123456789ab", "A1234567-0000-4000-8000-000000000000", "440605", "OK"],
)
def test_pseudonyms_uuids_and_division_codes_are_not_mistaken_for_identity_numbers(value: str) -> None:
    assert not contains_identity_number(value)
    entry(subject=value, details={"ref": value})


@pytest.mark.parametrize(
    "details",
    [{"nested": {"a": 1}}, {"ratio": 0.5}, {"list": [1, 2]}, {"big": "x" * 3000}],
    ids=["nested", "float", "list", "too-big"],
)
def test_details_must_be_small_flat_json_without_floats(details: dict[str, object]) -> None:
    with pytest.raises(errors.InvalidInput):
        entry(details=details)


def test_details_are_stored_as_canonical_json() -> None:
    a = chain(ChainHead(), [entry(1, details={"b": 1, "a": "ü"})], NOW)[0]
    assert a.details == '{"a":"ü","b":1}'


@pytest.mark.parametrize("actor", ["", "City:440605", "city:", "city:440 605", "x" * 30])
def test_actor_must_be_a_kind_with_an_optional_id(actor: str) -> None:
    with pytest.raises(errors.InvalidInput):
        AuditEntry(actor, "partner.GetApplication", "OK")


def test_checkpoint_is_due_after_n_records_or_after_t_seconds_with_records_pending() -> None:
    policy = CheckpointPolicy(every_records=100, every_seconds=60)
    quiet = ChainHead(last_sequence=100, checkpoint_sequence=100)
    assert not policy.due(quiet, NOW + timedelta(days=1))
    few = ChainHead(last_sequence=105, checkpoint_sequence=100, pending_since=NOW)
    assert not policy.due(few, NOW + timedelta(seconds=59))
    assert policy.due(few, NOW + timedelta(seconds=60))
    many = ChainHead(last_sequence=200, checkpoint_sequence=100, pending_since=NOW)
    assert policy.due(many, NOW)
