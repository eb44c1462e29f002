"""Domain events: what happened, recorded by use cases and published after commit."""

from __future__ import annotations

from dataclasses import dataclass

from services.payments.domain.money import Money
from services.payments.domain.pricing import Quote
from services.payments.domain.settlement import SettlementWindow
from services.payments.domain.transfer import Transfer


@dataclass(frozen=True)
class QuoteCreated:
    quote: Quote


@dataclass(frozen=True)
class TransferReserved:
    transfer: Transfer


@dataclass(frozen=True)
class TransferCommitted:
    transfer: Transfer


@dataclass(frozen=True)
class TransferAborted:
    transfer: Transfer


@dataclass(frozen=True)
class TransferExpired:
    transfer: Transfer


@dataclass(frozen=True)
class SettlementWindowClosed:
    window: SettlementWindow
    transfer_count: int
    net_positions: tuple[tuple[str, Money], ...]  # (participant id, signed net)


Event = QuoteCreated | TransferReserved | TransferCommitted | TransferAborted | TransferExpired | SettlementWindowClosed


def subject_of(event: Event) -> str:
    """The aggregate id: the Kafka key that keeps one aggregate's events in order."""
    if isinstance(event, QuoteCreated):
        return event.quote.quote_id
    if isinstance(event, SettlementWindowClosed):
        return event.window.settlement_window_id
    return event.transfer.transfer_id
