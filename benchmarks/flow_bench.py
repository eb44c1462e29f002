"""Complete registrations from the kiosk to the USCC: what a person at a kiosk waits for (not a test).

    .venv/bin/python -m benchmarks.flow_bench [--shape processes|inprocess] [--kiosks 4,16]
        [--flows-per-kiosk 10] [--client-processes K] [--client bare|httpx] [--no-flow-worker]

Over 300 lines: both shapes of the system and the client processes share one flow and one report.

All four services real (each its own database, Kafka between them), the test PKI's live OCSP/CRL
responder and Baylink's TSA: concurrent kiosks identify (identity validates the e-Cert), draft with a
name, attach five materials and sign three (identity verifies each CMS signature, the registry has it
time-stamped and verified again with its validation data), submit, take an HKD quote, pay (two-phase
transfer), wait until the committed-transfer event has reached the registry through Kafka, and Nanhai
approves over the partner API (mutual TLS), which issues the USCC. Kiosk device certificates are
issued before the clock starts (a kiosk has its certificate before anyone walks up to it), and
four untimed flows at four kiosks warm the system first: the rounds measure a running system, not
its first minute.

Shapes. ``processes`` (the default) is the deployed one, so it is the headline: identity, registry,
payments, the gateway (kiosk and partner doors), the flow worker, the responder and the TSA each in an
OS process of its own (``tests.e2e.processes``), internal gRPC over mutual TLS; the kiosks run in
this process or, with ``--client-processes K``, spread over K processes of their own. Each kiosk
speaks HTTP/1.1 over mutual TLS through ``benchmarks.kiosk_http.BareKioskHttp`` (``--client httpx``:
through httpx, as until 2026-12-07): the kiosks' clients share the servers' two cores here, as
they would not on the kiosks' own devices, and httpx's own work was about a quarter of the machine's. ``inprocess``
runs every service, the kiosks, the responder and the TSA in this one process
(``tests.e2e.stack.running_stack``, internal gRPC as BAYLINK_INSECURE_INTERNAL says): one event
loop serves everything, which no deployment does, but it shows the CPU of the code without the
processes' own overhead (gRPC and TLS between them, Kafka clients in each).

For each number of kiosks at once it prints registrations per minute, flow latency (p50, p95, max),
the CPU per registration of each process (processes shape; the broker's includes whatever else uses
the shared dev broker) and of this process (inprocess), the cores that kept busy, the load, the goal
lines, and where the flows' time went, by kiosk API route (`flow_steps.StepTimer`). Goals (issue
20): flow p95 ≤ 1 s at 4 kiosks, ≥ 300 registrations/min at 16 kiosks.

FLOW_BENCH_PROFILE=path samples with py-spy over the timed flows (threads holding the GIL; collapsed
stacks, py-spy's raw format): this process (inprocess), or each service process into
``path.<name>.txt`` (processes).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path

import httpx
from grpc import aio

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.gateway.v1 import partner_city_service_pb2_grpc as api_grpc
from baylink.runtime.host import settle_heap
from baylink.runtime.settings import KafkaSettings
from benchmarks.flow_steps import StepTimer
from benchmarks.gateway_bench import UNLIMITED, percentile, start_profiler
from benchmarks.kiosk_http import BareKioskHttp
from benchmarks.procs import broker_pid, cpu_seconds, load_average, machine_speed
from devtools.testpki.loader import TestPKI
from services.gateway.kiosk.adapters.device_pki import KioskPkiPaths, client_context, issue_kiosk
from services.gateway.partner.adapters.pki import PkiPaths, issue_city
from services.gateway.partner.entrypoints.mtls import city_channel_credentials
from tests.e2e.kiosk_user import CHAN, LEE, KioskUser
from tests.e2e.processes import running_processes
from tests.e2e.stack import build_pki, running_stack
from tests.integration.registry.kiosk import trade_name
from tests.support.child import die_with_parent

# Payments' per-person corridor limits would stop one test person after a few fees; lift them here.
OPEN_LIMITS: dict[str, object] = {
    "corridor_limits": {
        "HKD>CNY": {"daily": "100000000", "yearly": "100000000", "max_per_day": 100000, "max_per_bucket": 100000}
    }
}
P95_GOAL_SECONDS = 1.0  # at 4 kiosks
RATE_GOAL_PER_MINUTE = 300.0  # at 16 kiosks
FEE_WAIT = "(wait) pay answered → fee_paid seen by the kiosk"
APPROVAL = "(gRPC mTLS) Nanhai approves, USCC issued"
NANHAI = "440605"
IDLE_SECONDS = 5.0
# Untimed flows before the rounds, this many kiosks at once: connections, caches and statements of
# every process, and the broker's JIT, warmed at the first goal's concurrency (docs/performance.md).
WARM_KIOSKS = 4
ROUND_SECONDS = 600.0  # a round of flows (or a client process's answer) taking longer is an error


@dataclass(frozen=True)
class Target:
    """The system the kiosks use, wherever it runs (picklable: sent to client processes)."""

    test_pki: Path  # the people's e-Certs and keys
    door_pki: Path  # the gateway's PKI directory: the kiosk CA (device certificates), the partner CA
    kiosk_url: str
    partner_port: int
    client: str = "bare"  # the kiosks' HTTP client: "bare" (BareKioskHttp) or "httpx"


def kiosk_id(n: int) -> str:
    return f"HK-FLOW-{n:04d}"


def issue_devices(target: Target, numbers: list[int]) -> None:
    paths = KioskPkiPaths.under(target.door_pki)
    for n in numbers:
        if not paths.device_cert(kiosk_id(n)).exists():
            issue_kiosk(target.door_pki, kiosk_id(n))


async def one_flow(
    target: Target, pki: TestPKI, n: int, nanhai: api_grpc.PartnerCityServiceStub, steps: StepTimer
) -> float:
    started = time.perf_counter()
    context = client_context(KioskPkiPaths.under(target.door_pki), kiosk_id(n))
    client: BareKioskHttp | httpx.AsyncClient = (
        httpx.AsyncClient(base_url=target.kiosk_url, verify=context, timeout=60)
        if target.client == "httpx"
        else BareKioskHttp(target.kiosk_url, context)
    )
    async with client as http:
        steps.watch(http)
        kiosk = KioskUser(http, pki, kiosk_id=kiosk_id(n))
        await kiosk.open()
        _, submitted = await kiosk.submitted((CHAN, LEE)[n % 2], trade_name(1000 + n))
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
    target: Target, pki: TestPKI, numbers: list[int], kiosks: int, steps: StepTimer
) -> tuple[float, list[float]]:
    """One registration per number, ``kiosks`` of them at a time: (registrations per minute, latencies)."""
    credentials = city_channel_credentials(PkiPaths(target.door_pki), NANHAI)
    channel = aio.secure_channel(f"127.0.0.1:{target.partner_port}", credentials)
    nanhai = api_grpc.PartnerCityServiceStub(channel)
    gate = asyncio.Semaphore(kiosks)

    async def limited(n: int) -> float:
        async with gate:
            return await one_flow(target, pki, n, nanhai, steps)

    try:
        started = time.perf_counter()
        async with asyncio.timeout(ROUND_SECONDS):
            latencies = await asyncio.gather(*(limited(n) for n in numbers))
        elapsed = time.perf_counter() - started
    finally:
        await channel.close()
    return len(numbers) / elapsed * 60, list(latencies)


@dataclass
class Round:
    rate: float
    latencies: list[float]
    steps: StepTimer
    client_cpu: float  # seconds: this process, and the client processes if any


def client_process(target: Target, warm: int, numbers: list[int], kiosks: int, conn: Connection) -> None:
    """One client process (spawned): a warm-up flow, "ready", then its share of the flows on "go";
    answers (latencies, step samples, CPU seconds of the timed flows)."""
    parent = multiprocessing.parent_process()
    assert parent is not None and parent.pid is not None, "a client process is spawned by the benchmark"
    die_with_parent(parent.pid)
    pki = TestPKI(target.test_pki)
    asyncio.run(flows_at_once(target, pki, [warm], 1, StepTimer()))
    conn.send("ready")
    if not conn.poll(ROUND_SECONDS) or conn.recv() != "go":
        return
    steps = StepTimer()
    cpu = time.process_time()
    _, latencies = asyncio.run(flows_at_once(target, pki, numbers, kiosks, steps))
    conn.send((latencies, dict(steps.samples), time.process_time() - cpu))


def in_client_processes(target: Target, first: int, flows: int, kiosks: int, processes: int) -> Round:
    """The flows spread over ``processes`` spawned client processes, started together."""
    context = multiprocessing.get_context("spawn")
    workers: list[tuple[SpawnProcess, Connection]] = []
    numbers = list(range(first + processes, first + processes + flows))
    try:
        for i in range(processes):
            ours, theirs = context.Pipe()
            share = kiosks // processes + (i < kiosks % processes)
            worker = context.Process(target=client_process, args=(target, first + i, numbers[i::processes],
                                                                   max(share, 1), theirs), daemon=True)  # fmt: skip
            worker.start()
            workers.append((worker, ours))
        for worker, conn in workers:
            if not conn.poll(ROUND_SECONDS) or conn.recv() != "ready":
                raise RuntimeError(f"client process {worker.pid} not ready (exit code {worker.exitcode})")
        own = time.process_time()
        started = time.perf_counter()
        for _, conn in workers:
            conn.send("go")
        latencies: list[float] = []
        steps, cpu = StepTimer(), 0.0
        for worker, conn in workers:
            if not conn.poll(ROUND_SECONDS):
                raise RuntimeError(f"client process {worker.pid} gave no answer in {ROUND_SECONDS:g} s")
            theirs_latencies, samples, theirs_cpu = conn.recv()
            latencies += theirs_latencies
            cpu += theirs_cpu
            for step, seconds in samples.items():
                steps.samples[step] += seconds
        elapsed = time.perf_counter() - started
        return Round(flows / elapsed * 60, latencies, steps, cpu + time.process_time() - own)
    finally:
        for worker, _ in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()


def goal_line(kiosks: int, rate: float, p95: float) -> str:
    if kiosks == 4:
        return f"  goal: p95 <= {P95_GOAL_SECONDS:g} s at 4 kiosks: p95 {p95:.2f} s, ratio {p95 / P95_GOAL_SECONDS:.2f}"
    if kiosks == 16:
        return (
            f"  goal: >= {RATE_GOAL_PER_MINUTE:g}/min at 16 kiosks: {rate:.0f}/min, "
            f"ratio {rate / RATE_GOAL_PER_MINUTE:.2f}"
        )
    return "  (no goal at this number of kiosks)"


def cpu_line(cpu: Mapping[str, float], flows: int, elapsed: float) -> str:
    """CPU ms per registration by process, their sum, and the cores they kept busy over the round."""
    per = " ".join(f"{name} {seconds / flows * 1000:.0f}" for name, seconds in cpu.items())
    total = sum(cpu.values())
    return (
        f"  CPU ms per registration: {per}; sum {total / flows * 1000:.0f} "
        f"→ {total / elapsed:.2f} cores busy of {os.cpu_count()}"
    )


async def idle_line(measured: Mapping[str, int], seconds: float = IDLE_SECONDS) -> None:
    """CPU ms per second of each process while no kiosk is busy: pollers, timers, consumers' fetches
    (part of every registration's figure below, the more so the fewer registrations a second)."""
    before = {name: cpu_seconds(pid) for name, pid in measured.items()}
    await asyncio.sleep(seconds)
    idle = {name: (cpu_seconds(pid) - before[name]) / seconds * 1000 for name, pid in measured.items()}
    print(f"idle, {seconds:g} s: CPU ms per second " + " ".join(f"{n} {ms:.0f}" for n, ms in idle.items())
          + f"; sum {sum(idle.values()):.0f} (load {load_average()})")  # fmt: skip


def report(shape: str, kiosks: int, flows: int, done: Round, cpu: Mapping[str, float], load: str, client: str) -> None:
    p95 = percentile(done.latencies, 0.95)
    elapsed = flows / done.rate * 60
    print(f"flow ({shape}): {flows} registrations kiosk → USCC, {kiosks} kiosks at once, {client} client "
          f"(load {load} → {load_average()})")  # fmt: skip
    print(
        f"  {done.rate:7.1f} registrations/min   p50 {statistics.median(done.latencies):.2f} s, "
        f"p95 {p95:.2f} s, max {max(done.latencies):.2f} s"
    )
    print(cpu_line(cpu, flows, elapsed))
    print(goal_line(kiosks, done.rate, p95))
    print("\n".join(done.steps.table(flows, sum(done.latencies))))


@dataclass
class System:
    target: Target
    pids: dict[str, int] = field(default_factory=dict)  # the processes measured (processes shape)


@asynccontextmanager
async def system(shape: str, workdir: Path, flow_worker: bool, client: str) -> AsyncIterator[System]:
    kafka = KafkaSettings()
    pki = build_pki(workdir / "testpki")
    if shape == "inprocess":
        async with running_stack(workdir, kafka, pki, with_payments=True, payments_options=OPEN_LIMITS,
                                 kiosk_guard=UNLIMITED) as stack:  # fmt: skip
            gateway = stack.gateway
            yield System(
                Target(pki.directory, gateway.settings.pki_dir, gateway.kiosk_url, gateway.partner_port, client)
            )
        return
    async with running_processes(workdir, kafka, pki, payments_options=OPEN_LIMITS, flow_worker=flow_worker,
                                 kiosk_guard=UNLIMITED) as running:  # fmt: skip
        target = Target(pki.directory, running.gateway_pki_dir, running.kiosk_url, running.ports.partner, client)
        yield System(target, running.pids())


async def run(
    shape: str, kiosk_counts: list[int], per_kiosk: int, client_processes: int, flow_worker: bool, client: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with system(shape, Path(tmp), flow_worker, client) as sut:
            target = sut.target
            issue_city(target.door_pki, NANHAI)
            pki = TestPKI(target.test_pki)
            total = WARM_KIOSKS + sum(per_kiosk * k + client_processes for k in kiosk_counts)
            issue_devices(target, list(range(total)))
            await flows_at_once(target, pki, list(range(WARM_KIOSKS)), WARM_KIOSKS, StepTimer())
            settle_heap()
            profile = os.environ.get("FLOW_BENCH_PROFILE")
            profilers = [await start_profiler(profile)] if profile and shape == "inprocess" else []
            if profile and shape == "processes":
                profilers = [await start_profiler(f"{profile}.{name}.txt", pid) for name, pid in sut.pids.items()]
            broker = broker_pid()
            measured = {**sut.pids, **({"broker": broker} if broker else {})}
            if shape == "processes":
                await idle_line(measured)
            first = WARM_KIOSKS
            for kiosks in kiosk_counts:
                flows = per_kiosk * kiosks
                load = load_average()
                before = {name: cpu_seconds(pid) for name, pid in measured.items()}
                own = cpu_seconds(os.getpid()) if shape == "inprocess" else time.process_time()
                if client_processes:
                    done = await asyncio.to_thread(in_client_processes, target, first, flows, kiosks, client_processes)
                    first += client_processes
                else:
                    steps = StepTimer()
                    rate, latencies = await flows_at_once(target, pki, list(range(first, first + flows)), kiosks, steps)
                    done = Round(rate, latencies, steps, 0.0)
                first += flows
                cpu = {name: cpu_seconds(pid) - before[name] for name, pid in measured.items()}
                if shape == "inprocess":
                    cpu = {"this process (every service, client, responder, TSA)": cpu_seconds(os.getpid()) - own}
                else:
                    cpu["client"] = done.client_cpu + time.process_time() - own
                report(shape, kiosks, flows, done, cpu, load, client)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
                await profiler.wait()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", choices=("processes", "inprocess"), default="processes")
    parser.add_argument("--kiosks", default="4,16", help="comma-separated numbers of kiosks at once")
    parser.add_argument("--flows-per-kiosk", type=int, default=10,
                        help="flows per kiosk in each round (20 flows or fewer: p95 is the max)")  # fmt: skip
    parser.add_argument("--client-processes", type=int, default=0,
                        help="run the kiosks in this many processes of their own (0: in this process)")  # fmt: skip
    parser.add_argument("--client", choices=("bare", "httpx"), default="bare",
                        help="the kiosks' HTTP client (bare: benchmarks.kiosk_http, the cheapest)")  # fmt: skip
    parser.add_argument(
        "--no-flow-worker",
        dest="flow_worker",
        action="store_false",
        help="processes shape: leave out the flow worker (it observes; no flow waits for it)",
    )
    args = parser.parse_args(argv)
    args.kiosk_counts = [int(k) for k in args.kiosks.split(",") if k.strip()]
    if not args.kiosk_counts or min(args.kiosk_counts) < 1 or args.flows_per_kiosk < 1:
        parser.error("--kiosks needs numbers >= 1, --flows-per-kiosk >= 1")
    if not 0 <= args.client_processes <= 16:
        parser.error("--client-processes is 0 to 16")
    if args.client_processes and args.shape == "inprocess":
        parser.error("--client-processes is for --shape processes (inprocess runs every part in this process)")
    return args


def main() -> None:
    args = parse()
    with machine_speed():
        asyncio.run(
            run(
                args.shape,
                args.kiosk_counts,
                args.flows_per_kiosk,
                args.client_processes,
                args.flow_worker,
                args.client,
            )
        )


if __name__ == "__main__":
    main()
