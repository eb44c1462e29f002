"""The outbox's sent state as the relay keeps it: what is unsent (``read_unsent``), what is
published and waits for its stamp (``SentMarks``), and the stamp itself (``mark_sent``).

On SQLite every write transaction waits for the one before, so a marking transaction of the
relay's own delays the service's next write behind it. There a write transaction of the service
may carry the stamp instead (``SentMarks``); elsewhere the relay stamps at the end of each round.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from baylink.runtime.direct import Program, Statement, execute, execute_many, fetch
from baylink.runtime.outbox import OutboxRow, relay_row
from baylink.runtime.schema import outbox

_COLUMNS = (outbox.c.id, outbox.c.topic, outbox.c.event_type, outbox.c.subject, outbox.c.headers, outbox.c.payload)
_UNSENT = outbox.c.sent_at.is_(None)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_UNSENT_ROWS = Statement(sa.select(*_COLUMNS).where(_UNSENT).order_by(outbox.c.id).limit(_LIMIT))
_UNSENT_IDS = Statement(sa.select(outbox.c.id).where(_UNSENT).order_by(outbox.c.id).limit(_LIMIT))
_ROWS = Statement(sa.select(*_COLUMNS).where(outbox.c.id.in_(sa.bindparam("ids", expanding=True))))


def _row(r: Any) -> OutboxRow:
    return relay_row(r.id, r.topic, r.event_type, r.subject, r.headers, r.payload)


def read_unsent(
    limit: int, handed: frozenset[int], skip: frozenset[int] = frozenset()
) -> Program[tuple[list[int], dict[int, OutboxRow]]]:
    """The first ``limit`` unsent ids in order leaving out ``skip`` (published, not yet stamped
    sent), and the rows among them not in ``handed`` (a direct program, one read transaction)."""
    if not handed and not skip:
        read = {r.id: _row(r) for r in (yield fetch(_UNSENT_ROWS, limit=limit))}
        return list(read), read
    ids = [r.id for r in (yield fetch(_UNSENT_IDS, limit=limit + len(skip))) if r.id not in skip][:limit]
    missing = [i for i in ids if i not in handed]
    read = {r.id: _row(r) for r in (yield fetch(_ROWS, ids=missing))} if missing else {}
    return ids, read


_SENT_AT = sa.bindparam("sent_at", type_=outbox.c.sent_at.type)
_MARK_RUN = Statement(
    sa.update(outbox)
    .where(outbox.c.id.between(sa.bindparam("b_first"), sa.bindparam("b_last")))
    .values(sent_at=_SENT_AT)
)
_MARK_IDS = Statement(
    sa.update(outbox).where(outbox.c.id.in_(sa.bindparam("ids", expanding=True))).values(sent_at=_SENT_AT)
)


def mark_sent(sent_at: datetime, ids: list[int]) -> Program[None]:
    """Stamp rows sent (a direct program, or a step of one): a statement per run of consecutive
    ids (first, last), one IN list for the rest (a run holds no row that was not published,
    since every id in it was)."""
    runs, singles = consecutive_runs(sorted(ids))
    if runs:
        yield execute_many(_MARK_RUN, [{"b_first": a, "b_last": b, "sent_at": sent_at} for a, b in runs])
    if singles:
        yield execute(_MARK_IDS, ids=singles, sent_at=sent_at)


def consecutive_runs(ids: list[int], shortest: int = 3) -> tuple[list[tuple[int, int]], list[int]]:
    """Sorted ``ids`` as runs of consecutive integers (first, last) of at least ``shortest``, and
    the ids in no such run."""
    runs: list[tuple[int, int]] = []
    singles: list[int] = []
    start = 0
    for end in range(1, len(ids) + 1):
        if end == len(ids) or ids[end] != ids[end - 1] + 1:
            if end - start >= shortest:
                runs.append((ids[start], ids[end - 1]))
            else:
                singles.extend(ids[start:end])
            start = end
    return runs, singles


class SentMarks:
    """Rows the relay has published and not yet stamped sent.

    On SQLite every write transaction waits for the one before, so a marking transaction of the
    relay's own delays the next write of the service behind it (in the payments benchmark the
    slowest calls were those that waited behind one). There a service's own write transaction can
    stamp the marks instead (``take``, then ``stamped`` once it committed or ``give_back`` if it
    did not), at the cost of the row updates alone; what nobody stamps within the relay's
    ``mark_delay_seconds`` the relay stamps itself. Until stamped, the relay's reads skip them.
    A crash before the stamp publishes them again on restart, as a crash between publishing and
    marking always did; consumers' inboxes make the duplicate harmless.
    """

    def __init__(self) -> None:
        self._waiting: list[int] = []
        self._since = 0.0  # monotonic time the oldest waiting id was published
        self._taken: set[int] = set()  # being stamped by a transaction not yet committed

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, ids: list[int]) -> None:
        if ids and not self._waiting:
            self._since = time.monotonic()
        self._waiting.extend(ids)

    def take(self) -> list[int]:
        """Every waiting id, for a transaction to stamp."""
        ids, self._waiting = self._waiting, []
        self._taken.update(ids)
        return ids

    def stamped(self, ids: list[int]) -> None:
        """The transaction that took ``ids`` committed."""
        self._taken.difference_update(ids)

    def give_back(self, ids: list[int]) -> None:
        """The transaction that took ``ids`` did not commit: they wait again."""
        self._taken.difference_update(ids)
        if ids:
            self._since = time.monotonic() if not self._waiting else self._since
            self._waiting = ids + self._waiting

    def skip(self) -> frozenset[int]:
        """What the relay's reads must leave out: published, not yet stamped."""
        return frozenset(self._waiting).union(self._taken)

    def due_in(self, delay: float) -> float:
        """Seconds until the oldest waiting id has waited ``delay`` (0: now; inf: none waits)."""
        if not self._waiting:
            return float("inf")
        return max(0.0, self._since + delay - time.monotonic())
