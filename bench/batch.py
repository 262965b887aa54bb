"""Batch issuance throughput: the engines against plain in-process issuance, in one run.

One home (SQLite registry, local store, ECDSA P-256, B-T with the built-in TSA) and
one Thai certificate spreadsheet per run; every mode issues its own copy of it
(another key column value per mode, so no mode replays another's documents):

(a) in-process, as bench/issuance.py does: P processes each open the home once and
    call ``Issuer.issue`` on their share of the already-parsed rows, with the rows'
    idempotency keys (the same issuance a batch does, without any engine);
(b) the embedded pool: ``BatchService.submit`` (read, validate, record the rows)
    then the local process pool, warmed before the clock starts, as in ``edoc serve``;
(c) Celery over a private RabbitMQ with 1 and then 2 ``edoc worker --concurrency 1``
    processes (started and ready before the clock starts).

(a) runs first and last (its two halves averaged), so a drifting machine favours no
mode. Wall time of (b) and (c) runs from the submission to the batch's ``done``.

    python bench/batch.py --docs 1000

Prints ``name: value`` lines; samples of every mode's documents are checked with
pyHanko, pdfsig and ``openssl ts -verify`` before any figure is printed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PASSPHRASE, check_outputs, machine, make_home, print_figure, tempdir  # noqa: E402

HEADER = ["exam_id", "holder.name", "holder.national_id", "title", "course.title", "completed_on",
          "signer.name", "signer.position"]
_GIVEN = ["สมชาย", "สมหญิง", "ปิยะนุช", "วิชัย", "กาญจนา", "ประเสริฐ", "สุดารัตน์", "ธนพล", "อรุณี"]
_FAMILY = ["ศรีสุข", "ใจดี", "รักไทย", "สุวรรณ", "ทองคำ", "บุญมา", "แก้วกล้า", "มีสุข", "ชัยมงคล"]


def _thai_id(n: int) -> str:
    body = f"1{n:011d}"[:12]
    return body + str((11 - sum(int(d) * (13 - i) for i, d in enumerate(body)) % 11) % 10)


def write_cohort(path: Path, docs: int, mode: str) -> Path:
    import csv

    with path.open("w", encoding="cp874", newline="") as fh:  # as Thai Excel saves it
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(docs):
            family = f"{_FAMILY[i % 9]}{_FAMILY[i // 9 % 9]}{_FAMILY[i // 81 % 9]}"
            w.writerow([f"{mode}-{i:06d}", f"นาย{_GIVEN[i % 9]} {family}", _thai_id(i + 1),
                        "ใบรับรองการผ่านการอบรม", "หลักสูตรการพัฒนาบริการภาครัฐในรูปแบบดิจิทัล",
                        f"{1 + i % 28:02d}/11/2569", "นายสมชาย ใจดี", "ผู้อำนวยการสถาบัน"])
    return path


# -- CPU accounting: wall time on a shared machine says little, CPU time per document does --

_TICK = os.sysconf("SC_CLK_TCK")


def _tree(pids: list[int]) -> list[int]:
    """``pids`` and all their descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` and their descendants."""
    total = 0
    for pid in _tree(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def self_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- (a) in-process ---------------------------------------------------------------------


def _inproc_worker(args) -> int:
    home_path, rows, barrier = args
    from edoc.home import Home
    from edoc.render import warm_up
    from edoc.settings import Settings

    home = Home.open(Settings(home=Path(home_path), key_passphrase=PASSPHRASE))
    issuer = home.issuer()
    home.sealer()
    warm_up()
    barrier.wait()
    for key, data in rows:
        issuer.issue("certificate", data, idempotency_key=key)
    return len(rows)


def run_inprocess(home, path: Path, processes: int) -> tuple[float, float]:
    from edoc.batches import RowConverter, read_records

    conv = RowConverter(home.templates().get("certificate"), key_column="exam_id")
    _header, records = read_records(path)
    rows = []
    for row, record in records:
        data, key, problems = conv.convert(row, record)
        assert not problems, problems
        rows.append((key, data))
    ctx = mp.get_context("fork")
    barrier = ctx.Manager().Barrier(processes + 1)
    shares = [rows[i::processes] for i in range(processes)]
    with ctx.Pool(processes) as pool:
        result = pool.map_async(_inproc_worker, [(str(home.path), s, barrier) for s in shares])
        barrier.wait()
        pids = [p.pid for p in pool._pool]  # type: ignore[attr-defined]
        c0, t0 = cpu_of(pids), time.perf_counter()
        result.get()
        return time.perf_counter() - t0, cpu_of(pids) - c0


# -- (b) embedded pool and (c) Celery ----------------------------------------------------


def _timed_batch(service, path: Path, pids: list[int] | None = None) -> tuple[float, str, float]:
    """Wall time, batch id, and CPU seconds of this process plus ``pids`` (and descendants)."""
    from edoc.batches import BatchOptions

    pids = pids or []
    c0 = cpu_of(pids) + self_cpu()
    t0 = time.perf_counter()
    batch = service.submit(path, BatchOptions(template="certificate", key_column="exam_id"),
                           source_name=path.name, actor="bench")
    while True:
        b = service.get(batch.id)
        if b.state not in ("queued", "running"):
            break
        time.sleep(0.25)  # as a progress bar would look; more often costs the submitter CPU
    elapsed = time.perf_counter() - t0
    cpu = cpu_of(pids) + self_cpu() - c0
    assert b.state == "done" and b.counts["issued"] == b.total, b.counts
    return elapsed, batch.id, cpu


def run_embedded(home, path: Path, processes: int) -> tuple[float, str, float]:
    from edoc.batches.embedded import EmbeddedExecutor
    from edoc.batches.runtime import service_for

    executor = EmbeddedExecutor(home.settings, workers=processes, mp_context="fork")
    executor.warm()
    try:
        pids = list(executor._pool._processes)  # type: ignore[attr-defined]
        return _timed_batch(service_for(home, executor), path, pids)
    finally:
        executor.close()


def run_celery(home, path: Path, url: str, workers: int, logdir: Path,
               broker_pids: list[int]) -> tuple[float, str, float]:
    from edoc.batches.celery_app import CeleryExecutor
    from edoc.batches.runtime import service_for

    env = {**os.environ, "EDOC_HOME": str(home.path), "EDOC_BROKER_URL": url,
           "EDOC_KEY_PASSPHRASE": PASSPHRASE}
    procs, logs = [], []
    for i in range(workers):
        log = logdir / f"worker-{workers}-{i}.log"
        with open(log, "wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "edoc", "worker", "--concurrency", "1", "--hostname",
                 f"bench{workers}-{i}@localhost"], env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL))
        logs.append(log)
    try:
        deadline = time.monotonic() + 120
        while not all(b"ready" in log.read_bytes() for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("celery workers did not start:\n" + logs[0].read_text()[-2000:])
            time.sleep(0.2)
        executor = CeleryExecutor(url)
        try:
            service = service_for(home, executor)
            # warm-up: one row per task, so every worker has opened the home before the clock
            chunk, service.chunk_rows = service.chunk_rows, 1
            _timed_batch(service, write_cohort(logdir / f"warm{workers}.csv", 2 * workers, f"W{workers}"))
            service.chunk_rows = chunk
            return _timed_batch(service, path, [p.pid for p in procs] + broker_pids)
        finally:
            executor.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _sample(home, batch_id: str, n: int) -> list[bytes]:
    from edoc.batches.runtime import service_for

    service = service_for(home)
    ids = [r.document_id for r in service.results(batch_id)][:n]
    issuer = home.issuer()
    return [issuer.pdf(issuer.get(i)) for i in ids if i]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000, help="rows per mode")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="(a)/(b) processes")
    ap.add_argument("--chunk", type=int, default=20, help="rows per task")
    ap.add_argument("--broker-url", help="an existing RabbitMQ (default: start a private one)")
    ap.add_argument("--check", type=int, default=2, help="documents per mode to check with the tools")
    ap.add_argument("--tmpfs", action="store_true",
                    help="home (SQLite, objects) in /dev/shm: fsync costs nothing, CPU is what is measured")
    args = ap.parse_args()

    if args.tmpfs:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="edoc-bench-batch-", dir="/dev/shm"))
        atexit.register(shutil.rmtree, root, True)
    else:
        root = tempdir("edoc-bench-batch-")
    home = make_home(root / "home", batch_chunk_rows=args.chunk)
    broker = None
    url = args.broker_url
    if url is None:
        from bench._broker import private_broker

        broker = private_broker()
        url = broker.vhost()
    _log(f"broker ready at {url.rsplit('@', 1)[1]}")
    try:
        n, p = args.docs, args.processes
        half = max(1, n // 2)
        broker_pids = [broker.proc.pid] if broker is not None and broker.proc is not None else []
        a1, a1_cpu = run_inprocess(home, write_cohort(root / "a1.csv", half, "A1"), p)
        _log("done: a1")
        t_b, b_id, b_cpu = run_embedded(home, write_cohort(root / "b.csv", n, "B"), p)
        _log("done: t_b, b_id")
        t_c1, c1_id, c1_cpu = run_celery(home, write_cohort(root / "c1.csv", n, "C1"), url, 1, root,
                                         broker_pids)
        _log("done: t_c1, c1_id")
        t_c2, c2_id, c2_cpu = run_celery(home, write_cohort(root / "c2.csv", n, "C2"), url, 2, root,
                                         broker_pids)
        _log("done: t_c2, c2_id")
        a2, a2_cpu = run_inprocess(home, write_cohort(root / "a2.csv", n - half, "A2"), p)
        _log("done: a2")
        a1_one, _ = run_inprocess(home, write_cohort(root / "a1p.csv", half, "A1P"), 1)
        _log("done: a1_one")
        samples = []
        for batch_id in (b_id, c1_id, c2_id):
            samples += _sample(home, batch_id, args.check)
        (root / "check").mkdir()
        check_outputs(home, samples, root / "check")
    finally:
        if broker is not None:
            broker.close(remove=True)

    rate_a = n / (a1 + a2)
    rate_a1 = half / a1_one
    rate_b, rate_c1, rate_c2 = n / t_b, n / t_c1, n / t_c2
    print_figure("machine", machine())
    print_figure("docs_per_mode", n)
    print_figure("processes", p)
    print_figure("chunk_rows", args.chunk)
    print_figure("home", "tmpfs" if args.tmpfs else "disk")
    print_figure("inprocess_docs_per_s", rate_a)
    print_figure("inprocess_1_process_docs_per_s", rate_a1)
    print_figure("embedded_docs_per_s", rate_b)
    print_figure("embedded_overhead_pct", (rate_a / rate_b - 1) * 100)
    print_figure("celery_1_worker_docs_per_s", rate_c1)
    print_figure("celery_1_worker_overhead_vs_1_process_pct", (rate_a1 / rate_c1 - 1) * 100)
    print_figure("celery_2_workers_docs_per_s", rate_c2)
    print_figure("celery_2_workers_overhead_pct", (rate_a / rate_c2 - 1) * 100)
    print_figure("celery_scaling_1_to_2", rate_c2 / rate_c1, "x")
    # CPU seconds per document: (a) its issuing processes; (b) pool + submitting process;
    # (c) workers (main + pool child) + submitting process + the broker
    cpu_a = (a1_cpu + a2_cpu) / n
    print_figure("inprocess_cpu_ms_per_doc", cpu_a * 1000)
    print_figure("embedded_cpu_ms_per_doc", b_cpu / n * 1000)
    print_figure("embedded_cpu_overhead_pct", (b_cpu / n / cpu_a - 1) * 100)
    print_figure("celery_1_worker_cpu_ms_per_doc", c1_cpu / n * 1000)
    print_figure("celery_2_workers_cpu_ms_per_doc", c2_cpu / n * 1000)
    print_figure("celery_2_workers_cpu_overhead_pct", (c2_cpu / n / cpu_a - 1) * 100)
    print_figure("outputs_checked", f"{len(samples)} (pyHanko, pdfsig, openssl ts)")


if __name__ == "__main__":
    main()
