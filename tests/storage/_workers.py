"""Functions run in child processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from storage.registry import DocumentRecord, Registry


def append_entries(database_url: str, worker: int, count: int, start) -> int:
    """Open the registry and append ``count`` audit entries as fast as possible."""
    with Registry.open(database_url) as registry:
        start.wait()
        for i in range(count):
            registry.audit.append("test.tick", actor=f"worker-{worker}", subject=str(i), details={"i": i})
    return count


def issue_with_key(database_url: str, worker: int, idempotency_key: str, start) -> tuple[str, bool]:
    """Record a document of our own under a shared idempotency key."""
    with Registry.open(database_url) as registry:
        start.wait()
        record, created = registry.record_issued(
            DocumentRecord(
                id=f"DOC-{worker}",
                agency="moi",
                template="t",
                title="t",
                lang="th",
                sha256=hashlib.sha256(f"pdf of worker {worker}".encode()).hexdigest(),
                size=10,
                level="B-T",
                holder_masked="x",
                issued_at=datetime.now(UTC),
                idempotency_key=idempotency_key,
                request_hash="same-request",
            )
        )
    return record.id, created


def open_registry(database_url: str, start) -> int:
    """Open (and so migrate) the registry at the same moment as others."""
    start.wait()
    with Registry.open(database_url) as registry:
        return registry.count()


def _call(fn, args, barrier, results, index) -> None:
    try:
        results.put((index, True, fn(*args, barrier)))
    except BaseException as exc:  # report to the parent instead of dying silently
        results.put((index, False, f"{type(exc).__name__}: {exc}"))


def run_parallel(fn, arg_tuples: list[tuple], timeout: float = 120) -> list:
    """Run ``fn(*args, barrier)`` in one spawned process per tuple; they start together.

    Returns the results in order; raises if any process failed.
    """
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(arg_tuples), timeout=timeout)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_call, args=(fn, args, barrier, results, i), daemon=True)
        for i, args in enumerate(arg_tuples)
    ]
    for p in procs:
        p.start()
    outcomes = dict((i, (ok, value)) for i, ok, value in (results.get(timeout=timeout) for _ in procs))
    for p in procs:
        p.join(timeout)
    failures = [value for ok, value in outcomes.values() if not ok]
    if failures:
        raise AssertionError("worker failed: " + "; ".join(failures))
    return [outcomes[i][1] for i in range(len(procs))]
