"""The bulk-leak guard's counts in the database hold across gateway replicas (SQLite file, PostgreSQL).

Two replicas are two ``Database`` engines (two connection pools) on one database, each with its own
ledger, as two gateway processes would have; the last test runs two partner-city servers over mTLS.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

from baylink.gateway.v1 import partner_city_pb2 as pc
from baylink.gateway.v1 import partner_city_service_pb2 as api
from baylink.runtime.db import Database
from services.gateway.audit.adapters.keys import Ed25519Signer
from services.gateway.partner.adapters.pki import PkiPaths
from services.gateway.shared.adapters.guard_store import SqlGuardLedger, alerts, callers, reads
from services.gateway.shared.domain.guard import GuardPolicy, TripKind
from tests.conftest import postgres_database
from tests.integration.gateway.conftest import partner_gateway
from tests.unit.gateway.conftest import migrate_gateway

CITY = "city:440605"
KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@asynccontextmanager
async def replicas(kind: str, tmp: Path, count: int = 2) -> AsyncIterator[list[Database]]:
    """``count`` engines on one migrated database of this test's own."""
    async with AsyncExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp / 'replicas.db'}"
        else:
            url = await stack.enter_async_context(postgres_database())
        dbs = [Database(url) for _ in range(count)]
        for db in dbs:
            stack.push_async_callback(db.dispose)
        await migrate_gateway(dbs[0])
        yield dbs


@pytest.mark.parametrize("kind", KINDS)
async def test_the_database_ledger_keeps_the_guard_rules(kind: str, tmp_path: Path) -> None:
    policy = GuardPolicy(rate_per_second=2, burst=3, distinct_subjects=3, window_seconds=100)
    async with replicas(kind, tmp_path, 1) as (db,):
        ledger = SqlGuardLedger(db, "partner", policy)
        assert [await ledger.admit_call(CITY, 1000.0) for _ in range(3)] == [None, None, None]
        trip = await ledger.admit_call(CITY, 1000.0)
        assert trip is not None and trip.kind is TripKind.RATE_LIMIT and trip.alert
        assert trip.retry_after_seconds == pytest.approx(0.5)
        assert await ledger.admit_call(CITY, 1000.5) is None  # a token back after half a second
        again = await ledger.admit_call(CITY, 1000.5)
        assert again is not None and not again.alert  # one alert per window

        for t, subject in enumerate(["a", "b", "c"]):
            assert await ledger.admit_subjects(CITY, [subject], 2000.0 + t) is None
        assert await ledger.admit_subjects(CITY, ["b"], 2010.0) is None  # a re-read is not a new person
        trip = await ledger.admit_subjects(CITY, ["d"], 2010.0)
        assert trip is not None and trip.kind is TripKind.BULK_SUBJECT_READ and trip.alert
        assert trip.retry_after_seconds == pytest.approx(90.0)  # when "a", the oldest, ages out
        assert await ledger.admit_subjects("city:440300", ["d"], 2010.0) is None  # another caller's own window
        assert await ledger.admit_subjects(CITY, ["d"], 2100.0) is None
        other_guard = SqlGuardLedger(db, "kiosk", policy)  # the kiosk guard counts apart
        assert await other_guard.admit_subjects(CITY, ["x", "y", "z"], 2100.0) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_two_replicas_racing_at_the_limit_admit_exactly_the_limit(kind: str, tmp_path: Path) -> None:
    limit = 20
    policy = GuardPolicy(rate_per_second=1, burst=10, distinct_subjects=limit, window_seconds=600)
    async with replicas(kind, tmp_path) as dbs:
        ledgers = [SqlGuardLedger(db, "partner", policy) for db in dbs]
        now = 5000.0
        # 50 distinct people read at once, alternately through the two replicas.
        trips = await asyncio.gather(*(ledgers[i % 2].admit_subjects(CITY, [f"person-{i}"], now) for i in range(50)))
        refused = [t for t in trips if t is not None]
        assert len(trips) - len(refused) == limit
        assert sum(t.alert for t in refused) == 1  # one alert, whichever replica refused first
        for ledger in ledgers:  # the (N+1)th person is refused on either replica
            assert await ledger.admit_subjects(CITY, ["person-late"], now + 1) is not None

        calls = await asyncio.gather(*(ledgers[i % 2].admit_call(CITY, now) for i in range(30)))
        assert sum(c is None for c in calls) == policy.burst  # one bucket for both replicas


@pytest.mark.parametrize("kind", KINDS)
async def test_a_city_spreading_its_reads_over_two_gateways_is_held_to_one_limit(
    kind: str, partner_pki: PkiPaths, tmp_path: Path, signer: Ed25519Signer
) -> None:
    policy = GuardPolicy(rate_per_second=1000, burst=1000, distinct_subjects=4, window_seconds=600)
    pseudonyms = [f"{i:02d}" + "cd" * 31 for i in range(8)]
    async with replicas(kind, tmp_path) as (db_a, db_b), AsyncExitStack() as stack:
        gateways = []
        for name, db in (("a", db_a), ("b", db_b)):
            own = tmp_path / name
            own.mkdir()
            gw = await stack.enter_async_context(partner_gateway(partner_pki, own, signer, policy=policy, db=db))
            for p in pseudonyms:
                gw.backend.subjects[("440605", p)] = pc.PartnerSubject(pseudonym=p)
            gateways.append(gw)
        stubs = [gw.city("440605") for gw in gateways]
        outcomes = []
        for i, p in enumerate(pseudonyms):
            try:
                await stubs[i % 2].LookupSubject(api.LookupSubjectRequest(pseudonym=p))
                outcomes.append("OK")
            except grpc.aio.AioRpcError as exc:
                outcomes.append(exc.code().name)
        assert outcomes == ["OK"] * 4 + ["RESOURCE_EXHAUSTED"] * 4
        for stub in stubs:  # people already read may be read again through either
            found = await stub.LookupSubject(api.LookupSubjectRequest(pseudonym=pseudonyms[1]))
            assert found.subject.pseudonym == pseudonyms[1]


@pytest.mark.parametrize("kind", KINDS)
async def test_what_can_no_longer_matter_is_pruned(kind: str, tmp_path: Path) -> None:
    policy = GuardPolicy(rate_per_second=1, burst=2, distinct_subjects=1, window_seconds=60)
    async with replicas(kind, tmp_path, 1) as (db,):
        ledger = SqlGuardLedger(db, "partner", policy)
        for i in range(20):  # twenty callers, once each, one of them tripped
            assert await ledger.admit_subjects(f"city:{i}", [f"p{i}"], 1000.0) is None
        assert await ledger.admit_subjects("city:0", ["other"], 1000.0) is not None
        assert await rows(db) == {"guard_callers": 20, "guard_subject_reads": 20, "guard_alerts": 1}
        await ledger.prune(1030.0)  # within the window: nothing goes
        assert await rows(db) == {"guard_callers": 20, "guard_subject_reads": 20, "guard_alerts": 1}
        await ledger.prune(1061.0)  # alerts are kept an hour (other alerts' windows are longer)
        assert await rows(db) == {"guard_callers": 0, "guard_subject_reads": 0, "guard_alerts": 1}
        assert await ledger.admit_subjects("city:0", ["other"], 1061.0) is None
        await ledger.prune(1000.0 + 3601)
        assert (await rows(db))["guard_alerts"] == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_an_alert_throttled_per_key_is_raised_once_per_window_over_both_replicas(
    kind: str, tmp_path: Path
) -> None:
    async with replicas(kind, tmp_path) as dbs:
        ledgers = [SqlGuardLedger(db, "partner", GuardPolicy()) for db in dbs]
        key, what = "ab" * 32, "revoked_certificate_presented"
        due = await asyncio.gather(*(ledgers[i % 2].first_alert(key, what, 1000.0, 600) for i in range(10)))
        assert sum(due) == 1
        assert not await ledgers[1].first_alert(key, what, 1599.0, 600)
        assert await ledgers[1].first_alert(key, what, 1600.0, 600)
        assert await ledgers[0].first_alert("cd" * 32, what, 1600.0, 600)  # another certificate


async def rows(db: Database) -> dict[str, int]:
    found = {}
    async with db.transaction(readonly=True) as session:
        for table in (callers, reads, alerts):
            found[table.name] = (await session.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
    return found
