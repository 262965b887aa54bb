"""Wiring a home to batches: the service an entry point uses, and what a worker runs.

:func:`service_for` builds the :class:`BatchService` of a home with the executor its
settings choose: Celery over the broker at ``broker_url``, else the embedded
process pool. :class:`WorkerContext` is what each worker process (pool process or
Celery worker child) builds once: the home's issuer and the batch tables.
"""

from __future__ import annotations

import logging
from typing import Literal

from storage.batches import BatchStore

from ..home import Home
from .readers import Limits
from .service import BatchService, Executor, run_chunk
from .webhook import deliver

log = logging.getLogger(__name__)

__all__ = ["WorkerContext", "executor_for", "service_for"]


class WorkerContext:
    """A worker process's home, issuer and batch store, built once per process."""

    def __init__(self, home: Home):
        self.home = home
        self.issuer = home.issuer()
        self.batches = BatchStore(home.registry().engine)

    def run(self, batch_id: str, lo: int, hi: int) -> int:
        return run_chunk(self.batches, self.issuer, batch_id, lo, hi, on_finished=self.finished)

    def finished(self, batch_id: str) -> None:
        """The one call that finished a batch: deliver its webhook."""
        batch = self.batches.get(batch_id)
        if batch is None or not batch.webhook_url:
            return
        c = batch.counts
        payload = {
            "event": "batch.finished", "id": batch.id, "state": batch.state, "total": batch.total,
            "issued": c.get("issued", 0), "failed": c.get("failed", 0) + c.get("invalid", 0),
            "results_url": f"{self.home.settings.public_base_url}/v1/batches/{batch.id}/results",
        }
        ok = deliver(batch.webhook_url, batch.webhook_secret, payload)
        self.batches.set_webhook_state(batch_id, "delivered" if ok else "failed")


def executor_for(home: Home, *, kind: Literal["auto", "embedded", "celery"] = "auto",
                 mp_context: str = "spawn", workers: int | None = None) -> Executor:
    """Celery when the settings name a broker (or ``kind='celery'``), else the local pool."""
    s = home.settings
    if kind == "celery" or (kind == "auto" and s.broker_url):
        from .celery_app import CeleryExecutor

        if not s.broker_url:
            from ..errors import ConfigurationError

            raise ConfigurationError("set EDOC_BROKER_URL (amqp://...) to run batches on Celery workers")
        return CeleryExecutor(s.broker_url)
    from .embedded import EmbeddedExecutor

    return EmbeddedExecutor(s, workers=workers or s.batch_workers, mp_context=mp_context)


def service_for(home: Home, executor: Executor | None = None) -> BatchService:
    """The batch service of ``home``'s agency (``executor`` None: submit records rows only)."""
    s = home.settings
    return BatchService(
        batches=BatchStore(home.registry().engine),
        templates=home.templates(),
        agency=s.agency_id,
        public_base_url=s.public_base_url,
        executor=executor,
        chunk_rows=s.batch_chunk_rows,
        limits=Limits(max_rows=s.batch_max_rows),
    )
