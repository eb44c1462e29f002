"""Identify challenges in the gateway's database, shared by every replica (SQLite or PostgreSQL).

A row is one challenge: its id, the SHA-256 of the session token it belongs to, the nonce and its
expiry in wall-clock milliseconds. Taking a challenge deletes its row; the delete's row count
decides, so of two replicas racing with one answer only one gets the nonce. Issuing purges the
expired rows and refuses a session more than a few open challenges, so the table stays small.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import sqlalchemy as sa

from baylink import errors
from baylink.runtime import direct
from baylink.runtime.db import Database
from baylink.runtime.schema import BigInt
from services.gateway.kiosk.adapters.session_store import token_digest
from services.gateway.kiosk.service_layer.possession import Challenge

metadata = sa.MetaData()

identify_challenges = sa.Table(
    "kiosk_identify_challenges",
    metadata,
    sa.Column("challenge_id", sa.String(64), primary_key=True),
    sa.Column("session_sha256", sa.LargeBinary(32), nullable=False),
    sa.Column("nonce", sa.LargeBinary(32), nullable=False),
    sa.Column("expires_at_ms", BigInt, nullable=False),
)


_T = identify_challenges.c
_MINE = sa.and_(
    _T.challenge_id == sa.bindparam("challenge_id"), _T.session_sha256 == sa.bindparam("session", type_=sa.LargeBinary)
)
# Direct programs on the event loop's own connection on SQLite (a few statements by key, as the
# session's writes): no ORM session per challenge.
PURGE = direct.Statement(sa.delete(identify_challenges).where(_T.expires_at_ms <= sa.bindparam("now")))
OPEN = direct.Statement(
    sa.select(sa.func.count()).where(_T.session_sha256 == sa.bindparam("session", type_=sa.LargeBinary))
)
ISSUE = direct.Statement(
    sa.insert(identify_challenges).values(
        challenge_id=sa.bindparam("challenge_id"), session_sha256=sa.bindparam("session"),
        nonce=sa.bindparam("nonce"), expires_at_ms=sa.bindparam("expires"),
    )
)  # fmt: skip
# Taking deletes the row and returns it: of two replicas racing with one answer, one gets the row.
TAKE = direct.Statement(sa.delete(identify_challenges).where(_MINE).returning(_T.nonce, _T.expires_at_ms))


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class SqlChallengeStore:
    """``ChallengeStore`` on SQL. ``clock`` is epoch seconds (tests move it)."""

    def __init__(
        self, db: Database, ttl_seconds: float = 120.0, *, clock: Callable[[], float] = time.time,
        max_open_per_session: int = 5,
    ):  # fmt: skip
        self.db = db
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_open = max_open_per_session

    async def issue(self, session_token: str) -> Challenge:
        now = self.clock()
        session = token_digest(session_token)
        challenge = Challenge(f"ch-{secrets.token_urlsafe(18)}", secrets.token_bytes(32), now + self.ttl)
        await self.db.run_direct(self._issue(session, challenge, now), on_loop=True)
        return challenge

    async def take(self, session_token: str, challenge_id: str) -> bytes | None:
        mine = {"challenge_id": challenge_id, "session": token_digest(session_token)}
        taken = await self.db.run_direct(direct.alone(direct.fetch(TAKE, **mine)), on_loop=True)
        if not taken or taken[0].expires_at_ms <= _ms(self.clock()):
            return None  # unknown, used already, another session's (which stays theirs), or expired
        return bytes(taken[0].nonce)

    def _issue(self, session: bytes, challenge: Challenge, now: float) -> direct.Program[None]:
        yield direct.execute(PURGE, now=_ms(now))
        ((open_ones,),) = yield direct.fetch(OPEN, session=session)
        if open_ones >= self.max_open:
            raise errors.ResourceExhausted(
                "too many open identify challenges in this session", subject="identify-challenges",
                retry_after_seconds=int(self.ttl), reason="CHALLENGES_FULL",
            )  # fmt: skip
        yield direct.execute(
            ISSUE, challenge_id=challenge.challenge_id, session=session, nonce=challenge.nonce,
            expires=_ms(challenge.expires_at),
        )  # fmt: skip
