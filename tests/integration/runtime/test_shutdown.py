"""A service process on the runtime: SERVING, then NOT_SERVING on SIGTERM while in-flight calls finish."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from tests.support.probe_service import SERVICE

pytestmark = pytest.mark.kafka


class ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process, port: int, lines: list[dict]):  # type: ignore[type-arg]
        self.process, self.port, self.lines = process, port, lines


@pytest.fixture
async def probe_service(tmp_path: Path, kafka_settings: KafkaSettings) -> AsyncIterator[ServiceProcess]:
    env = {
        **os.environ,
        "BAYLINK_PROBE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}",
        "BAYLINK_PROBE_DRAIN_DELAY_SECONDS": "1.5",
        "BAYLINK_PROBE_SHUTDOWN_GRACE_SECONDS": "10",
        "BAYLINK_KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.probe_service",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[dict] = []  # type: ignore[type-arg]
    port = 0
    async with asyncio.timeout(30):
        while not port:
            raw = await process.stdout.readline()  # type: ignore[union-attr]
            assert raw, f"service exited early: {lines}"
            entry = json.loads(raw)
            lines.append(entry)
            if entry.get("message") == "serving":
                port = int(entry["grpc"].rsplit(":", 1)[1])
    service = ServiceProcess(process, port, lines)
    yield service
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_sigterm_turns_health_not_serving_lets_the_in_flight_call_finish_and_exits_0(
    probe_service: ServiceProcess,
) -> None:
    async with aio.insecure_channel(f"127.0.0.1:{probe_service.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        before = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))
        assert before.status == health_pb2.HealthCheckResponse.SERVING

        in_flight = asyncio.ensure_future(channel.unary_unary(f"/{SERVICE}/Sleep")(b"3"))
        await asyncio.sleep(0.3)  # the call is running in the service
        probe_service.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)

        during = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))
        assert during.status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await in_flight == b"slept 3.0"  # finished after SIGTERM, not cut off

    rest = await asyncio.wait_for(probe_service.process.stdout.read(), 30)  # type: ignore[union-attr]
    assert await probe_service.process.wait() == 0
    messages = [json.loads(line)["message"] for line in rest.decode().splitlines() if line.startswith("{")]
    assert messages.index("termination requested") < messages.index("stopped")
