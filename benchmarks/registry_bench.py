"""Registry throughput (not tests).

    .venv/bin/python -m benchmarks.registry_bench [--apps 40] [--concurrency 8] [--allocations 2000]

1. Applications/s from draft to approved through gRPC: concurrent kiosks draft, declare a name,
   attach five materials and sign three of them with a real CMS signature each (verified by the
   real identity service, its own process, over gRPC, with live CRL/OCSP from the test PKI's responder, then
   time-stamped by Baylink's TSA and stored with its validation data), submit; a
   TransferCommitted event on the real broker pays each fee; the authority starts review and
   approves, which issues the USCC. The clock runs from the first draft to the last approval.
2. USCC allocations/s: concurrent transactions each take the next number of one division's
   sequence and record a licence row, on SQLite (and on PostgreSQL when BAYLINK_TEST_POSTGRES_URL
   is set); afterwards the numbers must be exactly 1..N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from baylink.registry.v1 import registry_service_pb2 as rs
from baylink.registry.v1 import registry_service_pb2_grpc as rs_grpc
from baylink.runtime.db import Database
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.kafka import close_quietly, new_admin, new_producer
from baylink.runtime.settings import KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from devtools.testpki.build import build
from devtools.testpki.loader import TestPKI
from devtools.testpki.responder import RevocationResponder
from services.identity.domain.trustlist import Jurisdiction
from services.registry.adapters.tables import business_licences
from services.registry.bootstrap import MIGRATIONS, bootstrap
from services.registry.config import RegistrySettings
from services.registry.domain.application import Licence
from tests.integration.registry.kiosk import Authority, Kiosk, pay, trade_name
from tests.support.ports import free_port
from tests.support.tsa import running_tsa


async def _topics(kafka: KafkaSettings, *names: str) -> None:
    admin = new_admin(kafka)
    await admin.start()
    try:
        await apply_topics(admin, [TopicSpec(n, 6, 3_600_000) for n in names], kafka.replication_factor)
    finally:
        await close_quietly(admin)


async def _delete(kafka: KafkaSettings, *names: str) -> None:
    admin = new_admin(kafka)
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await close_quietly(admin)


async def _start_identity(workdir: Path, pki_dir: Path, port: int) -> asyncio.subprocess.Process:
    """The identity service as its own process (as deployed), trusting the bench's test PKI."""
    signers = {j.value: [str(pki_dir / "certs" / f"tl-signer-{j.value.lower()}.pem")] for j in Jurisdiction}
    env = {
        **os.environ,
        "BAYLINK_IDENTITY_GRPC_PORT": str(port),
        "BAYLINK_IDENTITY_METRICS_PORT": "0",
        "BAYLINK_IDENTITY_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'identity.db'}",
        "BAYLINK_IDENTITY_TRUST_LISTS_DIR": str(pki_dir / "trustlists"),
        "BAYLINK_IDENTITY_TRUSTED_LIST_SIGNERS": json.dumps(signers),
        "BAYLINK_IDENTITY_REVOCATION_ALLOWED_HOSTS": '["127.0.0.1"]',
        "BAYLINK_IDENTITY_DRAIN_DELAY_SECONDS": "0",
        "BAYLINK_IDENTITY_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.identity", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    async with insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(300):
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return process
            except grpc.RpcError:
                pass
            await asyncio.sleep(0.1)
    process.terminate()
    raise RuntimeError("identity did not start")


async def applications_per_second(workdir: Path, apps: int, concurrency: int) -> tuple[float, list[float]]:
    kafka = KafkaSettings()
    pki_dir = workdir / "pki"
    build(pki_dir, f"http://127.0.0.1:{free_port()}")
    pki = TestPKI(pki_dir)
    responder = RevocationResponder(pki)
    await responder.start(port=int(pki.base_url.rsplit(":", 1)[1]))
    suffix = uuid.uuid4().hex[:8]
    registry_topic, payments_topic = f"bench.registry.{suffix}", f"bench.payments.{suffix}"
    await _topics(kafka, registry_topic, payments_topic)
    identity_port = free_port()
    identity = await _start_identity(workdir, pki_dir, identity_port)
    tsa_running = running_tsa(pki, workdir / "tsa")  # every stored signature is time-stamped (B-T)
    tsa = await tsa_running.__aenter__()
    registry = bootstrap(
        RegistrySettings(
            grpc_port=0,
            metrics_port=0,
            database_url=f"sqlite+aiosqlite:///{workdir / 'registry.db'}",
            identity_target=f"127.0.0.1:{identity_port}",
            tsa_url=tsa.url,
            events_topic=registry_topic,
            payments_topic=payments_topic,
            fees_group_id=f"bench.fees.{suffix}",
            drain_delay_seconds=0,
            outbox_poll_seconds=0.1,
        )
    )
    await registry.start()
    producer = new_producer(kafka, "bench-payments")
    await producer.start()
    channel = insecure_channel(f"127.0.0.1:{registry.port}")
    stub = rs_grpc.RegistryServiceStub(channel)
    kiosk, authority = Kiosk(stub, pki), Authority(stub)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(apps):
        queue.put_nowait(n)

    async def one(n: int) -> None:
        started = time.perf_counter()
        app = await kiosk.draft()
        await kiosk.declare(app.application_id, trade_name(1000 + n))
        await kiosk.prepare(app.application_id)
        app = await kiosk.submit(app.application_id)
        await pay(producer, payments_topic, app.fee)
        request = rs.GetApplicationRequest(application_id=app.application_id)
        while not (await stub.GetApplication(request)).application.fee_paid:
            await asyncio.sleep(0.1)
        await authority.start_review(app.application_id)
        approved = await authority.approve(app.application_id)
        assert approved.uscc
        latencies.append(time.perf_counter() - started)

    async def worker() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    try:
        await one(apps + 1)  # warm-up: connections, chain cache, consumer assignment
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        await channel.close()
        await close_quietly(producer)
        await registry.stop()
        identity.terminate()
        await identity.wait()
        await tsa_running.__aexit__(None, None, None)
        await responder.stop()
        await _delete(kafka, registry_topic, payments_topic)
    return apps / elapsed, latencies


async def allocations_per_second(url: str, allocations: int, concurrency: int) -> float:
    db = Database(url)
    await db.migrate([MIGRATIONS])
    division = f"9{uuid.uuid4().int % 10**5:05d}"  # a division of its own on a shared server
    svc = bootstrap(RegistrySettings(grpc_port=0, metrics_port=0, database_url=url), identity=None, db=db)
    uow = svc.uow
    now = datetime.now(UTC)
    counter = iter(range(allocations))

    async def worker() -> None:
        for _ in counter:
            async with uow() as work:
                sequence = await work.registrations.next_sequence(division)
                code = f"B{division}{sequence:011d}"
                licence = Licence(code, "bench", "", "CNY", 1, "", "", division, now)
                await work.registrations.add_licence(str(uuid.uuid4()), licence, sequence)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    async with db.transaction() as session:
        query = sa.select(business_licences.c.sequence).where(business_licences.c.authority_code == division)
        numbers = sorted((await session.execute(query)).scalars())
    await db.dispose()
    assert numbers == list(range(1, allocations + 1)), "gap or duplicate in the USCC sequence"
    return allocations / elapsed


async def run(apps: int, concurrency: int, allocations: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rate, latencies = await applications_per_second(workdir, apps, concurrency)
        print(f"registry: {apps} applications draft→approved via gRPC, real identity + Kafka, {concurrency} kiosks")
        p50 = statistics.median(latencies)
        p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1]
        print(f"  {rate:8.1f} applications/s   latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
        print("  (each: 3 CMS signatures verified by identity, ~15 gRPC calls, 1 fee event consumed)")
        targets = [("SQLite", f"sqlite+aiosqlite:///{workdir / 'alloc.db'}")]
        if os.environ.get("BAYLINK_TEST_POSTGRES_URL"):
            targets.append(("PostgreSQL", os.environ["BAYLINK_TEST_POSTGRES_URL"]))
        for label, url in targets:
            per_second = await allocations_per_second(url, allocations, 16)
            print(f"  {per_second:8.0f} USCC allocations/s on {label} (16 concurrent, {allocations}, no gaps)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--allocations", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(run(args.apps, args.concurrency, args.allocations))


if __name__ == "__main__":
    main()
