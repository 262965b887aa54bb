"""The services one app shares across requests, reachable as ``request.app.state.edoc``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edoc.home import Home
from edoc.settings import Settings
from edoc.verification import Verifier
from storage.audit import AuditBatcher

from .limits import CpuSlots, RateLimiter
from .metrics import Metrics

if TYPE_CHECKING:
    from edoc.issuance import Issuer
    from storage.registry import Registry


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
    lookups: AuditBatcher
    """Appends public lookups (``document.verified``) to the audit log in batches."""
    freeze_heap: bool = False
    """Exempt what start-up built from garbage collection (a server process, see create_app)."""

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
