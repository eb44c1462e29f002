"""Bulk-leak guard benchmark (not a test): the latency of one guard check, counted in the database.

    .venv/bin/python -m benchmarks.guard_bench [--checks 2000] [--backends memory,sqlite,postgres]

For each backend, one caller after another (each its own window, so the table holds many callers):
``admit_call`` (the token bucket: one upsert) and ``admit_subjects`` of one person among the ones the
caller already read (lock the caller, count, look up, upsert), sequentially, then the same with
``--concurrency`` checks in flight through two ledgers (two replicas: two engines on one database).
``memory`` is the in-process ledger the gateway used before, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from baylink.runtime.db import Database
from benchmarks.payments_bench import postgres_url
from services.gateway.bootstrap import MIGRATIONS
from services.gateway.shared.adapters.guard_store import SqlGuardLedger
from services.gateway.shared.domain.guard import BulkLeakGuard, GuardPolicy
from services.gateway.shared.service_layer.guard import GuardLedger, InProcessLedger

POLICY = GuardPolicy(rate_per_second=1e6, burst=1_000_000, distinct_subjects=1_000, window_seconds=600)
CALLERS = 50


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def timed(check: Callable[[int], Awaitable[object]], n: int, concurrency: int) -> tuple[list[float], float]:
    """Latency of each of ``n`` checks (seconds), ``concurrency`` at a time, and the wall time of all."""
    samples: list[float] = []
    next_i = iter(range(n))

    async def lane() -> None:
        for i in next_i:
            start = time.perf_counter()
            await check(i)
            samples.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return samples, time.perf_counter() - began


def report(backend: str, what: str, samples: list[float], wall: float, concurrency: int) -> None:
    us = [s * 1e6 for s in samples]
    print(f"{backend:9} {what:15} in flight {concurrency:2}: p50 {percentile(us, 0.5):7.0f} µs  "
          f"p99 {percentile(us, 0.99):7.0f} µs  {len(samples) / wall:7.0f} checks/s")  # fmt: skip


async def run(backend: str, ledgers: list[GuardLedger], n: int, concurrency: int) -> None:
    now = time.time()
    for i in range(CALLERS * 20):  # every caller has read 20 people already
        await ledgers[0].admit_subjects(f"city:{i % CALLERS}", [f"p{i}"], now)

    async def call(i: int) -> object:
        return await ledgers[i % len(ledgers)].admit_call(f"city:{i % CALLERS}", time.time())

    async def subjects(i: int) -> object:
        return await ledgers[i % len(ledgers)].admit_subjects(f"city:{i % CALLERS}", [f"p{i % 1000}"], time.time())

    for what, check in (("admit_call", call), ("admit_subjects", subjects)):
        for lanes in (1, concurrency):
            samples, wall = await timed(check, n, lanes)
            report(backend, what, samples, wall, lanes)


@asynccontextmanager
async def pg_database(admin_url: str) -> AsyncIterator[str]:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    kwargs = {"host": admin.host, "port": admin.port, "user": admin.username, "password": admin.password}
    conn = await asyncpg.connect(database=admin.database, **kwargs)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def on_database(backend: str, url: str, n: int, concurrency: int) -> None:
    replicas = [Database(url), Database(url)]
    try:
        await replicas[0].migrate([MIGRATIONS])
        await run(backend, [SqlGuardLedger(db, "partner", POLICY) for db in replicas], n, concurrency)
    finally:
        for db in replicas:
            await db.dispose()


async def on_postgres(admin_url: str, n: int, concurrency: int) -> None:
    async with pg_database(admin_url) as url:
        await on_database("postgres", url, n, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backends", default="memory,sqlite,postgres")
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "memory":
            asyncio.run(run("memory", [InProcessLedger(BulkLeakGuard(POLICY))], args.checks, args.concurrency))
        elif backend == "sqlite":
            with tempfile.TemporaryDirectory() as workdir:
                url = f"sqlite+aiosqlite:///{Path(workdir) / 'guard.db'}"
                asyncio.run(on_database("sqlite", url, args.checks, args.concurrency))
        elif backend == "postgres":
            admin = postgres_url(args.postgres_url)
            if not admin:
                print("postgres  skipped: no PostgreSQL (start it with deploy/postgres/pg.sh start)")
                continue
            asyncio.run(on_postgres(admin, args.checks, args.concurrency))


if __name__ == "__main__":
    main()
