"""The faust app: regroup registry and payments events by correlation id, advance the flow table, publish.

``route`` forwards each watched CloudEvent that carries a correlation id to the app's own
``<app id>-flow-events`` topic keyed by that id (Faust creates it, internal, with as many partitions
as the flow table's changelog), so one flow's events meet in one partition whatever their source keys.
``advance`` keeps the ``flows`` table (a changelog topic restores it after a restart, on whichever
worker takes the partition; standby replicas keep it warm on another worker), publishes the
gateway events and asks payments for a refund when one is due. ``scan`` (a timer) sends a tick
through the same topic for flows that have timed out or still owe a refund, so that every change to
the table happens inside the agent. A refund that failed is retried sooner than the next scan:
``retry_refunds`` ticks the flows whose last refund attempt here failed, every few seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from baylink import errors
from baylink.runtime.events import CloudEvent, EventTypes, MalformedEvent, from_kafka
from baylink.runtime.kafka import client_kwargs, close_quietly, new_admin
from baylink.runtime.settings import LOCAL_DIR, KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from services.gateway.flows.config import FlowSettings
from services.gateway.flows.publish import to_cloud_event
from services.gateway.flows.refund import Refunds
from services.gateway.flows.state import WATCHED, Flow, Output, RefundRetries
from services.gateway.flows.transport import FlowApp

log = logging.getLogger("baylink.gateway.flows")
TICK_HEADER = "baylink_flow_tick"
Headers = list[tuple[str, bytes]]
FLOW_EVENTS_RETENTION_MS = 7 * 24 * 3600 * 1000


def flow_events_topic(settings: FlowSettings) -> str:
    return f"{settings.app_id}-flow-events"


async def create_flow_events_topic(settings: FlowSettings) -> None:
    """Create the regrouping topic before the worker joins its group.

    Faust would create it too, but only while joining, and the assignment made with the metadata of
    that moment leaves the new topic unassigned until some later rebalance.
    """
    admin = new_admin(settings.kafka)
    await admin.start()
    try:
        spec = TopicSpec(flow_events_topic(settings), settings.partitions, FLOW_EVENTS_RETENTION_MS)
        await apply_topics(admin, [spec], settings.kafka.replication_factor)
    finally:
        await close_quietly(admin)


def broker_urls(kafka: KafkaSettings) -> list[str]:
    """Faust's broker setting: one ``kafka://host:port`` per bootstrap server."""
    return [f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",") if server.strip()]


def broker_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """Faust's ``broker_credentials``, from the same keyword arguments every other Kafka client of ours gets."""
    kwargs = client_kwargs(kafka)
    protocol = kwargs["security_protocol"]
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return SSLCredentials(kwargs["ssl_context"])
    return SASLCredentials(
        username=kwargs["sasl_plain_username"],
        password=kwargs["sasl_plain_password"],
        ssl_context=kwargs.get("ssl_context"),  # with it SASL_SSL, without SASL_PLAINTEXT
        mechanism=kwargs["sasl_mechanism"],
    )


def faust_datadir(datadir: Path | None = None) -> str:
    """Faust's own state directory: ``datadir`` (one per worker), else under .local/faust/ (faust's
    default is "<app id>-data" in the working directory); faust makes the last level itself."""
    if datadir is not None:
        datadir.parent.mkdir(parents=True, exist_ok=True)
        return str(datadir)
    parent = LOCAL_DIR / "faust"
    parent.mkdir(parents=True, exist_ok=True)
    return str(parent / "{conf.name}-data")


class QuietWorker(faust.Worker):  # type: ignore[misc]  # faust is untyped
    """faust's worker without its terminal spinner. At WARN and above the spinner sets the root logger
    to DEBUG (its handler turns on every record), so every debug call of aiokafka and faust made a log
    record only for it to drop: about a sixth of the worker's CPU under load (docs/performance.md)."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)


def build_app(settings: FlowSettings, new_refunds: Callable[[], Refunds]) -> faust.App:
    """The app, its topics, the flow table and the agents; ``new_refunds`` makes the payments client."""
    types = EventTypes.from_contracts()
    watched = {types.type_of(cls()) for cls in WATCHED}
    app = FlowApp(
        settings.app_id,
        broker=broker_urls(settings.kafka),
        broker_credentials=broker_credentials(settings.kafka),
        store=settings.store,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        table_standby_replicas=settings.standby_replicas,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
        broker_request_timeout=max(90.0, settings.session_timeout_seconds + 30),  # must exceed the session timeout
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        datadir=faust_datadir(settings.datadir),
        Worker=QuietWorker,
    )
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    sources = app.topic(settings.registry_topic, settings.payments_topic, **raw)
    flow_events = app.topic(flow_events_topic(settings), internal=True, partitions=settings.partitions, **raw)
    sink = app.topic(settings.sink_topic, **raw)
    json_schema: faust.Schema[Any, Any] = faust.Schema(key_serializer="json", value_serializer="json")
    flows = app.Table("flows", default=None, partitions=settings.partitions, schema=json_schema)
    refunds: list[Refunds] = []  # made on first use, inside the worker's event loop
    retry_due = RefundRetries()

    @app.agent(sources, name="route")
    async def route(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            log.debug("route reads %s[%d]@%d", event.message.topic, event.message.partition, event.message.offset)
            headers = list(event.message.headers or [])
            try:
                ce = from_kafka(headers, event.value)
            except MalformedEvent as exc:
                log.warning("not a CloudEvent, skipped: %s", exc)
                continue
            if ce.correlation_id and ce.type in watched:
                await flow_events.send(key=ce.correlation_id.encode(), value=event.value, headers=headers)

    @app.agent(flow_events, name="advance")
    async def advance(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            flow_id = bytes(event.key).decode()
            stored = flows.get(flow_id)
            flow = Flow.from_json(stored) if stored else Flow(flow_id, settings.flow_type, settings.channel)
            headers = list(event.message.headers or [])
            tick = dict(headers).get(TICK_HEADER)
            if tick is not None:
                if stored is None:
                    continue
                outputs = flow.overdue_check(float(tick.decode()), settings.fee_overdue_seconds)
                cause: CloudEvent | None = None
            else:
                try:
                    cause = from_kafka(headers, event.value)
                    message = types.decode(cause)
                except MalformedEvent as exc:  # route checked it already; a hand-made record, say
                    log.warning("flow %s: undecodable event skipped: %s", flow_id, exc)
                    continue
                outputs = flow.observe(cause.id, message, cause.time.timestamp())
            if flow.refund_due:
                outputs += await _refund(flow)
            retry_due.note(flow_id, owed=flow.refund_due)
            await _publish(flow_id, outputs, cause)
            flows[flow_id] = flow.to_json()

    async def _refund(flow: Flow) -> list[Output]:
        if not refunds:
            refunds.append(new_refunds())
        try:
            refund_id = await refunds[0].refund(flow.application_id, flow.fee_transfer_id)
        except errors.BaylinkError as exc:  # kept due: the timer asks again
            log.warning("refund for flow %s failed, will retry: %s", flow.flow_id, exc)
            return []
        return flow.refunded(refund_id)

    async def _publish(flow_id: str, outputs: list[Output], cause: CloudEvent | None) -> None:
        now = datetime.now(UTC)
        for output in outputs:
            ce = to_cloud_event(
                types, flow_id, output, time=cause.time if cause else now,
                causation_id=cause.id if cause else "", traceparent=cause.traceparent if cause else None,
            )  # fmt: skip
            # The record's time is the event's (its cause's): a step read again after a rebalance sorts
            # where it happened in a timeline ordered by broker time (the console's), not where it arrived.
            await sink.send(key=ce.key, value=ce.data, headers=ce.kafka_headers(), timestamp=ce.time.timestamp())

    @app.timer(settings.timer_interval_seconds, name="scan")  # type: ignore[untyped-decorator]
    async def scan() -> None:
        now = time.time()
        for flow_id, stored in list(flows.items()):
            if stored and Flow.from_json(stored).needs_tick(now, settings.fee_overdue_seconds):
                headers: Headers = [(TICK_HEADER, repr(now).encode())]
                await flow_events.send(key=str(flow_id).encode(), value=b"", headers=headers)

    @app.timer(settings.refund_retry_seconds, name="retry_refunds")  # type: ignore[untyped-decorator]
    async def retry_refunds() -> None:
        now = repr(time.time()).encode()
        for flow_id in retry_due.take():
            await flow_events.send(key=flow_id.encode(), value=b"", headers=[(TICK_HEADER, now)])

    return app
