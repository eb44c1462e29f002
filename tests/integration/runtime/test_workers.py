"""A service run as several worker processes on one port: every worker answers, SIGTERM stops all."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from pathlib import Path
from typing import ClassVar

import grpc
import pytest
from grpc import aio
from pydantic_settings import SettingsConfigDict

from baylink.runtime.host import ServiceHost
from baylink.runtime.settings import KafkaSettings, ServiceSettings
from baylink.runtime.workers import reserve_port, run_service

pytestmark = pytest.mark.kafka
SERVICE = "baylink.test.Workers"


class WorkerSettings(ServiceSettings):
    service_name: ClassVar[str] = "workers-probe"
    model_config = SettingsConfigDict(env_prefix="BAYLINK_WORKERS_PROBE_", extra="forbid")


async def _pid(request: bytes, context: aio.ServicerContext) -> bytes:
    return str(os.getpid()).encode()


def build_host(settings: WorkerSettings) -> ServiceHost:
    def register(server: aio.Server) -> None:
        handler = grpc.method_handlers_generic_handler(SERVICE, {"Pid": grpc.unary_unary_rpc_method_handler(_pid)})
        server.add_generic_rpc_handlers((handler,))

    return ServiceHost(settings, register=register, service_names=[SERVICE], callers={})


def _supervise(settings: WorkerSettings, ports: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os._exit(run_service(build_host, settings, on_serving=ports.put))


async def _pids(port: int, connections: int) -> set[int]:
    pids = set()
    for _ in range(connections):  # one channel, one TCP connection: the kernel picks a worker for each
        async with aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
            pids.add(int(await ch.unary_unary(f"/{SERVICE}/Pid")(b"", timeout=10)))
    return pids


@pytest.mark.parametrize("workers", [1, 2])
async def test_workers_share_one_port_and_all_answer_then_stop_on_sigterm(
    tmp_path: Path, kafka_settings: KafkaSettings, workers: int
) -> None:
    settings = WorkerSettings(
        workers=workers,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}",
        drain_delay_seconds=0,
        shutdown_grace_seconds=1,
        kafka=kafka_settings,
    )
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    supervisor = context.Process(target=_supervise, args=(settings, ports))
    supervisor.start()
    try:
        port = ports.get(timeout=120)
        pids = await _pids(port, 24)  # the port told once every worker serves
        if workers == 1:
            assert pids == {supervisor.pid}  # one worker: the process serves itself, no supervisor
        else:
            assert len(pids) == 2  # both workers took connections (all 24 on one: odds 2 in 16 million)
            assert supervisor.pid not in pids  # the supervisor only holds the port
        os.kill(supervisor.pid, signal.SIGTERM)  # type: ignore[arg-type]
        supervisor.join(60)
        assert supervisor.exitcode == 0
        for pid in pids - {supervisor.pid}:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)  # the workers are gone too
    finally:
        if supervisor.is_alive():
            supervisor.kill()
            supervisor.join()


def test_a_port_held_by_the_workers_cannot_be_taken_by_a_process_without_reuse_port() -> None:
    holder = reserve_port("127.0.0.1", 0)
    try:
        intruder = socket.socket()
        with pytest.raises(OSError):
            intruder.bind(("127.0.0.1", holder.getsockname()[1]))
        intruder.close()
    finally:
        holder.close()
