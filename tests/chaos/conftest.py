"""The chaos suite runs against deploy/cluster.sh, which it brings up unless it runs already (and then
down again at the end). ``BAYLINK_CHAOS`` chooses: ``all`` (``make chaos``), ``short`` (the scenarios
marked ``chaos_short``, which ``make test`` runs when switched on) or ``off`` (the default: skipped).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.chaos.cluster import Cluster

MODE_VAR = "BAYLINK_CHAOS"
# A scenario aims at 90 s; restarts on a busy two-core machine, and the checks after, can take longer.
# The bound is the scenario's own: bringing the cluster up (the session fixture, before the first
# scenario) has its own bound in `Cluster.up`.
SCENARIO_TIMEOUT_SECONDS = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mode = os.environ.get(MODE_VAR, "off")
    for item in items:
        if "tests/chaos/" not in item.nodeid:
            continue
        item.add_marker(pytest.mark.chaos)
        item.add_marker(pytest.mark.timeout(SCENARIO_TIMEOUT_SECONDS, func_only=True))
        if mode == "off":
            item.add_marker(pytest.mark.skip(reason=f"{MODE_VAR}=off: `make chaos` runs the chaos suite"))
        elif mode == "short" and item.get_closest_marker("chaos_short") is None:
            item.add_marker(pytest.mark.skip(reason=f"{MODE_VAR}=short runs only the scenarios marked chaos_short"))


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    started = not cluster.all_up()
    try:  # a start that fails half-way (one replica down) still stops what it started
        if started:
            cluster.up()
        cluster.heal()
        yield cluster
    finally:
        if started:
            cluster.down()
