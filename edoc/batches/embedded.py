"""The embedded executor: a local process pool, no broker; state stays in the registry.

Each pool process opens the home once (keys, fonts, templates) and runs
:func:`~edoc.batches.service.run_chunk` on ranges of rows. A range that fails for a
reason a retry may cure (the database away for a minute) is run again after a pause,
up to ``retries`` times; rows it finished stay finished.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor

from ..home import Home
from ..settings import Settings

log = logging.getLogger(__name__)

__all__ = ["EmbeddedExecutor"]

_CONTEXT = None


def _init(settings: Settings) -> None:
    global _CONTEXT
    from ..render import warm_up
    from .runtime import WorkerContext

    _CONTEXT = WorkerContext(Home.open(settings))
    warm_up()


def _run(batch_id: str, lo: int, hi: int) -> int:
    assert _CONTEXT is not None
    return _CONTEXT.run(batch_id, lo, hi)


def _ready() -> bool:
    return _CONTEXT is not None


class EmbeddedExecutor:
    """Runs ranges of rows on ``workers`` local processes."""

    name = "embedded"

    def __init__(self, settings: Settings, *, workers: int, mp_context: str = "spawn",
                 retries: int = 30, retry_delay: float = 2.0):
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context(mp_context),
            initializer=_init, initargs=(settings,),
        )
        self.workers = workers
        self._retries = retries
        self._delay = retry_delay
        self._lock = threading.Lock()
        self._pending: set[Future] = set()
        self._closed = False

    def warm(self) -> None:
        """Start every process and let it open the home now (instead of with the first rows)."""
        for f in [self._pool.submit(_ready) for _ in range(self.workers * 2)]:
            f.result()

    def dispatch(self, batch_id: str, ranges: list[tuple[int, int]]) -> None:
        for lo, hi in ranges:
            self._submit(batch_id, lo, hi, 0)

    def _submit(self, batch_id: str, lo: int, hi: int, attempt: int) -> None:
        with self._lock:
            if self._closed:
                return
            fut = self._pool.submit(_run, batch_id, lo, hi)
            self._pending.add(fut)
        fut.add_done_callback(lambda f: self._done(f, batch_id, lo, hi, attempt))

    def _done(self, fut: Future, batch_id: str, lo: int, hi: int, attempt: int) -> None:
        with self._lock:
            self._pending.discard(fut)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is None:
            return
        if attempt >= self._retries:
            log.error("batch %s rows %d-%d: giving up after %d attempts: %s", batch_id, lo, hi,
                      attempt + 1, exc)
            return
        log.warning("batch %s rows %d-%d: %s; again in %.0f s", batch_id, lo, hi, exc, self._delay)
        timer = threading.Timer(self._delay, self._submit, (batch_id, lo, hi, attempt + 1))
        timer.daemon = True
        timer.start()

    def idle(self) -> bool:
        """True when nothing is running or waiting."""
        with self._lock:
            return not self._pending

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
