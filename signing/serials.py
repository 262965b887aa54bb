"""Never-repeating serial numbers that survive restarts and several processes.

A counter file holds the next free block. A process reserves a block of
numbers under an exclusive ``flock`` and hands them out from memory; after a
crash or restart the unused rest of a block is skipped, never reused. So
serials are strictly unique per file at the cost of small gaps.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class SerialCounter:
    """Hands out unique increasing integers, persisted in ``path``."""

    def __init__(self, path: Path, *, block: int = 1024):
        if block < 1:
            raise ValueError("block must be positive")
        self._path = path
        self._block = block
        self._lock = threading.Lock()
        self._next = 0
        self._limit = 0

    def _reserve(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).strip()
            start = int(raw) if raw else 1
            end = start + self._block
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(end).encode(), 0)
            os.fsync(fd)  # durable before any number of the block is used
        finally:
            os.close(fd)  # closing releases the flock
        self._next, self._limit = start, end

    def next(self) -> int:
        """The next serial number; never returned before, by any process using ``path``."""
        with self._lock:
            if self._next >= self._limit:
                self._reserve()
            value = self._next
            self._next += 1
            return value
