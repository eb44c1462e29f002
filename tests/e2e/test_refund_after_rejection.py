"""Rejected after payment, end to end: the flow worker refunds the fee of a kiosk application once.

The registration spans calls under different correlation ids: each kiosk request has its own, and
Nanhai decides over the partner API under yet another. The registry stamps every event of the
application with its flow id (made by the registry when drafting) and the kiosk pays under it, so
the flow worker (``python -m services.gateway.flows`` in a subprocess, on the stack's topics) sees the fee
paid and the rejection as one flow and asks payments for the refund.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from baylink.common.v1 import common_pb2
from baylink.events.v1 import gateway_events_pb2 as gw
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.payments.v1 import payments_service_pb2 as pay
from baylink.payments.v1 import payments_service_pb2_grpc as pay_grpc
from baylink.payments.v1 import transfer_pb2
from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.events import from_kafka
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.settings import KafkaSettings
from services.gateway.flows.refund import refund_transfer_id
from services.gateway.partner.adapters.pki import PkiPaths
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.conftest import TopicFactory
from tests.e2e.kiosk_user import CHAN, KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack
from tests.e2e.test_registration_from_kiosk import city_stub, fee_paid, issue_city
from tests.integration.gateway.flows_support import PARTITIONS, FlowTopics, distinct, flow_outputs, running_worker
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka
NANHAI = "440605"
REJECTED = f"completed:{gw.FLOW_OUTCOME_REJECTED}"


@pytest.fixture
async def stack(tmp_path: Path, kafka_settings: KafkaSettings) -> AsyncIterator[Stack]:
    pki = build_pki(tmp_path / "testpki")
    async with running_stack(tmp_path, kafka_settings, pki, with_payments=True) as s:
        yield s


async def test_a_fee_paid_at_the_kiosk_is_refunded_once_when_nanhai_rejects(
    stack: Stack, kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    assert stack.payments_port is not None
    sink = await new_topic("e2e.flows.gw", partitions=PARTITIONS)
    topics = FlowTopics(
        f"flows-e2e-{sink.rsplit('.', 1)[-1][-8:]}",
        stack.topics.registry,
        stack.topics.payments,
        sink,
        extra_env={
            "BAYLINK_FLOWS_PAYMENTS_TARGET": f"127.0.0.1:{stack.payments_port}",
            "BAYLINK_FLOWS_TIMER_INTERVAL_SECONDS": "1",
        },
    )
    issue_city(stack.gateway.settings.pki_dir, NANHAI)
    payments = insecure_channel(f"127.0.0.1:{stack.payments_port}")
    # What an operator adds for refunds: the stack only seeds the rates people pay fees at.
    refund_fee = common_pb2.Money(currency="CNY", minor_units=400)
    refund_rate = transfer_pb2.Rate(
        source_currency="CNY", target_currency="HKD", rate="1.0870", spread_bps=50, fee_fixed=refund_fee
    )
    await pay_grpc.PaymentsServiceStub(payments).SetRate(pay.SetRateRequest(rate=refund_rate))
    registry = insecure_channel(f"127.0.0.1:{stack.registry.port}")
    nanhai, nanhai_stub = city_stub(stack, city_channel_credentials(PkiPaths(stack.gateway.settings.pki_dir), NANHAI))
    try:
        async with running_worker(kafka_settings, topics):
            # A Hong Kong company applies at the kiosk and pays the CNY fee in HKD (each request its own id).
            kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-CWB-09")
            await kiosk.open(language="en")
            _, submitted = await kiosk.submitted(CHAN, "湾退")
            application_id = submitted["application_id"]
            quote = await kiosk.quote(application_id, "HKD")
            assert quote.status_code == 200, quote.text
            paid = await kiosk.pay(application_id, quote.json()["quote_id"])
            assert paid.status_code == 200, paid.text
            assert paid.json()["state"] == "committed"
            await fee_paid(kiosk, application_id)

            flow_id = (
                await rs_grpc.RegistryServiceStub(registry).GetApplication(
                    rs.GetApplicationRequest(application_id=application_id), timeout=10
                )
            ).application.flow_id
            assert flow_id == application_id  # made by the registry, not any caller's correlation id

            # Nanhai rejects, over mutual TLS, under a correlation id of its own.
            reject = api.DecideApplicationRequest(
                request_id="nanhai-reject-1",
                application_id=application_id,
                decision=pc.DECISION_REJECT,
                reason=common_pb2.LocalizedText(zh_hans="经营范围不符", zh_hant="經營範圍不符", en="scope not allowed"),
                reviewer_id="nanhai-officer-3",
            )
            decided = (
                await nanhai_stub.DecideApplication(reject, metadata=(("x-correlation-id", "nanhai-call-1"),))
            ).application
            assert decided.status == pc.APPLICATION_STATUS_REJECTED

            outs = await flow_outputs(kafka_settings, sink, flow_id, {"compensated": 1, REJECTED: 1}, timeout=120)

        # Every registry event of the application carries the flow id, the rejection included.
        records = await scan_topic(
            kafka_settings,
            stack.topics.registry,
            match=lambda r: r.key == application_id.encode(),
            done=lambda found: any(dict(r.headers)["ce_type"].decode().endswith(".rejected.v1") for r in found),
        )
        events = [from_kafka(r.headers, r.value) for r in records]
        assert {e.correlation_id for e in events} == {flow_id}
        assert next(e for e in events if e.type.endswith(".rejected.v1")).causation_id == "nanhai-call-1"

        # The flow compensated once: one refund step, one compensation.
        kept = distinct(outs)
        labels = [o.label for o in kept]
        assert labels.count("compensated") == 1 and labels.count("step:refund") == 1
        assert labels[-3:] == ["step:refund", "compensated", REJECTED]
        compensated = next(o.message for o in kept if o.label == "compensated")
        assert compensated.failed_step == "rejected"  # type: ignore[attr-defined]

        # Payments holds exactly one refund, committed, from the fee collector back to the payer's bank.
        stub = pay_grpc.PaymentsServiceStub(payments)
        fee = (await stub.GetTransfer(pay.GetTransferRequest(transfer_id=paid.json()["transfer_id"]))).transfer
        refunds = (await stub.ListTransfers(pay.ListTransfersRequest(reference=f"REFUND-{application_id}"))).transfers
        assert [t.transfer_id for t in refunds] == [refund_transfer_id(application_id)]
        refund = (await stub.GetTransfer(pay.GetTransferRequest(transfer_id=refunds[0].transfer_id))).transfer
        assert refund.state == transfer_pb2.TRANSFER_STATE_COMMITTED
        assert (refund.payer_participant_id, refund.payee_participant_id) == (
            fee.payee_participant_id,
            fee.payer_participant_id,
        )
        assert refund.send_amount == fee.receive_amount and refund.receive_amount.currency == "HKD"
    finally:
        for channel in (payments, registry, nanhai):
            await channel.close()
