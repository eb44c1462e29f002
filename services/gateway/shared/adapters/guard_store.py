"""The bulk-leak guard's counts in the gateway's database, shared by every replica (``GuardLedger``).

Each admission is one transaction (a direct program: on SQLite run on the event loop's thread, a
few statements by key, no hop to a thread; on PostgreSQL one statement after another on one
connection). It begins by upserting the
caller's row of ``guard_callers``: on PostgreSQL that locks the row until the commit, so two
replicas admitting the same caller take turns and the second counts what the first wrote; on
SQLite every write transaction holds the database's only write lock. So a caller at its limit gets
the (N+1)th subject refused exactly, whichever replica each read reaches.

- rate: the row is the token bucket; one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` refills it,
  takes a token if there is one, and says whether it did;
- distinct subjects: the subjects read within the window are counted and, if admitted, written back
  with this read's time;
- alerts: a trip upserts the caller's ``guard_alerts`` row only if its last alert of that kind is a
  window old, so one alert per window per caller whichever replica refuses (``first_alert`` does the
  same for other alerts, such as a revoked certificate presented).

Rows that can no longer matter (a full bucket, reads and alerts out of the window) are deleted by
``prune``, which the ledger runs at most once per ``prune_every`` seconds per replica.
Times are epoch milliseconds (replicas' clocks are assumed to agree within a second or so).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from baylink.runtime import direct
from baylink.runtime.db import Database
from baylink.runtime.schema import BigInt
from services.gateway.shared.domain.guard import GuardPolicy, Trip, TripKind, trip_of

T = TypeVar("T")
metadata = sa.MetaData()

callers = sa.Table(
    "guard_callers",
    metadata,
    sa.Column("guard", sa.String(32), primary_key=True),
    sa.Column("caller", sa.String(200), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("updated_ms", BigInt, nullable=False),
    sa.Column("taken", sa.Boolean, nullable=False),
)
reads = sa.Table(
    "guard_subject_reads",
    metadata,
    sa.Column("guard", sa.String(32), primary_key=True),
    sa.Column("caller", sa.String(200), primary_key=True),
    sa.Column("subject", sa.String(200), primary_key=True),
    sa.Column("read_at_ms", BigInt, nullable=False),
)
alerts = sa.Table(
    "guard_alerts",
    metadata,
    sa.Column("guard", sa.String(32), primary_key=True),
    sa.Column("caller", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("alerted_at_ms", BigInt, nullable=False),
)

_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
# A float as the driver returns it (SQLAlchemy's asyncpg float processor wants the column's type code,
# which a direct statement does not have).
_AS_RETURNED = sa.types.NullType()


def _p(name: str, type_: Any = BigInt) -> Any:
    # Cast: PostgreSQL infers a parameter's type from its context, which in arithmetic is the other side's.
    return sa.cast(sa.bindparam(name, type_=type_), type_)


def _take_token(dialect: str) -> sa.Executable:
    c = callers.c
    now, rate, burst = _p("now"), _p("rate_per_ms", sa.Float), _p("burst", sa.Float)
    elapsed = sa.case((now > c.updated_ms, now - c.updated_ms), else_=0)
    refilled = c.tokens + elapsed * rate
    capped = sa.case((refilled > burst, burst), else_=refilled)
    new = _INSERT[dialect](callers).values(guard=sa.bindparam("guard"), caller=sa.bindparam("caller"),
                                           tokens=burst - 1, updated_ms=now, taken=True)  # fmt: skip
    return new.on_conflict_do_update(
        index_elements=[c.guard, c.caller],
        set_={"tokens": sa.case((capped >= 1, capped - 1), else_=capped), "taken": capped >= 1, "updated_ms": now},
    ).returning(sa.type_coerce(c.tokens, _AS_RETURNED).label("tokens"), c.taken)


def _lock_caller(dialect: str) -> sa.Executable:
    """Insert the caller's row if missing, else touch it: either way it is locked until the commit."""
    c = callers.c
    new = _INSERT[dialect](callers).values(guard=sa.bindparam("guard"), caller=sa.bindparam("caller"),
                                           tokens=_p("burst", sa.Float), updated_ms=_p("now"), taken=False)  # fmt: skip
    return new.on_conflict_do_update(index_elements=[c.guard, c.caller], set_={"guard": new.excluded.guard})


def _read(dialect: str) -> sa.Executable:
    new = _INSERT[dialect](reads).values(guard=sa.bindparam("guard"), caller=sa.bindparam("caller"),
                                         subject=sa.bindparam("subject"), read_at_ms=sa.bindparam("now"))  # fmt: skip
    return new.on_conflict_do_update(index_elements=[reads.c.guard, reads.c.caller, reads.c.subject],
                                     set_={"read_at_ms": new.excluded.read_at_ms})  # fmt: skip


def _alert(dialect: str) -> sa.Executable:
    """A row back only when this trip is to be alerted: none before, or the last is a window old."""
    a = alerts.c
    new = _INSERT[dialect](alerts).values(guard=sa.bindparam("guard"), caller=sa.bindparam("caller"),
                                          kind=sa.bindparam("kind"), alerted_at_ms=sa.bindparam("now"))  # fmt: skip
    return new.on_conflict_do_update(
        index_elements=[a.guard, a.caller, a.kind],
        set_={"alerted_at_ms": new.excluded.alerted_at_ms},
        where=a.alerted_at_ms <= sa.bindparam("cutoff", type_=BigInt),
    ).returning(a.alerted_at_ms)


_in_window = (
    (reads.c.guard == sa.bindparam("guard"))
    & (reads.c.caller == sa.bindparam("caller"))
    & (reads.c.read_at_ms > sa.bindparam("cutoff", type_=BigInt))
)
TAKE_TOKEN = direct.PerDialect(_take_token)
LOCK_CALLER = direct.PerDialect(_lock_caller)
READ = direct.PerDialect(_read)
ALERT = direct.PerDialect(_alert)
# In one look: the people read within the window, the oldest read, and how many of ``subjects`` are among them.
WINDOW = direct.Statement(
    sa.select(
        sa.func.count().label("n"),
        sa.func.min(reads.c.read_at_ms).label("oldest"),
        sa.func.coalesce(sa.func.sum(sa.case((reads.c.subject.in_(sa.bindparam("subjects", expanding=True)), 1),
                                             else_=0)), 0).label("known"),
    ).where(_in_window)
)  # fmt: skip


def _prune(table: sa.Table, column: sa.Column[Any]) -> direct.Statement:
    """Delete ``table``'s rows of one guard with ``column`` at or before ``cutoff``, skipping rows an
    admission holds (PostgreSQL), so that pruning never waits on an admission, nor it on pruning."""
    key = [c for c in table.primary_key.columns]
    stale = (
        sa.select(*key)
        .where(table.c.guard == sa.bindparam("guard"), column <= sa.bindparam("cutoff", type_=BigInt))
        .with_for_update(skip_locked=True)
    )
    return direct.Statement(sa.delete(table).where(sa.tuple_(*key).in_(stale)))


PRUNE_READS = _prune(reads, reads.c.read_at_ms)
PRUNE_ALERTS = _prune(alerts, alerts.c.alerted_at_ms)
PRUNE_CALLERS = _prune(callers, callers.c.updated_ms)


# Alert rows outlive the guard's window for ``first_alert``'s own windows (a revoked certificate's: 10 min).
ALERTS_KEPT_SECONDS = 3600.0


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class SqlGuardLedger:
    """The counts of one guard (``name``: "kiosk", "partner"), under ``policy``."""

    def __init__(self, db: Database, name: str, policy: GuardPolicy, *, prune_every: float | None = None):
        if not db.runs_direct:
            raise ValueError("the guard's ledger needs SQLite in a file or PostgreSQL through asyncpg")
        self.db = db
        self.name = name
        self.policy = policy
        self.prune_every = prune_every or max(1.0, min(policy.window_seconds, policy.burst / policy.rate_per_second))
        self._pruned_at: float | None = None

    async def admit_call(self, caller: str, now: float) -> Trip | None:
        await self._maybe_prune(now)
        return await self.db.run_direct(self._admit_call(caller, now), on_loop=True)

    async def admit_call_and(self, caller: str, now: float, then: direct.Program[T]) -> tuple[Trip | None, T]:
        """``admit_call`` and ``then`` (a direct program that only reads, run whatever the admission
        says) in the same transaction."""
        await self._maybe_prune(now)
        return await self.db.run_direct(self._admit_call_and(caller, now, then), on_loop=True)

    def _admit_call_and(
        self, caller: str, now: float, then: direct.Program[T]
    ) -> Generator[direct.Op, Any, tuple[Trip | None, T]]:
        trip = yield from self._admit_call(caller, now)
        return trip, (yield from then)

    async def admit_subjects(self, caller: str, subjects: list[str], now: float) -> Trip | None:
        await self._maybe_prune(now)
        wanted = [s for s in dict.fromkeys(subjects) if s]
        if not wanted:
            return None
        return await self.db.run_direct(self._admit_subjects(caller, wanted, now), on_loop=True)

    def _admit_call(self, caller: str, now: float) -> Generator[direct.Op, Any, Trip | None]:
        p = self.policy
        ((tokens, taken),) = yield direct.fetch(
            TAKE_TOKEN, guard=self.name, caller=caller, now=_ms(now), rate_per_ms=p.rate_per_second / 1000,
            burst=float(p.burst),
        )  # fmt: skip
        if taken:
            return None
        return (yield from self._trip(TripKind.RATE_LIMIT, caller, (1 - tokens) / p.rate_per_second, now))

    def _admit_subjects(self, caller: str, wanted: list[str], now: float) -> Generator[direct.Op, Any, Trip | None]:
        p = self.policy
        key = {"guard": self.name, "caller": caller}
        cutoff = _ms(now - p.window_seconds)
        yield direct.execute(LOCK_CALLER, **key, now=_ms(now), burst=float(p.burst))
        ((count, oldest, known),) = yield direct.fetch(WINDOW, **key, cutoff=cutoff, subjects=wanted)
        new = len(wanted) - int(known)
        if count + new > p.distinct_subjects:
            if new > p.distinct_subjects or not count:
                wait = p.window_seconds
            else:
                wait = max(oldest / 1000 + p.window_seconds - now, 0.001)
            return (yield from self._trip(TripKind.BULK_SUBJECT_READ, caller, wait, now))
        yield direct.execute_many(READ, [{**key, "subject": s, "now": _ms(now)} for s in wanted])
        return None

    def _trip(self, kind: TripKind, caller: str, wait: float, now: float) -> Generator[direct.Op, Any, Trip]:
        cutoff = _ms(now - self.policy.window_seconds)
        key = {"guard": self.name, "caller": caller, "kind": kind.value}
        alerted = yield direct.fetch(ALERT, **key, now=_ms(now), cutoff=cutoff)
        return trip_of(self.policy, kind, caller, wait, alert=bool(alerted))

    async def first_alert(self, key: str, kind: str, now: float, window_seconds: float) -> bool:
        await self._maybe_prune(now)
        cutoff = _ms(now - window_seconds)
        return bool(await self.db.run_direct(_one(ALERT, guard=self.name, caller=key, kind=kind, now=_ms(now),
                                                  cutoff=cutoff, fetch=True)))  # fmt: skip

    async def _maybe_prune(self, now: float) -> None:
        if self._pruned_at is None or now - self._pruned_at >= self.prune_every:
            self._pruned_at = now
            await self.prune(now)

    async def prune(self, now: float) -> None:
        """Delete what can no longer matter (see the module's note)."""
        p = self.policy
        window = _ms(now - p.window_seconds)
        alerted = _ms(now - max(p.window_seconds, ALERTS_KEPT_SECONDS))
        # A bucket untouched this long is full again; its caller's reads are out of the window too.
        idle = _ms(now - max(p.window_seconds, p.burst / p.rate_per_second))
        for statement, cutoff in ((PRUNE_READS, window), (PRUNE_ALERTS, alerted), (PRUNE_CALLERS, idle)):
            await self.db.run_direct(_one(statement, guard=self.name, cutoff=cutoff))


def _one(statement: direct.Statement, *, fetch: bool = False, **params: Any) -> Generator[direct.Op, Any, Any]:
    return (yield (direct.fetch if fetch else direct.execute)(statement, **params))
