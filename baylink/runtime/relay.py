"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

- Rows go out in id order through one idempotent producer (acks=all), so one
  aggregate's events reach their partition in the order they were committed.
- Publishing and marking are two steps. A crash between them publishes those
  rows again on restart; consumers' inboxes make the duplicate harmless.
- While the broker is down the relay backs off (doubling, capped) and retries;
  rows keep accumulating in the outbox and go out when it returns.
- With several replicas of a service, one relay at a time holds a lease row in
  the database, so order per aggregate survives scale-out.
- A round costs one read-only transaction (fetch) and one write (mark); after a
  wake the relay lingers briefly so that the commits right behind share it. On
  SQLite a service's own writes may stamp the marks instead (``SentMarks``). The
  backlog gauge is derived from the rounds: a round that fetched less than a
  full batch saw the whole backlog. Only when that is not known (full batches,
  failures, a replica without the lease) does the heartbeat count the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from baylink.runtime.db import Database
from baylink.runtime.direct import Program, Statement, execute, execute_many, fetch
from baylink.runtime.kafka import close_quietly, new_producer
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.outbox import OutboxRow, backlog, relay_row
from baylink.runtime.schema import outbox, outbox_lease
from baylink.runtime.settings import KafkaSettings

log = logging.getLogger("baylink.relay")


class KeyPartitions:
    """Which partition a key goes to: what a keyed send's default partitioner answers (murmur2
    of the key over the topic's partitions), remembered per key, since a service's events keep
    coming for the same few subjects and the pure-Python hash is not free. Bounded."""

    def __init__(self, size: int = 65_536) -> None:
        self.size = size
        self._partitioner = DefaultPartitioner()
        self._known: dict[tuple[str, int, bytes], int] = {}

    def of(self, topic: str, key: bytes, partitions: set[int]) -> int:
        memo = (topic, len(partitions), key)
        partition = self._known.get(memo)
        if partition is None:
            ordered = sorted(partitions)
            partition = self._partitioner(key, ordered, ordered)
            if len(self._known) >= self.size:
                self._known.clear()
            self._known[memo] = partition
        return partition


_COLUMNS = (outbox.c.id, outbox.c.topic, outbox.c.event_type, outbox.c.subject, outbox.c.headers, outbox.c.payload)
_UNSENT = outbox.c.sent_at.is_(None)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_UNSENT_ROWS = Statement(sa.select(*_COLUMNS).where(_UNSENT).order_by(outbox.c.id).limit(_LIMIT))
_UNSENT_IDS = Statement(sa.select(outbox.c.id).where(_UNSENT).order_by(outbox.c.id).limit(_LIMIT))
_ROWS = Statement(sa.select(*_COLUMNS).where(outbox.c.id.in_(sa.bindparam("ids", expanding=True))))
_SENT_AT = sa.bindparam("sent_at", type_=outbox.c.sent_at.type)
_MARK_RUN = Statement(
    sa.update(outbox)
    .where(outbox.c.id.between(sa.bindparam("b_first"), sa.bindparam("b_last")))
    .values(sent_at=_SENT_AT)
)
_MARK_IDS = Statement(
    sa.update(outbox).where(outbox.c.id.in_(sa.bindparam("ids", expanding=True))).values(sent_at=_SENT_AT)
)


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
    relay's own delays the next write of the service behind it (the payments benchmark's slowest
    calls were those that waited behind one). There a service's own write transaction can stamp
    the marks instead (``take``, then ``stamped`` once it committed or ``give_back`` if it did
    not), at the cost of the row updates alone; what nobody stamps within the relay's
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


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        kafka: KafkaSettings,
        *,
        name: str,
        metrics: ServiceMetrics | None = None,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        max_backoff_seconds: float = 5.0,
        lease_seconds: float = 15.0,
        linger_seconds: float = 0.05,
        mark_delay_seconds: float = 0.0,
    ):
        self.db = db
        self.kafka = kafka
        self.name = name
        self.metrics = metrics or ServiceMetrics()
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.lease_seconds = lease_seconds
        # After a wake, wait this long so that the commits right behind join the round: a round
        # per commit would cost a fetch and a marking write each (cf. a producer's linger.ms).
        self.linger_seconds = linger_seconds
        # How long published rows may wait for a write of the service to stamp them sent before
        # the relay does (SentMarks); 0: the relay stamps them at the end of each round.
        self.mark_delay_seconds = mark_delay_seconds
        self.marks = SentMarks()
        self.owner = f"{name}-{uuid.uuid4().hex[:12]}"
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._leader = False
        self._round = asyncio.Lock()
        self._backlog_seen_at = float("-inf")  # monotonic time a round last saw the whole backlog
        self._partitions = KeyPartitions()
        self._handed: dict[int, OutboxRow] = {}  # committed rows handed over in memory, by id

    def wake(self) -> None:
        """Tell the relay new rows were committed (it also polls, so this is only for latency)."""
        self._wake.set()

    # -- the two steps of one round -------------------------------------------------

    def hand_over(self, rows: list[OutboxRow]) -> None:
        """Rows this process has just committed, as they were written (FactRecorder's handoff):
        the next round takes them from here instead of reading them back. Only their ids are
        still read from the table, which stays the record of what is unsent and in what order."""
        if len(self._handed) + len(rows) > self.batch_size * 20:  # not the leader, or far behind
            self._handed.clear()
        for row in rows:
            self._handed[row.id] = row
        self._wake.set()

    async def fetch_unsent(self) -> list[OutboxRow]:
        """The first ``batch_size`` unsent rows in id order; rows handed over are taken from
        memory, and only their ids are read."""
        handed = frozenset(self._handed)  # what the read may skip; hand_over may add more meanwhile
        program = read_unsent(self.batch_size, handed, self.marks.skip())
        ids, read = await self.db.run_direct(program, readonly=True)
        rows = []
        for i in ids:
            row = self._handed.pop(i, None) or read.get(i)
            if row is None:  # handed over, then dropped by hand_over's bound meanwhile: next round
                break
            rows.append(row)
        if ids:  # handed rows at or below the last unsent id that were not among them are sent already
            last = ids[-1]
            for stale in [i for i in self._handed if i <= last]:
                del self._handed[stale]
        return rows

    async def publish(self, rows: list[OutboxRow]) -> list[int]:
        """Send rows and wait for the broker's acks. Returns the ids that were acknowledged.

        Rows are packed into one record batch per partition, in id order (a full batch goes out
        and the next one of that partition follows it), so a round costs a few batch submissions
        rather than a send per row. Each row goes to the partition its key hashes to, as a
        keyed send would put it. On a failure the ids acknowledged before it are still
        returned, so they are marked and only the rest is retried.
        """
        producer = await self._ensure_producer()
        submitted: list[tuple[list[OutboxRow], asyncio.Future[Any]]] = []
        first_error: BaseException | None = None
        try:
            open_batches: dict[tuple[str, int], tuple[BatchBuilder, list[OutboxRow]]] = {}
            topics: dict[str, set[int]] = {}
            for row in rows:
                key = row.subject.encode()
                if row.topic not in topics:
                    topics[row.topic] = await producer.partitions_for(row.topic)
                partition = self._partitions.of(row.topic, key, topics[row.topic])
                batch, members = open_batches.get((row.topic, partition)) or (producer.create_batch(), [])
                if batch.append(key=key, value=row.payload, timestamp=None, headers=row.headers) is None:
                    # Full: it goes out now and a new batch takes this row (a first record always fits).
                    batch.close()
                    submitted.append((members, await producer.send_batch(batch, row.topic, partition=partition)))
                    batch, members = producer.create_batch(), []
                    batch.append(key=key, value=row.payload, timestamp=None, headers=row.headers)
                members.append(row)
                open_batches[(row.topic, partition)] = (batch, members)
            for (topic, partition), (batch, members) in open_batches.items():
                batch.close()
                submitted.append((members, await producer.send_batch(batch, topic, partition=partition)))
        except KafkaError as exc:  # e.g. no metadata while the broker is down: later rows wait
            first_error = exc
        results = await asyncio.gather(*(future for _, future in submitted), return_exceptions=True)
        sent: list[int] = []
        produced: Counter[tuple[str, str]] = Counter()
        for (members, _), result in zip(submitted, results, strict=True):
            if isinstance(result, BaseException):
                first_error = first_error or result
                continue
            sent.extend(row.id for row in members)
            produced.update((row.topic, row.event_type) for row in members)
        for (topic, event_type), count in produced.items():  # one increment per type, not per row
            self.metrics.events_produced.labels(topic, event_type).inc(count)
        self.marks.add(sent)  # also when a later batch failed: these went out
        if first_error is not None:
            raise first_error
        return sent

    async def stamp_marks(self) -> None:
        """Stamp every published row still waiting (``marks``) sent, in a transaction of its own."""
        ids = self.marks.take()
        if not ids:
            return
        try:
            await self.db.run_direct(mark_sent(datetime.now(UTC), ids))
        except BaseException:
            self.marks.give_back(ids)
            raise
        self.marks.stamped(ids)

    async def run_once(self) -> int:
        """Publish one batch; stamp what was published sent once it has waited ``mark_delay_seconds``
        (at once by default). Returns how many rows went out.

        One round at a time: the shutdown drain must not fetch the rows the loop is publishing.
        """
        async with self._round:
            if self.marks.due_in(self.mark_delay_seconds) == 0:  # e.g. from a round that failed
                await self.stamp_marks()
            rows = await self.fetch_unsent()
            sent = await self.publish(rows) if rows else []
            if self.marks.due_in(self.mark_delay_seconds) == 0:
                await self.stamp_marks()
            if len(rows) < self.batch_size:  # the fetch saw every unsent row: what remains is known
                self.metrics.outbox_backlog.set(len(rows) - len(sent))
                self._backlog_seen_at = time.monotonic()
            return len(sent)

    async def drain(self, timeout: float = 10.0) -> int:
        """Publish everything committed so far and stamp it sent (used at shutdown). Returns the count."""
        total = 0
        async with asyncio.timeout(timeout):
            while n := await self.run_once():
                total += n
            async with self._round:
                await self.stamp_marks()
        return total

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until ``stop()``; survive broker outages and lost leases.

        While the broker is down an idempotent producer keeps a batch and retries
        it, in order, until the broker returns (it never expires it); a failure
        to connect at all is retried here with a doubling back-off. Meanwhile a
        heartbeat renews the lease and keeps the backlog gauge current.
        """
        heartbeat = asyncio.create_task(self._heartbeat(), name=f"relay-heartbeat-{self.name}")
        backoff = 0.0
        outage_logged = False
        try:
            while not self._stopping.is_set():
                if not self._leader:
                    await self._sleep(0.2)
                    continue
                try:
                    sent = await self.run_once()
                except (KafkaError, OSError, TimeoutError) as exc:
                    await self._drop_producer()
                    backoff = min(max(backoff * 2, 0.2), self.max_backoff_seconds)
                    if not outage_logged:
                        log.warning(
                            "outbox relay cannot publish; backing off",
                            extra={"relay": self.name, "error": repr(exc)},
                        )
                        outage_logged = True
                    await self._sleep(backoff)
                    continue
                if outage_logged:
                    log.info("outbox relay publishing again", extra={"relay": self.name})
                    outage_logged = False
                backoff = 0.0
                if sent < self.batch_size:
                    await self._sleep(min(self.poll_seconds, self.marks.due_in(self.mark_delay_seconds)))
                    if self.linger_seconds and not self._stopping.is_set():
                        await asyncio.sleep(self.linger_seconds)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _heartbeat(self) -> None:
        while not self._stopping.is_set():
            try:
                self._leader = await self.hold_lease()
            except Exception:
                log.warning("could not renew the relay lease", exc_info=True)
            if time.monotonic() - self._backlog_seen_at > self.poll_seconds + 1.0:
                await self._report_backlog()  # no recent round saw the whole backlog: count it
            await asyncio.sleep(min(1.0, self.lease_seconds / 3))

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop the loop after a last drain of what is committed; flush and close the producer."""
        self._stopping.set()
        self._wake.set()
        try:
            if not self._leader:
                # Stopped before the heartbeat took the lease (a service stopped right after it
                # started): take it now if nobody holds it, else the rows stay for the one who does.
                self._leader = await self.hold_lease()
            if self._leader:
                await self.drain(drain_timeout)
        except (KafkaError, OSError, TimeoutError, SQLAlchemyError) as exc:
            log.warning(
                "outbox relay stopped with events unpublished; they go out on next start",
                extra={"relay": self.name, "error": repr(exc)},
            )
        await self._release_lease()
        await self._drop_producer()

    # -- helpers -----------------------------------------------------------------------

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.kafka, client_id=self.owner)
            try:
                await producer.start()
            except BaseException:
                await close_quietly(producer)
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        # An idempotent producer that failed is rebuilt rather than reused: its
        # sequence state may no longer match the broker's.
        producer, self._producer = self._producer, None
        if producer is not None:
            await close_quietly(producer)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _report_backlog(self) -> None:
        try:
            async with self.db.transaction(readonly=True) as session:
                unsent = await backlog(session)
            self.metrics.outbox_backlog.set(max(0, unsent - len(self.marks.skip())))  # published ones are not
        except Exception:
            log.debug("could not read the outbox backlog", exc_info=True)

    async def hold_lease(self) -> bool:
        """Take or renew the relay lease for this service's outbox. True while we hold it."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "owner": self.owner,
            "expires_at": now + timedelta(seconds=self.lease_seconds),
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

    async def _release_lease(self) -> None:
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    sa.delete(outbox_lease)
                    .where(outbox_lease.c.name == self.name)
                    .where(outbox_lease.c.owner == self.owner)
                )
        except Exception:
            log.debug("could not release the relay lease", exc_info=True)
