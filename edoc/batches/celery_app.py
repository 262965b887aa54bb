"""Batches on Celery workers over RabbitMQ: the task, its settings, and the producer side.

The broker only carries work, ``(batch id, first row, last row)``; the rows and their
state are in the registry. Late acknowledgement, prefetch 1 and
``task_reject_on_worker_lost`` make a task whose worker dies go back to the queue
and run again elsewhere; publisher confirms make a submitted task survive a broker
restart (durable queue, persistent messages). Running a range twice issues nothing
twice (see :func:`edoc.batches.service.run_chunk`).

``edoc worker`` calls :func:`configure` with the home's settings and starts a worker.
"""

from __future__ import annotations

import logging

from celery import Celery

from ..settings import Settings

log = logging.getLogger(__name__)

__all__ = ["QUEUE", "TASK", "CeleryExecutor", "app", "configure"]

QUEUE = "edoc-batches"
TASK = "edoc.batch.run_chunk"
#: how many times a range is tried again (5 s apart at most) before its rows are failed
MAX_RETRIES = 60


def _conf(broker_url: str | None) -> dict:
    return {
        "broker_url": broker_url,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_default_queue": QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_transport_options": {"confirm_publish": True},
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_hijack_root_logger": False,
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 20, "interval_start": 0.5,
                                      "interval_step": 0.5, "interval_max": 3},
    }


app = Celery("edoc", set_as_current=False)
app.conf.update(_conf(None))

_settings: Settings | None = None
_context = None


def configure(settings: Settings) -> Celery:
    """Point the app at the settings' broker; workers open the settings' home."""
    global _settings
    _settings = settings
    app.conf.update(_conf(settings.broker_url))
    from celery.signals import worker_process_init

    # each worker child opens the home (keys, fonts) before its first task
    worker_process_init.connect(_warm, weak=False)
    return app


def _warm(**_kwargs) -> None:
    from ..render import warm_up

    _worker_context()
    warm_up()


def _worker_context():
    global _context
    if _context is None:
        from ..home import Home
        from .runtime import WorkerContext

        if _settings is None:
            raise RuntimeError("edoc.batches.celery_app.configure(settings) was not called")
        _context = WorkerContext(Home.open(_settings))
    return _context


@app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def run_chunk_task(self, batch_id: str, lo: int, hi: int) -> int:
    """Issue rows ``lo..hi`` of a batch; retried while the registry or the store is away."""
    ctx = _worker_context()
    try:
        return ctx.run(batch_id, lo, hi)
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            log.error("batch %s rows %d-%d: giving up: %s", batch_id, lo, hi, exc)
            _fail_rows(ctx, batch_id, lo, hi, exc)
            return 0
        log.warning("batch %s rows %d-%d: %s; retrying", batch_id, lo, hi, exc)
        raise self.retry(exc=exc, countdown=min(5, 0.5 * 2 ** self.request.retries)) from None


def _fail_rows(ctx, batch_id: str, lo: int, hi: int, exc: Exception) -> None:
    for row in ctx.batches.rows(batch_id, lo=lo, hi=hi, states=("queued",)):
        ctx.batches.mark_failed(batch_id, row.row, [{
            "column": "", "en": f"not issued after {MAX_RETRIES} attempts: {type(exc).__name__}",
            "th": f"ออกเอกสารไม่ได้หลังพยายาม {MAX_RETRIES} ครั้ง"}])
    if ctx.batches.finish_if_complete(batch_id):
        ctx.finished(batch_id)


class CeleryExecutor:
    """Publishes one task per range of rows to the broker."""

    name = "celery"

    def __init__(self, broker_url: str):
        self._app = Celery("edoc-producer", set_as_current=False)
        self._app.conf.update(_conf(broker_url))

    def dispatch(self, batch_id: str, ranges: list[tuple[int, int]]) -> None:
        with self._app.producer_or_acquire() as producer:
            for lo, hi in ranges:
                self._app.send_task(TASK, args=[batch_id, lo, hi], queue=QUEUE, producer=producer)

    def close(self) -> None:
        self._app.close()


def worker_argv(concurrency: int, *, loglevel: str = "INFO", hostname: str | None = None) -> list[str]:
    """The arguments ``edoc worker`` starts Celery's worker with."""
    argv = ["worker", f"--concurrency={concurrency}", "--pool=prefork", f"--loglevel={loglevel}",
            f"--queues={QUEUE}", "--without-gossip", "--without-mingle", "--prefetch-multiplier=1"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    return argv
