"""Cache of certificate-validation results, so a signer who signs ten materials is validated once.

Keyed by leaf fingerprint, validation-time bucket, policy and trust-list generation (a new list
invalidates everything). Entries also expire after `max_age`, because revocation status can
change even for a validation time in the past. INDETERMINATE answers are never cached: they
mean "could not decide now", and the next attempt deserves a fresh try. No entry answers for a
moment past the notAfter of any certificate of its chain (a bucket can straddle it), and none
is kept past that notAfter.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.identity.domain.report import Indication, ValidationReport

CacheKey = tuple[str, int, str, int]


class ChainResultCache:
    def __init__(
        self,
        bucket: timedelta = timedelta(minutes=5),
        max_age: timedelta = timedelta(minutes=5),
        max_entries: int = 50_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._bucket = bucket.total_seconds()
        self._max_age = max_age
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[CacheKey, tuple[ValidationReport, datetime]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def key(self, leaf_fingerprint: str, moment: datetime, policy_key: str, generation: int) -> CacheKey:
        return leaf_fingerprint, int(moment.timestamp() // self._bucket), policy_key, generation

    def get(self, key: CacheKey, moment: datetime) -> ValidationReport | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] <= self._clock() or not covers(entry[0], moment):
            self._entries.pop(key, None)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return at_moment(entry[0], moment)

    def clear(self) -> None:
        self._entries.clear()

    def put(self, key: CacheKey, report: ValidationReport) -> None:
        if report.indication is Indication.INDETERMINATE:
            return
        expires = self._clock() + self._max_age
        if report.chain:
            expires = min(expires, _chain_not_after(report))
        self._entries[key] = (report, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def at_moment(report: ValidationReport, moment: datetime) -> ValidationReport:
    """A chain's report for another moment of its bucket: `dataclasses.replace(report,
    validation_time=moment)` without re-running the constructor, which costs more than the lookup."""
    clone = object.__new__(ValidationReport)
    clone.__dict__.update(report.__dict__, validation_time=moment)  # copy.copy's way, without its detours
    return clone


def covers(report: ValidationReport, moment: datetime) -> bool:
    """Whether `report` may answer for `moment`: not past the notAfter of its chain."""
    return not report.chain or moment <= _chain_not_after(report)


def _chain_not_after(report: ValidationReport) -> datetime:
    return min(element.not_after for element in report.chain)
