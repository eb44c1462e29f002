"""The flow worker's Kafka transport: faust's aiokafka driver, corrected where a rebalance could lose records.

Faust drops a stream record it has taken from aiokafka while its streams are suspended (a rebalance,
the table recovery after it) or when the record belongs to an older generation, and relies on seeking
every partition back to its committed offset once recovery is done. Two holes were left, both seen
in the worker's debug log under issue 17's failover test (one flow in two stalled on the survivor):

- aiokafka's ``seek_to_committed`` leaves a partition alone when the group has committed nothing there
  (or offset 0). Records of a never-committed partition taken during recovery were gone for good.
  Here such a stream partition goes back to its first offset, which is what the app's
  ``auto_offset_reset="earliest"`` means for a partition without a commit. The seek is to an explicit
  offset (the log's start, or 0 when the broker cannot say): aiokafka's ``seek_to_beginning`` leaves
  the partition without a position until a broker answers, and faust's livelock check asserts on
  that position, which crashed the worker while a broker was down.
- Between that seek and the moment faust resumes its streams, a fetch could still hand over stream
  records, which the streams then skipped (flow control not active) while the next records were
  processed and acknowledged, so the commit moved past the skipped one. Here, while the streams are
  suspended, only changelog partitions are fetched, and stream records that a fetch begun earlier
  returns meanwhile are put back (their partition's position is set to the first of them).
- Faust also drops any record at or below the last offset it read in a partition, so records read
  again after such a rewind were dropped if a skipped copy had been drained before. aiokafka returns
  an offset again only after a seek, so when a fetch starts at or below that offset, faust forgets it.
- A record handed over while faust resumes its streams could still be skipped (seen once in 21 runs
  with the corrections above, at the second worker's join). So after every rebalance the commits of
  the stream partitions wait, and once the streams have run for a few seconds each stream partition
  is read again from where the generation started: whatever was skipped is processed then.

Changelog partitions stay with faust's recovery, which positions them itself. Records read again
this way are the at-least-once delivery the flow table absorbs (an event seen again yields the same
outputs, with the same ids).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import TransportT

IDLE_SECONDS = 0.1  # how soon a suspended consumer with nothing to recover looks again
REPLAY_AFTER_SECONDS = 3.0  # once the streams run again after a rebalance: longer than faust's hand-over
EARLIEST_SECONDS = 5.0  # how long a rebalance waits for the first offsets of never-committed partitions


def never_committed(committed: Mapping[TP, int | None], is_changelog: Callable[[TP], bool]) -> list[TP]:
    """The stream partitions that ``seek_to_committed`` leaves where they are: no commit, or offset 0."""
    return sorted(tp for tp, offset in committed.items() if not offset and not is_changelog(tp))


def stream_starts(
    committed: Mapping[TP, int | None], earliest: Mapping[TP, int], is_changelog: Callable[[TP], bool]
) -> dict[TP, int]:
    """Where each stream partition's generation starts: its committed offset, else the log's first offset
    (``earliest``), else 0 (a seek below the log's start is reset to it by ``auto_offset_reset``)."""
    return {tp: offset or earliest.get(tp, 0) for tp, offset in committed.items() if not is_changelog(tp)}


def held_back(records: Mapping[TP, list[Any]], is_changelog: Callable[[TP], bool]) -> dict[TP, int]:
    """Stream partitions in a fetch's ``records`` and the offset of the first record of each."""
    return {tp: batch[0].offset for tp, batch in records.items() if batch and not is_changelog(tp)}


def read_again(
    records: Mapping[TP, list[Any]], read_offsets: Mapping[TP, int | None], is_changelog: Callable[[TP], bool]
) -> list[TP]:
    """Stream partitions whose records start at or before the last offset faust read there: a rewind,
    whose records faust would drop as already seen unless it forgets that offset."""
    return sorted(
        tp
        for tp, batch in records.items()
        if batch and not is_changelog(tp) and (seen := read_offsets.get(tp)) is not None and batch[0].offset <= seen
    )


class RewindingConsumer(faust_aiokafka.Consumer):
    _replay: asyncio.Task[None] | None = None
    _held: frozenset[TP] = frozenset()  # stream partitions whose commits wait for the replay

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Seek every partition to its committed offset, and a stream partition without one to its beginning;
        then, once the rebalance has settled, read the stream partitions again from there (:meth:`_replay_from`)."""
        committed = await super().seek_to_committed()
        never = never_committed(committed, self._is_changelog_tp)
        earliest: Mapping[TP, int] = {}
        if never:
            # No broker answers: 0, which the fetch resets to the log's start if that is past it.
            with contextlib.suppress(TimeoutError, KafkaError):
                earliest = await asyncio.wait_for(self._thread.earliest_offsets(*never), EARLIEST_SECONDS)
        starts = stream_starts(committed, earliest, self._is_changelog_tp)
        for tp in never:
            self._thread.seek(tp, starts[tp])
        self._held = frozenset(starts)
        if self._replay is not None:
            self._replay.cancel()
        self._replay = asyncio.ensure_future(self._replay_from(starts, self.app.consumer_generation_id))
        return committed

    async def _replay_from(self, starts: Mapping[TP, int], generation: int) -> None:
        """Faust may still drop a record handed over while it resumes its streams, and commit past it.
        So the commits of the stream partitions wait, and once the streams have run for a moment every
        stream partition is read again from where this generation started (its committed offset, or its
        beginning); what was processed meanwhile comes again and is absorbed as a redelivery."""
        while generation == self.app.consumer_generation_id and not self.app.flow_control.is_active():
            await asyncio.sleep(IDLE_SECONDS)  # the tables' recovery can take longer than the wait below
        await asyncio.sleep(REPLAY_AFTER_SECONDS)
        if generation != self.app.consumer_generation_id or not self.app.flow_control.is_active():
            return  # another rebalance: its own seek schedules its own replay
        assigned = self.assignment()
        for tp, offset in starts.items():
            if tp in assigned:
                self._thread.seek(tp, offset)
                self._read_offset[tp] = None
        self._held = frozenset()

    async def on_stop(self) -> None:
        if self._replay is not None:
            self._replay.cancel()
        await super().on_stop()

    def _new_offset(self, tp: TP) -> int | None:
        return None if tp in self._held else super()._new_offset(tp)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Mapping[TP, list[Any]]:
        streams_on = self.app.flow_control.is_active
        if active_partitions is not None and not streams_on():
            active_partitions = {tp for tp in active_partitions if self._is_changelog_tp(tp)}
            if not active_partitions:  # aiokafka reads "no partitions" as all of them
                await self.sleep(min(timeout, IDLE_SECONDS))
                return {}
        records = await super()._getmany(active_partitions, timeout)
        if streams_on():
            for tp in read_again(records, self._read_offset, self._is_changelog_tp):
                self._read_offset[tp] = None
            return records
        assigned = self.assignment()
        for tp, offset in held_back(records, self._is_changelog_tp).items():
            if tp in assigned:
                self._thread.seek(tp, offset)
        return {tp: batch for tp, batch in records.items() if self._is_changelog_tp(tp)}


class FlowTransport(faust_aiokafka.Transport):
    Consumer = RewindingConsumer


class FlowApp(faust.App):
    """A faust app whose consumer is :class:`RewindingConsumer` (producers are faust's own)."""

    def _new_transport(self) -> TransportT:
        return FlowTransport(self.conf.broker_consumer, self)
