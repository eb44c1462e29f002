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
        table = identify_challenges.c
        async with self.db.transaction() as tx:
            await tx.execute(sa.delete(identify_challenges).where(table.expires_at_ms <= _ms(now)))
            open_ones = sa.select(sa.func.count()).where(table.session_sha256 == session)
            if (await tx.execute(open_ones)).scalar_one() >= self.max_open:
                raise errors.ResourceExhausted(
                    "too many open identify challenges in this session", subject="identify-challenges",
                    retry_after_seconds=int(self.ttl), reason="CHALLENGES_FULL",
                )  # fmt: skip
            await tx.execute(
                sa.insert(identify_challenges).values(
                    challenge_id=challenge.challenge_id, session_sha256=session, nonce=challenge.nonce,
                    expires_at_ms=_ms(challenge.expires_at),
                )
            )  # fmt: skip
        return challenge

    async def take(self, session_token: str, challenge_id: str) -> bytes | None:
        table = identify_challenges.c
        mine = sa.and_(table.challenge_id == challenge_id, table.session_sha256 == token_digest(session_token))
        async with self.db.transaction() as tx:
            row = (await tx.execute(sa.select(table.nonce, table.expires_at_ms).where(mine))).first()
            if row is None:
                return None  # unknown, used already, or another session's (which stays theirs)
            deleted = await tx.execute(sa.delete(identify_challenges).where(mine))
        if deleted.rowcount != 1 or row.expires_at_ms <= _ms(self.clock()):  # type: ignore[attr-defined]
            return None
        return bytes(row.nonce)
