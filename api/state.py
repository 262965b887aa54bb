"""The services one app shares across requests, reachable as ``request.app.state.edoc``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool

from edoc.home import Home
from edoc.settings import Settings
from edoc.verification import Verifier
from edoc.verifypool import VerifyPool
from storage.audit import AuditBatcher

from .limits import CpuSlots, RateLimiter
from .metrics import Metrics

if TYPE_CHECKING:
    from edoc.issuance import Issuer
    from storage.registry import Registry

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceState:
    """Everything a route needs, built once by :func:`api.app.create_app`."""

    home: Home
    """The installation: PKI, TSA, store, registry, templates."""
    settings: Settings
    """The settings the app was built with (same as ``home.settings``)."""
    verifier: Verifier
    """Verifies uploads against the home's trust anchors and registry."""
    limiter: RateLimiter
    """Per-client token buckets for the public endpoints."""
    metrics: Metrics
    """The app's Prometheus metrics."""
    cpu_slots: CpuSlots
    """Queues CPU-bound requests (issuance, upload verification) so a few run at a time."""
    verify_pool: VerifyPool
    """Worker processes that verify uploads under the budgets (bounded queue, wall-clock kill)."""
    lookups: AuditBatcher
    """Appends public lookups (``document.verified``) to the audit log in batches."""
    freeze_heap: bool = False
    """Exempt what start-up built from garbage collection (a server process, see create_app)."""

    async def read(self, fn: Callable[..., T], /, *args: Any) -> T:
        """A quick registry read ``fn(*args)`` for an ``async`` route.

        On SQLite (a local file, ~50 µs for a lookup by key) it runs right here on
        the event loop: a hop to a thread costs more, and in a worker busy issuing
        it waits for the interpreter lock (verify-by-id went from p99 42 ms to
        6 ms at 1,000 req/s). A network database's round trip goes to a thread, so
        a slow server cannot stall the worker.
        """
        if self.settings.effective_database_url.startswith("sqlite"):
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    @property
    def registry(self) -> Registry:
        """The document registry (with the audit log and API keys)."""
        return self.home.registry()

    @property
    def issuer(self) -> Issuer:
        """The issuance workflow of this home's agency."""
        return self.home.issuer()

    @property
    def revocation(self):
        """The built-in CA's CRL/OCSP service, or None for an imported seal."""
        return self.home.revocation()
