"""Rejected after payment: the flow worker refunds the fee through the real payments service, exactly once."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.protobuf.message import Message

from baylink.common.v1 import common_pb2
from baylink.events.v1 import gateway_events_pb2 as gw
from baylink.events.v1 import registry_events_pb2 as re
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import transfer_pb2
from baylink.runtime.events import CloudEvent
from baylink.runtime.settings import KafkaSettings
from services.gateway.flows.refund import refund_transfer_id
from services.payments.bootstrap import Payments
from services.payments.service_layer.audit import audit
from tests.conftest import TopicFactory
from tests.integration.gateway.flows_support import (
    cloud_event,
    distinct,
    flow_outputs,
    flow_topics,
    produce,
    running_worker,
)
from tests.integration.payments.conftest import running
from tests.unit.payments.conftest import PSEUDONYM, Clock, make_app

pytestmark = pytest.mark.kafka
NANHAI = "440605"
FEE = common_pb2.Money(currency="CNY", minor_units=50_000)
REJECTED = f"completed:{gw.FLOW_OUTCOME_REJECTED}"


@pytest.fixture
async def payments(tmp_path: Path) -> AsyncIterator[Payments]:
    from services.payments.service_layer.unit_of_work import utc_now

    app = await make_app(f"sqlite+aiosqlite:///{tmp_path / 'payments.db'}", Clock())
    app.deps.clock = utc_now
    yield app
    await app.deps.db.dispose()


async def test_a_rejection_after_payment_refunds_the_fee_once(
    payments: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    flow, app_id = f"corr-{uuid.uuid4().hex}", f"app-{uuid.uuid4().hex[:8]}"
    ref, fee_id = f"NH-FEE-{uuid.uuid4().hex[:6]}", f"fee-{uuid.uuid4().hex[:8]}"
    topics = await flow_topics(new_topic)
    async with running(payments, kafka_settings, topics.payments) as svc:
        topics.extra_env["BAYLINK_FLOWS_PAYMENTS_TARGET"] = f"127.0.0.1:{svc.port}"
        topics.extra_env["BAYLINK_FLOWS_TIMER_INTERVAL_SECONDS"] = "1"
        meta = (("x-correlation-id", flow),)  # payments' events carry the flow's correlation id

        def reg(message: Message) -> CloudEvent:
            return cloud_event(message, subject=app_id, correlation_id=flow)

        async with running_worker(kafka_settings, topics) as worker:
            await produce(kafka_settings, topics.registry, *[reg(m) for m in (
                re.ApplicationDrafted(application_id=app_id, authority_code=NANHAI),
                re.ApplicationSubmitted(application_id=app_id, authority_code=NANHAI),
                re.ApplicationFeeRequested(application_id=app_id, amount=FEE, payment_reference=ref),
            )])  # fmt: skip
            # The person pays the fee in HKD, for real: the relay publishes TransferCommitted.
            quote = (await svc.stub.CreateQuote(api.CreateQuoteRequest(
                quote_id=f"q-{fee_id}", payer_participant_id="HKBANK", payee_participant_id="REGISTRY",
                amount_type=transfer_pb2.AMOUNT_TYPE_RECEIVE, amount=FEE, counter_currency="HKD",
            ), metadata=meta)).quote  # fmt: skip
            await svc.stub.PrepareTransfer(api.PrepareTransferRequest(
                transfer_id=fee_id, quote_id=quote.quote_id, payer_participant_id="HKBANK",
                payee_participant_id="REGISTRY", send_amount=quote.send_amount, receive_amount=quote.receive_amount,
                reference=ref, payer_pseudonym=PSEUDONYM, payer_name="Chan Tai Man",
            ), metadata=meta)  # fmt: skip
            await svc.stub.CommitTransfer(api.CommitTransferRequest(transfer_id=fee_id), metadata=meta)
            await flow_outputs(kafka_settings, topics.sink, flow, {"step:fee_paid": 1})

            rejected = reg(re.ApplicationRejected(application_id=app_id, authority_code=NANHAI, fee_paid=True,
                                                  fee_transfer_id=fee_id, fee_amount=FEE))  # fmt: skip
            await produce(kafka_settings, topics.registry, rejected)
            await flow_outputs(kafka_settings, topics.sink, flow, {REJECTED: 1})

            # Replayed after a restart (an operator's replay, a redelivery): no second refund.
            await worker.stop()
            await worker.start()
            await produce(kafka_settings, topics.registry, rejected)
            outs = await flow_outputs(kafka_settings, topics.sink, flow, {REJECTED: 2})

        refund_id = refund_transfer_id(app_id)
        kept = distinct(outs)
        tail = ["step:fee_paid", "step:rejected", "step:refund", "compensated", REJECTED]
        assert [o.label for o in kept][-5:] == tail
        compensated = next(o.message for o in kept if o.label == "compensated")
        assert compensated.failed_step == "rejected" and list(compensated.compensated_steps) == ["fee_paid"]  # type: ignore[attr-defined]
        assert refund_id in compensated.reason  # type: ignore[attr-defined]
        refund_step = next(o.message for o in kept if o.label == "step:refund")
        assert list(refund_step.related_ids) == [refund_id, app_id]  # type: ignore[attr-defined]

        refunds = (await svc.stub.ListTransfers(api.ListTransfersRequest(reference=f"REFUND-{app_id}"))).transfers
        assert [t.transfer_id for t in refunds] == [refund_id]
        refund = refunds[0]
        assert refund.state == transfer_pb2.TRANSFER_STATE_COMMITTED
        assert (refund.payer_participant_id, refund.payee_participant_id) == ("REGISTRY", "HKBANK")
        assert refund.send_amount == FEE and refund.receive_amount.currency == "HKD"
        assert (await audit(payments.deps)).breaches == []


async def test_a_refund_that_failed_is_retried_within_seconds_not_at_the_next_scan(
    payments: Payments, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    """The rejection names a fee transfer payments holds only reserved: the refund is refused
    (FEE_NOT_PAID) and stays owed. The fee is then committed, its event kept away from the worker, so
    only a timer can bring the refund: the retry (1 s here) does, long before the scan (60 s here)."""
    flow, app_id = f"corr-{uuid.uuid4().hex}", f"app-{uuid.uuid4().hex[:8]}"
    ref, fee_id = f"NH-FEE-{uuid.uuid4().hex[:6]}", f"fee-{uuid.uuid4().hex[:8]}"
    topics = await flow_topics(new_topic)
    elsewhere = await new_topic("payments-elsewhere", 1)  # the worker never sees the fee committed
    async with running(payments, kafka_settings, elsewhere) as svc:
        topics.extra_env["BAYLINK_FLOWS_PAYMENTS_TARGET"] = f"127.0.0.1:{svc.port}"
        topics.extra_env["BAYLINK_FLOWS_TIMER_INTERVAL_SECONDS"] = "60"
        topics.extra_env["BAYLINK_FLOWS_REFUND_RETRY_SECONDS"] = "1"
        quote = (await svc.stub.CreateQuote(api.CreateQuoteRequest(
            quote_id=f"q-{fee_id}", payer_participant_id="HKBANK", payee_participant_id="REGISTRY",
            amount_type=transfer_pb2.AMOUNT_TYPE_RECEIVE, amount=FEE, counter_currency="HKD",
        ))).quote  # fmt: skip
        await svc.stub.PrepareTransfer(api.PrepareTransferRequest(
            transfer_id=fee_id, quote_id=quote.quote_id, payer_participant_id="HKBANK",
            payee_participant_id="REGISTRY", send_amount=quote.send_amount, receive_amount=quote.receive_amount,
            reference=ref, payer_pseudonym=PSEUDONYM, payer_name="Chan Tai Man",
        ))  # fmt: skip

        def reg(message: Message) -> CloudEvent:
            return cloud_event(message, subject=app_id, correlation_id=flow)

        async with running_worker(kafka_settings, topics):
            await produce(kafka_settings, topics.registry, *[reg(m) for m in (
                re.ApplicationDrafted(application_id=app_id, authority_code=NANHAI),
                re.ApplicationSubmitted(application_id=app_id, authority_code=NANHAI),
                re.ApplicationFeeRequested(application_id=app_id, amount=FEE, payment_reference=ref),
                re.ApplicationRejected(application_id=app_id, authority_code=NANHAI, fee_paid=True,
                                       fee_transfer_id=fee_id, fee_amount=FEE),
            )])  # fmt: skip
            await flow_outputs(kafka_settings, topics.sink, flow, {"step:rejected": 1})
            refunds = (await svc.stub.ListTransfers(api.ListTransfersRequest(reference=f"REFUND-{app_id}"))).transfers
            assert list(refunds) == []  # refused: the fee is only reserved

            await svc.stub.CommitTransfer(api.CommitTransferRequest(transfer_id=fee_id))
            committed = time.monotonic()
            await flow_outputs(kafka_settings, topics.sink, flow, {"compensated": 1, REJECTED: 1}, timeout=30)
            waited = time.monotonic() - committed

        assert waited < 15, f"the refund came {waited:.1f} s after the fee was committed: at a scan, not a retry"
        refunds = (await svc.stub.ListTransfers(api.ListTransfersRequest(reference=f"REFUND-{app_id}"))).transfers
        assert [t.transfer_id for t in refunds] == [refund_transfer_id(app_id)]
        assert refunds[0].state == transfer_pb2.TRANSFER_STATE_COMMITTED
