"""Two-phase transfers/s end to end, on SQLite and on PostgreSQL.

    python -m benchmarks.payments_bench [--transfers 5000] [--backends sqlite,postgres]
                                        [--lines unary/32/1,50/4/1,40/1/1,20/2/1,20/2/2,10/2/1]
                                        [--compare]   # first a unary line with group commit off

Each line is SHAPE/IN-FLIGHT/PROCESSES: unary PrepareTransfer + CommitTransfer
calls, or bulks of SHAPE items; how many calls the client keeps in flight; how
many server processes share the port.

The service runs in its own process tree as in production (``build_host`` under
``run_service``: migrations, gRPC server, outbox relay to the real broker, expiry
sweeper; PROCESSES workers on one port); this process is the client.
Quotes (HKD→CNY, each for another person) are created first and not timed, and
one call (or bulk pair) per client connection warms the server up. The clock
then runs from the first timed PrepareTransfer to the moment the broker holds
every event of the run (quote.created, transfer.reserved, transfer.committed);
each transfer's latency is its prepare + commit round trips, requests built
beforehand (under a correlation id of its own, as the gateway calls).
Afterwards ``baylink payments audit`` checks the ledger and must exit 0.
In the bulk shape each call is a PrepareTransfers of N items, then a
CommitTransfers of their N commits; every item of a pair has the pair's
latency (both round trips), and any item answered with an error fails the run.
Goal: ≥ 1,000 transfers/s with p99 ≤ 50 ms on the 2-core reference machine.

Each line also gives the ratio to the goal, the CPU time per transfer of the
server (all its processes and threads), of this client, of the local broker and
(PostgreSQL lines) of the local PostgreSQL cluster over the timed phase (they share
the machine), and the 1-minute load average
before and after (compare figures from one run). PAYMENTS_BENCH_PROFILE=path.spy
samples the server's processes over the timed phase with py-spy (``--gil``, raw
format; pip install py-spy).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
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
from baylink.runtime.kafka import client_kwargs, close_quietly, new_admin
from baylink.runtime.settings import REPO_ROOT, KafkaSettings
from baylink.runtime.topics import TopicSpec, apply_topics
from benchmarks.procs import broker_pid, cpu_seconds, load_average, machine_speed, postgres_pid
from services.payments.config import PaymentsSettings
from tests.conftest import postgres_database

PERSONS = 4000  # distinct payer pseudonyms, so per-person limits do not bind
CONNECTIONS = 8  # client connections, taken in turn; with 2 server workers, all on one has odds 1 in 128


def server_settings(url: str, group_commit: bool, workers: int) -> PaymentsSettings:
    """The benchmark server's settings: a free port, unannounced, quiet; quotes and transfers
    that outlive the run; relay rounds as large and as frequent as a busy service wants."""
    return PaymentsSettings(
        database_url=url, quote_ttl_seconds=3600, transfer_ttl_seconds=600, group_commit=group_commit,
        workers=workers, grpc_port=0, metrics_port=0, announce=False, log_level="WARNING",
        outbox_batch_size=2000, outbox_poll_seconds=0.05, drain_delay_seconds=0, shutdown_grace_seconds=1,
    )  # fmt: skip


async def seed(settings: PaymentsSettings) -> None:
    """The two participants (caps that never bind) and the HKD→CNY rate, before the server starts."""
    from services.payments.bootstrap import bootstrap
    from services.payments.domain.money import Money
    from services.payments.domain.participants import Jurisdiction, Participant, ParticipantKind
    from services.payments.domain.pricing import Rate
    from services.payments.service_layer import participants, quotes

    app = bootstrap(settings)
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
    await app.deps.db.dispose()


def serve(url: str, topic: str, group_commit: bool, workers: int, port: Connection) -> None:
    """Child process: payments as ``python -m services.payments`` runs it (``build_host`` under
    ``run_service``: ``workers`` processes on one port, each with its relay and expiry sweeper),
    its events sent to the benchmark's topic. Sends the port once every worker serves; SIGTERM stops it."""
    from baylink.runtime.logging import configure_logging
    from baylink.runtime.workers import run_service
    from services.payments.bootstrap import build_host

    settings = server_settings(url, group_commit, workers)
    configure_logging("payments", settings.log_level)
    asyncio.run(seed(settings))
    sys.exit(run_service(functools.partial(build_host, event_topic=topic), settings, on_serving=port.send))


async def wait_for_records(kafka: KafkaSettings, topic: str, count: int, partitions: int = 6) -> None:
    """Until the topic holds ``count`` records (the sum of its partitions' end offsets)."""
    consumer = AIOKafkaConsumer(**client_kwargs(kafka), group_id=None)
    await consumer.start()
    try:
        wanted = [TopicPartition(topic, p) for p in range(partitions)]
        while sum((await consumer.end_offsets(wanted)).values()) < count:
            await asyncio.sleep(0.02)
    finally:
        await consumer.stop()


async def client(
    port: int,
    kafka: KafkaSettings,
    topic: str,
    n: int,
    concurrency: int,
    server_pid: int,
    bulk: int = 0,
    database_pid: int | None = None,
) -> dict[str, float]:
    # Connections of their own, so that the kernel spreads them over the server's worker processes.
    channels = [insecure_channel(f"127.0.0.1:{port}", own_connection=True) for _ in range(CONNECTIONS)]
    stubs = [api_grpc.PaymentsServiceStub(channel) for channel in channels]
    run = uuid.uuid4().hex[:8]

    async def make_quote(i: int) -> transfer_pb2.Quote:
        response = await stubs[i % len(stubs)].CreateQuote(
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

    # Before the clock, one call (or bulk pair) per connection warms up every server process
    # (statements compiled and prepared, caches filled), as a running service is warm.
    warm = CONNECTIONS * max(bulk, 1)
    quotes: list[transfer_pb2.Quote] = []
    for start in range(0, warm + n, 200):
        quotes += await asyncio.gather(*(make_quote(i) for i in range(start, min(warm + n, start + 200))))

    latencies: list[float] = []
    next_index, stop = 0, warm

    async def worker() -> None:
        # Each transfer on the next connection (its prepare and commit on the same one), so that
        # calls spread over the server's processes however few are in flight.
        nonlocal next_index
        while next_index < stop:
            i, next_index = next_index, next_index + 1
            stub, prepare = stubs[i % len(stubs)], prepare_request(i, quotes[i])
            commit = api.CommitTransferRequest(transfer_id=prepare.transfer_id)
            started = time.perf_counter()
            with correlation_scope(f"{run}-t{i}"):  # as the gateway calls: under the flow's correlation id
                await stub.PrepareTransfer(prepare)
                await stub.CommitTransfer(commit)
            if i >= warm:
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

    failures: list[str] = []

    async def bulk_worker() -> None:
        # Each call carries `bulk` prepares, then one call their commits; every item of the
        # pair shares the pair's latency (its prepare call's round trip plus its commit call's).
        # Each pair on the next connection, as transfers are above.
        # Requests are built before the clock starts: the latency is the two round trips.
        nonlocal next_index
        while next_index < stop:
            first, next_index = next_index, min(stop, next_index + bulk)
            indexes = range(first, next_index)
            stub = stubs[first // bulk % len(stubs)]
            prepares = api.PrepareTransfersRequest(requests=[prepare_request(i, quotes[i]) for i in indexes])
            commits = api.CommitTransfersRequest(
                requests=[api.CommitTransferRequest(transfer_id=f"{run}-t{i}") for i in indexes]
            )
            started = time.perf_counter()
            with correlation_scope(f"{run}-b{first}"):
                prepared = await stub.PrepareTransfers(prepares)
                committed = await stub.CommitTransfers(commits)
            elapsed = time.perf_counter() - started
            for result in (*prepared.results, *committed.results):
                if result.HasField("error"):
                    failures.append(f"{result.error.code} {result.error.message}")
            if first >= warm:
                latencies.extend([elapsed] * len(indexes))

    run_one = bulk_worker if bulk else worker
    await asyncio.gather(*(run_one() for _ in range(concurrency)))  # the warm-up
    await wait_for_records(kafka, topic, 3 * warm + n)  # its events and every quote's are out
    broker = broker_pid()
    profile = os.environ.get("PAYMENTS_BENCH_PROFILE", "")
    if profile:  # sample the server's processes over the timed phase (pip install py-spy)
        spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server_pid), "--subprocesses"]
        await asyncio.create_subprocess_exec(*spy, "-d", "10", "-r", "200", "--gil", "-f", "raw", "-o", profile)
    server_before, client_before = cpu_seconds(server_pid), time.process_time()
    broker_before = cpu_seconds(broker) if broker else 0.0
    database_before = cpu_seconds(database_pid) if database_pid else 0.0
    stop = warm + n
    started = time.perf_counter()
    await asyncio.gather(*(run_one() for _ in range(concurrency)))
    if failures:
        raise SystemExit(f"{len(failures)} items failed, e.g. {failures[0]}")
    rpc_done = time.perf_counter()
    await wait_for_records(kafka, topic, 3 * (warm + n))
    published = time.perf_counter()
    server_after, client_after = cpu_seconds(server_pid), time.process_time()
    broker_after = cpu_seconds(broker) if broker else 0.0
    database_after = cpu_seconds(database_pid) if database_pid else 0.0
    for channel in channels:
        await channel.close()
    latencies.sort()
    return {
        "tps": n / (published - started),
        "tps_rpc": n / (rpc_done - started),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "server_cpu_ms": (server_after - server_before) * 1000 / n,
        "client_cpu_ms": (client_after - client_before) * 1000 / n,
        "broker_cpu_ms": (broker_after - broker_before) * 1000 / n if broker else -1.0,
        "database_cpu_ms": (database_after - database_before) * 1000 / n if database_pid else -1.0,
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


def bench(
    backend: str, url: str, n: int, concurrency: int, group_commit: bool = True, bulk: int = 0, workers: int = 1
) -> None:
    kafka = KafkaSettings()
    topic = f"bench.payments.{uuid.uuid4().hex[:8]}"
    asyncio.run(with_topic(kafka, topic, create=True))
    parent, child = mp.get_context("spawn").Pipe()
    server = mp.get_context("spawn").Process(target=serve, args=(url, topic, group_commit, workers, child))
    server.start()
    load_before = load_average()
    try:
        if not parent.poll(180):
            raise SystemExit("the payments server did not start")
        port = parent.recv()
        assert server.pid is not None
        database = postgres_pid() if backend == "postgresql" else None  # SQLite runs inside the server
        figures = asyncio.run(client(port, kafka, topic, n, concurrency, server.pid, bulk, database))
    finally:
        server.terminate()  # SIGTERM: the supervisor stops its workers, each shuts down gracefully
        server.join(60)
    audit = subprocess.run(
        [sys.executable, "-c", "from baylink.cli.main import app; app()", "payments", "audit", "--database-url", url],
        capture_output=True,
        text=True,
    )
    asyncio.run(with_topic(kafka, topic, create=False))
    goal = "meets" if figures["tps"] >= 1000 and figures["p99"] <= 50 else "misses"
    broker = f", broker {figures['broker_cpu_ms']:.2f} ms" if figures["broker_cpu_ms"] >= 0 else ""
    if figures["database_cpu_ms"] >= 0:
        broker += f", PostgreSQL {figures['database_cpu_ms']:.2f} ms"
    shape = f"bulks of {bulk}, {concurrency} calls in flight" if bulk else f"unary, {concurrency} in flight"
    shape += f", {workers} server process{'es' if workers > 1 else ''}"
    print(
        f"{backend:<10} {n} transfers, {shape}, group commit {'on' if group_commit else 'off'}: "
        f"{figures['tps']:7.0f} transfers/s end to end "
        f"({figures['tps_rpc']:.0f}/s until the last commit answered), p50 {figures['p50']:.1f} ms, "
        f"p99 {figures['p99']:.1f} ms; {goal} the goal (≥1000/s, p99 ≤ 50 ms): ratio "
        f"{figures['tps'] / 1000:.2f} of the rate, p99 {figures['p99'] / 50:.1f}× the bound; server CPU "
        f"{figures['server_cpu_ms']:.2f} ms per transfer (client {figures['client_cpu_ms']:.2f} ms"
        f"{broker}); "
        f"load average {load_before} → {load_average()}; "
        f"audit exit {audit.returncode}: {audit.stdout.strip().splitlines()[-1] if audit.stdout else audit.stderr}"
    )


# Per backend, by default: the unary shape; bulks of 50 with 4 calls in flight (the most rate);
# bulks of 40 with one in flight (the closest to the goal on SQLite); bulks of 20 with 2 in
# flight, in one server process and in two, and bulks of 10 with 2 in flight (shapes small
# enough in flight for the latency bound).
DEFAULT_LINES = "unary/32/1,50/4/1,40/1/1,20/2/1,20/2/2,10/2/1"


def parse_lines(spec: str) -> list[tuple[int, int, int]]:
    """``SHAPE/IN-FLIGHT/PROCESSES,...`` (SHAPE ``unary`` or a bulk size) as (bulk, in flight, processes)."""
    lines = []
    for entry in spec.split(","):
        shape, inflight, processes = entry.strip().split("/")
        lines.append((0 if shape == "unary" else int(shape), int(inflight), int(processes)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default="")
    parser.add_argument(
        "--lines", default=DEFAULT_LINES, help="SHAPE/IN-FLIGHT/PROCESSES,... (SHAPE: unary or a bulk size)"
    )
    parser.add_argument(
        "--compare", action="store_true", help="first a unary line with group commit off (the baseline), same load"
    )
    args = parser.parse_args()
    runs = [(True, *line) for line in parse_lines(args.lines)]
    if args.compare:
        runs.insert(0, (False, 0, 32, 1))
    with machine_speed():
        _benches(args, runs)


def _benches(args: argparse.Namespace, runs: list[tuple[bool, int, int, int]]) -> None:
    for backend in args.backends.split(","):
        for group_commit, bulk, concurrency, workers in runs:
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as workdir:
                    url = f"sqlite+aiosqlite:///{Path(workdir) / 'payments.db'}"
                    bench("sqlite", url, args.transfers, concurrency, group_commit, bulk, workers)
            elif backend == "postgres":
                admin = postgres_url(args.postgres_url)
                if not admin:
                    print("postgres   skipped: no PostgreSQL (start it with deploy/postgres/pg.sh start)")
                    break
                asyncio.run(_pg_bench(admin, args.transfers, concurrency, group_commit, bulk, workers))


async def _pg_bench(admin_url: str, n: int, concurrency: int, group_commit: bool, bulk: int, workers: int) -> None:
    async with postgres_database(admin_url) as url:
        await asyncio.get_running_loop().run_in_executor(
            None, bench, "postgresql", url, n, concurrency, group_commit, bulk, workers
        )


if __name__ == "__main__":
    main()
