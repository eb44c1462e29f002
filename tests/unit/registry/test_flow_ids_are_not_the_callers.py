"""A caller-chosen correlation id never becomes a business key (issue 16, item 3).

Two applications drafted under one ``X-Correlation-Id`` (the kiosk passes the header on as the
call's correlation id) must each keep their own flow: the flow worker groups events by flow id and
refunds the fee of the flow that ends in a rejection, so a shared flow would refund the wrong fee.
The events here are the ones the real registry stages in its outbox; the flow is the worker's own
state machine, fed exactly as the worker feeds it (grouped by the events' correlation id).
"""

from __future__ import annotations

import sqlalchemy as sa

from baylink.runtime.context import correlation_scope
from baylink.runtime.events import EventTypes, from_kafka
from baylink.runtime.schema import outbox
from services.gateway.flows.state import Flow
from services.registry.service_layer import authority
from services.registry.service_layer.context import Registry
from tests.unit.registry.flow import AUTHORITY, REASON, drafted, paid, submitted

CHOSEN = "attacker-chosen-correlation-id"


async def flows_of(registry: Registry) -> dict[str, Flow]:
    """Every staged event, grouped by correlation id and observed in order, as the flow worker does."""
    types = EventTypes.from_contracts()
    async with registry.uow.db.transaction(readonly=True) as session:  # type: ignore[attr-defined]
        rows = (await session.execute(sa.select(outbox.c.headers, outbox.c.payload).order_by(outbox.c.id))).all()
    flows: dict[str, Flow] = {}
    for headers, payload in rows:
        event = from_kafka([(str(n), str(v).encode()) for n, v in headers], payload)
        assert event.correlation_id
        flow = flows.setdefault(event.correlation_id, Flow(event.correlation_id))
        flow.observe(event.id, types.decode(event), event.time.timestamp())
    return flows


async def test_two_applications_drafted_with_one_correlation_id_each_keep_their_own_flow_and_fee(
    registry: Registry,
) -> None:
    with correlation_scope(CHOSEN):
        first = await drafted(registry)
        second = await drafted(registry)
    assert first.flow_id != second.flow_id
    assert CHOSEN not in (first.flow_id, second.flow_id)

    first = await paid(registry, await submitted(registry, first), transfer_id="fee-of-first")
    second = await paid(registry, await submitted(registry, second), transfer_id="fee-of-second")
    await authority.start_review(registry, authority.StartReview(second.application_id, "officer-7", AUTHORITY))
    with correlation_scope(CHOSEN):
        await authority.reject(
            registry, authority.RejectApplication(second.application_id, "officer-7", AUTHORITY, REASON)
        )

    flows = await flows_of(registry)
    assert CHOSEN not in flows
    rejected, other = flows[second.flow_id], flows[first.flow_id]
    # Rejecting the second refunds the second's own fee, and leaves the first alone.
    assert rejected.application_id == second.application_id and rejected.ended == "rejected"
    assert rejected.refund_due and rejected.fee_transfer_id == "fee-of-second"
    assert other.application_id == first.application_id and other.fee_transfer_id == "fee-of-first"
    assert not other.ended and not other.refund_due
