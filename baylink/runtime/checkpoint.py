"""SQLite's WAL, checkpointed in the background by every service host.

Left to itself, SQLite checkpoints inside the commit that takes the WAL past
1,000 pages: that commit copies the pages into the database file and syncs it,
and every writer queued behind it waits (figures: docs/performance.md). Here a task of the host checkpoints every
``sqlite_checkpoint_seconds`` on a connection and thread of its own, PASSIVE
(it never waits for a reader or a writer), so the WAL stays short and commits
never do the copy; ``sqlite.WAL_BACKSTOP_PAGES`` keeps the automatic checkpoint as
a backstop for processes that run no host (CLIs, tests). Several processes on
one file each run the loop; one checkpoint at a time gets through, the others
report busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from baylink.runtime.db import Database
from baylink.runtime.metrics import ServiceMetrics

log = logging.getLogger("baylink.checkpoint")


async def run_checkpoints(db: Database, every_seconds: float, stopping: asyncio.Event, metrics: ServiceMetrics) -> None:
    """Checkpoint every ``every_seconds`` until ``stopping`` is set; a failure is logged and the
    next round tries again. The gauge shows the WAL's pages not yet in the database file."""
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=every_seconds)
        try:
            done = await db.checkpoint()
        except Exception:
            log.exception("WAL checkpoint failed; trying again later")
            continue
        if not done.busy:
            metrics.wal_pages_behind.set(done.wal_pages - done.checkpointed_pages)
