"""Worker processes for ``edoc serve --workers N``, each with its own listening socket.

uvicorn's own supervisor binds one socket and shares it: whichever worker's
event loop is idle when connections arrive accepts all of them (asyncio takes up
to the backlog in one wake-up). Under a burst of keep-alive clients one worker
ended up with 24 of 32 connections, and the requests queued behind them set the
p99 while the other worker had spare turns. Here every worker binds its own
socket with ``SO_REUSEPORT`` and the kernel spreads new connections across them
by their addresses.

A hash may still split 32 clients 20 to 12, so the workers also share their
load (``api.limits.WorkerBalance``): the busier one lets connections go until
the split is even.

The parent refuses a port where something already answers (``SO_REUSEPORT``
would let a second ``edoc serve`` join the first one's port) and holds a bound,
never listening, socket for the whole run, so a taken port fails at once with
a message rather than in every worker. It restarts a worker that dies. Where
the platform has no ``SO_REUSEPORT`` the caller falls back to uvicorn's
supervisor.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._common import EXIT_USAGE, CliError

logger = logging.getLogger("uvicorn.error")

APP = "api.app:app_from_env"  # an import string: uvicorn imports api, edoc never does
#: read by api.app.app_from_env in each worker (same names there)
WORKER_LOADS_ENV, WORKER_INDEX_ENV = "EDOC_WORKER_LOADS", "EDOC_WORKER_INDEX"
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that could not load its app
_CRASH_LOOP = 5  # workers that died young in a row before the parent gives up
_YOUNG_S = 10.0
_GRACE_S = 30.0

HAS_REUSEPORT = hasattr(socket, "SO_REUSEPORT")


def reuseport_socket(host: str, port: int, *, backlog: int | None) -> socket.socket:
    """A TCP socket on ``host:port`` in the port's ``SO_REUSEPORT`` group; listening unless backlog is None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def answers(host: str, port: int) -> bool:
    """Whether a server already accepts connections on ``host:port`` (any address: its loopback)."""
    target = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target, port), timeout=1.0):
            return True
    except OSError:
        return False


def _exit_with_parent(parent: int) -> None:  # pragma: no cover  (a worker)
    """Stop this worker (gracefully) once the supervisor is gone, e.g. killed with SIGKILL."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _worker(options: dict[str, Any], loads: str, index: int) -> None:  # pragma: no cover  (a worker)
    import uvicorn

    os.environ[WORKER_LOADS_ENV], os.environ[WORKER_INDEX_ENV] = loads, str(index)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    config = uvicorn.Config(APP, factory=True, **options)
    sock = reuseport_socket(config.host, config.port, backlog=config.backlog)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(options: dict[str, Any], workers: int, run_dir: Path) -> int:
    """Run ``workers`` uvicorn processes of the app from the environment until SIGINT/SIGTERM.

    ``options`` are uvicorn.Config keyword arguments (host, port, log_level, ...);
    the workers share their load counters in a file in ``run_dir``
    (``api.limits.WorkerLoads``). Returns the exit status: 0 after a signal,
    1 when a worker cannot start.
    """
    import uvicorn

    config = uvicorn.Config(APP, factory=True, **options)  # also sets up uvicorn's logging here
    if answers(config.host, config.port):
        # SO_REUSEPORT would let a second server of the same user join the first one's port
        raise CliError(f"something already answers on {config.host}:{config.port}", EXIT_USAGE)
    try:
        holder = reuseport_socket(config.host, config.port, backlog=None)
    except OSError as exc:
        raise CliError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", EXIT_USAGE) from exc

    # one file per run: two servers on one home (other ports) must not share counters
    fd, name = tempfile.mkstemp(prefix="worker-loads-", dir=run_dir)
    os.close(fd)
    loads = Path(name)
    loads.write_bytes(bytes(8 * workers))  # api.limits.WorkerLoads: one 8-byte counter per worker, all zero
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    ctx = mp.get_context("spawn")

    def start(index: int) -> tuple[Any, float]:
        process = ctx.Process(target=_worker, args=(options, str(loads), index), name=f"edoc-worker-{index}")
        process.start()
        logger.info("Started worker process [%s]", process.pid)
        return process, time.monotonic()

    status, young_deaths = 0, 0
    processes = [start(i) for i in range(workers)]
    try:
        while not stop.wait(0.5):
            for i, (process, started) in enumerate(processes):
                if process.is_alive():
                    continue
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    logger.error("Worker process [%s] failed to start; stopping.", process.pid)
                    status = 1
                    stop.set()
                    break
                young_deaths = young_deaths + 1 if time.monotonic() - started < _YOUNG_S else 0
                if young_deaths >= _CRASH_LOOP:
                    logger.error("Workers keep dying right after they start; stopping.")
                    status = 1
                    stop.set()
                    break
                logger.warning("Worker process [%s] died (exit code %s); starting another.",
                               process.pid, process.exitcode)
                processes[i] = start(i)
    finally:
        _stop_all([p for p, _ in processes])
        holder.close()
        loads.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _stop_all(processes: list[Any]) -> None:
    """Let the workers finish their requests (uvicorn's graceful shutdown), then make sure they are gone."""
    # a terminal's Ctrl-C or a service manager's SIGTERM usually reached them too;
    # a second signal would make uvicorn drop its open requests, so wait a moment first
    deadline = time.monotonic() + 1.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            logger.warning("Worker process [%s] did not stop in %d s; killing it.", process.pid, _GRACE_S)
            process.kill()
            process.join()
