"""One chaos scenario: the steady load, a fault in the middle of it, then the checks and the report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tests.chaos.cluster import Cluster
from tests.chaos.load import Load
from tests.chaos.report import Outcome, audits, check_registrations

# A fault: does its harm to the running cluster, returns when it is over (the process restarted,
# the database back), with the moment the harm was done and a line saying what it did.
Fault = Callable[[Load], Awaitable[tuple[float, str]]]


async def under_load(
    cluster: Cluster, scenario: str, fault_name: str, fault: Fault, *, kinds: tuple[str, ...] = (),
    registrations: int = 6, kiosks: int = 3, seconds: float = 45, record: bool = True,
) -> Outcome:  # fmt: skip
    """Run the load, do ``fault`` once the first fee is paid, wait for every registration to end, check."""
    await asyncio.to_thread(cluster.heal)  # whatever an earlier scenario left down is started first
    began = time.monotonic()
    outcome = Outcome(scenario, fault_name)
    load = Load(cluster, registrations=registrations, kiosks=kiosks, seconds=seconds)
    try:
        running = asyncio.create_task(load.run())
        async with asyncio.timeout(90):
            while not any(r.paid_at for r in load.registrations) and not running.done():
                await asyncio.sleep(0.2)
        if not any(r.paid_at for r in load.registrations):  # the cluster is not serving: no fault on top
            await running
            errors = "; ".join(sorted({r.error or r.abandoned for r in load.registrations}))[:1000]
            raise AssertionError(f"{scenario}: no fee was paid before the fault, so none was done: {errors}")
        moment, outcome.did = await fault(load)
        await running
        outcome.recovery_seconds = load.calls.first_success_after(moment, kinds)
        outcome.failed_calls = len(load.calls.failures_between(moment, time.monotonic()))
        await check_registrations(load, outcome)
    finally:
        await load.close()
    status = await asyncio.to_thread(cluster.status)
    down = [name for name in cluster.processes() if not status.get(name)]
    if down:
        outcome.problems.append(f"not running after the scenario: {', '.join(down)}")
    await asyncio.to_thread(audits, cluster, outcome)
    outcome.wall_seconds = time.monotonic() - began
    if record:  # else the caller adds figures of its own, then prints and keeps them
        print("\n" + outcome.show())
        outcome.save()
    return outcome


def kill_and_restart(cluster: Cluster, name: str, down_seconds: float = 8) -> Fault:
    """kill -9 ``name``, leave it dead ``down_seconds`` under load, start it again."""

    async def fault(load: Load) -> tuple[float, str]:
        moment = await asyncio.to_thread(cluster.kill, name)
        await asyncio.sleep(down_seconds)
        restart = time.monotonic()
        await asyncio.to_thread(cluster.start, name)
        took = time.monotonic() - restart
        at = moment - load.started_at
        return moment, f"kill -9 {name} {at:.1f} s into the load, down {down_seconds:.0f} s, restarted ({took:.1f} s)"

    return fault


def assert_clean(outcome: Outcome) -> None:
    assert not outcome.problems, outcome.show()
    assert outcome.lost == 0 and outcome.duplicated == 0, outcome.show()
    assert outcome.started > 0 and outcome.finished == outcome.started, outcome.show()
    assert outcome.acked == outcome.consumed, outcome.show()
    assert all(v == "passed" for v in outcome.audits.values()), outcome.show()
