"""The kiosk guard's admission and the session read in one transaction (``SqlKioskAdmissions``), as two
gateway replicas on one database use it: one look at the database per call; a session ended or expired
on one replica is refused at once on the other; the guard still refuses, and its refusal is recorded
under the call's own action; an admission admits one call.

Runs on a SQLite file and on PostgreSQL, each migrated with the gateway's real migrations.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.runtime.db import Database
from services.gateway.audit.adapters.events import GatewaySecurityEvents
from services.gateway.audit.adapters.keys import Ed25519Signer
from services.gateway.audit.adapters.store import audit_records
from services.gateway.kiosk.adapters.admissions import SqlKioskAdmissions
from services.gateway.kiosk.adapters.session_store import SqlSessionStore
from services.gateway.kiosk.service_layer.access import KioskAccess
from services.gateway.shared.adapters.crypto import FieldCipher
from services.gateway.shared.adapters.guard_store import SqlGuardLedger
from services.gateway.shared.domain.guard import GuardPolicy
from services.gateway.shared.service_layer.guard import AuditedAlerts, Guard
from tests.unit.gateway.conftest import make_log, migrate_gateway

TTL = 600.0
KIOSK = "HK-TST-01"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class CountingDatabase(Database):
    """The real database, counting its direct transactions (each one hop to SQLite's threads)."""

    def __init__(self, url: str):
        super().__init__(url)
        self.transactions = 0

    async def run_direct(self, program: Any, **options: bool) -> Any:
        self.transactions += 1
        return await super().run_direct(program, **options)


@dataclass
class Replica:
    db: CountingDatabase
    sessions: SqlSessionStore
    access: KioskAccess


@pytest.fixture
async def replicas(shared_db_url: str, signer: Ed25519Signer) -> AsyncIterator[tuple[Replica, Replica, Clock]]:
    """Two gateways' kiosk access, each on an engine of its own, on one database; a burst of 3 calls."""
    clock = Clock()
    cipher = FieldCipher({"numbers-1": os.urandom(32)}, "numbers-1")
    policy = GuardPolicy(rate_per_second=0.001, burst=3)
    made = []
    for _ in range(2):
        db = CountingDatabase(shared_db_url)
        await migrate_gateway(db)
        audit = make_log(db, signer)
        sessions = SqlSessionStore(db, cipher, TTL, clock=clock)
        ledger = SqlGuardLedger(db, "kiosk", policy)
        guard = Guard(ledger, AuditedAlerts(audit, GatewaySecurityEvents().alert_raised), clock=clock)
        made.append(Replica(db, sessions, KioskAccess(sessions, guard, audit, SqlKioskAdmissions(sessions, ledger))))
    yield made[0], made[1], clock
    for replica in made:
        await replica.db.dispose()


async def records(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as tx:
        rows = await tx.execute(sa.select(audit_records.c.action, audit_records.c.result).order_by("sequence"))
    return [(action, result) for action, result in rows]


async def test_one_look_at_the_database_takes_the_token_and_reads_the_session(replicas) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = replicas
    token = (await first.sessions.create(KIOSK, "en")).token
    await first.access.admit(KIOSK, token)  # the guard's rows exist now (and pruning has run once)
    before = first.db.transactions
    admission = await first.access.admit(KIOSK, token)
    assert first.db.transactions - before == 1
    assert admission.trip is None
    assert admission.session is not None and (admission.session.token, admission.session.kiosk_id) == (token, KIOSK)
    async with first.access.call("ListCatalogue", admission) as call:
        assert call.live.token == token
    assert first.db.transactions - before == 2  # and the audit record: nothing else
    assert (await records(first.db))[-1] == ("kiosk.ListCatalogue", "OK")


async def test_a_session_ended_on_one_replica_is_refused_on_the_other_at_its_next_call(replicas) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = replicas
    token = (await first.sessions.create(KIOSK, "en")).token
    async with second.access.call("ListCatalogue", await second.access.admit(KIOSK, token)):
        pass  # served by the other replica while it lasts
    await first.sessions.end(token)  # the person logs out through the first replica
    with pytest.raises(errors.Unauthenticated) as refused:
        async with second.access.call("ListCatalogue", await second.access.admit(KIOSK, token)):
            pytest.fail("an ended session was admitted")
    assert refused.value.reason == "SESSION_UNKNOWN"
    assert (await records(second.db))[-1] == ("kiosk.ListCatalogue", "SESSION_UNKNOWN")


async def test_an_expired_session_is_refused_as_expired(replicas) -> None:  # type: ignore[no-untyped-def]
    first, second, clock = replicas
    token = (await first.sessions.create(KIOSK, "en")).token
    clock.now += TTL + 1
    with pytest.raises(errors.Unauthenticated) as refused:
        async with second.access.call("ListCatalogue", await second.access.admit(KIOSK, token)):
            pytest.fail("an expired session was admitted")
    assert refused.value.reason == "SESSION_EXPIRED"


async def test_the_guard_still_refuses_and_the_record_names_the_refused_call(replicas) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = replicas
    token = (await first.sessions.create(KIOSK, "en")).token
    for replica in (first, second, first):  # the burst, spent across both replicas
        async with replica.access.call("ListCatalogue", await replica.access.admit(KIOSK, token)):
            pass
    admission = await second.access.admit(KIOSK, token)
    assert admission.trip is not None and admission.session is not None  # refused, yet the session was read
    with pytest.raises(errors.ResourceExhausted) as refused:
        async with second.access.call("TrackApplication", admission):
            pytest.fail("a call over the kiosk's rate was admitted")
    assert refused.value.reason == "RATE_LIMIT_EXCEEDED"
    assert await records(second.db) == [
        *[("kiosk.ListCatalogue", "OK")] * 3,
        ("security.alert_raised", "rate_limit_exceeded"),
        ("kiosk.TrackApplication", "RATE_LIMIT_EXCEEDED"),
    ]


async def test_an_admission_admits_one_call(replicas) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = replicas
    token = (await first.sessions.create(KIOSK, "en")).token
    admission = await first.access.admit(KIOSK, token)
    async with first.access.call("ListCatalogue", admission):
        pass
    with pytest.raises(RuntimeError):
        async with first.access.call("ListCatalogue", admission):
            pytest.fail("one admission admitted two calls")


async def test_the_sessions_and_the_ledger_must_share_one_database(shared_db_url: str) -> None:
    cipher = FieldCipher({"numbers-1": os.urandom(32)}, "numbers-1")
    one, other = Database(shared_db_url), Database(shared_db_url)
    try:
        with pytest.raises(ValueError):
            SqlKioskAdmissions(SqlSessionStore(one, cipher, TTL), SqlGuardLedger(other, "kiosk", GuardPolicy()))
    finally:
        await one.dispose()
        await other.dispose()
