"""Two-phase transfers/s end to end, on SQLite and on PostgreSQL.

    python -m benchmarks.payments_bench [--transfers 5000] [--concurrency 32] [--backends sqlite,postgres]
                                        [--compare]   # also with group commit off, just before
                                        [--bulk 50 [--bulk-concurrency 4] [--bulk-only]]


The service runs in its own process as it does in production (bootstrap, gRPC
server, outbox relay to the real broker, expiry sweeper); this process is the
client. Quotes (HKD→CNY, each for another person) are created first and not
timed. The clock then runs from the first PrepareTransfer to the moment the
broker holds every event of the run (quote.created, transfer.reserved,
transfer.committed); each transfer's latency is its prepare + commit round
trips (under a correlation id of its own, as the gateway calls). Afterwards
``baylink payments audit`` checks the ledger and must exit 0.
With ``--bulk N`` a second line per backend runs the batch-native shape: each
call is a PrepareTransfers of N items, then a CommitTransfers of their N
commits, ``--bulk-concurrency`` calls in flight; every item of a pair has the
pair's latency (both round trips), and any item answered with an error fails
the run. Goal: ≥ 1,000 transfers/s with p99 ≤ 50 ms on the 2-core reference machine.

Each line also gives the ratio to the goal, the server process's CPU time per
transfer (all its threads, over the timed phase), the mean number of requests
per group-commit batch, and the 1-minute load average before and after (the
machine is shared: compare figures from one run). PAYMENTS_BENCH_PROFILE=path
profiles the server over the timed phase with cProfile, or with py-spy
(``--gil``, raw format) when the path ends in ``.spy``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
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
from baylink.runtime.context import correlation_scope
from baylink.runtime.grpc.client import insecure_channel
from baylink.runtime.kafka import close_quietly, new_admin
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics

PERSONS = 4000  # distinct payer pseudonyms, so per-person limits do not bind


async def _serve(url: str, topic: str, conn: Connection, profile: str, group_commit: bool) -> None:
    from baylink.runtime.grpc.server import start_grpc_server
    from baylink.runtime.relay import OutboxRelay
    from services.payments.bootstrap import bootstrap
    from services.payments.config import PaymentsSettings
    from services.payments.domain.money import Money
    from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind
    from services.payments.domain.pricing import Rate
    from services.payments.service_layer import participants, quotes

    settings = PaymentsSettings(
        database_url=url, quote_ttl_seconds=3600, transfer_ttl_seconds=600, group_commit=group_commit
    )
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
    # Until told to stop, answer "cpu" with this process's CPU seconds so far (all threads); the
    # first and second "cpu" bracket the timed phase, which is what a profile (if asked for) covers.
    profiler = cProfile.Profile() if profile and not profile.endswith(".spy") else None
    marks = 0
    while await asyncio.get_running_loop().run_in_executor(None, conn.recv) == "cpu":
        marks += 1
        if profile.endswith(".spy") and marks == 1:  # sample with py-spy (pip install py-spy) instead
            spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(os.getpid()), "-d", "10"]
            await asyncio.create_subprocess_exec(*spy, "-r", "200", "--gil", "-f", "raw", "-o", profile)
        elif profiler is not None and marks == 1:
            profiler.enable()
        elif profiler is not None and marks == 2:
            profiler.disable()
            profiler.dump_stats(profile)
        group = app.deps.group
        conn.send((time.process_time(), group.batches if group else 0, group.requests if group else 0))
    await app.stop_background()
    await server.stop(1)
    await relay.stop()
    await asyncio.gather(relay_task, return_exceptions=True)
    await app.deps.db.dispose()


def serve(url: str, topic: str, conn: Connection, profile: str, group_commit: bool) -> None:
    asyncio.run(_serve(url, topic, conn, profile, group_commit))


async def topic_records(kafka: KafkaSettings, topic: str, partitions: int = 6) -> int:
    """How many records the topic holds (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(offsets.values())
    finally:
        await consumer.stop()


def server_cpu(conn: Connection) -> tuple[float, int, int]:
    """The server's CPU seconds so far, and how many group-commit batches and requests it wrote."""
    conn.send("cpu")
    cpu, batches, requests = conn.recv()
    return float(cpu), int(batches), int(requests)


async def client(
    port: int, kafka: KafkaSettings, topic: str, n: int, concurrency: int, server: Connection, bulk: int = 0
) -> dict[str, float]:
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
            with correlation_scope(f"{run}-t{i}"):  # as the gateway calls: under the flow's correlation id
                await transfer(i, q)
            latencies.append(time.perf_counter() - started)

    def prepare_request(i: int, q: transfer_pb2.Quote) -> api.PrepareTransferRequest:
        return api.PrepareTransferRequest(
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

    async def transfer(i: int, q: transfer_pb2.Quote) -> None:
        await stub.PrepareTransfer(prepare_request(i, q))
        await stub.CommitTransfer(api.CommitTransferRequest(transfer_id=f"{run}-t{i}"))

    failures: list[str] = []

    async def bulk_worker() -> None:
        # Each call carries `bulk` prepares, then one call their commits; every item of the
        # pair shares the pair's latency (its prepare call's round trip plus its commit call's).
        nonlocal next_index
        while next_index < n:
            first, next_index = next_index, min(n, next_index + bulk)
            indexes = range(first, next_index)
            started = time.perf_counter()
            with correlation_scope(f"{run}-b{first}"):
                prepared = await stub.PrepareTransfers(
                    api.PrepareTransfersRequest(requests=[prepare_request(i, quotes[i]) for i in indexes])
                )
                commits = [api.CommitTransferRequest(transfer_id=f"{run}-t{i}") for i in indexes]
                committed = await stub.CommitTransfers(api.CommitTransfersRequest(requests=commits))
            elapsed = time.perf_counter() - started
            for result in (*prepared.results, *committed.results):
                if result.HasField("error"):
                    failures.append(f"{result.error.code} {result.error.message}")
            latencies.extend([elapsed] * len(indexes))

    cpu_before = server_cpu(server)
    started = time.perf_counter()
    await asyncio.gather(*((bulk_worker() if bulk else worker()) for _ in range(concurrency)))
    if failures:
        raise SystemExit(f"{len(failures)} items failed, e.g. {failures[0]}")
    rpc_done = time.perf_counter()
    while await topic_records(kafka, topic) < 3 * n:
        await asyncio.sleep(0.02)
    published = time.perf_counter()
    cpu_after = server_cpu(server)
    cpu_ms = (cpu_after[0] - cpu_before[0]) * 1000 / n
    batch = (cpu_after[2] - cpu_before[2]) / max(1, cpu_after[1] - cpu_before[1])
    await channel.close()
    latencies.sort()
    return {
        "tps": n / (published - started),
        "tps_rpc": n / (rpc_done - started),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "server_cpu_ms": cpu_ms,
        "batch": batch,
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


def bench(backend: str, url: str, n: int, concurrency: int, group_commit: bool = True, bulk: int = 0) -> None:
    kafka = KafkaSettings()
    topic = f"bench.payments.{uuid.uuid4().hex[:8]}"
    asyncio.run(with_topic(kafka, topic, create=True))
    parent, child = mp.get_context("spawn").Pipe()
    profile = os.environ.get("PAYMENTS_BENCH_PROFILE", "")  # a path: cProfile the server into it
    server = mp.get_context("spawn").Process(target=serve, args=(url, topic, child, profile, group_commit), daemon=True)
    server.start()
    load_before = load_average()
    try:
        port = parent.recv()
        figures = asyncio.run(client(port, kafka, topic, n, concurrency, parent, bulk))
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
    shape = f"bulks of {bulk}, {concurrency} calls in flight" if bulk else f"unary, {concurrency} in flight"
    print(
        f"{backend:<10} {n} transfers, {shape}, group commit {'on' if group_commit else 'off'}: "
        f"{figures['tps']:7.0f} transfers/s end to end "
        f"({figures['tps_rpc']:.0f}/s until the last commit answered), p50 {figures['p50']:.1f} ms, "
        f"p99 {figures['p99']:.1f} ms; {goal} the goal (≥1000/s, p99 ≤ 50 ms): ratio "
        f"{figures['tps'] / 1000:.2f} of the rate, p99 {figures['p99'] / 50:.1f}× the bound; server CPU "
        f"{figures['server_cpu_ms']:.2f} ms per transfer, {figures['batch']:.1f} requests per batch; "
        f"load average {load_before} → {load_average()}; "
        f"audit exit {audit.returncode}: {audit.stdout.strip().splitlines()[-1] if audit.stdout else audit.stderr}"
    )


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="")
    parser.add_argument(
        "--compare", action="store_true", help="also run with group commit off, just before, on the same machine load"
    )
    parser.add_argument(
        "--bulk", type=int, default=50, help="also run PrepareTransfers/CommitTransfers of this size (0: only unary)"
    )
    parser.add_argument("--bulk-concurrency", type=int, default=4, help="bulk calls in flight")
    parser.add_argument("--bulk-only", action="store_true", help="skip the unary line")
    args = parser.parse_args()
    modes = [False, True] if args.compare else [True]
    runs = [(group_commit, 0, args.concurrency) for group_commit in modes] if not args.bulk_only else []
    if args.bulk:
        runs.append((True, args.bulk, args.bulk_concurrency))
    for backend in args.backends.split(","):
        for group_commit, bulk, concurrency in runs:
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as workdir:
                    url = f"sqlite+aiosqlite:///{Path(workdir) / 'payments.db'}"
                    bench("sqlite", url, args.transfers, concurrency, group_commit, bulk)
            elif backend == "postgres":
                admin = postgres_url(args.postgres_url)
                if not admin:
                    print("postgres   skipped: no PostgreSQL (start it with deploy/postgres/pg.sh start)")
                    break
                asyncio.run(_pg_bench(admin, args.transfers, concurrency, group_commit, bulk))


async def _pg_bench(admin_url: str, n: int, concurrency: int, group_commit: bool, bulk: int) -> None:
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
        await asyncio.get_running_loop().run_in_executor(
            None, bench, "postgresql", url, n, concurrency, group_commit, bulk
        )
    finally:
        conn = await asyncpg.connect(database=admin.database, **kwargs)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    main()
