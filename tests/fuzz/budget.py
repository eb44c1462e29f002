"""How long the fuzzers run, and what they found, per door.

``make test`` runs a bounded, derandomised sample (the same examples on every run, so a red build
is never luck); ``make fuzz`` sets ``BAYLINK_FUZZ_EXAMPLES`` (examples per door, 10,000 by default
there) and draws fresh random examples. Every door's examples are spread over its operations, each
operation getting at least a few.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings

EXAMPLES_VAR = "BAYLINK_FUZZ_EXAMPLES"
BOUNDED_EXAMPLES = 60  # per door in `make test`: the whole fuzz suite stays well under two minutes
MIN_PER_OPERATION = 3
BOUNDED_TEST_SECONDS = 300  # one fuzz test's ceiling in `make test` (hypothesis stops at max_examples first)
LONG_TEST_SECONDS = 8 * 3600  # and in `make fuzz`


def examples_per_door() -> int:
    return int(os.environ.get(EXAMPLES_VAR) or BOUNDED_EXAMPLES)


def long_run() -> bool:
    return examples_per_door() > BOUNDED_EXAMPLES


def fuzz_timeout_seconds() -> int:
    """Every fuzz test is bounded in time as well as in count (pytest-timeout fails it past this)."""
    return LONG_TEST_SECONDS if long_run() else BOUNDED_TEST_SECONDS


def fuzz_settings(operations: int) -> settings:
    """Hypothesis settings for one operation of a door with ``operations`` operations."""
    per_operation = max(MIN_PER_OPERATION, math.ceil(examples_per_door() / max(1, operations)))
    return settings(
        max_examples=per_operation,
        deadline=None,  # the servers' latency under load is not what this checks; call deadlines are
        derandomize=not long_run(),
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )


@dataclass
class Tally:
    """Examples tried and 5xx/INTERNAL answers seen, per door (printed at the end of the run)."""

    tried: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def example(self, door: str) -> None:
        self.tried[door] += 1

    def failure(self, door: str) -> None:
        self.failures[door] += 1

    def lines(self) -> list[str]:
        return [
            f"{door:<28} examples tried {self.tried[door]:>7}   5xx/INTERNAL found {self.failures[door]}"
            for door in sorted(self.tried)
        ]


TALLY = Tally()
