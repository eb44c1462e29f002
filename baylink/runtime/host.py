"""One service process: database, gRPC server, outbox relay, consumers, metrics.

``ServiceHost.run()`` is what a service's ``__main__`` calls. On SIGTERM (or
SIGINT) it shuts down in the order that loses nothing:

1. health turns NOT_SERVING, and the server keeps answering for the drain delay
   so that probes and load balancers see it;
2. the server refuses new calls and gives in-flight ones the grace period;
3. consumers stop (their offsets are committed after each transaction);
4. the relay publishes what was committed, the producer flushes and closes;
5. the database closes, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiokafka.errors import KafkaError

from baylink.runtime.checkpoint import run_checkpoints
from baylink.runtime.consumer import Handler, IdempotentConsumer
from baylink.runtime.db import Database
from baylink.runtime.grpc.authz import CallerPolicy
from baylink.runtime.grpc.server import GrpcServer, Register, start_grpc_server
from baylink.runtime.grpc.tls import InternalTransport
from baylink.runtime.metrics import MetricsServer, ServiceMetrics
from baylink.runtime.relay import OutboxRelay
from baylink.runtime.retention import Retention, run_retention
from baylink.runtime.settings import ServiceSettings

log = logging.getLogger("baylink.host")


@dataclass(frozen=True)
class Subscription:
    """A consumer group of this service: which topics, which handler."""

    group_id: str
    topics: Sequence[str]
    handler: Handler


class ServiceHost:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        register: Register,
        service_names: Sequence[str],
        callers: CallerPolicy,
        db: Database | None = None,
        metrics: ServiceMetrics | None = None,
        subscriptions: Sequence[Subscription] = (),
        migrations: Sequence[Path] = (),
        on_start: Callable[[], Awaitable[None]] | None = None,
        background: Sequence[Callable[[], Awaitable[None]]] = (),
        transport: InternalTransport | None = None,
    ):
        self.settings = settings
        self.register = register
        self.service_names = list(service_names)
        self.callers = callers  # who may call which RPC (services/<svc>/entrypoints/callers.py)
        # Read at construction: missing credentials stop the process before anything starts.
        self.transport = transport or InternalTransport.from_settings(settings.internal, settings.service_name)
        self.db = db or Database(settings.database_url)
        self.metrics = metrics or ServiceMetrics()
        self.subscriptions = list(subscriptions)
        self.migrations = list(migrations)
        self.on_start = on_start  # after migrations, before serving: e.g. load reference data
        self.background = list(background)  # loops that live as long as the service (deadline watchers)
        self.relay = OutboxRelay(
            self.db,
            settings.kafka,
            name=settings.service_name,
            metrics=self.metrics,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
        )
        self.grpc: GrpcServer | None = None
        self.metrics_server: MetricsServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._consumers: list[IdempotentConsumer] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await self.db.migrate(self.migrations)
        if self.on_start is not None:
            await self.on_start()
        self.metrics_server = self.metrics.serve(self.settings.metrics_host, self.settings.metrics_port)
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for sub in self.subscriptions:
            self._tasks.append(asyncio.create_task(self._consume(sub), name=f"consumer-{sub.group_id}"))
        for loop in self.background:
            self._tasks.append(asyncio.create_task(self._keep_running(loop), name=getattr(loop, "__name__", "task")))
        s = self.settings
        retention = Retention(timedelta(hours=s.outbox_retention_hours), timedelta(hours=s.inbox_retention_hours))
        sweep = run_retention(self.db, retention, s.retention_sweep_seconds, self._stopping, self.metrics)
        self._tasks.append(asyncio.create_task(sweep, name="retention-sweep"))
        if self.db.direct_sqlite:
            checkpoints = run_checkpoints(self.db, s.sqlite_checkpoint_seconds, self._stopping, self.metrics)
            self._tasks.append(asyncio.create_task(checkpoints, name="wal-checkpoints"))
        self.grpc = await start_grpc_server(
            self.register,
            self.service_names,
            host=self.settings.grpc_host,
            port=self.settings.grpc_port,
            metrics=self.metrics,
            reuse_port=self.settings.workers > 1,
            credentials=self.transport.server_credentials(),
            callers=self.callers if self.transport.secure else None,  # plaintext: no verified caller
        )
        self._announce()

    async def shutdown(self) -> None:
        s = self.settings
        if self.grpc is not None:
            await self.grpc.set_serving(False)
            log.info("NOT_SERVING; draining", extra={"drain_delay_seconds": s.drain_delay_seconds})
            await asyncio.sleep(s.drain_delay_seconds)
            await self.grpc.stop(s.shutdown_grace_seconds)
        self._stopping.set()
        for consumer in self._consumers:
            await consumer.stop()
        await self.relay.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.metrics_server is not None:
            self.metrics_server.close()
        await self.db.dispose()
        log.info("stopped")

    async def run(self, on_serving: Callable[[int], None] | None = None) -> None:
        """Start, serve until SIGTERM or SIGINT, shut down gracefully. ``on_serving`` gets the
        gRPC port once the server listens (a worker tells its supervisor)."""
        terminated = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, terminated.set)
        await self.start()
        settle_heap()
        if on_serving is not None:
            assert self.grpc is not None
            on_serving(self.grpc.port)
        await terminated.wait()
        log.info("termination requested")
        await self.shutdown()

    async def _consume(self, sub: Subscription) -> None:
        """Keep one consumer group running; while Kafka is away, retry with back-off."""
        s = self.settings
        backoff = 0.5
        while not self._stopping.is_set():
            consumer = IdempotentConsumer(
                self.db,
                s.kafka,
                group_id=sub.group_id,
                topics=sub.topics,
                handler=sub.handler,
                metrics=self.metrics,
                max_attempts=s.consumer_max_attempts,
                retry_backoff_seconds=s.consumer_retry_backoff_seconds,
                on_commit=self.relay.wake,  # events a handler staged go out at once
            )
            self._consumers.append(consumer)
            try:
                await consumer.start()
                backoff = 0.5
                await consumer.run()
            except (KafkaError, OSError) as exc:
                log.warning("consumer interrupted; retrying", extra={"group": sub.group_id, "error": repr(exc)})
            finally:
                await consumer.stop()
                self._consumers.remove(consumer)
            if not self._stopping.is_set():
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _keep_running(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run a background loop; if it fails, log it and start it again after a pause."""
        while not self._stopping.is_set():
            try:
                await loop()
                return
            except Exception:
                log.exception("background task failed; restarting it", extra={"task": getattr(loop, "__name__", "")})
                await asyncio.sleep(1.0)

    def _announce(self) -> None:
        assert self.grpc is not None and self.metrics_server is not None
        info = {
            "service": self.settings.service_name,
            "grpc": f"{self.settings.grpc_host}:{self.grpc.port}",
            "metrics": f"http://{self.settings.metrics_host}:{self.metrics_server.port}/metrics",
        }
        log.info("serving", extra=info)
        # A deployment (not a test or benchmark on port 0): `make up` reads the addresses here.
        if self.settings.announce and self.settings.grpc_port:
            run_dir = self.settings.run_dir
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / f"{self.settings.service_name}.json").write_text(json.dumps(info))


def settle_heap() -> None:
    """Take what startup built out of the garbage collector's way, once the host serves.

    Modules, compiled statements, reference data and the gRPC server live as long as the process.
    They are collected once, then frozen (``gc.freeze``): no later collection traverses them, so
    a full collection no longer pauses the server to walk them (figures: docs/performance.md).
    Cycles made while serving are still reclaimed as before.
    """
    gc.collect()
    gc.freeze()
