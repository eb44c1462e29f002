"""Partner StreamEvents through the real mTLS listener, backed by the real registry's events on the broker:
a city receives its own authorities' application events under its own pseudonyms, resumes from a cursor,
sees no other city's events, and its stream is audited (also when it hangs up)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
import sqlalchemy as sa
from grpc import aio

from baylink.events.v1 import registry_events_pb2 as reg
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.settings import KafkaSettings
from devtools.testpki.loader import TestPKI
from services.gateway.audit.adapters.store import audit_records
from services.gateway.partner.adapters.events import encode_cursor
from services.gateway.partner.adapters.pki import PkiPaths, issue_city
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.e2e.kiosk_user import CHAN, KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]
NANHAI, FOSHAN, SHENZHEN = "440605", "440600", "440300"
SUBMITTED = "baylink.registry.application.submitted.v1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_pki(tmp_path_factory.mktemp("stream-pki"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    pki: TestPKI, tmp_path_factory: pytest.TempPathFactory, kafka_settings: KafkaSettings
) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("stream"), kafka_settings, pki, with_payments=False) as s:
        for city in (NANHAI, FOSHAN, SHENZHEN):
            issue_city(s.gateway.settings.pki_dir, city)
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def application_id(stack: Stack) -> str:
    kiosk = KioskUser(stack.kiosk, stack.pki)
    await kiosk.open()
    _, application = await kiosk.submitted(CHAN, "湾流")
    return str(application["application_id"])


@pytest_asyncio.fixture(loop_scope="module")
async def channels(stack: Stack) -> AsyncIterator[list[aio.Channel]]:
    opened: list[aio.Channel] = []
    yield opened
    for channel in opened:
        await channel.close()


def city(stack: Stack, channels: list[aio.Channel], code: str) -> api_grpc.PartnerCityServiceStub:
    credentials = city_channel_credentials(PkiPaths(stack.gateway.settings.pki_dir), code)
    channel = aio.secure_channel(f"127.0.0.1:{stack.gateway.partner_port}", credentials)
    channels.append(channel)
    return api_grpc.PartnerCityServiceStub(channel)


async def take(call: object, count: int = 0, timeout: float = 20, until: str = "") -> list[api.StreamEventsResponse]:
    """Responses until ``count`` of them, or until one of type ``until``; then hang up."""
    got: list[api.StreamEventsResponse] = []
    async with asyncio.timeout(timeout):
        async for response in call:  # type: ignore[attr-defined]
            got.append(response)
            if (count and len(got) >= count) or (until and response.event.type == until):
                break
    call.cancel()  # type: ignore[attr-defined]
    return got


async def test_a_city_streams_its_own_applications_events_under_its_pseudonym_and_resumes(
    stack: Stack, channels: list[aio.Channel], application_id: str
) -> None:
    start = encode_cursor(stack.topics.registry, {})  # the topic's beginning: everything this test's registry wrote
    nanhai = city(stack, channels, NANHAI)
    events = [
        r.event for r in await take(nanhai.StreamEvents(api.StreamEventsRequest(resume_after=start)), until=SUBMITTED)
    ]
    held = await stack.gateway.clients[1].application(application_id)

    assert all(e.subject == application_id for e in events)
    assert not any(e.type.endswith(".drafted.v1") for e in events)  # a draft is no authority's business yet
    submitted = events[-1]
    assert len(events) >= 2 and submitted.type == SUBMITTED
    body = reg.ApplicationSubmitted.FromString(submitted.data)
    assert body.authority_code == NANHAI and body.applicant_ref == held.applicant_ref  # Nanhai's own pseudonym

    resumed = await take(nanhai.StreamEvents(api.StreamEventsRequest(resume_after=events[0].cursor)), 1)
    assert resumed[0].event.id == events[1].id  # exactly after the cursor

    foshan = city(stack, channels, FOSHAN)
    only = api.StreamEventsRequest(resume_after=start, types=[SUBMITTED])
    [seen] = [r.event for r in await take(foshan.StreamEvents(only), 1)]
    foshan_view = reg.ApplicationSubmitted.FromString(seen.data)
    app = await foshan.GetApplication(api.GetApplicationRequest(application_id=application_id))
    assert seen.type == SUBMITTED and foshan_view.applicant_ref == app.application.applicant_pseudonym
    assert foshan_view.applicant_ref != body.applicant_ref  # a pseudonym of Foshan's own


async def test_another_city_receives_nothing_and_bad_requests_are_refused(
    stack: Stack, channels: list[aio.Channel], application_id: str
) -> None:
    shenzhen = city(stack, channels, SHENZHEN)
    start = encode_cursor(stack.topics.registry, {})
    with pytest.raises(grpc.aio.AioRpcError) as quiet:
        async for response in shenzhen.StreamEvents(api.StreamEventsRequest(resume_after=start), timeout=4):
            pytest.fail(f"Shenzhen received {response.event.type} of {response.event.subject}")
    assert quiet.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    for request, field in [
        (api.StreamEventsRequest(resume_after="not-a-cursor"), "resume_after"),
        (api.StreamEventsRequest(resume_after=encode_cursor("another.topic", {})), "resume_after"),
        (api.StreamEventsRequest(types=["baylink.payments.transfer.committed.v1"]), "types"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in shenzhen.StreamEvents(request, timeout=10):
                pass
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in refused.value.details()


async def test_a_city_hanging_up_ends_its_stream_and_it_is_audited(
    stack: Stack, channels: list[aio.Channel], application_id: str
) -> None:
    nanhai = city(stack, channels, NANHAI)
    start = encode_cursor(stack.topics.registry, {})
    await take(nanhai.StreamEvents(api.StreamEventsRequest(resume_after=start)), 1)
    query = sa.select(audit_records.c.result, audit_records.c.details).where(
        audit_records.c.actor == f"city:{NANHAI}", audit_records.c.action == "partner.StreamEvents"
    )
    async with asyncio.timeout(10):
        while True:
            async with stack.gateway.host.db.transaction() as session:
                rows = (await session.execute(query)).all()
            # The stream ended when the city hung up, and left its record (how many events went out before
            # the hang-up reached the server depends on buffering; at least the one the city read).
            if any(json.loads(details)["delivered"] >= 1 for _result, details in rows):
                break
            await asyncio.sleep(0.2)
    # A hang-up is the city's doing, never recorded as the gateway's failure.
    assert {result for result, _details in rows} <= {"OK", "CANCELLED"}, rows
