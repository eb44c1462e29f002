"""SQLite's one writer, as the writers of one database file take turns on it.

Writing transactions of one process take turns on an asyncio lock before they begin: waiting on
it is cheaper and fairer than SQLite's sleeping busy handler. Writers of different processes on
one file then take turns on the database's writer lock file (``flock``). SQLite's busy handler
stays for writers that take neither (the sqlite3 shell).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any


class WriteLock:
    """The write lock of one SQLite database in this process; with ``lock_file`` (a database in a
    file) also held against writers in other processes."""

    def __init__(self, lock_file: str | None) -> None:
        self.lock_file = lock_file
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._lock_owner: asyncio.Task[Any] | None = None
        self._lock_fd: int | None = None
        self._flock_thread: ThreadPoolExecutor | None = None

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the lock. Re-entrant within one task: a transaction opened inside another of the
        same task does not wait on itself (it meets SQLite's busy handler instead)."""
        task = asyncio.current_task()
        if task is not None and task is self._lock_owner:
            yield
            return
        lock = self._in_this_loop()
        async with lock:
            self._lock_owner = task
            try:
                if self.lock_file is not None:
                    async with self._between_processes(self.lock_file):
                        yield
                else:
                    yield
            finally:
                self._lock_owner = None

    @asynccontextmanager
    async def _between_processes(self, lock_file: str) -> AsyncIterator[None]:
        """Hold the writer lock file (``flock``) against writers in other processes.

        Without it a writer that finds another process's transaction in the way sleeps in SQLite's
        busy handler, in growing steps, and retries however soon the other one commits (figures:
        docs/performance.md); a process waiting on the lock file wakes as soon as it is free.
        Taken without blocking when free (a system call); else waited for in a thread of its own."""
        if self._lock_fd is None:
            self._lock_fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        fd = self._lock_fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if self._flock_thread is None:
                self._flock_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-flock")
            taken = asyncio.get_running_loop().run_in_executor(self._flock_thread, fcntl.flock, fd, fcntl.LOCK_EX)
            try:
                await asyncio.shield(taken)
            except asyncio.CancelledError:  # the thread still takes it: give it back once it has
                taken.add_done_callback(lambda _: fcntl.flock(fd, fcntl.LOCK_UN))
                raise
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _in_this_loop(self) -> asyncio.Lock:
        # One lock per event loop: a Database may outlive the loop it was first used on (tests, CLIs).
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop, self._lock_owner = asyncio.Lock(), loop, None
        return self._lock

    def close(self) -> None:
        """Let the lock file and the waiting thread go (the database is disposed of)."""
        if self._flock_thread is not None:
            self._flock_thread.shutdown(wait=False)
            self._flock_thread = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
