"""Kiosk sessions in the gateway's database (SQLite or PostgreSQL), shared by every replica.

The token is kept only as its SHA-256 (it is 256 random bits, so no key is needed to make the hash
useless to whoever copies the table); the people and quotes a session carries are sealed under the
binding number key, bound to the row. Expiry is wall-clock milliseconds, the same on every replica.
An expired session keeps its row, without its contents, for one more TTL, so that its kiosk hears
"expired" rather than "unknown"; creating a session purges the rows older than that. However busy,
a session ends ``max_lifetime_seconds`` after it was opened (its idle timer never runs past that).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Generator
from typing import Any

import sqlalchemy as sa

from baylink.runtime import direct
from baylink.runtime.db import Database
from baylink.runtime.schema import BigInt
from services.gateway.kiosk.adapters import session_records as records
from services.gateway.kiosk.service_layer.sessions import (
    KioskSession,
    session_expired,
    session_required,
    session_unknown,
    sessions_full,
)
from services.gateway.shared.adapters.crypto import FieldCipher

metadata = sa.MetaData()

kiosk_sessions = sa.Table(
    "kiosk_sessions",
    metadata,
    sa.Column("token_sha256", sa.LargeBinary(32), primary_key=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("expires_at_ms", BigInt, nullable=False),
    sa.Column("state_enc", sa.LargeBinary, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at_ms", BigInt, nullable=False),
)


_BY_DIGEST = kiosk_sessions.c.token_sha256 == sa.bindparam("digest", type_=sa.LargeBinary)
# Every call reads its session: a direct read (on SQLite one hop to the database's reader thread).
READ = direct.Statement(sa.select(kiosk_sessions).where(_BY_DIGEST))
# Writes are direct programs too, on the event loop's own connection on SQLite (a few statements by
# key, like the guard's and the audit's): no ORM session per write.
LOCK = direct.Statement(
    sa.select(kiosk_sessions.c.state_enc, kiosk_sessions.c.version).where(_BY_DIGEST).with_for_update()
)
TOUCH = direct.Statement(sa.update(kiosk_sessions).where(_BY_DIGEST).values(expires_at_ms=sa.bindparam("expires")))
RESEAL = direct.Statement(
    sa.update(kiosk_sessions)
    .where(_BY_DIGEST)
    .values(expires_at_ms=sa.bindparam("expires"), state_enc=sa.bindparam("state"), version=sa.bindparam("version"))
)
WIPE = direct.Statement(sa.update(kiosk_sessions).where(_BY_DIGEST).values(state_enc=None))
DELETE = direct.Statement(sa.delete(kiosk_sessions).where(_BY_DIGEST))
PURGE = direct.Statement(
    sa.delete(kiosk_sessions).where(
        (kiosk_sessions.c.expires_at_ms <= sa.bindparam("idle_before"))
        | (kiosk_sessions.c.created_at_ms <= sa.bindparam("opened_before"))
    )
)
LIVE = direct.Statement(
    sa.select(sa.func.count()).where(
        kiosk_sessions.c.expires_at_ms > sa.bindparam("now"), kiosk_sessions.c.created_at_ms > sa.bindparam("since")
    )
)
CREATE = direct.Statement(
    sa.insert(kiosk_sessions).values(
        token_sha256=sa.bindparam("digest"), kiosk_id=sa.bindparam("kiosk_id"), language=sa.bindparam("language"),
        expires_at_ms=sa.bindparam("expires"), state_enc=sa.bindparam("state"), version=1,
        created_at_ms=sa.bindparam("created"),
    )
)  # fmt: skip


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class SqlSessionStore:
    """``SessionStore`` on SQL. ``clock`` is epoch seconds (tests move it)."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.time,
        max_sessions: int = 10_000,
        max_lifetime_seconds: float = 4 * 3600.0,
    ):
        if not db.runs_direct:
            raise ValueError("kiosk sessions need SQLite in a file or PostgreSQL through asyncpg")
        self.db = db
        self.cipher = cipher
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_sessions = max_sessions
        self.max_lifetime = max(max_lifetime_seconds, ttl_seconds)
        # A call that changes nothing restarts the idle timer only when it has run down by this much:
        # most calls then read without writing, and a session ends at most this much earlier.
        self.refresh_slack = min(5.0, ttl_seconds / 100)

    async def create(self, kiosk_id: str, language: str) -> KioskSession:
        now = self.clock()
        session = KioskSession(secrets.token_urlsafe(32), kiosk_id, language, now + self.ttl, created_at=now)
        digest = token_digest(session.token)
        empty = records.state_of(session)
        sealed = records.seal(self.cipher, digest, empty)
        await self.db.run_direct(self._create(session, digest, sealed, now), on_loop=True)
        records.fill(session, empty)
        return session

    async def peek(self, token: str | None) -> KioskSession | None:
        if not token:
            return None
        digest = token_digest(token)
        return self.session_of(token, digest, await self.db.run_direct(read_session(digest), readonly=True))

    def session_of(self, token: str, digest: bytes, found: list[Any]) -> KioskSession | None:
        """The session of what ``read_session(digest)`` found (``peek``'s answer), unsealed here, not in
        the database's thread."""
        if not found:
            return None
        row = found[0]._asdict()
        # A row without contents was found expired once: it stays expired, whatever a clock says later.
        expires_at = row["expires_at_ms"] / 1000 if row["state_enc"] is not None else 0.0
        created_at = row["created_at_ms"] / 1000
        expires_at = min(expires_at, created_at + self.max_lifetime)
        session = KioskSession(token, row["kiosk_id"], row["language"], expires_at, created_at=created_at)
        records.fill(session, records.unseal(self.cipher, digest, row["state_enc"]))
        return session

    async def get(self, token: str | None, known: KioskSession | None = None) -> KioskSession:
        if not token:
            raise session_required()
        session = known if known is not None and known.token == token else await self.peek(token)
        if session is None:
            raise session_unknown()
        if self.clock() >= session.expires_at:
            await self._wipe(token_digest(token))
            session.persons.clear()
            session.quotes.clear()
            raise session_expired()
        return session

    async def save(self, session: KioskSession) -> None:
        now = self.clock()
        changed = records.changes(records.state_of(session), session.stored)
        if not any(changed.values()) and session.expires_at - now > self.ttl - self.refresh_slack:
            return
        expires_at = min(now + self.ttl, session.created_at + self.max_lifetime)
        stored = await self.db.run_direct(self._save(token_digest(session.token), changed, expires_at), on_loop=True)
        if stored is None:
            return  # ended or expired meanwhile: not revived
        if any(changed.values()):
            session.stored = stored
        session.expires_at = expires_at

    async def end(self, token: str) -> None:
        await self.db.run_direct(direct.alone(direct.execute(DELETE, digest=token_digest(token))), on_loop=True)

    async def _wipe(self, digest: bytes) -> None:
        """Nothing personal outlives the session; the row stays a while to say it has expired."""
        await self.db.run_direct(direct.alone(direct.execute(WIPE, digest=digest)), on_loop=True)

    def _create(self, session: KioskSession, digest: bytes, sealed: bytes, now: float) -> direct.Program[None]:
        """Purge what has been expired for a TTL (or lived too long), refuse past ``max_sessions``,
        insert the new session."""
        idle_before, opened_before = _ms(now - self.ttl), _ms(now - self.max_lifetime - self.ttl)
        yield direct.execute(PURGE, idle_before=idle_before, opened_before=opened_before)
        ((live,),) = yield direct.fetch(LIVE, now=_ms(now), since=_ms(now - self.max_lifetime))
        if live >= self.max_sessions:
            raise sessions_full()
        values = {"kiosk_id": session.kiosk_id, "language": session.language, "expires": _ms(session.expires_at)}
        yield direct.execute(CREATE, digest=digest, state=sealed, created=_ms(now), **values)

    def _save(self, digest: bytes, changed: records.State, expires_at: float) -> direct.Program[records.State | None]:
        """Restart the idle timer and merge ``changed`` into the stored state, under the row's lock;
        the state now stored, or None if the session ended or expired meanwhile."""
        found = yield direct.fetch(LOCK, digest=digest)
        if not found or found[0].state_enc is None:
            return None
        if not any(changed.values()):
            yield direct.execute(TOUCH, digest=digest, expires=_ms(expires_at))
            return {}
        state = records.merged(records.unseal(self.cipher, digest, found[0].state_enc), changed)
        sealed = records.seal(self.cipher, digest, state)
        yield direct.execute(RESEAL, digest=digest, expires=_ms(expires_at), state=sealed, version=found[0].version + 1)
        return state


def read_session(digest: bytes) -> Generator[direct.Op, Any, list[Any]]:
    """The row of the session whose token has this digest (none or one), as a direct program: alone
    (``peek``) or within another transaction (``admissions.SqlKioskAdmissions``)."""
    return direct.alone(direct.fetch(READ, digest=digest))
