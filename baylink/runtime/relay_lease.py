"""The outbox relay's lease: with several replicas of a service, one relay at a time publishes.

The lease is a row of ``outbox_lease`` per service, holding its owner and when it expires. The
holder renews it from its heartbeat; another replica takes it only once it has expired, so one
aggregate's events keep their order across scale-out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from baylink.runtime.db import Database
from baylink.runtime.schema import outbox_lease

log = logging.getLogger("baylink.relay")


class RelayLease:
    """The lease row ``name`` in ``db``, held by ``owner`` for ``seconds`` at a time."""

    def __init__(self, db: Database, *, name: str, owner: str, seconds: float) -> None:
        self.db = db
        self.name = name
        self.owner = owner
        self.seconds = seconds

    async def hold(self) -> bool:
        """Take or renew the lease. True while we hold it."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "owner": self.owner,
            "expires_at": now + timedelta(seconds=self.seconds),
        }
        async with self.db.transaction() as session:
            result = await session.execute(
                sa.update(outbox_lease)
                .where(outbox_lease.c.name == self.name)
                .where(sa.or_(outbox_lease.c.owner == self.owner, outbox_lease.c.expires_at < now))
                .values(**values)
            )
            if result.rowcount:  # type: ignore[attr-defined]  # UPDATE yields a CursorResult
                return True
        try:
            async with self.db.transaction() as session:
                await session.execute(sa.insert(outbox_lease).values(name=self.name, **values))
            return True
        except IntegrityError:
            return False  # another replica holds it

    async def release(self) -> None:
        """Give the lease up (at shutdown), if we hold it; a failure is only logged."""
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    sa.delete(outbox_lease)
                    .where(outbox_lease.c.name == self.name)
                    .where(outbox_lease.c.owner == self.owner)
                )
        except Exception:
            log.debug("could not release the relay lease", exc_info=True)
