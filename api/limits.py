"""Protections at the edge: a request-body size limit, per-client rate limiting,
and keeping the work even across worker processes.

The body limit is an ASGI middleware: a ``Content-Length`` over the limit is
refused before any byte of the body is read, and a streamed (chunked) body is
counted as it arrives and refused as soon as it passes the limit, so an
oversized upload is never held in memory whole. Routes that never read the
body answer as usual (the server then closes the connection unread).

The rate limiter is a token bucket per client address, in process memory: with
``--workers N`` each worker keeps its own buckets, so a client gets up to N
times the configured rate (a shared store such as Redis would be the next step
if that matters). Behind a reverse proxy, uvicorn must trust its X-Forwarded-For
(``edoc serve --forwarded-allow-ips``), or every client shares the proxy's bucket.

With several workers each one listens on its own ``SO_REUSEPORT`` socket and
the kernel hands it connections by a hash of their addresses: 32 keep-alive
clients may split 20 to 12, and the busier worker's queue sets the latency
tail. ``WorkerBalance`` lets each worker see the others' requests in flight
(a small shared memory file) and answer ``Connection: close`` while it carries
two or more than the least busy one: the client reconnects and lands on a
worker by a new hash, until the split is even.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import math
import mmap
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BodyTooLarge, RateLimited, problem

T = TypeVar("T")

#: room for the multipart envelope around an upload of exactly ``max_upload_bytes``
MULTIPART_SLACK = 64 * 1024


class CpuSlots:
    """A few threads of one worker for CPU-bound requests; the rest wait in order.

    Thirty-two issuances started at once in the server's 40-thread pool share
    the interpreter lock: each took thirty-two times as long, the lock handed
    over unfairly and the tail grew to seconds; a document also cost ~20% more
    CPU, its caches spread over forty threads. Here ``slots`` threads (one
    computing while another waits on a disk or the database) take requests
    first come, first served: latency grows only with the queue in front.
    A request cancelled while it waits (the client went away) never starts.

    >>> report = await state.cpu_slots.run(verifier.verify, data)  # doctest: +SKIP
    """

    def __init__(self, slots: int):
        self._slots = slots
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on one of the slots, once it is this request's turn."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:  # (re)made on use: the app may be served again after close()
                self._executor = ThreadPoolExecutor(self._slots, thread_name_prefix="edoc-cpu")
            return self._executor

    def close(self) -> None:
        """Finish the running and queued work, then stop the threads."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class WorkerLoads:
    """Requests in flight per worker, in a file of one 8-byte counter per worker.

    Each worker writes only its own counter (from its event loop) and reads the
    others'; ``edoc serve`` creates the file and gives every worker its index.
    """

    def __init__(self, path: str | os.PathLike[str], index: int):
        with open(path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), 0)
        self._counts = memoryview(self._map).cast("q")
        if not 0 <= index < len(self._counts):
            raise ValueError(f"worker index {index} outside 0..{len(self._counts) - 1}")
        self.index = index
        self._counts[index] = 0  # a restarted worker starts from nothing in flight

    @staticmethod
    def create(path: str | os.PathLike[str], workers: int) -> None:
        """The file for ``workers`` counters, all zero."""
        with open(path, "wb") as f:
            f.write(bytes(8 * workers))

    def started(self) -> None:
        """Count one more request here."""
        self._counts[self.index] += 1

    def finished(self) -> None:
        self._counts[self.index] = max(0, self._counts[self.index] - 1)

    def overloaded(self) -> bool:
        """Whether this worker carries two or more requests more than the least busy one."""
        return self._counts[self.index] >= min(self._counts) + 2


class WorkerBalance:
    """ASGI middleware: ``Connection: close`` on answers of a worker busier than its peers.

    At most one connection per ``interval`` seconds is let go, so a burst does
    not make every client reconnect at once.
    """

    def __init__(self, app: ASGIApp, *, loads: WorkerLoads, interval: float = 0.05):
        self.app = app
        self.loads = loads
        self.interval = interval
        self._last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loads = self.loads

        async def send_balanced(message: Message) -> None:
            if message["type"] == "http.response.start" and loads.overloaded():
                now = time.monotonic()
                if now - self._last >= self.interval:
                    self._last = now
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        loads.started()
        try:
            await self.app(scope, receive, send_balanced)
        finally:
            loads.finished()


def is_json(content_type: str) -> bool:
    """Whether FastAPI would parse a body of this type as JSON (none, ``application/json``, ``+json``)."""
    media = content_type.split(";")[0].strip().lower()
    return not media or media == "application/json" or (
        media.startswith("application/") and media.endswith("+json"))


class BodyLimitMiddleware:
    """Refuse request bodies larger than their limit with a 413 problem.

    JSON bodies (what FastAPI parses into models) get ``max_json_bytes``, files
    (PDF, multipart uploads, anything else) ``max_bytes``.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_json_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = max_bytes if max_json_bytes is None else max_json_bytes

    def limit_for(self, headers: Headers) -> tuple[int, str]:
        """The byte limit for a request and the setting it comes from."""
        content_type = headers.get("content-type", "")
        if content_type.startswith("multipart/"):  # room for the envelope
            return self.max_bytes + MULTIPART_SLACK, "max_upload_bytes"
        if is_json(content_type):
            return self.max_json_bytes, "max_json_bytes"
        return self.max_bytes, "max_upload_bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit, setting = self.limit_for(headers)
        declared = headers.get("content-length", "")
        over = declared.isdigit() and int(declared) > limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if over:
                # Refused before one byte is read (nor a 100-continue sent). Raised rather
                # than answered here so that a route may answer in its own format (the
                # HTML pages do); JSON routes get the problem from api.errors.
                raise BodyTooLarge(limit, setting)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:  # only when no handler turned it into a response
            if started:
                raise
            response = problem(413, "payload-too-large", str(exc.detail))
            await response(scope, receive, send)


@dataclass
class _Bucket:
    tokens: float
    updated: float


def bucket_of(client: str) -> str:
    """The rate-limit bucket of a client address: IPv4 per address, IPv6 per /64.

    One IPv6 subscriber is usually handed a whole /64 (2^64 addresses): a bucket
    per address would give them as many buckets as they like.
    """
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests a minute, in bursts of as many.

    Clients are bucketed by :func:`bucket_of`. At most ``max_clients`` buckets are
    kept; past that the least recently used one is dropped (a client returning
    after it was dropped starts with a full bucket, as a new client would), so
    many addresses cost bounded memory and never reset everyone else's bucket.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 100_000):
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when ``rate_limit_per_minute`` is 0."""
        return self.per_minute > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, client: str) -> None:
        """Take one token for ``client`` or raise :class:`RateLimited` with the wait in seconds."""
        if not self.enabled:
            return
        name = bucket_of(client)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                while len(self._buckets) >= self._max_clients:
                    self._buckets.popitem(last=False)  # the least recently used
                bucket = self._buckets[name] = _Bucket(float(self.per_minute), now)
            else:
                self._buckets.move_to_end(name)
                bucket.tokens = min(self.per_minute, bucket.tokens + (now - bucket.updated) * self._rate)
                bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            wait = (1 - bucket.tokens) / self._rate
        raise RateLimited(max(1, math.ceil(wait)))
