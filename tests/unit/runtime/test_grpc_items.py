"""A bulk item's error is the very google.rpc.Status its own call would have failed with."""

from __future__ import annotations

import logging

import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from baylink import errors
from baylink.common.v1 import common_pb2
from baylink.runtime.grpc.errors import to_status
from baylink.runtime.grpc.items import fill_item_status


def unpacked(details: list, cls: type) -> list:  # type: ignore[type-arg]
    found = []
    for any_detail in details:
        if any_detail.Is(cls.DESCRIPTOR):
            detail = cls()
            any_detail.Unpack(detail)
            found.append(detail)
    return found


def test_an_invalid_item_carries_the_code_message_and_field_violations_of_its_call() -> None:
    error = errors.InvalidInput.field("send_amount.currency", "ISO 4217 code")

    item = fill_item_status(common_pb2.ItemStatus(), error, "cid-1")

    assert item.code == code_pb2.INVALID_ARGUMENT and item.message == "send_amount.currency: ISO 4217 code"
    (info,) = unpacked(list(item.details), error_details_pb2.ErrorInfo)
    assert info.reason == "INVALID_INPUT" and info.metadata["correlation_id"] == "cid-1"
    (bad,) = unpacked(list(item.details), error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad.field_violations] == [("send_amount.currency", "ISO 4217 code")]
    # Byte for byte what the interceptor puts in grpc-status-details-bin for the unary call.
    unary = dict(to_status(error, "cid-1").trailing_metadata)["grpc-status-details-bin"]
    assert item.SerializeToString() == unary
    assert status_pb2.Status.FromString(item.SerializeToString()).code == code_pb2.INVALID_ARGUMENT


def test_a_precondition_item_keeps_its_violations_and_metadata() -> None:
    error = errors.FailedPrecondition(
        "HKD 990.00 exceeds HKBANK's available HKD 980.00",
        [errors.PreconditionViolation("NET_DEBIT_CAP", "position/HKBANK/HKD", "available HKD 980.00")],
        reason="NET_DEBIT_CAP_EXCEEDED",
    )
    error.metadata["available_minor_units"] = "98000"

    item = fill_item_status(common_pb2.ItemStatus(), error, None)
    code, message, details = item.code, item.message, item.details

    assert code == code_pb2.FAILED_PRECONDITION and message.startswith("HKD 990.00 exceeds")
    (info,) = unpacked(list(details), error_details_pb2.ErrorInfo)
    assert info.reason == "NET_DEBIT_CAP_EXCEEDED" and info.metadata["available_minor_units"] == "98000"
    assert "correlation_id" not in info.metadata
    (failure,) = unpacked(list(details), error_details_pb2.PreconditionFailure)
    assert failure.violations[0].type == "NET_DEBIT_CAP"


def test_an_unexpected_error_is_internal_without_internals_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="baylink.grpc.items"):
        item = fill_item_status(common_pb2.ItemStatus(), RuntimeError("secret table name"), "cid-9")

    assert item.code == code_pb2.INTERNAL and "secret" not in item.message
    (info,) = unpacked(list(item.details), error_details_pb2.ErrorInfo)
    assert info.reason == "INTERNAL" and info.metadata["correlation_id"] == "cid-9"
    assert any(r.exc_info and "secret table name" in str(r.exc_info[1]) for r in caplog.records)


def test_each_item_names_its_own_resource() -> None:
    first = fill_item_status(common_pb2.ItemStatus(), errors.NotFound("transfer", "t-1"), None)
    second = fill_item_status(common_pb2.ItemStatus(), errors.NotFound("transfer", "t-2"), None)
    assert first.code == second.code == code_pb2.NOT_FOUND
    (resource,) = unpacked(list(second.details), error_details_pb2.ResourceInfo)
    assert resource.resource_name == "t-2" and "t-1" not in second.message
