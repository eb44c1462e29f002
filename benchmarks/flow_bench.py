"""Complete registrations from the kiosk to the USCC: what a person at a kiosk waits for (not a test).

    .venv/bin/python -m benchmarks.flow_bench [--kiosks 4,16] [--flows-per-kiosk 3]

All four services real (each its own database, Kafka between them), the test PKI's live OCSP/CRL
responder and Baylink's TSA: concurrent kiosks identify (identity validates the e-Cert), draft with a
name, attach five materials and sign three (identity verifies each CMS signature, the registry has it
time-stamped and verified again with its validation data), submit, take an HKD quote, pay (two-phase
transfer), wait until the committed-transfer event has reached the registry through Kafka, and Nanhai
approves over the partner API (mutual TLS), which issues the USCC.

FLOW_BENCH_PROFILE=path.txt samples this process with py-spy over the timed flows (threads holding the
GIL; collapsed stacks, py-spy's raw format), as GATEWAY_BENCH_PROFILE does for the gateway benchmark.

For each number of kiosks at once, it prints registrations per minute, flow latency (p50, p95, max)
and where the flows' time went, by kiosk API route (`flow_steps.StepTimer`). Goals (issue 20): flow
p95 ≤ 1 s at 4 kiosks, ≥ 300 registrations/min at 16 kiosks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from grpc import aio

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.host import settle_heap
from baylink.runtime.settings import KafkaSettings
from benchmarks.flow_steps import StepTimer
from benchmarks.gateway_bench import UNLIMITED, percentile, start_profiler
from benchmarks.procs import cpu_seconds, load_average
from services.gateway.partner.adapters.pki import PkiPaths, issue_city
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.e2e.kiosk_user import CHAN, LEE, KioskUser, Person
from tests.e2e.stack import Stack, build_pki, running_stack
from tests.integration.registry.kiosk import trade_name

# Payments' per-person corridor limits would stop one test person after a few fees; lift them here.
OPEN_LIMITS = {
    "corridor_limits": {
        "HKD>CNY": {"daily": "100000000", "yearly": "100000000", "max_per_day": 100000, "max_per_bucket": 100000}
    }
}
P95_GOAL_SECONDS = 1.0  # at 4 kiosks
RATE_GOAL_PER_MINUTE = 300.0  # at 16 kiosks
FEE_WAIT = "(wait) pay answered → fee_paid seen by the kiosk"
APPROVAL = "(gRPC mTLS) Nanhai approves, USCC issued"


async def one_flow(
    stack: Stack, n: int, person: Person, nanhai: api_grpc.PartnerCityServiceStub, steps: StepTimer
) -> float:
    started = time.perf_counter()
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id=f"HK-FLOW-{n:03d}")
    steps.watch(kiosk.http)
    await kiosk.open()
    _, submitted = await kiosk.submitted(person, trade_name(1000 + n))
    application_id = submitted["application_id"]
    quote = await kiosk.quote(application_id, "HKD")
    assert quote.status_code == 200, quote.text
    paid = await kiosk.pay(application_id, quote.json()["quote_id"])
    assert paid.status_code == 200, paid.text
    waiting = time.perf_counter()
    deadline = waiting + 60
    while not (await kiosk.track(application_id))["fee_paid"]:
        assert time.perf_counter() < deadline, f"{application_id}: fee not seen as paid within 60 s"
        await asyncio.sleep(0.02)
    approving = time.perf_counter()
    steps.add(FEE_WAIT, approving - waiting)
    request = api.DecideApplicationRequest(
        request_id=f"flow-{n}", application_id=application_id, decision=pc.DECISION_APPROVE, reviewer_id="bench"
    )
    decided = (await nanhai.DecideApplication(request)).application
    assert decided.status == pc.APPLICATION_STATUS_APPROVED and decided.uscc
    ended = time.perf_counter()
    steps.add(APPROVAL, ended - approving)
    return ended - started


async def flows_at_once(
    stack: Stack, first: int, flows: int, kiosks: int, steps: StepTimer
) -> tuple[float, list[float]]:
    """``flows`` registrations, ``kiosks`` of them at a time: (registrations per minute, latencies)."""
    credentials = city_channel_credentials(PkiPaths(stack.gateway.settings.pki_dir), "440605")
    channel = aio.secure_channel(f"127.0.0.1:{stack.gateway.partner_port}", credentials)
    nanhai = api_grpc.PartnerCityServiceStub(channel)
    gate = asyncio.Semaphore(kiosks)
    people = [CHAN, LEE]

    async def limited(n: int) -> float:
        async with gate:
            return await one_flow(stack, n, people[n % len(people)], nanhai, steps)

    try:
        started = time.perf_counter()
        latencies = await asyncio.gather(*(limited(first + n) for n in range(flows)))
        elapsed = time.perf_counter() - started
    finally:
        await channel.close()
    return flows / elapsed * 60, list(latencies)


def goal_line(kiosks: int, rate: float, p95: float) -> str:
    if kiosks == 4:
        return f"  goal: p95 <= {P95_GOAL_SECONDS:g} s at 4 kiosks: p95 {p95:.2f} s, ratio {p95 / P95_GOAL_SECONDS:.2f}"
    if kiosks == 16:
        return (
            f"  goal: >= {RATE_GOAL_PER_MINUTE:g}/min at 16 kiosks: {rate:.0f}/min, "
            f"ratio {rate / RATE_GOAL_PER_MINUTE:.2f}"
        )
    return "  (no goal at this number of kiosks)"


async def run(kiosk_counts: list[int], per_kiosk: int) -> None:
    kafka = KafkaSettings()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pki = build_pki(workdir / "testpki")
        async with running_stack(
            workdir, kafka, pki, with_payments=True, payments_options=OPEN_LIMITS, kiosk_guard=UNLIMITED
        ) as stack:
            issue_city(stack.gateway.settings.pki_dir, "440605")
            await flows_at_once(stack, 0, 2, 2, StepTimer())  # warm: connections, caches, compiled statements
            settle_heap()
            profile = os.environ.get("FLOW_BENCH_PROFILE")
            profiler = await start_profiler(profile) if profile else None
            first = 2
            for kiosks in kiosk_counts:
                flows = per_kiosk * kiosks
                steps = StepTimer()
                cpu_before, load_before = cpu_seconds(os.getpid()), load_average()
                rate, latencies = await flows_at_once(stack, first, flows, kiosks, steps)
                cpu = cpu_seconds(os.getpid()) - cpu_before
                first += flows
                p95 = percentile(latencies, 0.95)
                print(f"flow: {flows} registrations kiosk → USCC, {kiosks} kiosks at once "
                      f"(load {load_before} → {load_average()})")  # fmt: skip
                print(
                    f"  {rate:7.1f} registrations/min   p50 {statistics.median(latencies):.2f} s, "
                    f"p95 {p95:.2f} s, max {max(latencies):.2f} s   CPU {cpu / flows * 1000:.0f} ms per registration "
                    "(this process: every service, the client, the responder, the TSA)"
                )
                print(goal_line(kiosks, rate, p95))
                print("\n".join(steps.table(flows, sum(latencies))))
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
                await profiler.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiosks", default="4,16", help="comma-separated numbers of kiosks at once")
    parser.add_argument("--flows-per-kiosk", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run([int(k) for k in args.kiosks.split(",") if k.strip()], args.flows_per_kiosk))


if __name__ == "__main__":
    main()
