"""Several processes of one service on one gRPC port, so a CPU-bound service uses every core.

``run_service(build, settings)`` runs ``build(settings).run()`` once when ``settings.workers`` is 1.
With more, this process becomes a small supervisor: it holds the port (bound with SO_REUSEPORT,
never listening, so port 0 still means a port of our own), starts the workers one after the
other (each migrates the database before serving, and two migrations must not race), and the
kernel spreads incoming connections over the workers' listening sockets.

Each worker is a whole ``ServiceHost``: its own database pool, consumers (one group: Kafka splits
the partitions among them), metrics port (``metrics_port + index`` when a port is set) and outbox
relay. Only the relay that holds the lease publishes, so order per aggregate holds; the others
stand by and take over if it dies. A worker's commits wake only its own relay, so events that
another worker commits go out on the lease holder's next poll (``outbox_poll_seconds``).

SIGTERM or SIGINT to the supervisor is passed to every worker, each shuts down gracefully. If a
worker dies, the supervisor stops the others and exits non-zero, for the orchestrator to restart.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any, Protocol, TypeVar

from baylink.runtime.logging import configure_logging
from baylink.runtime.settings import ServiceSettings

log = logging.getLogger("baylink.workers")
S = TypeVar("S", bound=ServiceSettings)
START_TIMEOUT_SECONDS = 120.0


class Runnable(Protocol):
    async def run(self, on_serving: Callable[[int], None] | None = None) -> None: ...


def run_service(
    build: Callable[[S], Runnable],
    settings: S,
    *,
    on_serving: Callable[[int], None] | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT. ``build`` must be importable by name (it is sent to the
    worker processes): it makes the host from the settings. ``on_serving`` gets the port once all
    workers listen. Returns the exit status."""
    if settings.workers == 1:
        asyncio.run(build(settings).run(on_serving=on_serving))
        return 0
    holder = reserve_port(settings.grpc_host, settings.grpc_port)
    port = holder.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers: list[BaseProcess] = []
    try:
        for index in range(settings.workers):
            if stopping:
                break
            ready = context.Event()
            worker = context.Process(
                target=_worker,
                args=(build, _worker_settings(settings, port, index), ready),
                name=f"{type(settings).service_name}-worker-{index}",
            )
            worker.start()
            workers.append(worker)
            if not _wait_ready(ready, worker, stopping):
                break
        else:
            log.info("workers serving", extra={"workers": len(workers), "port": port})
            if on_serving is not None:
                on_serving(port)
            while not stopping and all(w.is_alive() for w in workers):
                wait([w.sentinel for w in workers], timeout=0.5)
        failed = not stopping
        if failed:
            log.error("a worker stopped; stopping the others", extra={"port": port})
        return _stop_all(workers) or int(failed)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        holder.close()


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to host:port with SO_REUSEPORT: holds the port for the
    workers, which bind it the same way; port 0 picks a free one."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    holder = socket.socket(family, kind, proto)
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(address)
    except OSError:
        holder.close()
        raise
    return holder


def _worker_settings(settings: S, port: int, index: int) -> S:
    metrics_port = settings.metrics_port + index if settings.metrics_port else 0
    # Workers of a service started on port 0 (tests, benchmarks) get the picked port but stay unannounced.
    announce = settings.announce and settings.grpc_port != 0
    return settings.model_copy(update={"grpc_port": port, "metrics_port": metrics_port, "announce": announce})


def _worker(build: Callable[[Any], Runnable], settings: ServiceSettings, ready: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; it sends SIGTERM
    configure_logging(settings.service_name, settings.log_level)  # a spawned process starts afresh
    asyncio.run(build(settings).run(on_serving=lambda _port: ready.set()))


def _wait_ready(ready: Any, worker: BaseProcess, stopping: list[int]) -> bool:
    waited = 0.0
    while not ready.wait(0.2):
        waited += 0.2
        if stopping or not worker.is_alive() or waited > START_TIMEOUT_SECONDS:
            log.error("a worker did not start", extra={"worker": worker.name, "exitcode": worker.exitcode})
            return False
    return True


def _stop_all(workers: list[BaseProcess]) -> int:
    """SIGTERM to every worker still running; wait for them. The first non-zero exit code, or 0."""
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            worker.terminate()
    status = 0
    for worker in workers:
        worker.join(60)
        if worker.is_alive():
            worker.kill()
            worker.join()
        if worker.exitcode not in (0, -signal.SIGTERM) and not status:
            status = 1
    return status
