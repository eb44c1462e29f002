"""Login throttling: failures counted per user name and per address, with exponential back-off.

Every attempt counts as a failure when it starts (so a burst of parallel guesses is counted before any
of them is checked) and a success takes its own count back. Past ``free_failures`` a key must wait
``base_delay * 2**(excess - 1)`` seconds (at most ``max_delay``) before its next attempt; an attempt
made while waiting is refused without checking the password and still counts, so hammering only
lengthens the wait. State is bounded (``max_keys`` per table, oldest dropped first) and a key is
forgotten ``forget_after`` seconds after its last attempt or the end of its wait, whichever is later.

``FailureCount`` is the rule on one key; the gateway keeps the counts in its database, so that every
replica counts the same failures (``console/adapters/auth_store.py``); ``FailureCounter`` keeps them in
this process (the unit tests' fake, and what ``InProcessFailures`` holds).
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
class FailureCount:
    """One key's count. Times are seconds on the clock the caller passes in."""

    failures: int = 0
    blocked_until: float = 0.0
    last: float = 0.0
    refused: int = 0  # attempts refused in the current wait

    def wait(self, now: float) -> float:
        return max(0.0, self.blocked_until - now)

    def expired(self, policy: ThrottlePolicy, now: float) -> bool:
        return now >= self.forget_at(policy)

    def forget_at(self, policy: ThrottlePolicy) -> float:
        return max(self.blocked_until, self.last) + policy.forget_after_seconds

    def attempt(self, policy: ThrottlePolicy, now: float) -> Attempt:
        """Count an attempt (checked or refused) as a failure until a success takes it back."""
        waited = self.wait(now)
        self.failures += 1
        self.last = now
        self.refused = self.refused + 1 if self.blocked_until > now else 0
        delay = policy.delay(self.failures)
        if delay:
            self.blocked_until = max(self.blocked_until, now + delay)
        return Attempt(waited, self.wait(now), self.refused == 1)


@dataclass(frozen=True)
class Attempt:
    """What counting one attempt found: the wait it met (0: it may be checked), the wait it leaves,
    and whether it is the first refused in the current wait (audited once)."""

    waited: float
    wait: float
    first_refusal: bool


class FailureCounter:
    """Failures per key (a user name, an address), bounded and expiring."""

    def __init__(self, policy: ThrottlePolicy, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.policy = policy
        self.max_keys = max_keys
        self.clock = clock
        self._counts: OrderedDict[str, FailureCount] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def wait(self, key: str) -> float:
        """Seconds ``key`` must still wait before an attempt is checked (0: it may try now)."""
        count = self._live(key)
        return count.wait(self.clock()) if count else 0.0

    def attempted(self, key: str) -> Attempt:
        """Count an attempt (checked or refused) as a failure until a success takes it back."""
        now = self.clock()
        count = self._live(key)
        if count is None:
            self._make_room(now)
            count = self._counts[key] = FailureCount()
        self._counts.move_to_end(key)
        return count.attempt(self.policy, now)

    def succeeded(self, key: str, *, forget: bool) -> None:
        """A checked attempt succeeded: forget the key (a user) or take back its one count (an address,
        which other users' failures from the same place keep counting against)."""
        if forget:
            self._counts.pop(key, None)
        elif (count := self._counts.get(key)) is not None:
            count.failures = max(0, count.failures - 1)

    def _live(self, key: str) -> FailureCount | None:
        count = self._counts.get(key)
        if count is not None and count.expired(self.policy, self.clock()):
            del self._counts[key]
            return None
        return count

    def _make_room(self, now: float) -> None:
        if len(self._counts) < self.max_keys:
            return
        for key in [k for k, c in self._counts.items() if c.expired(self.policy, now)]:
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
