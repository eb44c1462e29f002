"""PrepareTransfers / CommitTransfers over real gRPC: each item is what its unary call answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from baylink.common.v1 import common_pb2
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import transfer_pb2
from baylink.runtime.events import from_kafka
from baylink.runtime.settings import KafkaSettings
from services.payments.bootstrap import Payments
from services.payments.service_layer import audit
from services.payments.service_layer.bulk import MAX_ITEMS
from tests.integration.payments.conftest import running
from tests.integration.payments.test_grpc_api import hkd, prepare_request
from tests.integration.runtime.conftest import read_topic

pytestmark = pytest.mark.kafka
DETAILS = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.ResourceInfo,
    error_details_pb2.QuotaFailure,
    error_details_pb2.RetryInfo,
)


def comparable(status: Any) -> tuple[int, str, list[Any]]:
    """A status (google.rpc.Status or ItemStatus) with its details unpacked and the per-call
    correlation id left out: everything else must be the same for an item and its unary call."""
    details = []
    for any_detail in status.details:
        (cls,) = [c for c in DETAILS if any_detail.Is(c.DESCRIPTOR)]
        detail = cls()
        any_detail.Unpack(detail)
        if isinstance(detail, error_details_pb2.ErrorInfo):
            detail.metadata.pop("correlation_id", None)
        details.append(detail)
    return status.code, status.message, details


async def unary(call: Any, request: Any) -> Any:
    """The unary call's answer: its response, or its google.rpc.Status."""
    try:
        return await call(request)
    except grpc.aio.AioRpcError as exc:
        status = rpc_status.from_call(exc)
        assert status is not None
        return status


def assert_same_as_unary(result: Any, answer: Any) -> None:
    if result.HasField("error"):
        assert isinstance(answer, status_pb2.Status), f"bulk refused, unary answered {answer}"
        assert comparable(result.error) == comparable(answer)
    else:
        assert not isinstance(answer, status_pb2.Status), f"bulk answered, unary refused: {answer}"
        assert result.response == answer


async def make_quote(svc: Any, quote_id: str, minor: int) -> transfer_pb2.Quote:
    request = api.CreateQuoteRequest(
        quote_id=quote_id, payer_participant_id="HKBANK", payee_participant_id="REGISTRY",
        amount_type=transfer_pb2.AMOUNT_TYPE_SEND, amount=hkd(minor), counter_currency="CNY",
    )  # fmt: skip
    return (await svc.stub.CreateQuote(request)).quote


def person(i: int) -> str:
    return f"{i:04x}" * 16


async def test_a_bulk_over_grpc_answers_every_item_as_its_unary_call_and_publishes_only_the_good_ones(
    app: Payments, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("payments")
    async with running(app, kafka_settings, topic) as svc:
        await svc.stub.SetNetDebitCap(api.SetNetDebitCapRequest(participant_id="HKBANK", net_debit_cap=hkd(100_000)))
        good = [await make_quote(svc, f"q-{i}", 10_000) for i in range(4)]
        big = await make_quote(svc, "q-big", 90_000)
        hit = await make_quote(svc, "q-hit", 1_000)
        earlier = await make_quote(svc, "q-mod", 2_000)
        await svc.stub.PrepareTransfer(prepare_request(earlier, "t-mod", payer_pseudonym=person(50)))
        no_amount = prepare_request(good[3], "t-noamount", payer_pseudonym=person(51))
        no_amount.ClearField("send_amount")
        items = [
            prepare_request(good[0], "t-0", payer_pseudonym=person(0)),
            prepare_request(big, "t-big", payer_pseudonym=person(60)),  # over the cap beside the good ones
            prepare_request(good[1], "t-1", payer_pseudonym=person(1)),
            prepare_request(hit, "t-hit", payer_name="Wong Ka Fictus", payer_pseudonym=person(61)),
            prepare_request(earlier, "t-mod", payer_pseudonym=person(50)),  # same request: same answer
            prepare_request(earlier, "t-mod", payer_pseudonym=person(50), reference="CHANGED"),
            no_amount,
            prepare_request(good[2], "t-2", payer_pseudonym=person(2)),
        ]

        prepared = await svc.stub.PrepareTransfers(api.PrepareTransfersRequest(requests=items))

        results = list(prepared.results)
        assert len(results) == len(items)
        states = [r.response.transfer.state if r.HasField("response") else r.error.code for r in results]
        reserved = transfer_pb2.TRANSFER_STATE_RESERVED
        codes = grpc.StatusCode
        assert states == [
            reserved, codes.FAILED_PRECONDITION.value[0], reserved, codes.PERMISSION_DENIED.value[0], reserved,
            codes.ALREADY_EXISTS.value[0], codes.INVALID_ARGUMENT.value[0], reserved,
        ]  # fmt: skip
        (bad,) = [d for d in comparable(results[6].error)[2] if isinstance(d, error_details_pb2.BadRequest)]
        assert [v.field for v in bad.field_violations] == ["send_amount"]  # relative to the item
        assert "modified request" in results[5].error.message
        for item, result in zip(items, results, strict=True):
            assert_same_as_unary(result, await unary(svc.stub.PrepareTransfer, item))

        ids = ["t-0", "t-1", "t-big", "t-2", "t-mod", "nobody"]
        committed = await svc.stub.CommitTransfers(
            api.CommitTransfersRequest(requests=[api.CommitTransferRequest(transfer_id=t) for t in ids])
        )
        outcome = [r.response.transfer.state if r.HasField("response") else r.error.code for r in committed.results]
        done = transfer_pb2.TRANSFER_STATE_COMMITTED
        assert outcome == [done, done, codes.FAILED_PRECONDITION.value[0], done, done, codes.NOT_FOUND.value[0]]
        for transfer_id, result in zip(ids, committed.results, strict=True):
            request = api.CommitTransferRequest(transfer_id=transfer_id)
            assert_same_as_unary(result, await unary(svc.stub.CommitTransfer, request))

        # quotes, reserved, refused, committed
        records = await read_topic(kafka_settings, topic, expected=7 + 4 + 2 + 4)
    events = [from_kafka(r.headers, r.value) for r in records]
    committed_ids = sorted(e.subject for e in events if e.type == "baylink.payments.transfer.committed.v1")
    assert committed_ids == ["t-0", "t-1", "t-2", "t-mod"]
    aborted_ids = sorted(e.subject for e in events if e.type == "baylink.payments.transfer.aborted.v1")
    assert aborted_ids == ["t-big", "t-hit"]  # refusals recorded once each, as the unary call records them
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 4


async def test_a_bulk_commit_of_reserved_unknown_and_expired_transfers_over_grpc(
    app: Payments, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("payments")
    async with running(app, kafka_settings, topic) as svc:
        quotes = [await make_quote(svc, f"q-{i}", 5_000) for i in range(3)]
        soon = timestamp_pb2.Timestamp()
        soon.FromDatetime(datetime.now(UTC) + timedelta(seconds=1))
        items = [prepare_request(q, f"t-{i}", payer_pseudonym=person(i)) for i, q in enumerate(quotes)]
        items[1].expires_at.CopyFrom(soon)
        prepared = await svc.stub.PrepareTransfers(api.PrepareTransfersRequest(requests=items))
        assert all(r.HasField("response") for r in prepared.results)
        await asyncio.sleep(1.2)  # t-1's reservation lapses

        committed = await svc.stub.CommitTransfers(
            api.CommitTransfersRequest(
                requests=[api.CommitTransferRequest(transfer_id=t) for t in ("t-0", "t-1", "missing", "t-2")]
            )
        )

        first, late, missing, last = committed.results
        assert first.response.transfer.state == last.response.transfer.state == transfer_pb2.TRANSFER_STATE_COMMITTED
        late_info = comparable(late.error)
        assert late_info[0] == grpc.StatusCode.FAILED_PRECONDITION.value[0]
        assert [d.reason for d in late_info[2] if isinstance(d, error_details_pb2.ErrorInfo)] == ["TRANSFER_EXPIRED"]
        assert missing.error.code == grpc.StatusCode.NOT_FOUND.value[0]
        position = (await svc.stub.GetPosition(api.GetPositionRequest(participant_id="HKBANK"))).positions[0]
        assert position.reserved.minor_units == 0  # the expired one's reservation was released
    report = await audit.audit(app.deps)
    assert report.breaches == [] and report.committed == 2


@pytest.mark.parametrize("count", [0, MAX_ITEMS + 1])
async def test_an_empty_or_oversized_bulk_is_invalid_argument_naming_requests(
    app: Payments, kafka_settings: KafkaSettings, new_topic, count: int
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("payments")
    async with running(app, kafka_settings, topic) as svc:
        prepares = [api.PrepareTransferRequest(transfer_id=f"t-{i}") for i in range(count)]
        commits = [api.CommitTransferRequest(transfer_id=f"t-{i}") for i in range(count)]
        for call, request in (
            (svc.stub.PrepareTransfers, api.PrepareTransfersRequest(requests=prepares)),
            (svc.stub.CommitTransfers, api.CommitTransfersRequest(requests=commits)),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            status = rpc_status.from_call(caught.value)
            assert status is not None
            (bad,) = [d for d in comparable(status)[2] if isinstance(d, error_details_pb2.BadRequest)]
            assert [v.field for v in bad.field_violations] == ["requests"]
            assert str(count) in bad.field_violations[0].description
        listed = await svc.stub.ListTransfers(api.ListTransfersRequest())
        assert list(listed.transfers) == []  # nothing of a refused bulk was recorded


def test_the_item_status_is_the_common_contract_type() -> None:
    assert api.PrepareTransferResult.DESCRIPTOR.fields_by_name["error"].message_type is (
        common_pb2.ItemStatus.DESCRIPTOR
    )
