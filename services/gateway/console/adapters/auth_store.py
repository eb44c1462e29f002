"""Console sessions and login failures in the gateway's database, shared by every replica.

Sessions: the token only as its SHA-256 (256 random bits: its hash is useless to whoever copies the
table); the CSRF token as is, since the page asks for it again (``/me``) and it is worth nothing
without the session cookie. A session is live until ``expires_at_ms`` on whichever replica looks.

Failures: one transaction per attempt locks the key's row (``FOR UPDATE`` on PostgreSQL; SQLite has
one writer), applies ``FailureCount.attempt`` and writes it back, so parallel guesses spread over
replicas are each counted once. A scope holds at most its ``max_keys`` rows: a new key first drops
the forgotten ones, then the least recently tried.
Times are epoch milliseconds from ``clock`` (seconds), compared alike by every replica.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from baylink.runtime.db import Database
from baylink.runtime.schema import BigInt
from services.gateway.console.domain.passwords import Role
from services.gateway.console.service_layer.auth_state import ConsoleSession, Scope
from services.gateway.console.service_layer.throttle import Attempt, FailureCount

metadata = sa.MetaData()

sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_sha256", sa.LargeBinary(32), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_at_ms", BigInt, nullable=False),
    sa.Column("created_at_ms", BigInt, nullable=False),
)
failures = sa.Table(
    "console_login_failures",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("blocked_until_ms", BigInt, nullable=False),
    sa.Column("last_ms", BigInt, nullable=False),
    sa.Column("refused", sa.Integer, nullable=False),
    sa.Column("forget_at_ms", BigInt, nullable=False),
)
_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class SqlConsoleSessions:
    """``ConsoleSessions`` on SQL; ``clock`` is epoch seconds."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time):
        self.db = db
        self.clock = clock

    async def add(self, session: ConsoleSession, keep_per_user: int) -> None:
        now = _ms(self.clock())
        c = sessions.c
        async with self.db.transaction() as tx:
            await tx.execute(sa.delete(sessions).where(c.expires_at_ms <= now))
            # The order of sign-in, even within one millisecond: after the user's newest.
            newest = await tx.execute(sa.select(sa.func.max(c.created_at_ms)).where(c.username == session.username))
            created = max(now, (newest.scalar_one() or 0) + 1)
            await tx.execute(sa.insert(sessions).values(
                token_sha256=_digest(session.token), username=session.username, role=session.role,
                csrf_token=session.csrf_token, expires_at_ms=_ms(session.expires_at), created_at_ms=created,
            ))  # fmt: skip
            older = (
                sa.select(c.token_sha256)
                .where(c.username == session.username)
                .order_by(c.created_at_ms.desc())
                .offset(keep_per_user)
            )
            stale = (await tx.execute(older)).scalars().all()
            if stale:
                await tx.execute(sa.delete(sessions).where(c.token_sha256.in_(stale)))

    async def get(self, token: str) -> ConsoleSession | None:
        digest = _digest(token)
        async with self.db.transaction(readonly=True) as tx:
            row = (await tx.execute(sa.select(sessions).where(sessions.c.token_sha256 == digest))).mappings().first()
        if row is None:
            return None
        if row["expires_at_ms"] <= _ms(self.clock()):
            await self.remove(token)
            return None
        role: Role = "operator" if row["role"] == "operator" else "viewer"
        return ConsoleSession(token, row["username"], role, row["csrf_token"], row["expires_at_ms"] / 1000)

    async def remove(self, token: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(sa.delete(sessions).where(sessions.c.token_sha256 == _digest(token)))


class SqlLoginFailures:
    """``LoginFailures`` on SQL; ``clock`` is epoch seconds."""

    def __init__(self, db: Database, scopes: Mapping[str, Scope], clock: Callable[[], float] = time.time):
        self.db = db
        self.scopes = dict(scopes)
        self.clock = clock

    async def attempt(self, scope: str, key: str) -> Attempt:
        rules = self.scopes[scope]
        now = self.clock()
        f = failures.c
        mine = (f.scope == scope) & (f.key == key)
        async with self.db.transaction() as tx:
            blank = {"failures": 0, "blocked_until_ms": 0, "last_ms": 0, "refused": 0, "forget_at_ms": 0}
            new = _INSERT[self.db.dialect](failures).values(scope=scope, key=key, **blank).on_conflict_do_nothing()
            if (await tx.execute(new)).rowcount:
                await self._make_room(tx, scope, key, rules.max_keys, now)
            row = (await tx.execute(sa.select(failures).where(mine).with_for_update())).mappings().one()
            count = FailureCount(row["failures"], row["blocked_until_ms"] / 1000, row["last_ms"] / 1000, row["refused"])
            if count.expired(rules.policy, now):
                count = FailureCount()
            attempt = count.attempt(rules.policy, now)
            await tx.execute(sa.update(failures).where(mine).values(
                failures=count.failures, blocked_until_ms=_ms(count.blocked_until), last_ms=_ms(count.last),
                refused=count.refused, forget_at_ms=_ms(count.forget_at(rules.policy)),
            ))  # fmt: skip
        return attempt

    async def _make_room(self, tx: AsyncSession, scope: str, key: str, max_keys: int, now: float) -> None:
        f = failures.c
        others = (f.scope == scope) & (f.key != key)
        held = (await tx.execute(sa.select(sa.func.count()).where(others))).scalar_one()
        if held < max_keys:
            return
        await tx.execute(sa.delete(failures).where(others, f.forget_at_ms <= _ms(now), f.last_ms > 0))
        held = (await tx.execute(sa.select(sa.func.count()).where(others))).scalar_one()
        if held >= max_keys:  # the least recently tried go
            oldest = sa.select(f.key).where(others, f.last_ms > 0).order_by(f.last_ms).limit(held - max_keys + 1)
            keys = (await tx.execute(oldest)).scalars().all()
            await tx.execute(sa.delete(failures).where(f.scope == scope, f.key.in_(keys)))

    async def succeeded(self, scope: str, key: str, *, forget: bool) -> None:
        f = failures.c
        mine = (f.scope == scope) & (f.key == key)
        async with self.db.transaction() as tx:
            if forget:
                await tx.execute(sa.delete(failures).where(mine))
            else:
                back = sa.case((f.failures > 0, f.failures - 1), else_=0)
                await tx.execute(sa.update(failures).where(mine).values(failures=back))
