"""Benchmarks of Baylink's time-stamping authority (not tests): `make bench`, or

    .venv/bin/python -m benchmarks.tsa_bench [--seconds 2] [--rounds 3] [--concurrency 1,8]

(a) tokens/s in process: TimeStampAuthority.issue on a fresh SHA-256 request each time (parse,
    checks, serial from the file-backed store, TSTInfo, signed attributes, one signature, DER);
(b) tokens/s over HTTP: `python -m services.identity.tsa` in its own process, clients in this one
    keeping N requests in flight on one keep-alive session; server CPU per token beside it;
(c) the registry's path: HttpTimeStamper.stamp on a real CMS signature (a session per stamp, the
    token checked and added as the unsigned attribute), N stamps in flight.

The TSA's key is the local one (deploy/lib.sh local_tsa: the test PKI's hk-tsa, ECDSA P-256). Each
figure is the median of `--rounds` rounds, in operations per wall-clock second; the machine is
shared, so CPU microseconds per operation and the load average are printed beside.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from baylink import tsp
from benchmarks.procs import cpu_seconds, load_average
from devtools.testpki.cms_sign import sign_detached
from devtools.testpki.loader import COMMITTED, TestPKI
from services.identity.tsa.server import QUERY
from services.registry.adapters.timestamps import HttpTimeStamper
from tests.support.ports import free_port
from tests.support.tsa import make_authority


@dataclass(frozen=True)
class Figure:
    rate: float
    cpu_us: float  # client (in-process: all) CPU per operation
    server_cpu_us: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0


def _requests(count: int) -> list[bytes]:
    return [tsp.request(hashlib.sha256(os.urandom(32)).digest())[1] for _ in range(count)]


def in_process(directory: Path, seconds: float) -> tuple[Figure, str]:
    authority, serials = make_authority(TestPKI(COMMITTED), directory)
    bodies = _requests(512)
    try:
        count, cpu, started = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - started < seconds:
            for body in bodies[:32]:
                authority.issue(body)
            count += 32
            bodies.append(bodies.pop(0))
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    finally:
        serials.close()
    kind = authority.certificate.public_key.algorithm
    return Figure(count / elapsed, used / count * 1e6), kind


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BAYLINK_TSA_PORT": str(port),
        "BAYLINK_TSA_CERT_FILE": str(COMMITTED / "certs" / "hk-tsa.pem"),
        "BAYLINK_TSA_KEY_FILE": str(COMMITTED / "keys" / "hk-tsa.key.pem"),
        "BAYLINK_TSA_CHAIN_FILE": str(COMMITTED / "certs" / "hk-ca.pem"),
        "BAYLINK_TSA_SERIAL_FILE": str(directory / "serial"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "services.identity.tsa"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert server.stdout is not None
    server.stdout.readline()  # "serving …" once it listens
    return server, f"http://127.0.0.1:{port}/"


async def _run(seconds: float, inflight: int, one: Callable[[], Awaitable[None]], server_pid: int) -> Figure:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - started)

    cpu, server_cpu, started = time.process_time(), cpu_seconds(server_pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    elapsed = time.perf_counter() - started
    count = len(latencies)
    latencies.sort()
    return Figure(
        count / elapsed,
        (time.process_time() - cpu) / count * 1e6,
        (cpu_seconds(server_pid) - server_cpu) / count * 1e6,
        latencies[count // 2] * 1000,
        latencies[min(count - 1, int(count * 0.99))] * 1000,
    )


async def over_http(url: str, seconds: float, inflight: int, server_pid: int) -> Figure:
    bodies = _requests(256)
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            body = bodies[len(bodies) - 1]
            bodies.insert(0, bodies.pop())
            async with session.post(url, data=body, headers={"Content-Type": QUERY}) as response:
                answer = await response.read()
            assert response.status == 200 and len(answer) > 200, answer[:80]

        return await _run(seconds, inflight, one, server_pid)


async def registry_path(url: str, seconds: float, inflight: int, server_pid: int) -> Figure:
    pki = TestPKI(COMMITTED)
    signature = sign_detached(b"articles", pki.key("hk-personal"), pki.certificate("hk-personal"), datetime.now(UTC))
    stamper = HttpTimeStamper(url)

    async def one() -> None:
        await stamper.stamp(signature)

    return await _run(seconds, inflight, one, server_pid)


def _median(figures: list[Figure]) -> Figure:
    return sorted(figures, key=lambda f: f.rate)[len(figures) // 2]


def _line(label: str, figure: Figure) -> str:
    text = f"    {label:44s} {figure.rate:7.0f}/s  ({figure.cpu_us:5.0f} us CPU/op here"
    if figure.server_cpu_us:
        text += (
            f", server {figure.server_cpu_us:5.0f} us/token; p50 {figure.p50_ms:5.1f} ms, p99 {figure.p99_ms:6.1f} ms"
        )
    return text + ")"


async def main(args: argparse.Namespace) -> None:
    levels = [int(n) for n in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="tsa-bench-") as tmp:
        work = Path(tmp)
        print(f"TSA benchmarks: {args.seconds:g} s per measurement, median of {args.rounds} rounds")
        figures, kind = [], ""
        for n in range(args.rounds):
            figure, kind = in_process(work / f"in-process-{n}", args.seconds)
            figures.append(figure)
        print(f"(a) tokens in process ({kind} TSA key, SHA-256 imprints)")
        print(_line("TimeStampAuthority.issue", _median(figures)))
        server, url = start_server(work / "server")
        try:
            print("(b) tokens over HTTP (python -m services.identity.tsa, its own process; keep-alive client)")
            for inflight in levels:
                runs = [await over_http(url, args.seconds, inflight, server.pid) for _ in range(args.rounds)]
                print(_line(f"{inflight} in flight", _median(runs)))
            print("(c) the registry's stamping (HttpTimeStamper: a session per stamp, token checked and added)")
            for inflight in levels:
                runs = [await registry_path(url, args.seconds, inflight, server.pid) for _ in range(args.rounds)]
                print(_line(f"{inflight} in flight", _median(runs)))
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(f"    loadavg {load_average()} (2 shared cores)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tsa_bench")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,8")
    asyncio.run(main(parser.parse_args()))
