"""Batches on real Celery workers (separate processes) over a private RabbitMQ, with the
registry on PostgreSQL and the documents in the S3 server: kill -9 of a worker and a
broker restart mid-batch end with every row issued exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from edoc.batches import BatchOptions
from edoc.batches.celery_app import CeleryExecutor
from edoc.batches.runtime import service_for
from edoc.batches.service import wait_for
from storage.maintenance import doctor, remove_orphans
from storage.models import documents

from .conftest import cert_rows, wait_until, write_csv

pytestmark = pytest.mark.postgres
OPTS = BatchOptions(template="certificate", key_column="exam_id")


@pytest.fixture
def cluster(make_home, postgres_url, s3_config, rabbitmq, worker_factory):
    """A home on PostgreSQL + S3 + RabbitMQ, and a way to start workers for it."""
    url = rabbitmq.vhost()
    home = make_home(
        database_url=postgres_url, storage_backend="s3", s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key, s3_secret_key=s3_config.secret_key,
        s3_bucket=s3_config.bucket, s3_region=s3_config.region, s3_secure=False,
        retention_mode="COMPLIANCE", retention_days=1, broker_url=url, batch_chunk_rows=3,
        idempotency_claim_seconds=3,
    )
    secret = {"EDOC_S3_SECRET_KEY": s3_config.secret_key}

    def start(concurrency: int = 1):
        w = worker_factory(home, url, concurrency=concurrency, **secret)
        wait_until(lambda: b"ready" in w.log.read_bytes(), timeout=90, what="the worker to start")
        return w

    executor = CeleryExecutor(url)
    yield home, service_for(home, executor), start
    executor.close()


def _assert_exactly_once(home, service, batch_id, n):
    batch = service.get(batch_id)
    assert batch.state == "done" and batch.counts["issued"] == n, batch.counts
    results = list(service.results(batch_id))
    ids = [r.document_id for r in results]
    assert None not in ids and len(set(ids)) == n
    with home.registry().engine.connect() as conn:
        keys = conn.execute(sa.select(documents.c.idempotency_key)).scalars().all()
    assert len(keys) == n and Counter(keys).most_common(1)[0][1] == 1  # no document twice
    assert sorted(keys) == sorted(r.key for r in results)
    report = doctor(home.store(), home.registry(), check_contents=False)
    assert not report.missing and report.audit.ok
    return report


def test_two_workers_and_one_killed_mid_batch(cluster, tmp_path):
    home, service, start = cluster
    a, b = start(), start()
    n = 45
    batch = service.submit(write_csv(tmp_path / "b.csv", cert_rows(n)), OPTS, source_name="b.csv",
                           actor="test")
    wait_until(lambda: service.get(batch.id).counts["issued"] >= 6, timeout=120, poll=0.05,
               what="the first rows")
    a.kill9()  # its task in flight goes back to the queue; its claim goes stale
    assert service.get(batch.id).state == "running"
    done = wait_for(service, batch.id, timeout=240)
    assert done.state == "done", (done.counts, b.log.read_text()[-3000:])
    report = _assert_exactly_once(home, service, batch.id, n)
    # at most the one document the killed worker was storing is left unregistered,
    # and doctor's fix removes it from the S3 store
    assert len(report.orphans) <= 1
    removed, kept = remove_orphans(home.store(), home.registry(), report.orphans,
                                   older_than=timedelta(0))
    assert sorted(removed) == sorted(report.orphans) and kept == []
    assert doctor(home.store(), home.registry(), check_contents=False).ok


def test_broker_restart_mid_batch(cluster, rabbitmq, tmp_path):
    home, service, start = cluster
    worker = start(concurrency=2)
    n = 36
    batch = service.submit(write_csv(tmp_path / "b.csv", cert_rows(n)), OPTS, source_name="b.csv",
                           actor="test")
    wait_until(lambda: service.get(batch.id).counts["issued"] >= 4, timeout=120, poll=0.05,
               what="the first rows")
    rabbitmq.restart()
    done = wait_for(service, batch.id, timeout=240)
    assert done.state == "done", (done.counts, worker.log.read_text()[-3000:])
    _assert_exactly_once(home, service, batch.id, n)
    # the same file again: nothing new, the same documents
    first = {r.row: r.document_id for r in service.results(batch.id)}
    again = service.submit(write_csv(tmp_path / "b.csv", cert_rows(n)), OPTS, source_name="b.csv",
                           actor="test")
    assert wait_for(service, again.id, timeout=120).state == "done"
    assert {r.row: r.document_id for r in service.results(again.id)} == first
