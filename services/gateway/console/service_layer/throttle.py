"""Login throttling: failures counted per user name and per address, with exponential back-off.

Every attempt counts as a failure when it starts (so a burst of parallel guesses is counted before any
of them is checked) and a success takes its own count back. Past ``free_failures`` a key must wait
``base_delay * 2**(excess - 1)`` seconds (at most ``max_delay``) before its next attempt; an attempt
made while waiting is refused without checking the password and still counts, so hammering only
lengthens the wait. State is bounded (``max_keys`` per table, oldest dropped first) and a key is
forgotten ``forget_after`` seconds after its last attempt or the end of its wait, whichever is later.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 5
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 900.0
    forget_after_seconds: float = 3600.0

    def delay(self, failures: int) -> float:
        """How long a key with ``failures`` counted failures waits (0 while within the free ones)."""
        excess = failures - self.free_failures
        if excess <= 0:
            return 0.0
        return min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** min(excess - 1, 62))


@dataclass
class _Count:
    failures: int = 0
    blocked_until: float = 0.0
    last: float = 0.0
    refused: int = 0  # attempts refused in the current wait


class FailureCounter:
    """Failures per key (a user name, an address), bounded and expiring."""

    def __init__(self, policy: ThrottlePolicy, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.policy = policy
        self.max_keys = max_keys
        self.clock = clock
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def wait(self, key: str) -> float:
        """Seconds ``key`` must still wait before an attempt is checked (0: it may try now)."""
        count = self._live(key)
        return max(0.0, count.blocked_until - self.clock()) if count else 0.0

    def attempted(self, key: str) -> None:
        """Count an attempt (checked or refused) as a failure until a success takes it back."""
        now = self.clock()
        count = self._live(key)
        if count is None:
            self._make_room(now)
            count = self._counts[key] = _Count()
        self._counts.move_to_end(key)
        count.failures += 1
        count.last = now
        if count.blocked_until > now:
            count.refused += 1
        else:
            count.refused = 0
        delay = self.policy.delay(count.failures)
        if delay:
            count.blocked_until = max(count.blocked_until, now + delay)

    def first_refusal(self, key: str) -> bool:
        """Whether the attempt just counted is the first refused in the current wait (audited once)."""
        count = self._counts.get(key)
        return count is not None and count.refused == 1

    def succeeded(self, key: str, *, forget: bool) -> None:
        """A checked attempt succeeded: forget the key (a user) or take back its one count (an address,
        which other users' failures from the same place keep counting against)."""
        if forget:
            self._counts.pop(key, None)
        elif (count := self._counts.get(key)) is not None:
            count.failures = max(0, count.failures - 1)

    def _live(self, key: str) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and self._expired(count, self.clock()):
            del self._counts[key]
            return None
        return count

    def _expired(self, count: _Count, now: float) -> bool:
        return now >= max(count.blocked_until, count.last) + self.policy.forget_after_seconds

    def _make_room(self, now: float) -> None:
        if len(self._counts) < self.max_keys:
            return
        for key in [k for k, c in self._counts.items() if self._expired(c, now)]:
            del self._counts[key]
        while len(self._counts) >= self.max_keys:
            self._counts.popitem(last=False)  # the least recently tried


def address_key(host: str) -> str:
    """The throttling key of a client address: IPv6 by its /64 (one subscriber's block), else as given."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else str(address)
