"""The flow's state machine without Kafka: steps once, the fee seen twice, refunds due, timeouts once."""

from __future__ import annotations

import logging
from typing import Any

from baylink.common.v1 import common_pb2
from baylink.events.v1 import gateway_events_pb2 as gw
from baylink.events.v1 import payments_events_pb2 as pe
from baylink.events.v1 import registry_events_pb2 as re
from services.gateway.flows.config import FlowSettings
from services.gateway.flows.publish import flow_event_id
from services.gateway.flows.refund import refund_quote_id, refund_transfer_id
from services.gateway.flows.state import Flow, Output, RefundRetries
from services.gateway.flows.worker import build_app

FEE = common_pb2.Money(currency="CNY", minor_units=50_000)


def keys(outputs: list[Output]) -> list[str]:
    return [o.key for o in outputs]


def paid_flow() -> Flow:
    flow = Flow("c1")
    flow.observe("e1", re.ApplicationDrafted(application_id="a1", authority_code="440605"), 0.0)
    flow.observe("e2", re.ApplicationFeeRequested(application_id="a1", amount=FEE, payment_reference="R1"), 10.0)
    flow.observe("e3", pe.TransferCommitted(transfer_id="t1", reference="R1"), 20.0)
    return flow


def test_the_first_event_starts_the_flow_and_a_redelivery_repeats_the_same_outputs() -> None:
    flow = Flow("c1")
    first = flow.observe("e1", re.ApplicationDrafted(application_id="a1", applicant_ref="p"), 0.0)
    assert keys(first) == ["started", "step/drafted"]
    assert keys(flow.observe("e1", re.ApplicationDrafted(application_id="a1"), 0.0)) == keys(first)
    assert flow.observe("e9", re.ApplicationDrafted(application_id="a1"), 0.0) == []  # another event, same step


def test_the_fee_is_paid_once_whether_payments_or_the_registry_says_so_first() -> None:
    flow = paid_flow()
    assert flow.fee_paid and flow.fee_transfer_id == "t1"
    assert flow.observe("e4", re.ApplicationFeePaid(application_id="a1", transfer_id="t1"), 30.0) == []


def test_a_commit_seen_before_the_fee_request_counts_when_the_request_arrives() -> None:
    flow = Flow("c1")
    assert flow.observe("e1", pe.TransferCommitted(transfer_id="t1", reference="R1"), 0.0) == []
    outputs = flow.observe("e2", re.ApplicationFeeRequested(application_id="a1", payment_reference="R1"), 1.0)
    assert keys(outputs) == ["started", "step/fee_requested", "step/fee_paid"]


def test_rejection_after_payment_makes_a_refund_due_then_compensates() -> None:
    flow = paid_flow()
    assert keys(flow.observe("e5", re.ApplicationRejected(application_id="a1", fee_paid=True), 40.0)) == [
        "step/rejected"
    ]
    assert flow.refund_due
    outputs = flow.refunded("refund-x")
    assert keys(outputs) == ["step/refund", "compensated", "completed"]
    assert outputs[2].message.outcome == gw.FLOW_OUTCOME_REJECTED  # type: ignore[attr-defined]
    again = flow.observe("e5", re.ApplicationRejected(application_id="a1", fee_paid=True), 40.0)
    assert keys(again) == ["step/rejected", "step/refund", "compensated", "completed"] and not flow.refund_due


def test_withdrawal_before_payment_ends_without_compensation() -> None:
    flow = Flow("c1")
    outputs = flow.observe("e1", re.ApplicationWithdrawn(application_id="a1"), 0.0)
    assert keys(outputs) == ["started", "step/withdrawn", "completed"] and not flow.refund_due
    assert outputs[-1].message.outcome == gw.FLOW_OUTCOME_CANCELLED  # type: ignore[attr-defined]
    assert flow.observe("e2", re.ApplicationSubmitted(application_id="a1"), 1.0) == []  # nothing after the end


def test_an_unpaid_fee_is_overdue_once_and_the_state_round_trips_through_json() -> None:
    flow = Flow("c1")
    flow.observe("e1", re.ApplicationFeeRequested(application_id="a1", payment_reference="R1"), 100.0)
    assert not flow.needs_tick(150.0, 60.0) and flow.overdue_check(150.0, 60.0) == []
    assert flow.needs_tick(160.0, 60.0)
    assert keys(flow.overdue_check(160.0, 60.0)) == ["step/fee_overdue"]
    restored = Flow.from_json(flow.to_json())
    assert restored == flow and restored.overdue_check(500.0, 60.0) == []


def test_ids_derive_from_the_flow_and_the_application() -> None:
    assert flow_event_id("c1", "started") == flow_event_id("c1", "started") != flow_event_id("c2", "started")
    assert refund_transfer_id("a1") == refund_transfer_id("a1") != refund_transfer_id("a2")
    assert refund_quote_id("a1").startswith("refund-quote-")


def test_another_applications_events_in_the_same_flow_move_nothing_and_refund_nothing() -> None:
    # Flow ids drafted before issue 16 could be a caller's correlation id, shared by two applications.
    flow = paid_flow()
    other_fee = re.ApplicationFeePaid(application_id="a2", transfer_id="t2")
    assert flow.observe("e5", other_fee, 30.0) == []
    rejected = re.ApplicationRejected(application_id="a2", fee_paid=True, fee_transfer_id="t2")
    assert flow.observe("e6", rejected, 40.0) == []
    assert not flow.ended and not flow.refund_due and flow.fee_transfer_id == "t1"


def test_a_failed_refund_is_ticked_once_at_the_next_retry_round_and_again_only_if_it_fails_again() -> None:
    retries = RefundRetries()
    retries.note("flow-b", owed=True)
    retries.note("flow-a", owed=True)
    retries.note("flow-c", owed=True)
    retries.note("flow-c", owed=False)  # refunded meanwhile (an event brought it)
    assert retries.take() == ["flow-a", "flow-b"]
    assert retries.take() == []  # one tick each; the agent notes a flow again if that attempt fails
    retries.note("flow-a", owed=True)
    assert retries.take() == ["flow-a"]
    # Seconds, not the table scan's half minute: a person waits for their money back.
    assert FlowSettings().refund_retry_seconds <= 2 < FlowSettings().timer_interval_seconds


def test_a_worker_that_stops_answering_loses_its_flows_to_the_others_within_seconds() -> None:
    # faust's default session timeout is 60 s: a kill -9'd worker's flows (refunds included) stood
    # still that long before the other worker took them over (docs/chaos.md).
    app = build_app(FlowSettings(), lambda: None)  # type: ignore[arg-type,return-value]  # no refunds here
    assert app.conf.broker_session_timeout == 10.0
    assert app.conf.broker_heartbeat_interval * 3 <= app.conf.broker_session_timeout
    assert FlowSettings(session_timeout_seconds=30).session_timeout_seconds == 30


def test_the_worker_at_warn_makes_no_debug_records() -> None:
    # faust's own worker keeps a terminal spinner at WARN and up, which puts the root logger at DEBUG:
    # every debug call of aiokafka and faust then made a record (a sixth of the worker's CPU).
    app = build_app(FlowSettings(), lambda: None)  # type: ignore[arg-type,return-value]  # no refunds here
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    try:
        worker_class: Any = app.conf.Worker  # what `faust worker` starts
        worker = worker_class(app, loglevel="warn", quiet=True)
        worker._setup_logging()  # what the worker does as it starts
        assert root.level == logging.WARNING
        assert not logging.getLogger("aiokafka.consumer.fetcher").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
