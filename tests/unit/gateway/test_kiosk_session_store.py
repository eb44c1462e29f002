"""Kiosk sessions in the gateway's database: two stores on one database (as two replicas are) see the
same session, its people and quotes; only the token's hash is stored and what it carries is sealed;
an expired session is refused as expired, and loses what it carried.

Runs on a SQLite file and on PostgreSQL, each migrated with the gateway's real migrations.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.runtime.db import Database
from services.gateway.kiosk.adapters.session_store import SqlSessionStore, kiosk_sessions
from services.gateway.kiosk.service_layer.model import Money, QuoteView
from services.gateway.kiosk.service_layer.sessions import IdentifiedPerson
from services.gateway.shared.adapters.crypto import FieldCipher
from tests.unit.gateway.conftest import migrate_gateway

TTL = 600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({"numbers-1": os.urandom(32)}, "numbers-1")


@pytest.fixture
async def replicas(
    shared_db_url: str, cipher: FieldCipher
) -> AsyncIterator[tuple[SqlSessionStore, SqlSessionStore, Clock]]:
    """Two stores, each with its own engine, on one database: what two gateway replicas share."""
    clock = Clock()
    first, second = await migrate_gateway(Database(shared_db_url)), Database(shared_db_url)
    yield SqlSessionStore(first, cipher, TTL, clock=clock), SqlSessionStore(second, cipher, TTL, clock=clock), clock
    await first.dispose()
    await second.dispose()


def person(handle: str, subject_id: str, name_zh: str) -> IdentifiedPerson:
    return IdentifiedPerson(handle, subject_id, "HK", "ab" * 32, "rsa", name_zh, "CHAN Tai Man")


async def with_one_person(store: SqlSessionStore) -> str:
    """A new session's token, saved with one identified person (handle p-1)."""
    token = (await store.create("HK-TST-01", "en")).token
    session = await store.get(token)
    session.persons["p-1"] = person("p-1", "subject-1", "陳大文")
    await store.save(session)
    return token


def quote(quote_id: str) -> QuoteView:
    return QuoteView(quote_id, "hk-bank", "nanhai-fees", Money("HKD", 32_609), Money("CNY", 30_000), None,
                     "0.9200", datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # fmt: skip


async def test_a_session_made_by_one_replica_is_served_by_the_other_with_its_people_and_quotes(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b, _clock = replicas
    created = await a.create("HK-TST-01", "zh-Hant")
    on_a = await a.get(created.token)
    on_a.persons["p-1"] = person("p-1", "subject-1", "陳大文")
    on_a.persons["p-1"].pseudonyms["440605"] = "ps-nanhai"
    on_a.quotes["q-1"] = ("app-1", quote("q-1"))
    await a.save(on_a)

    on_b = await b.get(created.token)
    assert (on_b.kiosk_id, on_b.language) == ("HK-TST-01", "zh-Hant")
    assert on_b.person("p-1").subject_id == "subject-1"
    assert on_b.person("p-1").display_name == "陳大文"
    assert on_b.person("p-1").pseudonyms == {"440605": "ps-nanhai"}
    assert on_b.quotes == {"q-1": ("app-1", quote("q-1"))}


async def test_a_pseudonym_cached_by_a_later_call_is_saved(replicas) -> None:  # type: ignore[no-untyped-def]
    # The kiosk caches each city's pseudonym in the session (deps.pseudonym); a call after the one that
    # identified the person must save it, or every later call asks the binding store again.
    a, b, _clock = replicas
    token = await with_one_person(a)

    later = await a.get(token)
    later.persons["p-1"].pseudonyms["440605"] = "ps-nanhai"
    await a.save(later)
    assert (await b.get(token)).person("p-1").pseudonyms == {"440605": "ps-nanhai"}


async def test_concurrent_calls_on_two_replicas_keep_each_other_s_people(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b, _clock = replicas
    token = (await a.create("HK-TST-01", "en")).token
    on_a, on_b = await a.get(token), await b.get(token)  # both read before either saves
    on_a.persons["p-a"] = person("p-a", "subject-a", "陳大文")
    on_b.persons["p-b"] = person("p-b", "subject-b", "李小明")
    on_b.quotes["q-b"] = ("app-b", quote("q-b"))
    await a.save(on_a)
    await b.save(on_b)

    again = await a.get(token)
    assert set(again.persons) == {"p-a", "p-b"}
    assert set(again.quotes) == {"q-b"}


async def test_only_the_token_s_hash_is_stored_and_what_the_session_carries_is_sealed(replicas) -> None:  # type: ignore[no-untyped-def]
    a, _b, _clock = replicas
    session = await a.get((await a.create("HK-TST-01", "en")).token)
    session.persons["p-1"] = person("p-1", "subject-secret-1", "陳大文")
    await a.save(session)

    async with a.db.transaction() as tx:
        rows = (await tx.execute(sa.select(kiosk_sessions))).mappings().all()
    stored = b"".join(bytes(v) if isinstance(v, bytes) else str(v).encode() for r in rows for v in r.values())
    assert len(rows) == 1
    assert session.token.encode() not in stored
    for secret in ("subject-secret-1", "陳大文", "CHAN Tai Man"):
        assert secret.encode() not in stored


async def test_an_expired_session_is_refused_as_expired_on_every_replica_and_its_people_are_gone(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b, clock = replicas
    token = await with_one_person(a)
    clock.now += TTL + 1

    with pytest.raises(errors.Unauthenticated) as expired:
        await b.get(token)
    assert expired.value.reason == "SESSION_EXPIRED"
    clock.now -= TTL  # a clock that goes back does not bring it back
    with pytest.raises(errors.Unauthenticated) as still:
        await a.get(token)
    assert still.value.reason == "SESSION_EXPIRED"
    peeked = await a.peek(token)
    assert peeked is not None and peeked.persons == {}


async def test_use_restarts_the_idle_timer_and_unknown_or_missing_tokens_say_so(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b, clock = replicas
    token = (await a.create("HK-TST-01", "en")).token
    clock.now += TTL - 10
    await a.save(await a.get(token))  # a call near the end of the idle time
    clock.now += TTL - 10
    assert (await b.get(token)).token == token

    with pytest.raises(errors.Unauthenticated) as unknown:
        await b.get("not-a-session")
    assert unknown.value.reason == "SESSION_UNKNOWN"
    with pytest.raises(errors.Unauthenticated) as missing:
        await b.get(None)
    assert missing.value.reason == "SESSION_REQUIRED"


async def test_long_expired_sessions_are_purged_and_the_open_count_is_bounded(
    shared_db_url: str, cipher: FieldCipher
) -> None:
    clock = Clock()
    db = await migrate_gateway(Database(shared_db_url))
    try:
        store = SqlSessionStore(db, cipher, TTL, clock=clock, max_sessions=2)
        old = (await store.create("HK-TST-01", "en")).token
        await store.create("HK-TST-02", "en")
        with pytest.raises(errors.ResourceExhausted) as full:
            await store.create("HK-TST-03", "en")
        assert full.value.reason == "SESSIONS_FULL"
        clock.now += 2 * TTL + 1
        await store.create("HK-TST-03", "en")  # the old ones are past expiry and one more TTL: purged
        assert await store.peek(old) is None
    finally:
        await db.dispose()
