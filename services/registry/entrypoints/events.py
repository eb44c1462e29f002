"""The registry's consumer: a committed transfer carrying a fee's payment reference pays the fee."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from baylink.events.v1 import payments_events_pb2
from baylink.runtime.events import CloudEvent, EventTypes
from baylink.runtime.host import Subscription
from services.registry.adapters.unit_of_work import SqlUnitOfWork
from services.registry.service_layer.background import mark_fee_paid

PAYMENTS_TOPIC = "baylink.payments.v1"
FEE_GROUP = "registry.fees"


def fee_subscription(
    uow: SqlUnitOfWork, types: EventTypes, topic: str = PAYMENTS_TOPIC, group_id: str = FEE_GROUP
) -> Subscription:
    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.type != "baylink.payments.transfer.committed.v1":
            return
        message = types.decode(event)
        assert isinstance(message, payments_events_pb2.TransferCommitted)
        if not message.reference:
            return
        # The consumer's transaction: the fee, its event and the inbox row commit together.
        async with uow.within(session) as work:
            await mark_fee_paid(
                work,
                message.reference,
                message.transfer_id,
                message.receive_amount.currency,
                message.receive_amount.minor_units,
            )

    return Subscription(group_id=group_id, topics=[topic], handler=handle)
