"""The gRPC API end to end against the real broker: status codes with details, events on the topic."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.common.v1 import common_pb2
from baylink.events.v1 import payments_events_pb2 as ev
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import settlement_pb2, transfer_pb2
from baylink.runtime.events import EventTypes, from_kafka
from baylink.runtime.settings import KafkaSettings
from services.payments.adapters.iso20022 import PACS_008, validate
from services.payments.bootstrap import Payments
from tests.integration.payments.conftest import running
from tests.integration.runtime.conftest import read_topic
from tests.unit.payments.conftest import PSEUDONYM

pytestmark = pytest.mark.kafka
TYPES = EventTypes.from_contracts()


def hkd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency="HKD", minor_units=minor)


def error_info(exc: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, dict[str, str], list[object]]:
    status = rpc_status.from_call(exc)
    assert status is not None
    reason, metadata, details = "", {}, []
    for any_detail in status.details:
        for cls in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.PreconditionFailure):
            if any_detail.Is(cls.DESCRIPTOR):
                detail = cls()
                any_detail.Unpack(detail)
                details.append(detail)
                if isinstance(detail, error_details_pb2.ErrorInfo):
                    reason, metadata = detail.reason, dict(detail.metadata)
    return exc.code(), reason, metadata, details


def prepare_request(quote: transfer_pb2.Quote, transfer_id: str, **extra: object) -> api.PrepareTransferRequest:
    values: dict[str, object] = {
        "transfer_id": transfer_id,
        "quote_id": quote.quote_id,
        "payer_participant_id": quote.payer_participant_id,
        "payee_participant_id": quote.payee_participant_id,
        "send_amount": quote.send_amount,
        "receive_amount": quote.receive_amount,
        "reference": "NH-FEE-2026-000123",
        "payer_pseudonym": PSEUDONYM,
        "payer_name": "Chan Tai Man",
    }
    values.update(extra)
    return api.PrepareTransferRequest(**values)  # type: ignore[arg-type]


async def test_quote_prepare_commit_over_grpc_publishes_the_events_with_the_fee_reference(
    app: Payments, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("payments")
    async with running(app, kafka_settings, topic) as svc:
        quote = (
            await svc.stub.CreateQuote(
                api.CreateQuoteRequest(
                    quote_id="q-1",
                    payer_participant_id="HKBANK",
                    payee_participant_id="REGISTRY",
                    amount_type=transfer_pb2.AMOUNT_TYPE_RECEIVE,
                    amount_decimal=transfer_pb2.DecimalAmount(currency="CNY", value="500.00"),
                    counter_currency="HKD",
                )
            )
        ).quote
        assert quote.receive_amount.minor_units == 50_000 and quote.send_amount.minor_units == 55_121
        prepared = (await svc.stub.PrepareTransfer(prepare_request(quote, "t-1"))).transfer
        assert prepared.state == transfer_pb2.TRANSFER_STATE_RESERVED and prepared.uetr
        committed = (await svc.stub.CommitTransfer(api.CommitTransferRequest(transfer_id="t-1"))).transfer
        assert committed.state == transfer_pb2.TRANSFER_STATE_COMMITTED
        position = (await svc.stub.GetPosition(api.GetPositionRequest(participant_id="HKBANK"))).positions[0]
        assert position.position.minor_units == 55_121 and position.reserved.minor_units == 0
        exported = await svc.stub.ExportIso20022(
            api.ExportIso20022Request(transfer_id="t-1", message_type=settlement_pb2.ISO20022_MESSAGE_TYPE_PACS_008)
        )
        assert exported.schema_validated and exported.uetr == committed.uetr
        validate(exported.document, PACS_008)

        records = await read_topic(kafka_settings, topic, expected=3)
    events = [from_kafka(r.headers, r.value) for r in records]
    assert [e.type for e in events if e.subject == "q-1"] == ["baylink.payments.quote.created.v1"]
    # one aggregate's events share a partition, in order
    transfer_events = [e for e in events if e.subject == "t-1"]
    assert [e.type for e in transfer_events] == [
        "baylink.payments.transfer.reserved.v1",
        "baylink.payments.transfer.committed.v1",
    ]
    done = TYPES.decode(transfer_events[1])
    assert isinstance(done, ev.TransferCommitted)
    assert done.reference == "NH-FEE-2026-000123" and done.uetr == committed.uetr
    assert done.settlement_window_id == committed.settlement_window_id
    assert done.fee.minor_units == 500
    assert transfer_events[1].source == "/baylink/payments"
    assert all(b"Chan Tai Man" not in r.value for r in records)  # no names in events


async def test_refusals_come_back_as_specific_codes_with_details(
    app: Payments, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("payments")
    async with running(app, kafka_settings, topic) as svc:
        base = api.CreateQuoteRequest(
            quote_id="q-1", payer_participant_id="HKBANK", payee_participant_id="REGISTRY",
            amount_type=transfer_pb2.AMOUNT_TYPE_SEND, counter_currency="CNY",
        )  # fmt: skip
        cases = [
            ({"amount": hkd(0)}, grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_NOT_POSITIVE"),
            ({"amount": hkd(-100)}, grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_NOT_POSITIVE"),
            (
                {"amount_decimal": transfer_pb2.DecimalAmount(currency="HKD", value="10.005")},
                grpc.StatusCode.INVALID_ARGUMENT,
                "AMOUNT_TOO_PRECISE",
            ),
            (
                {"amount": common_pb2.Money(currency="XXY", minor_units=100)},
                grpc.StatusCode.INVALID_ARGUMENT,
                "UNKNOWN_CURRENCY",
            ),
        ]
        for change, code, reason in cases:
            request = api.CreateQuoteRequest()
            request.CopyFrom(base)
            for key, value in change.items():
                getattr(request, key).CopyFrom(value)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await svc.stub.CreateQuote(request)
            got_code, got_reason, _, details = error_info(caught.value)
            assert (got_code, got_reason) == (code, reason)
            assert any(isinstance(d, error_details_pb2.BadRequest) and d.field_violations for d in details)

        await svc.stub.SetNetDebitCap(api.SetNetDebitCapRequest(participant_id="HKBANK", net_debit_cap=hkd(20_000)))
        quote = (await svc.stub.CreateQuote(api.CreateQuoteRequest(**{**_fields(base), "amount": hkd(15_000)}))).quote
        await svc.stub.PrepareTransfer(prepare_request(quote, "t-1"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.stub.PrepareTransfer(prepare_request(quote, "t-1", reference="changed"))
        assert error_info(caught.value)[:2] == (grpc.StatusCode.ALREADY_EXISTS, "MODIFIED_REQUEST")
        assert "modified request" in (caught.value.details() or "")

        quote2 = (
            await svc.stub.CreateQuote(
                api.CreateQuoteRequest(**{**_fields(base), "quote_id": "q-2", "amount": hkd(9_000)})
            )
        ).quote
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.stub.PrepareTransfer(prepare_request(quote2, "t-2", payer_pseudonym="e5" * 32))
        code, reason, metadata, details = error_info(caught.value)
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NET_DEBIT_CAP_EXCEEDED")
        assert metadata["available_minor_units"] == "5000"
        assert any(isinstance(d, error_details_pb2.PreconditionFailure) for d in details)

        quote3 = (
            await svc.stub.CreateQuote(
                api.CreateQuoteRequest(**{**_fields(base), "quote_id": "q-3", "amount": hkd(1_000)})
            )
        ).quote
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.stub.PrepareTransfer(prepare_request(quote3, "t-3", payer_name="Wong Ka Fictus"))
        assert error_info(caught.value)[:2] == (grpc.StatusCode.PERMISSION_DENIED, "SANCTIONS_HIT")

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.stub.CommitTransfer(api.CommitTransferRequest(transfer_id="t-3"))
        assert error_info(caught.value)[:2] == (grpc.StatusCode.FAILED_PRECONDITION, "TRANSFER_ABORTED")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.stub.GetTransfer(api.GetTransferRequest(transfer_id="nope"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_participants_rates_and_settlement_windows_over_grpc(
    app: Payments, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("payments")
    async with running(app, kafka_settings, topic) as svc:
        created = await svc.stub.CreateParticipant(
            api.CreateParticipantRequest(
                participant_id="MOBANK2",
                name=common_pb2.LocalizedText(en="Second Macau Bank", pt="Segundo Banco de Macau"),
                currencies=["MOP"],
                jurisdiction=common_pb2.JURISDICTION_MO,
            )
        )
        assert created.participant.active and list(created.participant.currencies) == ["MOP"]
        listed = await svc.stub.ListParticipants(api.ListParticipantsRequest())
        assert "MOBANK2" in [p.participant_id for p in listed.participants]
        rate = await svc.stub.SetRate(
            api.SetRateRequest(
                rate=transfer_pb2.Rate(source_currency="MOP", target_currency="CNY", rate="0.8950", spread_bps=40)
            )
        )
        assert rate.rate.rate == "0.8950"
        (window,) = (
            await svc.stub.ListSettlementWindows(
                api.ListSettlementWindowsRequest(states=[settlement_pb2.SETTLEMENT_WINDOW_STATE_OPEN])
            )
        ).windows
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.stub.OpenSettlementWindow(api.OpenSettlementWindowRequest())
        assert error_info(caught.value)[1] == "WINDOW_ALREADY_OPEN"
        closed = await svc.stub.CloseSettlementWindow(
            api.CloseSettlementWindowRequest(settlement_window_id=window.settlement_window_id, reason="test")
        )
        assert closed.report.window.state == settlement_pb2.SETTLEMENT_WINDOW_STATE_CLOSED
        settled = await svc.stub.SettleSettlementWindow(
            api.SettleSettlementWindowRequest(settlement_window_id=window.settlement_window_id)
        )
        assert settled.report.window.state == settlement_pb2.SETTLEMENT_WINDOW_STATE_SETTLED
        records = await read_topic(kafka_settings, topic, expected=1)
    assert [from_kafka(r.headers, r.value).type for r in records] == ["baylink.payments.settlement.window_closed.v1"]


def _fields(message: api.CreateQuoteRequest) -> dict[str, object]:
    return {f.name: v for f, v in message.ListFields()}
