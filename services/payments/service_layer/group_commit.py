"""Group commit: concurrent prepares and commits share one database transaction.

Requests that arrive while a batch is being written wait for the next one;
a batch is one transaction (``Store.write_batch``: a direct program on the
database driver's own connection; on SQLite one round trip to its thread),
its events staged in the outbox inside it, and each caller is answered only
after that transaction has committed, so nothing answered can be lost by a
crash. Per-request isolation comes from validating before writing (the prepare
rules of ``domain/acceptance.py`` decide each prepare): a request the fast path
does not accept outright is answered as ``None`` and its caller runs the
one-by-one use case, after the batch, exactly as without batching. If the
batch's transaction fails as a whole (a guarded write met a concurrent change,
a unique key collided, the database failed), it rolls back completely and
every one of its requests goes the one-by-one way, so one bad request can
never fail or half-post the others.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, TypeVar

from services.payments.domain.acceptance import PrepareRules
from services.payments.domain.transfer import PrepareTransfer, Transfer
from services.payments.service_layer.ports import BatchWrite, GroupCommits
from services.payments.service_layer.unit_of_work import Deps, cloud_events

log = logging.getLogger("baylink.payments.group_commit")
T = TypeVar("T")


@dataclass
class _Queue(Generic[T]):
    """Requests of one kind waiting for a batch: each with its caller's future and context (its
    call's correlation id, causation id, traceparent): the writer task runs in the context of
    whoever started it, so events are built in their own caller's."""

    items: list[T] = field(default_factory=list)
    waiters: list[asyncio.Future[Transfer | None]] = field(default_factory=list)
    contexts: list[contextvars.Context] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, items: list[T]) -> list[asyncio.Future[Transfer | None]]:
        loop, context = asyncio.get_running_loop(), contextvars.copy_context()
        waiters: list[asyncio.Future[Transfer | None]] = [loop.create_future() for _ in items]
        self.items.extend(items)
        self.waiters.extend(waiters)
        self.contexts.extend([context] * len(items))
        return waiters

    def split(self, n: int) -> tuple[_Queue[T], _Queue[T]]:
        """The first ``n`` requests and the rest."""
        return (
            _Queue(self.items[:n], self.waiters[:n], self.contexts[:n]),
            _Queue(self.items[n:], self.waiters[n:], self.contexts[n:]),
        )

    def answer(self, results: list[Transfer | None] | None) -> None:
        """Each caller its result (None: take the one-by-one path); a caller that gave up is not answered."""
        for waiter, result in zip(self.waiters, results or [None] * len(self), strict=True):
            if not waiter.done():
                waiter.set_result(result)


@dataclass
class _Batch:
    prepares: _Queue[tuple[PrepareTransfer, str]] = field(default_factory=_Queue)
    commits: _Queue[str] = field(default_factory=_Queue)

    def __len__(self) -> int:
        return len(self.prepares) + len(self.commits)


class GroupCommitter:
    def __init__(self, deps: Deps, max_batch: int):
        self.deps = deps
        self.max_batch = max_batch
        self._next = _Batch()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # written so far, with how many requests: for tests and metrics
        self.requests = 0
        # Transfers this process reserved and has not seen end, by id: a commit applies to the copy
        # instead of reading the row back (batch_commit). Bounded; a forgotten one is read instead.
        self.reserved: dict[str, Transfer] = {}
        self.reserved_max = 100_000

    async def prepare(self, req: PrepareTransfer, fingerprint: str) -> Transfer | None:
        """The reserved transfer, or None: the caller then takes the one-by-one path."""
        (result,) = await self.prepare_many([(req, fingerprint)])
        return result

    async def commit(self, transfer_id: str) -> Transfer | None:
        (result,) = await self.commit_many([transfer_id])
        return result

    async def prepare_many(self, items: list[tuple[PrepareTransfer, str]]) -> list[Transfer | None]:
        """Prepares queued together (a bulk's share a batch as far as its size allows)."""
        waiters = self._next.prepares.add(items)
        self._kick()
        return list(await asyncio.gather(*waiters))

    async def commit_many(self, transfer_ids: list[str]) -> list[Transfer | None]:
        """Commits queued together."""
        waiters = self._next.commits.add(transfer_ids)
        self._kick()
        return list(await asyncio.gather(*waiters))

    def _kick(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="payments-group-commit")

    async def _write_all(self) -> None:
        while len(self._next):
            batch, self._next = self._take()
            prepared: list[Transfer | None] | None = None
            committed: list[Transfer | None] | None = None
            try:
                prepared, committed = await self._write(batch)
            except Exception:
                log.warning("group commit fell back to one-by-one", exc_info=True, extra={"size": len(batch)})
            finally:  # also when cancelled: every caller goes on, one by one
                batch.prepares.answer(prepared)
                batch.commits.answer(committed)

    def _take(self) -> tuple[_Batch, _Batch]:
        pending = self._next
        if len(pending) <= self.max_batch:
            return pending, _Batch()
        n_prep = min(len(pending.prepares), self.max_batch)
        prepares_now, prepares_later = pending.prepares.split(n_prep)
        commits_now, commits_later = pending.commits.split(self.max_batch - n_prep)
        return _Batch(prepares_now, commits_now), _Batch(prepares_later, commits_later)

    async def _write(self, batch: _Batch) -> tuple[list[Transfer | None], list[Transfer | None]]:
        deps = self.deps
        marks = deps.marks.take()  # the relay's published rows, stamped sent in this transaction
        policy = deps.policy
        try:
            written = await deps.store.write_batch(
                BatchWrite(
                    batch.prepares.items, batch.prepares.contexts, batch.commits.items, batch.commits.contexts,
                    deps.clock(), PrepareRules(deps.screener, policy.limits, policy.zone),
                    policy.transfer_ttl_seconds, self.reserved, marks,
                    partial(cloud_events, deps.publisher), deps.event_topic,
                )
            )  # fmt: skip
        except BaseException:
            deps.marks.give_back(marks)
            raise
        deps.marks.stamped(marks)
        prepared, committed = written.prepared, written.committed
        # Only what committed is remembered (a batch rolled back is redone one by one, differently).
        if len(self.reserved) + len(prepared) > self.reserved_max:
            self.reserved.clear()
        self.reserved.update((t.transfer_id, t) for t in prepared if t is not None)
        self.batches += 1
        self.requests += len(batch)
        if written.staged:
            deps.handoff(written.staged)
        if any(t is not None for t in prepared + committed):
            deps.on_commit()
        return prepared, committed


def group_of(deps: Deps) -> GroupCommits | None:
    """The service's group committer (one per running service), or None when batching is off."""
    if not deps.policy.group_commit or not deps.store.batches:
        return None
    if deps.group is None:
        deps.group = GroupCommitter(deps, deps.policy.group_commit_max)
    return deps.group
