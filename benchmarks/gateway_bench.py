"""The gateway's overhead on a kiosk call (not a test).

    .venv/bin/python -m benchmarks.gateway_bench [--calls 500]

The catalogue of Nanhai read through the kiosk API (HTTP/JSON over uvicorn with a kiosk device
certificate, session, per-kiosk guard, one durable audit record, gRPC to the registry, JSON back) and
read from the registry's gRPC API directly, in one run against the same registry. Goal: the kiosk API
adds at most 2 ms at p50 and 5 ms at p99. Each path's CPU time per call (this process: client,
gateway and registry alike) is printed beside the wall-clock figures, and the same read from a bare
HTTP/1.1 client (``BareKiosk``) beside httpx's: the difference is the client's. Two goal lines follow:
the gateway's own overhead (the bare client's path minus the direct one: the goal's figure) and the
same through httpx, each with its CPU per call also as a multiple of the direct call's (on a shared
machine the CPU a call takes moves with the load; the ratio moves less).
GATEWAY_BENCH_PROFILE=path.txt samples this process (every service runs in it) with py-spy over the
timed calls, only threads holding the GIL (where this process's Python CPU time goes), and writes
collapsed stacks there (py-spy's raw format).

Complete registrations through the gateway, kiosk to USCC: ``benchmarks/flow_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.host import settle_heap
from baylink.runtime.settings import KafkaSettings
from benchmarks.procs import load_average, machine_speed
from services.gateway.config import GuardSettings
from services.gateway.kiosk.adapters.device_pki import client_context
from tests.e2e.kiosk_user import KioskUser
from tests.e2e.stack import Stack, build_pki, running_stack

OVERHEAD_GOAL_P50_MS = 2.0
OVERHEAD_GOAL_P99_MS = 5.0
UNLIMITED = GuardSettings(rate_per_second=1e6, burst=1_000_000, distinct_subjects=1_000_000)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class Timed:
    label: str
    call: Callable[[], Awaitable[None]]
    seconds: list[float] = field(default_factory=list)  # per call
    cpu: float = 0.0  # CPU seconds of this process (client, gateway and registry alike), all calls


class BareKiosk:
    """The catalogue read as a minimal HTTP/1.1 client sends it: a request written by hand on one kept-alive
    mutual-TLS connection, the answer read by its Content-Length. Beside the httpx client's figure it
    shows how much of the kiosk path is the client library's own work."""

    def __init__(self, stack: Stack, kiosk: KioskUser):
        self.stack, self.kiosk = stack, kiosk
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        url = urlsplit(self.stack.gateway.kiosk_url)
        context = client_context(self.stack.gateway.kiosk_pki, self.kiosk.kiosk_id)
        self.streams = await asyncio.open_connection(url.hostname, url.port, ssl=context)
        self.request = (
            f"GET /v1/catalogue?authority=440605 HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {self.kiosk.token}\r\n\r\n"
        ).encode()

    async def catalogue(self) -> None:
        assert self.streams is not None
        reader, writer = self.streams
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0].split(b" ")[1] == b"200", lines[0]
        length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


async def overhead(stack: Stack, calls: int) -> list[Timed]:
    """The three paths in turn, ``calls`` times each: the kiosk API through httpx, the kiosk API through
    ``BareKiosk``, and the registry's gRPC API directly."""
    kiosk = KioskUser(stack.kiosk, stack.pki, kiosk_id="HK-BENCH-00")
    await kiosk.open()
    bare = BareKiosk(stack, kiosk)
    await bare.open()
    channel = insecure_channel(f"127.0.0.1:{stack.registry.port}")
    registry = rs_grpc.RegistryServiceStub(channel)

    async def through() -> None:
        response = await kiosk.http.get("/v1/catalogue", params={"authority": "440605"}, headers=kiosk.auth)
        assert response.status_code == 200, response.text

    async def direct() -> None:
        await registry.ListCatalogueItems(rs.ListCatalogueItemsRequest(authority_code="440605"))

    paths = [Timed("via kiosk API", through), Timed("  bare client", bare.catalogue), Timed("registry gRPC", direct)]
    profiler = None
    try:
        for i in range(calls + 50):  # the first 50 of each warm connections and caches
            if i == 50:
                settle_heap()  # what every service process does once it serves (``ServiceHost.run``)
            if i == 50 and os.environ.get("GATEWAY_BENCH_PROFILE"):
                profiler = await start_profiler(os.environ["GATEWAY_BENCH_PROFILE"])
            for path in paths:
                cpu_started, started = time.process_time(), time.perf_counter()
                await path.call()
                if i >= 50:
                    path.seconds.append(time.perf_counter() - started)
                    path.cpu += time.process_time() - cpu_started
    finally:
        await channel.close()
        await bare.close()
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
            await profiler.wait()
    return paths


async def start_profiler(output: str, pid: int | None = None) -> asyncio.subprocess.Process:
    """py-spy sampling this process (every service of the stack runs in it), or ``pid``, until sent SIGINT."""
    target = str(pid or os.getpid())
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", target, "-r", "100", "--gil"]
    process = await asyncio.create_subprocess_exec(
        *spy,
        "--nonblocking",
        "-f",
        "raw",
        "-o",
        output,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)  # attached before the timed calls start
    return process


def print_overhead(paths: list[Timed], calls: int, load_before: str) -> None:
    """Each path's figures, then the goal lines: the kiosk API minus the registry's gRPC API, through
    httpx and through the bare client. The bare client's is the gateway's own overhead (the goal's
    figure); httpx's adds the client library's work, kept for comparison with earlier runs."""
    print(f"gateway: catalogue query, {calls} sequential calls each way (load average {load_before} before, "
          f"{load_average()} after)")  # fmt: skip
    for path in paths:
        p50, p99 = statistics.median(path.seconds) * 1000, percentile(path.seconds, 0.99) * 1000
        print(
            f"  {path.label:14s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   CPU {path.cpu / calls * 1000:.2f} ms per call"
        )
    direct = paths[-1]
    for path, label in ((paths[0], "overhead (httpx client)"), (paths[1], "gateway overhead (bare client)")):
        over_p50 = (statistics.median(path.seconds) - statistics.median(direct.seconds)) * 1000
        over_p99 = (percentile(path.seconds, 0.99) - percentile(direct.seconds, 0.99)) * 1000
        met = "met" if over_p50 <= OVERHEAD_GOAL_P50_MS and over_p99 <= OVERHEAD_GOAL_P99_MS else "missed"
        cpu = (path.cpu - direct.cpu) / calls * 1000
        print(
            f"  {label}: p50 {over_p50:.2f} ms, p99 {over_p99:.2f} ms, CPU {cpu:.2f} ms per call "
            f"({(path.cpu - direct.cpu) / direct.cpu:.2f}x the direct call's); "
            f"goal p50 <= {OVERHEAD_GOAL_P50_MS:g} ms, p99 <= {OVERHEAD_GOAL_P99_MS:g} ms: {met} "
            f"(ratio p50 {over_p50 / OVERHEAD_GOAL_P50_MS:.2f}, p99 {over_p99 / OVERHEAD_GOAL_P99_MS:.2f})"
        )


async def run(calls: int) -> None:
    kafka = KafkaSettings()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pki = build_pki(workdir / "testpki")
        async with running_stack(workdir, kafka, pki, with_payments=False, kiosk_guard=UNLIMITED) as stack:
            load_before = load_average()
            print_overhead(await overhead(stack, calls), calls, load_before)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with machine_speed():
        asyncio.run(run(args.calls))


if __name__ == "__main__":
    main()
