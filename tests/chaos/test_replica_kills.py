"""kill -9 one replica of each service (and of the flow worker) mid-load, restart it, and check that no
transfer was lost or made twice, both audits pass and every registration that paid its fee ended:
approved, or rejected and refunded exactly once. The other replica carries the load meanwhile."""

from __future__ import annotations

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.report import RECOVERY_GOAL_SECONDS
from tests.chaos.scenario import assert_clean, kill_and_restart, under_load

# Which calls tell that the killed service serves again (through its surviving replica or its restart).
KINDS = {
    "identity": ("kiosk",),
    "registry": ("kiosk", "partner"),
    "payments": ("kiosk",),
    "gateway": ("kiosk", "partner"),
    "gateway-flows": ("refund",),
}
SHORT = {"payments", "gateway"}


@pytest.mark.parametrize(
    "service",
    [pytest.param(s, marks=[pytest.mark.chaos_short] if s in SHORT else []) for s in KINDS],
)
async def test_kill_a_replica_mid_load(cluster: Cluster, service: str) -> None:
    name = f"{service}-1"
    outcome = await under_load(
        cluster, f"kill -9 {name}", f"kill -9 {name}", kill_and_restart(cluster, name), kinds=KINDS[service]
    )
    assert_clean(outcome)
    assert outcome.recovery_seconds is not None, outcome.show()
    assert outcome.recovery_seconds < RECOVERY_GOAL_SECONDS, outcome.show()
