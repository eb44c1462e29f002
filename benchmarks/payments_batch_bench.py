"""The group commit's transactions alone, on PostgreSQL: CPU per transfer of this process and of its
PostgreSQL backends.

    python -m benchmarks.payments_batch_bench [--transfers 2000] [--bulk 40] [--postgres-url URL]

No gRPC, no relay, no broker: this process is the service (``bootstrap`` as the benchmark server
wires it, group commit on) and calls the bulk use cases directly, one PrepareTransfers-sized bulk
and then its commits at a time, as ``payments_bench``'s ``40/1/1`` line does over gRPC. Quotes are
created and a few bulks warm up before the clock. The figures are CPU seconds per transfer of this
process (``time.process_time``) and of the PostgreSQL backends serving its database (``/proc``),
which on a shared machine move far less than the rate does; the load average is printed beside
them. Every transfer must take the batch's fast path (a batch that falls back to one by one fails
the run), and ``baylink payments audit``'s checks must pass afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from benchmarks.payments_bench import PERSONS, postgres_url, seed, server_settings
from benchmarks.procs import cpu_seconds, load_average
from services.payments.bootstrap import bootstrap
from services.payments.domain.money import Money
from services.payments.domain.pricing import AmountType, Quote
from services.payments.domain.transfer import PrepareTransfer
from services.payments.service_layer import audit, bulk, quotes
from tests.conftest import postgres_database

WARM_BULKS = 4


class _Fallbacks(logging.Handler):
    """Counts the group commit's falls back to one by one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def run(url: str, n: int, size: int) -> None:
    settings = server_settings(url, group_commit=True, workers=1)
    await seed(settings)
    app = bootstrap(settings)
    deps = app.deps
    fallbacks = _Fallbacks()
    logging.getLogger("baylink.payments.group_commit").addHandler(fallbacks)
    warm = WARM_BULKS * size
    made: list[Quote] = []
    for i in range(warm + n):
        amount = Money("HKD", 10_000 + i % 5_000)
        made.append(
            await quotes.create_quote(
                deps, quotes.CreateQuote(f"q{i}", "HKBANK", "REGISTRY", AmountType.SEND, amount, "CNY")
            )
        )

    def request(i: int) -> PrepareTransfer:
        q = made[i]
        return PrepareTransfer(
            f"t{i}", q.payer_id, q.payee_id, q.send, q.receive, f"BENCH-{i}", f"{i % PERSONS:08x}" * 8,
            "Bench Person", quote_id=q.quote_id,
        )  # fmt: skip

    async def pair(first: int) -> float:
        started = time.perf_counter()
        indexes = range(first, first + size)
        for outcome in await bulk.prepare_transfers(deps, [request(i) for i in indexes]):
            if isinstance(outcome, Exception):
                raise SystemExit(f"a prepare failed: {outcome!r}")
        for outcome in await bulk.commit_transfers(deps, [f"t{i}" for i in indexes]):
            if isinstance(outcome, Exception):
                raise SystemExit(f"a commit failed: {outcome!r}")
        return time.perf_counter() - started

    for first in range(0, warm, size):
        await pair(first)
    backends = await _backends(url)
    load_before = load_average()
    cpu_before, database_before = time.process_time(), sum(cpu_seconds(pid) for pid in backends)
    started = time.perf_counter()
    latencies = sorted([await pair(first) for first in range(warm, warm + n, size)])
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    database = sum(cpu_seconds(pid) for pid in backends) - database_before
    report = await audit.audit(deps)
    await deps.db.dispose()
    if fallbacks.count:
        raise SystemExit(f"{fallbacks.count} batches fell back to one by one")
    if report.breaches:
        raise SystemExit(f"audit: {report.breaches}")
    print(
        f"postgresql {n} transfers, bulks of {size}, group commit only: {n / elapsed:.0f} transfers/s, "
        f"p50 {latencies[len(latencies) // 2] * 1000:.1f} ms a bulk's prepare + commit; CPU per transfer: "
        f"this process {cpu * 1000 / n:.3f} ms, PostgreSQL backends {database * 1000 / n:.3f} ms "
        f"({len(backends)} connection{'s' if len(backends) > 1 else ''}); load average {load_before} → "
        f"{load_average()}; audit: {report.committed} committed, ledger invariants hold"
    )


async def _backends(url: str) -> list[int]:
    """The pids of the PostgreSQL backends connected to ``url``'s database."""
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username, password=u.password, database=u.database)
    try:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
        return [r[0] for r in await conn.fetch(query, u.database)]
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--bulk", type=int, default=40)
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    admin_url = postgres_url(args.postgres_url)
    if not admin_url:
        print("postgresql skipped: no PostgreSQL (start it with deploy/postgres/pg.sh start)")
        return
    async with postgres_database(admin_url) as url:
        await run(url, args.transfers, args.bulk)


if __name__ == "__main__":
    asyncio.run(main())
