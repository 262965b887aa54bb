"""Verification in worker processes, so that no upload can starve issuance or health checks.

A :class:`VerifyPool` keeps ``workers`` processes (pebble's process pool; the
``spawn`` start method, never a fork of a threaded server). Each job runs
:func:`edoc.verification.examine` under the budgets (structure and CPU time);
a worker that runs past ``wall_seconds`` is killed and replaced, and the caller
gets a "too complex to verify" report. At most ``queue`` jobs wait for a
worker: beyond that :class:`VerifyBusy` (HTTP 503 with ``Retry-After``). A
caller that stops waiting (its client disconnected, see ``cancelled``) has its
job dropped from the queue, or its worker killed if the job had started, so no
work goes on for a request that was answered or abandoned.

The registry is consulted afterwards, in the caller's process
(:meth:`edoc.verification.Verifier.judge`); workers only read the PDF.

>>> pool = VerifyPool(policy_factory=HomePolicy(settings), budgets=budgets)  # doctest: +SKIP
>>> examined = await pool.examine(data, name="doc.pdf")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import CancelledError, TimeoutError
from datetime import datetime
from typing import Any

from pebble import ProcessPool

from .budgets import DEFAULT_BUDGETS, Exceeded, VerifyBudgets
from .errors import EdocError
from .verification import Examined, examine, revision_prefixes, too_complex

log = logging.getLogger(__name__)

#: how often a waiting job asks whether its caller is still there
POLL_SECONDS = 0.25


class VerifyBusy(EdocError):
    """Every verification worker is busy and the wait queue is full: retry later."""

    kind = "verification-busy"
    http_status = 503

    def __init__(self, retry_after: int):
        super().__init__(
            "all verification workers are busy and the queue is full; "
            f"retry in {retry_after} s (settings verify_workers, verify_queue)"
        )
        self.retry_after = retry_after


class VerifyAbandoned(EdocError):
    """The caller went away before its verification finished: the job was dropped."""

    kind = "client-closed-request"
    http_status = 400  # nobody reads it: the client is gone


class HomePolicy:
    """A picklable recipe for a worker's trust policy: the home's, opened in the worker."""

    def __init__(self, settings):
        self.settings = settings
        self._key = settings.model_dump_json()

    def __call__(self):
        from .home import Home

        return Home.open(self.settings).trust_policy()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HomePolicy) and other._key == self._key

    def __hash__(self) -> int:
        return hash(self._key)


# -- in the worker processes -----------------------------------------------------------

_policies: dict[Any, Any] = {}


def _examine(policy_factory, budgets: VerifyBudgets, data: bytes, name: str | None,
             at: datetime | None, password: str | None = None) -> Examined:
    policy = _policies.get(policy_factory)
    if policy is None:
        if len(_policies) >= 8:  # many homes in one process (tests): keep the newest few
            _policies.pop(next(iter(_policies)))
        policy = _policies[policy_factory] = policy_factory()
    return examine(data, policy=policy, budgets=budgets, name=name, at=at, password=password)


# -- the processes, one set per process and size, shared by every app in it ------------

_shared: dict[int, ProcessPool] = {}
_shared_lock = threading.Lock()


def _process_pool(workers: int) -> ProcessPool:
    with _shared_lock:
        pool = _shared.get(workers)
        if pool is None or not pool.active:
            # started on first use: an app that never verifies spawns nothing
            pool = _shared[workers] = ProcessPool(
                max_workers=workers, context=multiprocessing.get_context("spawn")
            )
        return pool


@atexit.register
def _stop_all() -> None:
    with _shared_lock:
        pools = list(_shared.values())
        _shared.clear()
    for pool in pools:
        pool.stop()
        pool.join(timeout=10)


class VerifyPool:
    """Bounded verification in worker processes with a wall-clock kill (see the module)."""

    def __init__(
        self,
        *,
        policy_factory: Callable[[], Any],
        budgets: VerifyBudgets = DEFAULT_BUDGETS,
        workers: int = 2,
        queue: int = 8,
        wall_seconds: float | None = None,
    ):
        if workers < 1 or queue < 0:
            raise ValueError("a verification pool needs at least one worker and a queue of 0 or more")
        self.budgets = budgets
        self.workers = workers
        self.queue = queue
        # the CPU budget answers first, from inside the worker; the kill is the backstop
        self.wall_seconds = wall_seconds if wall_seconds is not None else budgets.cpu_seconds * 1.5 + 5
        self._policy_factory = policy_factory
        self._lock = threading.Lock()
        self._in_flight = 0
        self.killed = 0
        """Workers killed for running past the wall-clock limit (or dying), so far."""
        self.dropped = 0
        """Jobs dropped because their caller went away (a running one's worker killed)."""

    @property
    def in_flight(self) -> int:
        """Jobs running or waiting now."""
        return self._in_flight

    def warm_up(self) -> None:
        """Start the worker processes now rather than on the first upload."""
        _process_pool(self.workers)

    async def examine(
        self,
        data: bytes,
        *,
        name: str | None = None,
        at: datetime | None = None,
        password: str | None = None,
        cancelled: Callable[[], Awaitable[bool]] | None = None,
    ) -> Examined:
        """:func:`~edoc.verification.examine` in a worker; raises :class:`VerifyBusy` when full.

        ``cancelled`` is polled while the job waits or runs; once it answers True the
        job is dropped (or its worker killed) and :class:`VerifyAbandoned` raised.
        """
        with self._lock:
            if self._in_flight >= self.workers + self.queue:
                raise VerifyBusy(self._retry_after())
            self._in_flight += 1
        try:
            future = _process_pool(self.workers).schedule(
                _examine, args=(self._policy_factory, self.budgets, data, name, at, password),
                timeout=self.wall_seconds,
            )
            waiting = asyncio.wrap_future(future)
            try:
                while True:
                    done, _ = await asyncio.wait({waiting}, timeout=POLL_SECONDS)
                    if done:
                        break
                    if cancelled is not None and await cancelled():
                        self._drop(future)
                        raise VerifyAbandoned("the client went away; its verification was dropped")
            except BaseException:
                self._drop(future)  # cancelled by the server too, or abandoned: never left running
                raise
            try:
                return waiting.result()
            except TimeoutError:
                self.killed += 1
                log.warning("verification of %s ran past %.0f s: worker killed", name, self.wall_seconds)
                over = Exceeded("cpu_seconds", self.budgets.cpu_seconds, f"more than {self.wall_seconds:g}")
                return Examined(too_complex(data, name, over, at), (),
                                revision_prefixes(data, limit=self.budgets.revisions))
            except CancelledError:
                raise asyncio.CancelledError("the verification was cancelled") from None
            except Exception as exc:  # the worker died (out of memory, a crash in a C library)
                self.killed += 1
                log.warning("verification of %s stopped its worker: %r", name, exc)
                return Examined(too_complex(data, name, Exceeded("worker", 0, "stopped"), at), (),
                                revision_prefixes(data, limit=self.budgets.revisions))
        finally:
            with self._lock:
                self._in_flight -= 1

    def _drop(self, future) -> None:
        if not future.done():
            self.dropped += 1
            future.cancel()  # pebble: a queued job is dropped, a running one's worker is killed

    def _retry_after(self) -> int:
        # a full queue drains at worst one wall limit per worker round
        rounds = (self.queue // self.workers) + 1
        return max(1, min(60, int(rounds * min(self.wall_seconds, 5))))


def verify_pool_for(home) -> VerifyPool:
    """The verification pool a home's settings describe (``verify_workers``, ``verify_queue``...)."""
    settings = home.settings
    return VerifyPool(
        policy_factory=HomePolicy(settings),
        budgets=VerifyBudgets.from_settings(settings),
        workers=settings.verify_workers,
        queue=settings.verify_queue,
        wall_seconds=settings.verify_max_wall_seconds,
    )
