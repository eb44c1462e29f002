"""Identify challenges in the gateway's database: single use, one session's only, short-lived, bounded,
on SQLite and PostgreSQL.

Two stores on one database stand for two gateway replicas; the gateway's real migrations make the table.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from baylink import errors
from baylink.runtime.db import Database
from services.gateway.kiosk.adapters.challenge_store import SqlChallengeStore
from services.gateway.kiosk.service_layer.possession import data_to_sign
from tests.unit.gateway.conftest import migrate_gateway

TTL = 120.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def stores(shared_db_url: str) -> AsyncIterator[tuple[SqlChallengeStore, SqlChallengeStore, Clock]]:
    first = await migrate_gateway(Database(shared_db_url))
    second = Database(shared_db_url)
    clock = Clock()
    yield SqlChallengeStore(first, TTL, clock=clock), SqlChallengeStore(second, TTL, clock=clock), clock
    await first.dispose()
    await second.dispose()


async def test_a_challenge_is_taken_once_whichever_replica_is_asked(
    stores: tuple[SqlChallengeStore, SqlChallengeStore, Clock],
) -> None:
    one, two, _ = stores
    issued = await one.issue("session-a")
    assert len(issued.nonce) == 32
    assert await two.take("session-a", issued.challenge_id) == issued.nonce
    assert await one.take("session-a", issued.challenge_id) is None
    assert await two.take("session-a", issued.challenge_id) is None


async def test_of_two_replicas_racing_with_one_answer_exactly_one_gets_the_nonce(
    stores: tuple[SqlChallengeStore, SqlChallengeStore, Clock],
) -> None:
    one, two, _ = stores
    for _ in range(5):
        issued = await one.issue("session-r")
        taken = await asyncio.gather(*(s.take("session-r", issued.challenge_id) for s in (one, two, one, two)))
        assert sorted(taken, key=lambda t: t is None) == [issued.nonce, None, None, None]


async def test_another_sessions_challenge_is_not_given_and_stays_its_owners(
    stores: tuple[SqlChallengeStore, SqlChallengeStore, Clock],
) -> None:
    one, _, _ = stores
    issued = await one.issue("session-a")
    assert await one.take("session-b", issued.challenge_id) is None
    assert await one.take("session-a", issued.challenge_id) == issued.nonce


async def test_an_expired_challenge_is_refused_and_spent(
    stores: tuple[SqlChallengeStore, SqlChallengeStore, Clock],
) -> None:
    one, _, clock = stores
    issued = await one.issue("session-a")
    clock.now += TTL
    assert await one.take("session-a", issued.challenge_id) is None
    clock.now -= TTL
    assert await one.take("session-a", issued.challenge_id) is None


async def test_a_session_holds_a_few_open_challenges_at_most(
    stores: tuple[SqlChallengeStore, SqlChallengeStore, Clock],
) -> None:
    one, _, clock = stores
    for _ in range(one.max_open):
        await one.issue("session-a")
    with pytest.raises(errors.ResourceExhausted):
        await one.issue("session-a")
    await one.issue("session-b")  # other sessions are not held up
    clock.now += TTL  # expired ones are purged when the next is issued
    await one.issue("session-a")


def test_the_bytes_to_sign_are_bound_to_the_session_and_the_nonce() -> None:
    nonce = bytes(range(32))
    data = data_to_sign("session-a", nonce)
    assert len(data) == 32
    assert data != data_to_sign("session-b", nonce)
    assert data != data_to_sign("session-a", bytes(32))
