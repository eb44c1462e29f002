"""Serial numbers of time-stamp tokens: unique for the authority's whole life, restarts included.

RFC 3161 2.4.2 requires every token of a TSA to carry a serial number of its own. Serials are
counted from a file: the process reserves a block (the file records the block's end, written to
a temporary file, fsynced and renamed into place) before it hands out any serial of it, so after
a crash or a restart counting goes on after the last reserved block. Serials of an unfinished
block are skipped, never reused. One process per file: an exclusive lock on ``<file>.lock`` is
held for the store's life, and a second process is refused at start.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class SerialFileInUse(RuntimeError):
    """Another process holds the serial file: two authorities counting from it would repeat serials."""


class SerialStore:
    def __init__(self, path: Path, block: int = 1000) -> None:
        if block < 1:
            raise ValueError("block must be at least 1")
        self.path = path
        self._block = block
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SerialFileInUse(f"{path} is in use by another time-stamping process") from None
        self._limit = self._read()
        self._next = self._limit  # nothing of a block is used before the block is on disk
        self._mutex = threading.Lock()

    def next(self) -> int:
        with self._mutex:
            if self._next >= self._limit:
                self._reserve(self._limit + self._block)
            value = self._next
            self._next += 1
            return value

    def close(self) -> None:
        if self._lock_fd >= 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _read(self) -> int:
        try:
            text = self.path.read_text("ascii").strip()
        except FileNotFoundError:
            return 1
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{self.path}: not a serial number high-water mark: {text[:40]!r}")
        return int(text)

    def _reserve(self, limit: int) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="ascii") as out:
            out.write(f"{limit}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._limit = limit
