"""Two-phase transfers/s end to end, on SQLite and on PostgreSQL.

    python -m benchmarks.payments_bench [--transfers 5000] [--concurrency 32] [--backends sqlite,postgres]

The service runs in its own process as it does in production (bootstrap, gRPC
server, outbox relay to the real broker, expiry sweeper); this process is the
client. Quotes (HKD→CNY, each for another person) are created first and not
timed. The clock then runs from the first PrepareTransfer to the moment the
broker holds every event of the run (quote.created, transfer.reserved,
transfer.committed); each transfer's latency is its prepare + commit round
trips. Afterwards ``baylink payments audit`` checks the ledger and must exit 0.
Goal: ≥ 1,000 transfers/s with p99 ≤ 50 ms on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from baylink.common.v1 import common_pb2
from baylink.payments.v1 import payments_service_pb2 as api
from baylink.payments.v1 import payments_service_pb2_grpc as api_grpc
from baylink.payments.v1 import transfer_pb2
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics

PERSONS = 4000  # distinct payer pseudonyms, so per-person limits do not bind


async def _serve(url: str, topic: str, conn: Connection) -> None:
    from baylink.runtime.grpc.server import start_grpc_server
    from baylink.runtime.relay import OutboxRelay
    from services.payments.bootstrap import bootstrap
    from services.payments.config import PaymentsSettings
    from services.payments.domain.money import Money
    from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind
    from services.payments.domain.pricing import Rate
    from services.payments.service_layer import participants, quotes

    settings = PaymentsSettings(database_url=url, quote_ttl_seconds=3600, transfer_ttl_seconds=600)
    app = bootstrap(settings, event_topic=topic)
    await app.migrate()
    now = datetime.now(UTC)
    for pid, jurisdiction, currency, kind in (
        ("HKBANK", Jurisdiction.HK, "HKD", ParticipantKind.PSP),
        ("REGISTRY", Jurisdiction.GD, "CNY", ParticipantKind.FEE_COLLECTOR),
    ):
        p = Participant(pid, pid, "", "", "", jurisdiction, kind, "", (currency,), True, now)
        await participants.create_participant(app.deps, participants.CreateParticipant(p))
        await participants.set_net_debit_cap(app.deps, pid, Money(currency, 10**15))
    await quotes.set_rate(app.deps, Rate("HKD", "CNY", Decimal("0.92"), now - timedelta(minutes=1), None, 50, 500))
    relay = OutboxRelay(app.deps.db, settings.kafka, name="payments-bench", batch_size=2000, poll_seconds=0.05)
    app.deps.on_commit = relay.wake
    relay_task = asyncio.create_task(relay.run())
    server = await start_grpc_server(app.register, app.service_names, port=0)
    await app.start_background()
    conn.send(server.port)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    await app.stop_background()
    await server.stop(1)
    await relay.stop()
    await asyncio.gather(relay_task, return_exceptions=True)
    await app.deps.db.dispose()


def serve(url: str, topic: str, conn: Connection) -> None:
    asyncio.run(_serve(url, topic, conn))


async def topic_records(kafka: KafkaSettings, topic: str, partitions: int = 6) -> int:
    """How many records the topic holds (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(offsets.values())
    finally:
        await consumer.stop()


async def client(port: int, kafka: KafkaSettings, topic: str, n: int, concurrency: int) -> dict[str, float]:
    channel = insecure_channel(f"127.0.0.1:{port}")
    stub = api_grpc.PaymentsServiceStub(channel)
    run = uuid.uuid4().hex[:8]

    async def make_quote(i: int) -> transfer_pb2.Quote:
        response = await stub.CreateQuote(
            api.CreateQuoteRequest(
                quote_id=f"{run}-q{i}",
                payer_participant_id="HKBANK",
                payee_participant_id="REGISTRY",
                amount_type=transfer_pb2.AMOUNT_TYPE_SEND,
                amount=common_pb2.Money(currency="HKD", minor_units=10_000 + i % 5_000),
                counter_currency="CNY",
            )
        )
        return response.quote

    quotes: list[transfer_pb2.Quote] = []
    for start in range(0, n, 200):
        quotes += await asyncio.gather(*(make_quote(i) for i in range(start, min(n, start + 200))))

    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < n:
            i, next_index = next_index, next_index + 1
            q = quotes[i]
            started = time.perf_counter()
            await stub.PrepareTransfer(
                api.PrepareTransferRequest(
                    transfer_id=f"{run}-t{i}",
                    quote_id=q.quote_id,
                    payer_participant_id=q.payer_participant_id,
                    payee_participant_id=q.payee_participant_id,
                    send_amount=q.send_amount,
                    receive_amount=q.receive_amount,
                    reference=f"BENCH-{i}",
                    payer_pseudonym=f"{i % PERSONS:08x}" * 8,
                    payer_name="Bench Person",
                )
            )
            await stub.CommitTransfer(api.CommitTransferRequest(transfer_id=f"{run}-t{i}"))
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rpc_done = time.perf_counter()
    while await topic_records(kafka, topic) < 3 * n:
        await asyncio.sleep(0.02)
    published = time.perf_counter()
    await channel.close()
    latencies.sort()
    return {
        "tps": n / (published - started),
        "tps_rpc": n / (rpc_done - started),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def with_topic(kafka: KafkaSettings, name: str, create: bool) -> None:
    admin = new_admin(kafka)
    await admin.start()
    try:
        if create:
            await apply_topics(admin, [TopicSpec(name, 6, 3_600_000)], kafka.replication_factor)
        else:
            await admin.delete_topics([name])
    finally:
        await close_quietly(admin)


def postgres_url(given: str) -> str:
    if given:
        return given
    if os.environ.get("BAYLINK_TEST_POSTGRES_URL"):
        return os.environ["BAYLINK_TEST_POSTGRES_URL"]
    pg = REPO_ROOT / "deploy" / "postgres" / "pg.sh"
    if subprocess.run(["bash", str(pg), "status"], capture_output=True).returncode == 0:
        return subprocess.run(["bash", str(pg), "url"], capture_output=True, text=True).stdout.strip()
    return ""


def bench(backend: str, url: str, n: int, concurrency: int) -> None:
    kafka = KafkaSettings()
    topic = f"bench.payments.{uuid.uuid4().hex[:8]}"
    asyncio.run(with_topic(kafka, topic, create=True))
    parent, child = mp.get_context("spawn").Pipe()
    server = mp.get_context("spawn").Process(target=serve, args=(url, topic, child), daemon=True)
    server.start()
    try:
        port = parent.recv()
        figures = asyncio.run(client(port, kafka, topic, n, concurrency))
    finally:
        parent.send("stop")
        server.join(30)
    audit = subprocess.run(
        [sys.executable, "-c", "from baylink.cli.payments import app; app()", "audit", "--database-url", url],
        capture_output=True,
        text=True,
    )
    asyncio.run(with_topic(kafka, topic, create=False))
    goal = "meets" if figures["tps"] >= 1000 and figures["p99"] <= 50 else "misses"
    print(
        f"{backend:<10} {n} transfers, {concurrency} in flight: {figures['tps']:7.0f} transfers/s end to end "
        f"({figures['tps_rpc']:.0f}/s until the last commit answered), p50 {figures['p50']:.1f} ms, "
        f"p99 {figures['p99']:.1f} ms; {goal} the goal (≥1000/s, p99 ≤ 50 ms); "
        f"audit exit {audit.returncode}: {audit.stdout.strip().splitlines()[-1] if audit.stdout else audit.stderr}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as workdir:
                url = f"sqlite+aiosqlite:///{Path(workdir) / 'payments.db'}"
                bench("sqlite", url, args.transfers, args.concurrency)
        elif backend == "postgres":
            admin = postgres_url(args.postgres_url)
            if not admin:
                print("postgres   skipped: no PostgreSQL (start it with deploy/postgres/pg.sh start)")
                continue
            asyncio.run(_pg_bench(admin, args.transfers, args.concurrency))


async def _pg_bench(admin_url: str, n: int, concurrency: int) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    kwargs = {"host": admin.host, "port": admin.port, "user": admin.username, "password": admin.password}
    conn = await asyncpg.connect(database=admin.database, **kwargs)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        url = admin.set(database=name).render_as_string(hide_password=False)
        await asyncio.get_running_loop().run_in_executor(None, bench, "postgresql", url, n, concurrency)
    finally:
        conn = await asyncpg.connect(database=admin.database, **kwargs)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    main()
