"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

Kept in one module although over 300 lines: the rounds, their spacing, the heartbeat and the stop
share one relay's state (its lease, its wake, its producer).

- Rows go out in id order through one idempotent producer (acks=all), so one
  aggregate's events reach their partition in the order they were committed.
- Publishing and marking are two steps. A crash between them publishes those
  rows again on restart; consumers' inboxes make the duplicate harmless.
- While the broker is down the relay backs off (doubling, capped) and retries;
  rows keep accumulating in the outbox and go out when it returns.
- With several replicas of a service, one relay at a time holds a lease row in
  the database, so order per aggregate survives scale-out.
- A round costs one read-only transaction (fetch) and one write (mark). Under load
  (the last two rounds began less than two ``linger_seconds`` apart) rounds start
  at least ``linger_seconds`` apart, so that the commits right behind a round share
  the next one; otherwise a wake starts one at once: the commit a caller waits for
  (a payment the registry must see, right behind its reservation) does not wait. On
  SQLite a service's own writes may stamp the marks instead (``SentMarks``). The
  backlog gauge is derived from the rounds: a round that fetched less than a
  full batch saw the whole backlog. Only when that is not known (full batches,
  failures, a replica without the lease) does the heartbeat count the rows.

Its parts: ``relay_lease`` (the lease), ``sent_marks`` (what is unsent, what waits for its
stamp, the stamp), ``relay_packing`` (a round as record batches); this module is the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy.exc import SQLAlchemyError

from baylink.runtime.db import Database
from baylink.runtime.kafka import close_quietly, new_producer
from baylink.runtime.metrics import ServiceMetrics
from baylink.runtime.outbox import OutboxRow, backlog
from baylink.runtime.relay_lease import RelayLease
from baylink.runtime.relay_packing import KeyPartitions, send_packed
from baylink.runtime.sent_marks import SentMarks, mark_sent, read_unsent
from baylink.runtime.settings import KafkaSettings

log = logging.getLogger("baylink.relay")


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
        # Under load, rounds start at least this far apart, so that the commits right behind a round
        # join the next one: a round per commit would cost a fetch and a marking write each (cf. a
        # producer's linger.ms).
        self.linger_seconds = linger_seconds
        # How long published rows may wait for a write of the service to stamp them sent before
        # the relay does (SentMarks); 0: the relay stamps them at the end of each round.
        self.mark_delay_seconds = mark_delay_seconds
        self.marks = SentMarks()
        self.owner = f"{name}-{uuid.uuid4().hex[:12]}"
        self.lease = RelayLease(db, name=name, owner=self.owner, seconds=lease_seconds)
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._leader = False
        self._round = asyncio.Lock()
        self._backlog_seen_at = float("-inf")  # monotonic time a round last saw the whole backlog
        self._round_started = float("-inf")  # monotonic time the loop's last round started
        self._round_gap = float("inf")  # seconds between the starts of the loop's last two rounds
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

        Rows are packed into one record batch per partition, in id order (``send_packed``), each
        in the partition a keyed send would put it in. On a failure the ids acknowledged before
        it are still returned, so they are marked and only the rest is retried.
        """
        producer = await self._ensure_producer()
        submitted, packing_error = await send_packed(producer, rows, self._partitions)
        results = await asyncio.gather(*(future for _, future in submitted), return_exceptions=True)
        first_error: BaseException | None = packing_error  # e.g. no metadata: later rows wait
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
                    self._wake.clear()  # the round's fetch sees every commit woken for so far
                    now = time.monotonic()
                    self._round_gap, self._round_started = now - self._round_started, now
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
                    await self._space_rounds()
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _space_rounds(self) -> None:
        """Under load (the last two rounds close together), wait until ``linger_seconds`` have
        passed since the last round began; otherwise go at once."""
        if self._round_gap >= 2 * self.linger_seconds or self._stopping.is_set():
            return
        spacing = self._round_started + self.linger_seconds - time.monotonic()
        if spacing > 0:
            await asyncio.sleep(spacing)

    async def _heartbeat(self) -> None:
        """Hold the lease: the holder renews it every third of its term (each renewal is a write
        transaction), a replica without it (or whose renewal failed) tries every second."""
        while not self._stopping.is_set():
            renewed = False
            try:
                self._leader = renewed = await self.hold_lease()
            except Exception:
                log.warning("could not renew the relay lease", exc_info=True)
            if time.monotonic() - self._backlog_seen_at > self.poll_seconds + 1.0:
                await self._report_backlog()  # no recent round saw the whole backlog: count it
            await asyncio.sleep(self.lease_seconds / 3 if renewed else min(1.0, self.lease_seconds / 3))

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
        await self.lease.release()
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
        return await self.lease.hold()
