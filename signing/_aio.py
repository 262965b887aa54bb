"""Run a coroutine to completion from synchronous code, on one event loop per thread.

``asyncio.run`` makes a new loop per call and, in the main thread, installs and
restores a SIGINT handler whose repr includes the running task's arguments:
for a 50 MB PDF that repr alone costs ~0.5 s. A loop kept per thread avoids both.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_local = threading.local()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on this thread's own event loop (RuntimeError inside a running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise RuntimeError("run_sync() cannot be called from a running event loop; await instead")
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)
