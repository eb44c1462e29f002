"""Console login throttling with real scrypt hashes and the real audit log (SQLite): wrong passwords make the next
attempt wait whatever the password, refused before any scrypt work; per name and per address; parallel guesses
counted before they are checked; state bounded and expiring; logins audited without the password.

Each login test runs twice: sessions and failures in this process, and in the gateway's database (SQLite)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from baylink import errors
from baylink.runtime.db import Database
from services.gateway.audit.adapters.keys import Ed25519Signer
from services.gateway.audit.adapters.store import audit_records
from services.gateway.console.adapters.auth_store import SqlConsoleSessions, SqlLoginFailures
from services.gateway.console.domain.passwords import ConsoleUser, hash_password, verify_password
from services.gateway.console.service_layer.auth import ConsoleAuth, LoginThrottling
from services.gateway.console.service_layer.throttle import FailureCounter, ThrottlePolicy, address_key
from tests.unit.gateway.conftest import make_log, migrate_gateway

RIGHT = "right-password-1"
HERE, ELSEWHERE = "192.0.2.10", "198.51.100.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountedVerify:
    """The real scrypt check, counting calls and how many ran at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.most = 0

    def __call__(self, password: str, stored: str) -> bool:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            return verify_password(password, stored)
        finally:
            self.running -= 1


def users() -> dict[str, ConsoleUser]:
    cheap = hash_password(RIGHT, n=2**10)  # a real scrypt hash, with cheap parameters for speed
    return {"olivia": ConsoleUser("olivia", "operator", cheap), "victor": ConsoleUser("victor", "viewer", cheap)}


AuthFactory = Callable[..., ConsoleAuth]


@pytest.fixture(params=["memory", "sqlite"])
async def console_auth(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuthFactory]:
    """``console_auth(clock, verify, **kwargs)``: sessions and failures in memory, or in a gateway database."""
    db = await migrate_gateway(Database(f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"))

    def make(clock: Clock, verify: CountedVerify, **kwargs: Any) -> ConsoleAuth:
        if request.param == "sqlite":
            throttling = kwargs.get("throttling") or LoginThrottling()
            kwargs["sessions"] = SqlConsoleSessions(db, clock)
            kwargs["failures"] = SqlLoginFailures(db, throttling.scopes(len(users())), clock)
        return ConsoleAuth(users(), 3600, clock=clock, verify=verify, **kwargs)

    yield make
    await db.dispose()


async def test_thirty_wrong_passwords_make_the_next_attempt_wait_whatever_the_password(
    console_auth: AuthFactory,
) -> None:
    clock, verify = Clock(), CountedVerify()
    auth = console_auth(clock, verify)
    for i in range(30):
        with contextlib.suppress(errors.ResourceExhausted):
            assert await auth.login("olivia", f"wrong-{i}", HERE) is None
        clock.now += 0.5
    checked = verify.calls
    with pytest.raises(errors.ResourceExhausted) as refused:
        await auth.login("olivia", RIGHT, HERE)
    assert refused.value.reason == "LOGIN_THROTTLED" and (refused.value.retry_after_seconds or 0) >= 60
    assert verify.calls == checked  # refused before any scrypt work
    assert checked < 30  # most guesses were refused unchecked too
    with pytest.raises(errors.ResourceExhausted):  # from elsewhere too: the name itself must wait
        await auth.login("olivia", RIGHT, ELSEWHERE)


async def test_after_the_wait_the_right_password_signs_in_and_the_name_starts_afresh(console_auth: AuthFactory) -> None:
    clock, verify = Clock(), CountedVerify()
    auth = console_auth(clock, verify)
    for i in range(6):
        assert await auth.login("olivia", f"wrong-{i}", HERE) is None
    with pytest.raises(errors.ResourceExhausted) as refused:
        await auth.login("olivia", RIGHT, HERE)
    clock.now += (refused.value.retry_after_seconds or 0) + 0.1
    assert await auth.login("olivia", RIGHT, HERE) is not None
    for i in range(5):  # a success forgets the name's failures
        assert await auth.login("olivia", f"again-{i}", HERE) is None


async def test_one_address_guessing_many_names_must_wait_and_others_need_not(console_auth: AuthFactory) -> None:
    clock, verify = Clock(), CountedVerify()
    auth = console_auth(clock, verify)
    for i in range(21):
        assert await auth.login(f"name-{i}", "guess", HERE) is None
    with pytest.raises(errors.ResourceExhausted):
        await auth.login("victor", RIGHT, HERE)
    assert await auth.login("victor", RIGHT, ELSEWHERE) is not None


async def test_parallel_guesses_are_counted_before_any_is_checked_and_checks_are_bounded(
    console_auth: AuthFactory,
) -> None:
    clock, verify = Clock(), CountedVerify()
    auth = console_auth(clock, verify, throttling=LoginThrottling(max_parallel_checks=2))
    results = await asyncio.gather(*(auth.login("olivia", f"g{i}", HERE) for i in range(50)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, errors.ResourceExhausted)]
    assert verify.calls == 6 and len(refused) == 44  # 5 free, the 6th starts the wait
    assert verify.most <= 2


async def test_made_up_names_cannot_push_a_known_name_out_of_the_throttle(console_auth: AuthFactory) -> None:
    clock, verify = Clock(), CountedVerify()
    auth = console_auth(clock, verify, throttling=LoginThrottling(max_keys=8))
    for i in range(6):
        assert await auth.login("olivia", f"wrong-{i}", HERE) is None
    for i in range(12):  # more made-up names than the table holds, from as many addresses
        assert await auth.login(f"made-up-{i}", "x", f"10.0.{i}.1") is None
    with pytest.raises(errors.ResourceExhausted):
        await auth.login("olivia", RIGHT, ELSEWHERE)


async def test_logging_in_over_and_over_keeps_only_the_newest_sessions(console_auth: AuthFactory) -> None:
    clock, verify = Clock(), CountedVerify()
    auth = console_auth(clock, verify, throttling=LoginThrottling(max_sessions_per_user=3))
    tokens = []
    for _ in range(5):
        session = await auth.login("victor", RIGHT, HERE)
        assert session is not None
        tokens.append(session.token)
    assert [await auth.session(t) is not None for t in tokens] == [False, False, True, True, True]
    assert await auth.login("olivia", RIGHT, HERE) is not None and await auth.session(tokens[-1]) is not None


def test_the_failure_table_is_bounded_and_forgets() -> None:
    clock = Clock()
    counter = FailureCounter(ThrottlePolicy(free_failures=1, max_delay_seconds=10, forget_after_seconds=60),
                             max_keys=100, clock=clock)  # fmt: skip
    for i in range(1000):
        counter.attempted(f"k{i}")
    assert len(counter) == 100
    counter.attempted("k999")
    assert counter.wait("k999") == pytest.approx(1.0)
    clock.now += 10 + 60
    assert counter.wait("k999") == 0 and "k999" not in counter._counts


def test_ipv6_callers_are_throttled_by_their_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1" and address_key("192.0.2.1") == "192.0.2.1"


async def test_logins_are_audited_with_actor_address_and_result_never_the_password(
    console_auth: AuthFactory, audit_db: Database, signer: Ed25519Signer
) -> None:
    clock, verify = Clock(), CountedVerify()
    log = make_log(audit_db, signer)
    auth = console_auth(clock, verify, record=log.record)
    for i in range(6):
        await auth.login("olivia", f"secret-guess-{i}", HERE)
    for _ in range(3):
        with pytest.raises(errors.ResourceExhausted):
            await auth.login("olivia", RIGHT, HERE)
    await auth.login("nobody", "secret-guess-x", ELSEWHERE)
    assert await auth.login("victor", RIGHT, ELSEWHERE) is not None
    async with audit_db.transaction() as session:
        rows = (await session.execute(sa.select(audit_records.c.actor, audit_records.c.result, audit_records.c.details)
                                      .where(audit_records.c.action == "console.login")
                                      .order_by(audit_records.c.sequence))).all()  # fmt: skip
    results = [(actor, result) for actor, result, _ in rows]
    assert results == [("operator:olivia", "DENIED")] * 6 + [
        ("operator:olivia", "THROTTLED"),  # once per wait, not once per refused attempt
        ("anonymous", "DENIED"),
        ("operator:victor", "OK"),
    ]
    assert all(HERE in details or ELSEWHERE in details for _, _, details in rows)
    assert not any("secret" in details or RIGHT in details for _, _, details in rows)


async def test_a_logout_is_audited_and_ends_the_session(
    console_auth: AuthFactory, audit_db: Database, signer: Ed25519Signer
) -> None:
    auth = console_auth(Clock(), CountedVerify(), record=make_log(audit_db, signer).record)
    session = await auth.login("olivia", RIGHT, HERE)
    assert session is not None
    await auth.sign_out(session, HERE)
    assert await auth.session(session.token) is None
    async with audit_db.transaction() as db:
        rows = (await db.execute(sa.select(audit_records.c.actor, audit_records.c.action, audit_records.c.result)
                                 .order_by(audit_records.c.sequence))).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("operator:olivia", "console.login", "OK"),
                                        ("operator:olivia", "console.logout", "OK")]  # fmt: skip
