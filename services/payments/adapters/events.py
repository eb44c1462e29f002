"""Domain events → ``baylink.events.v1`` protobuf messages → CloudEvents for the outbox.

Events carry no personal data: no names, no payer pseudonym; parties are
participants (institutions), and ``reference`` is the payee's own reference.
"""

from __future__ import annotations

from google.protobuf.message import Message

from baylink.events.v1 import payments_events_pb2 as pb
from baylink.runtime.events import CloudEvent, EventTypes
from services.payments.adapters.mapping import money_pb, transfer_parties, ts
from services.payments.domain import events as ev


class OutboxPublisher:
    """Builds the CloudEvents a unit of work stages in the outbox."""

    def __init__(self, types: EventTypes, source: str):
        self.types = types
        self.source = source

    def to_cloud_events(self, events: list[ev.Event]) -> list[CloudEvent]:
        return [self.types.new(to_message(e), subject=ev.subject_of(e), source=self.source) for e in events]


def to_message(event: ev.Event) -> Message:
    if isinstance(event, ev.QuoteCreated):
        q = event.quote
        return pb.QuoteCreated(
            quote_id=q.quote_id,
            payer_participant_id=q.payer_id,
            payee_participant_id=q.payee_id,
            send_amount=money_pb(q.send),
            receive_amount=money_pb(q.receive),
            fee=money_pb(q.fee),
            rate=str(q.customer_rate),
            expires_at=ts(q.expires_at),
        )
    if isinstance(event, ev.SettlementWindowClosed):
        w = event.window
        return pb.SettlementWindowClosed(
            settlement_window_id=w.settlement_window_id,
            opened_at=ts(w.opened_at),
            closed_at=ts(w.closed_at),
            transfer_count=event.transfer_count,
            net_positions=[
                pb.SettlementWindowClosed.NetPosition(participant_id=pid, net_amount=money_pb(net))
                for pid, net in event.net_positions
            ],
        )
    t = event.transfer
    if isinstance(event, ev.TransferReserved):
        return pb.TransferReserved(
            **transfer_parties(t),  # type: ignore[arg-type]
            quote_id=t.quote_id,
            receive_amount=money_pb(t.receive),
            expires_at=ts(t.expires_at),
        )
    if isinstance(event, ev.TransferCommitted):
        return pb.TransferCommitted(
            **transfer_parties(t),  # type: ignore[arg-type]
            quote_id=t.quote_id,
            receive_amount=money_pb(t.receive),
            settlement_window_id=t.settlement_window_id,
            committed_at=ts(t.completed_at),
            uetr=t.uetr,
            fee=money_pb(t.fee),
        )
    if isinstance(event, ev.TransferAborted):
        return pb.TransferAborted(
            **transfer_parties(t),  # type: ignore[arg-type]
            reason=t.abort_reason,
            code=t.abort_code,
        )
    return pb.TransferExpired(
        **transfer_parties(t),  # type: ignore[arg-type]
        expired_at=ts(t.completed_at),
    )
