"""The FastAPI application: :func:`create_app` builds one from settings, checking them first.

>>> app = create_app(Settings(home=Path("/srv/edoc")))  # doctest: +SKIP
>>> uvicorn.run(app)  # doctest: +SKIP

``uvicorn --factory api.app:app_from_env`` (what ``edoc serve --workers N``
runs in each worker) reads the settings from ``EDOC_*`` and the home's
``edoc.toml``. Misconfiguration (no home, wrong key passphrase, no TSA for a
timestamped level) fails here, at start-up, not at the first request.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from edoc import compat
from edoc.home import Home
from edoc.readiness import check_ready
from edoc.settings import Settings
from edoc.verification import Verifier
from edoc.verifypool import verify_pool_for
from storage.audit import AuditBatcher

from . import errors, logredact, openapi, pages
from .authfirst import AuthBeforeBody
from .deps import current_key, optional_key
from .limits import BodyLimitMiddleware, CpuSlots, RateLimiter, WorkerBalance, WorkerLoads
from .metrics import Metrics, MetricsMiddleware
from .routes import (
    agencies,
    audit,
    batches,
    docs,
    documents,
    health,
    keys,
    pki,
    revocation,
    tsa,
    verify,
)
from .state import ServiceState

log = logging.getLogger("api")

VERSION = "0.1.0"
WORKER_LOADS_ENV = "EDOC_WORKER_LOADS"
WORKER_INDEX_ENV = "EDOC_WORKER_INDEX"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state.edoc
    anchorer = None
    minutes = state.settings.audit_anchor_minutes
    if minutes > 0:
        from edoc.audit import AuditAnchorer

        # several workers may anchor the same head: harmless, the proof only gets stronger
        anchorer = AuditAnchorer(
            state.registry.audit, state.home.timestamper(), interval=minutes * 60,
            registry=state.registry,
        ).start()
    if state.freeze_heap:
        # What start-up built (keys, fonts, templates, caches) lives as long as the
        # process: moved out of the collector's sight, a full collection no longer
        # walks it. Before, one came every ~2 s of issuing and held the interpreter
        # ~240 ms, the largest share of the p99 under load.
        gc.collect()
        gc.freeze()
    yield
    if anchorer is not None:
        anchorer.stop()
    state.cpu_slots.close()
    state.lookups.close()
    state.registry.close()


def create_app(
    settings: Settings | None = None,
    *,
    home: Home | None = None,
    worker_loads: WorkerLoads | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The edoc HTTP service for the home ``settings`` name (or the given open ``home``).

    ``worker_loads``: this worker's view of its peers' load under ``edoc serve
    --workers N``, which keeps connections spread evenly (``limits.WorkerBalance``).
    ``freeze_heap``: at start-up, exempt everything built so far from garbage
    collection (``gc.freeze``); for a server process that serves one app, not
    for tests that build many.
    """
    compat.install()  # patches of other libraries, after their version check
    if home is None:
        if settings is None:
            raise TypeError("create_app needs settings or an open home")
        home = Home.open(settings)
    settings = home.settings
    check_ready(home)
    state = ServiceState(
        home=home,
        settings=settings,
        verifier=Verifier.for_home(home),
        limiter=RateLimiter(settings.rate_limit_per_minute),
        metrics=Metrics(),
        cpu_slots=CpuSlots(settings.cpu_slots),
        verify_pool=verify_pool_for(home),
        lookups=AuditBatcher(home.registry().audit),
        freeze_heap=freeze_heap,
    )
    app = FastAPI(
        title="edoc",
        version=VERSION,
        summary="Issue, seal, timestamp and verify official documents",
        lifespan=_lifespan,
        docs_url=None,  # served by routes.docs from local files, not a CDN
        redoc_url=None,
    )
    app.state.edoc = state
    errors.install(app)
    openapi.install(app)  # every error declared as problem+json (tests/api/test_schema_fuzz.py)
    for module in (documents, verify, audit, keys, agencies, batches, tsa, pki, health, docs):
        app.include_router(module.router)
    app.include_router(audit.platform_router)
    if state.revocation is not None:
        app.include_router(revocation.router)
    app.include_router(pages.router)
    # added last = outermost: metrics see every answer, 413s included
    # inside the body limit: a route's first read meets the credentials check first
    app.add_middleware(AuthBeforeBody, authenticate=state.registry.authenticate,
                       optional=optional_key, required=current_key)  # 401 before any body byte
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes,
                       max_json_bytes=settings.max_json_bytes)
    logredact.install()  # holder tokens never reach the access log
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    if worker_loads is not None:
        app.add_middleware(WorkerBalance, loads=worker_loads)
    return app


def app_from_env() -> FastAPI:
    """The app for the settings in the environment (``uvicorn --factory`` entry point).

    Under ``edoc serve --workers N``, ``EDOC_WORKER_LOADS`` and ``EDOC_WORKER_INDEX``
    name the shared load file and this worker's counter in it.
    """
    loads_path, index = os.environ.get(WORKER_LOADS_ENV), os.environ.get(WORKER_INDEX_ENV)
    loads = WorkerLoads(loads_path, int(index)) if loads_path and index is not None else None
    return create_app(Settings(), worker_loads=loads, freeze_heap=True)
