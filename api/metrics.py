"""Prometheus metrics: requests by route template and status, latency, issuance and verification.

Each app gets its own :class:`~prometheus_client.CollectorRegistry`, so several
apps in one process (tests) never clash. With several workers, ``edoc serve``
sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` aggregates every worker's
values through prometheus_client's multiprocess mode; a single process needs
nothing.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The service's metrics in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "edoc_http_requests", "HTTP requests answered, by route template and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "edoc_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.issued = Counter(
            "edoc_documents_issued", "Documents issued (idempotent replays not counted)",
            ["template", "level"], registry=self.registry,
        )
        self.revoked = Counter(
            "edoc_documents_revoked", "Documents revoked", registry=self.registry,
        )
        self.verifications = Counter(
            "edoc_verifications", "Verifications answered, by kind (upload, id) and outcome",
            ["kind", "outcome"], registry=self.registry,
        )
        self.timestamps = Counter(
            "edoc_tsa_requests", "Time-stamp requests answered by the built-in TSA",
            registry=self.registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """The text format for ``/metrics`` (all workers' values in multiprocess mode)."""
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by the matched route template."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            # the template, never the raw path: ids must not become label values
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
