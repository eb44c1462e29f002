"""The bulk-leak guard over real mTLS: a tripped caller gets RESOURCE_EXHAUSTED, and operators get
exactly one security event, in the outbox and on the real broker.

The backend is the in-memory ``MemoryBackend`` (conftest), used ONLY to exercise the gateway's own
guard and audit logic; the lead's end-to-end tests use the real registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from baylink.events.v1 import gateway_events_pb2
from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.runtime.db import Database
from baylink.runtime.events import EventTypes, from_kafka
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.schema import outbox
from baylink.runtime.settings import KafkaSettings
from services.gateway.audit.adapters.keys import Ed25519Signer
from services.gateway.partner.adapters.pki import PkiPaths
from services.gateway.shared.domain.guard import GuardPolicy
from tests.integration.gateway.conftest import PartnerGateway, partner_gateway
from tests.support.topics import scan_topic

pytestmark = pytest.mark.kafka
ALERT = "baylink.gateway.security.alert_raised.v1"


@asynccontextmanager
async def relayed(gw: PartnerGateway, kafka: KafkaSettings, topic: str) -> AsyncIterator[None]:
    relay = OutboxRelay(gw.db, kafka, name=f"gateway-test-{topic}", poll_seconds=0.05)
    gw.audit.on_commit = relay.wake
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        await relay.stop()
        await asyncio.gather(task, return_exceptions=True)


async def alerts_in_outbox(db: Database) -> list[gateway_events_pb2.SecurityAlertRaised]:
    async with db.transaction() as session:
        rows = (await session.execute(sa.select(outbox).where(outbox.c.event_type == ALERT))).mappings().all()
    types = EventTypes.from_contracts()
    events = [from_kafka([(k, v.encode()) for k, v in r["headers"]], r["payload"]) for r in rows]
    return [types.decode(e) for e in events]  # type: ignore[misc]


async def alerts_on_topic(kafka: KafkaSettings, topic: str) -> list[gateway_events_pb2.SecurityAlertRaised]:
    # Wait for the first, then linger: a second alert, if there were one, would show up too.
    records = await scan_topic(kafka, topic, done=bool, linger_ms=1500)
    types = EventTypes.from_contracts()
    return [types.decode(from_kafka(r.headers, r.value)) for r in records]  # type: ignore[misc]


def details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    status = rpc_status.from_call(error)
    assert status is not None
    found: dict[str, object] = {}
    for any_detail in status.details:
        for cls in (error_details_pb2.ErrorInfo, error_details_pb2.QuotaFailure, error_details_pb2.RetryInfo):
            if any_detail.Is(cls.DESCRIPTOR):
                message = cls()
                any_detail.Unpack(message)
                found[cls.__name__] = message
    return found


async def test_a_city_over_its_rate_is_throttled_and_operators_get_exactly_one_alert(
    partner_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("gateway-guard")
    policy = GuardPolicy(rate_per_second=0.5, burst=3)
    async with (
        partner_gateway(partner_pki, tmp_path, signer, policy=policy, event_topic=topic) as gw,
        relayed(gw, kafka_settings, topic),
    ):
        stub = gw.city("440300")
        codes = []
        for _ in range(10):
            try:
                await stub.ListPendingApplications(api.ListPendingApplicationsRequest())
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())
                last = exc
        assert codes == [grpc.StatusCode.OK] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 7
        found = details(last)
        assert found["ErrorInfo"].reason == "RATE_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
        assert found["QuotaFailure"].violations[0].subject == "city:440300"  # type: ignore[attr-defined]
        assert found["RetryInfo"].retry_delay.seconds >= 1  # type: ignore[attr-defined]
        [alert] = await alerts_in_outbox(gw.db)
        assert (alert.kind, alert.city_code, alert.severity) == (
            "rate_limit_exceeded",
            "440300",
            gateway_events_pb2.ALERT_SEVERITY_MEDIUM,
        )
        assert len(alert.certificate_fingerprint) == 64
        rows = await _audit_results(gw)
        assert rows.count(("partner.ListPendingApplications", "RATE_LIMIT_EXCEEDED")) == 7
        assert rows.count(("security.alert_raised", "rate_limit_exceeded")) == 1
        on_topic = await alerts_on_topic(kafka_settings, topic)
    assert [a.alert_id for a in on_topic] == [alert.alert_id]


async def test_a_city_reading_many_distinct_subjects_is_refused_and_raises_one_alert(
    partner_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer, kafka_settings: KafkaSettings, new_topic
) -> None:  # type: ignore[no-untyped-def]
    topic = await new_topic("gateway-guard")
    policy = GuardPolicy(rate_per_second=1000, burst=1000, distinct_subjects=5, window_seconds=600)
    async with partner_gateway(partner_pki, tmp_path, signer, policy=policy, event_topic=topic) as gw:
        pseudonyms = [f"{i:02d}" + "ab" * 31 for i in range(12)]
        for p in pseudonyms:
            gw.backend.subjects[("440605", p)] = pc.PartnerSubject(pseudonym=p)
        async with relayed(gw, kafka_settings, topic):
            stub = gw.city("440605")
            outcomes = []
            for p in pseudonyms:
                try:
                    await stub.LookupSubject(api.LookupSubjectRequest(pseudonym=p))
                    outcomes.append("OK")
                except grpc.aio.AioRpcError as exc:
                    outcomes.append(exc.code().name)
            assert outcomes == ["OK"] * 5 + ["RESOURCE_EXHAUSTED"] * 7
            again = await stub.LookupSubject(api.LookupSubjectRequest(pseudonym=pseudonyms[0]))
            assert again.subject.pseudonym == pseudonyms[0]  # people already read may be read again
            [alert] = await alerts_in_outbox(gw.db)
            assert (alert.kind, alert.severity, alert.subject_pseudonym) == (
                "bulk_subject_read",
                gateway_events_pb2.ALERT_SEVERITY_HIGH,
                pseudonyms[5],
            )
            on_topic = await alerts_on_topic(kafka_settings, topic)
    assert [a.alert_id for a in on_topic] == [alert.alert_id]


async def _audit_results(gw: PartnerGateway) -> list[tuple[object, object]]:
    return [(r["action"], r["result"]) for r in await gw.audit_rows()]
