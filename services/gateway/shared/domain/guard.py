"""The bulk-leak guard: per-caller rate limits, and a detector for one caller reading many people.

- Rate: a token bucket per caller (``rate_per_second`` sustained, ``burst`` at once).
- Distinct subjects: per caller, the people read within a sliding window of ``window_seconds``.
  A caller already at ``distinct_subjects`` may re-read those but not one more, until the oldest
  read ages out. A city reviewing applications reads a handful of people an hour; a caller
  walking through pseudonyms reads hundreds, which is the leak this stops.
- Alerts: a trip raises an alert the first time it happens for that caller and kind, and then
  at most once per window, so a caller hammering a closed door does not flood the operators.
- Memory is bounded by the callers active lately: what a caller left behind is forgotten once it
  can no longer matter (a bucket that has refilled is the same as a new one; a window whose reads
  have all aged out is empty), so many callers, once each, leave nothing behind.

Times are seconds, passed in by the caller. ``BulkLeakGuard`` keeps the counts in this process's
memory (one process, and the unit tests); the gateway keeps them in its database, shared by every
replica (``adapters/guard_store.py``), with the same rules and the same trips (``trip_of``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class GuardPolicy:
    rate_per_second: float = 10.0
    burst: int = 50
    distinct_subjects: int = 100
    window_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.burst < 1 or self.distinct_subjects < 1 or self.window_seconds <= 0:
            raise ValueError("guard policy values must be positive")


class TripKind(StrEnum):
    """Also the ``kind`` of the security alert raised."""

    RATE_LIMIT = "rate_limit_exceeded"
    BULK_SUBJECT_READ = "bulk_subject_read"


@dataclass(frozen=True)
class Trip:
    kind: TripKind
    caller: str
    retry_after_seconds: float
    alert: bool  # the first trip of this kind for this caller in the window: tell the operators
    description: str


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), now

    def take(self, now: float) -> float:
        """0 when a token was taken, else seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class SubjectWindow:
    """Subjects one caller read, by the time of their latest read (oldest first)."""

    def __init__(self) -> None:
        self.seen: OrderedDict[str, float] = OrderedDict()

    def admit(self, subjects: Iterable[str], now: float, limit: int, window: float) -> float:
        """0 when admitted (and remembered), else seconds until enough of them age out."""
        while self.seen and next(iter(self.seen.values())) <= now - window:
            self.seen.popitem(last=False)
        wanted = [s for s in dict.fromkeys(subjects) if s]
        new = [s for s in wanted if s not in self.seen]
        if len(self.seen) + len(new) > limit:
            if len(new) > limit or not self.seen:
                return window
            return max(next(iter(self.seen.values())) + window - now, 0.001)
        for subject in wanted:
            self.seen[subject] = now
            self.seen.move_to_end(subject)
        return 0.0


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class SecurityAlert:
    """Something operators must look at. No personal data: people only as the gateway's pseudonym."""

    kind: str  # e.g. "bulk_subject_read", "rate_limit_exceeded", "mtls_peer_refused"
    severity: Severity
    description: str
    actor: str  # who caused it, as in the audit log ("city:440300")
    city_code: str = ""
    subject_pseudonym: str = ""
    certificate_fingerprint: str = ""


SEVERITY_OF_TRIP = {TripKind.RATE_LIMIT: Severity.MEDIUM, TripKind.BULK_SUBJECT_READ: Severity.HIGH}


@dataclass
class BulkLeakGuard:
    policy: GuardPolicy = field(default_factory=GuardPolicy)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _windows: dict[str, SubjectWindow] = field(default_factory=dict)
    _alerted: dict[tuple[str, TripKind], float] = field(default_factory=dict)
    _pruned_at: float | None = None

    @property
    def tracked_callers(self) -> int:
        return len(self._buckets.keys() | self._windows.keys())

    def prune(self, now: float) -> None:
        """Forget the callers whose state has run out (see the module's note); cheap enough to run often."""
        p = self.policy
        self._buckets = {c: b for c, b in self._buckets.items() if b.tokens + (now - b.updated) * b.rate < b.burst}
        recent = now - p.window_seconds
        self._windows = {c: w for c, w in self._windows.items() if w.seen and next(reversed(w.seen.values())) > recent}
        self._alerted = {k: t for k, t in self._alerted.items() if now - t < p.window_seconds}
        self._pruned_at = now

    def _maybe_prune(self, now: float) -> None:
        every = max(1.0, min(self.policy.window_seconds, self.policy.burst / self.policy.rate_per_second))
        if self._pruned_at is None or now - self._pruned_at >= every:
            self.prune(now)

    def admit_call(self, caller: str, now: float) -> Trip | None:
        self._maybe_prune(now)
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = TokenBucket(self.policy.rate_per_second, self.policy.burst, now)
        wait = bucket.take(now)
        if not wait:
            return None
        return self._trip(TripKind.RATE_LIMIT, caller, wait, now)

    def admit_subjects(self, caller: str, subjects: Iterable[str], now: float) -> Trip | None:
        p = self.policy
        self._maybe_prune(now)
        window = self._windows.setdefault(caller, SubjectWindow())
        wait = window.admit(subjects, now, p.distinct_subjects, p.window_seconds)
        if not wait:
            return None
        return self._trip(TripKind.BULK_SUBJECT_READ, caller, wait, now)

    def _trip(self, kind: TripKind, caller: str, wait: float, now: float) -> Trip:
        last = self._alerted.get((caller, kind))
        alert = last is None or now - last >= self.policy.window_seconds
        if alert:
            self._alerted[(caller, kind)] = now
        return trip_of(self.policy, kind, caller, wait, alert=alert)


def trip_of(policy: GuardPolicy, kind: TripKind, caller: str, wait: float, *, alert: bool) -> Trip:
    """The refusal of ``caller`` by ``kind``, waiting ``wait`` seconds (wherever the counts are kept)."""
    if kind is TripKind.RATE_LIMIT:
        description = f"{caller} exceeded {policy.rate_per_second:g} calls/s (burst {policy.burst}); throttled"
    else:
        description = (
            f"{caller} read more than {policy.distinct_subjects} distinct subjects within {policy.window_seconds:g} s; "
            "further subjects refused"
        )
    return Trip(kind, caller, wait, alert, description)
