"""Settlement windows (OPEN → CLOSED → SETTLED) and multilateral net positions."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from baylink.errors import FailedPrecondition, PreconditionViolation
from services.payments.domain.money import Money


class WindowState(enum.Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    SETTLED = "SETTLED"


@dataclass(frozen=True)
class SettlementWindow:
    settlement_window_id: str
    state: WindowState
    opened_at: datetime
    closed_at: datetime | None = None
    settled_at: datetime | None = None
    reason: str = ""

    @classmethod
    def opened_by_commit(cls, now: datetime) -> SettlementWindow:
        """The window a commit opens when none is open (the first commit, or the first after a
        close that has not opened the next one yet)."""
        return cls(f"sw-{uuid.uuid4()}", WindowState.OPEN, now, reason="opened on first commit")

    def require(self, state: WindowState, action: str) -> None:
        if self.state is not state:
            raise FailedPrecondition(
                f"cannot {action} settlement window {self.settlement_window_id}: it is {self.state.value}",
                [PreconditionViolation("STATE", f"settlement_window/{self.settlement_window_id}", self.state.value)],
                reason=f"WINDOW_{self.state.value}",
            )


@dataclass(frozen=True)
class NetPosition:
    """One account owner's multilateral net in one currency: positive pays in, negative receives."""

    participant_id: str
    account_id: str
    net: Money
    transfer_count: int


@dataclass(frozen=True)
class SettlementReport:
    window: SettlementWindow
    positions: tuple[NetPosition, ...]
    transfer_count: int

    def check_balanced(self) -> None:
        """Nets sum to zero per currency: what some pay in, others receive."""
        totals: dict[str, int] = {}
        for p in self.positions:
            totals[p.net.currency] = totals.get(p.net.currency, 0) + p.net.minor
        unbalanced = {c: t for c, t in totals.items() if t}
        if unbalanced:
            raise AssertionError(f"settlement report does not net to zero: {unbalanced}")
