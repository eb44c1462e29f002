"""The flow worker against the real broker: a flow across a restart, and a fee that is never paid."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf.message import Message

from baylink.common.v1 import common_pb2
from baylink.events.v1 import gateway_events_pb2 as gw
from baylink.events.v1 import payments_events_pb2 as pe
from baylink.events.v1 import registry_events_pb2 as re
from baylink.runtime.events import CloudEvent
from baylink.runtime.settings import KafkaSettings
from tests.conftest import TopicFactory
from tests.integration.gateway.flows_support import (
    cloud_event,
    distinct,
    flow_outputs,
    flow_topics,
    produce,
    running_worker,
)

pytestmark = pytest.mark.kafka
NANHAI = "440605"
FEE = common_pb2.Money(currency="CNY", minor_units=50_000)
SUCCEEDED = f"completed:{gw.FLOW_OUTCOME_SUCCEEDED}"


async def test_a_flow_survives_a_worker_restart_mid_flow_and_completes_once(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topics = await flow_topics(new_topic)
    flow, app_id, ref = f"corr-{uuid.uuid4().hex}", f"app-{uuid.uuid4().hex[:8]}", f"NH-FEE-{uuid.uuid4().hex[:6]}"

    def reg(message: Message) -> CloudEvent:
        return cloud_event(message, subject=app_id, correlation_id=flow)

    drafted = reg(re.ApplicationDrafted(application_id=app_id, authority_code=NANHAI, applicant_ref="p" * 52))
    before = [
        drafted,
        reg(re.ApplicationSubmitted(application_id=app_id, authority_code=NANHAI)),
        reg(
            re.ApplicationFeeRequested(application_id=app_id, authority_code=NANHAI, amount=FEE, payment_reference=ref)
        ),
    ]
    committed = cloud_event(
        pe.TransferCommitted(transfer_id="fee-1", payer_participant_id="HKBANK", payee_participant_id="REGISTRY",
                             receive_amount=FEE, reference=ref),
        subject="fee-1", correlation_id=flow, service="payments",
    )  # fmt: skip
    after = [
        reg(
            re.ApplicationFeePaid(
                application_id=app_id, authority_code=NANHAI, payment_reference=ref, transfer_id="fee-1"
            )
        ),
        reg(re.ApplicationReviewStarted(application_id=app_id, authority_code=NANHAI, reviewer_id="r1")),
        reg(re.ApplicationApproved(application_id=app_id, authority_code=NANHAI, uscc="91440605MA00000000")),
    ]
    unrelated = cloud_event(re.ApplicationDrafted(application_id="other"), subject="other", correlation_id="")

    async with running_worker(kafka_settings, topics) as worker:
        await produce(kafka_settings, topics.registry, unrelated, *before)
        await flow_outputs(kafka_settings, topics.sink, flow, {"step:fee_requested": 1})
        await worker.stop()  # SIGTERM mid-flow: the table lives on in its changelog
        await worker.start()
        await produce(kafka_settings, topics.payments, committed)
        await flow_outputs(kafka_settings, topics.sink, flow, {"step:fee_paid": 1})  # before the registry's copy
        await produce(kafka_settings, topics.registry, *after)
        outs = await flow_outputs(kafka_settings, topics.sink, flow, {SUCCEEDED: 1})

    kept = distinct(outs)
    assert [o.label for o in kept] == [
        "started",
        "step:drafted",
        "step:submitted",
        "step:fee_requested",
        "step:fee_paid",  # from payments' committed transfer, matched by the fee reference kept in the table
        "step:review_started",
        "step:approved",
        SUCCEEDED,
    ]
    started = [o for o in outs if o.label == "started"]
    assert {o.event.causation_id for o in started} == {drafted.id}
    assert kept[0].message.subject_pseudonym == "p" * 52 and kept[0].message.authority_code == NANHAI  # type: ignore[attr-defined]
    paid = next(o for o in kept if o.label == "step:fee_paid")
    assert list(paid.message.related_ids) == [app_id, "fee-1"]  # type: ignore[attr-defined]
    assert paid.event.causation_id == committed.id
    for o in kept:
        assert o.event.correlation_id == flow and o.event.subject == flow and o.event.source == "/baylink/gateway"
        assert o.record_ms == int(o.event.time.timestamp() * 1000)  # the broker's time is the event's
    assert all(o.event.correlation_id == flow for o in outs)  # nothing for events without a correlation id


async def test_an_unpaid_fee_is_reported_overdue_once_by_the_timer(
    kafka_settings: KafkaSettings, new_topic: TopicFactory
) -> None:
    topics = await flow_topics(
        new_topic, BAYLINK_FLOWS_FEE_OVERDUE_SECONDS="2", BAYLINK_FLOWS_TIMER_INTERVAL_SECONDS="0.5"
    )
    flow, app_id = f"corr-{uuid.uuid4().hex}", f"app-{uuid.uuid4().hex[:8]}"
    events = [
        cloud_event(re.ApplicationDrafted(application_id=app_id, authority_code=NANHAI), subject=app_id,
                    correlation_id=flow),
        cloud_event(re.ApplicationFeeRequested(application_id=app_id, amount=FEE, payment_reference="NH-1"),
                    subject=app_id, correlation_id=flow),
    ]  # fmt: skip
    async with running_worker(kafka_settings, topics):
        await produce(kafka_settings, topics.registry, *events)
        outs = await flow_outputs(kafka_settings, topics.sink, flow, {"step:fee_overdue": 1}, timeout=60)
        await flow_outputs(kafka_settings, topics.sink, flow, {}, timeout=10)  # a few more ticks go by

    again = await flow_outputs(kafka_settings, topics.sink, flow, {"step:fee_overdue": 1})
    assert [o.label for o in again].count("step:fee_overdue") == 1
    overdue = next(o for o in outs if o.label == "step:fee_overdue")
    assert list(overdue.message.related_ids) == [app_id, "NH-1"]  # type: ignore[attr-defined]
