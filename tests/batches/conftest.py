"""Fixtures for batches: files to submit, a private RabbitMQ broker, Celery workers as processes.

- ``rabbitmq``: Debian's rabbitmq-server on loopback with its own node name, ports
  (AMQP, distribution, EPMD) and data folder (owned by user ``rabbitmq``, which
  Debian's wrapper runs the broker as); ``.restart()`` stops and starts it again on
  the same data, ``.url`` is the AMQP URL with a fresh virtual host per test.
- ``worker_factory(home, broker_url)``: starts ``edoc worker`` in a new process group
  (so ``kill -9`` takes it and its pool children for real) and stops it at the end.
- ``write_csv(path, rows, encoding)``: certificate rows as a spreadsheet would save them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._broker import RabbitMQ
from tests.api.conftest import api_home, api_settings, app, client, keys, live_server  # noqa: F401 - API fixtures
from tests.fixtures.pki import PASSPHRASE

HEADER = ["exam_id", "holder.name", "holder.national_id", "title", "course.title", "completed_on",
          "signer.name", "signer.position"]
GIVEN = ["สมชาย", "สมหญิง", "ปิยะนุช", "วิชัย", "กาญจนา", "ประเสริฐ", "สุดารัตน์", "ธนพล"]


def thai_id(n: int) -> str:
    """A valid Thai national id (check digit) built from ``n``."""
    body = f"1{n:011d}"[:12]
    check = (11 - sum(int(d) * (13 - i) for i, d in enumerate(body)) % 11) % 10
    return body + str(check)


def cert_rows(n: int, *, start: int = 0) -> list[list[str]]:
    """``n`` Thai certificate rows (keys EX-000000...), dates in Buddhist Era dd/mm/yyyy."""
    return [
        [f"EX-{i:06d}", f"นางสาว{GIVEN[i % len(GIVEN)]} ทดสอบ{i}", thai_id(i + 1), "ใบรับรองการผ่านการอบรม",
         "หลักสูตรการพัฒนาบริการภาครัฐ", f"{1 + i % 28:02d}/11/2569", "นายสมชาย ใจดี", "ผู้อำนวยการ"]
        for i in range(start, start + n)
    ]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8",
              header: list[str] = HEADER) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitMQ]:
    """The session's private broker (skipped without rabbitmq-server; CI installs it)."""
    from tests.tools import require

    require("rabbitmq-server")
    base = Path(tempfile.mkdtemp(prefix="edoc-rabbitmq-"))
    base.chmod(0o755)
    with contextlib.suppress(KeyError, PermissionError):
        import pwd

        user = pwd.getpwnam("rabbitmq")
        os.chown(base, user.pw_uid, user.pw_gid)
    broker = RabbitMQ(base)
    try:
        broker.start()
    except BaseException:
        broker.close()
        shutil.rmtree(base, ignore_errors=True)
        raise
    try:
        yield broker
    finally:
        broker.close()
        shutil.rmtree(base, ignore_errors=True)


class Worker:
    """One ``edoc worker`` process (group)."""

    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc = proc
        self.log = log

    def kill9(self) -> None:
        """SIGKILL the worker and its pool children, at once, as a dying machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()


def worker_env(home, broker_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "EDOC_HOME": str(home.path), "EDOC_BROKER_URL": broker_url,
           "EDOC_KEY_PASSPHRASE": PASSPHRASE, **extra}
    return env


@pytest.fixture
def worker_factory(tmp_path):
    """``start(home, broker_url, concurrency=1, **env)`` -> a running ``edoc worker``."""
    started: list[Worker] = []

    def start(home, broker_url: str, *, concurrency: int = 1, **extra: str) -> Worker:
        log = tmp_path / f"worker{len(started)}.log"
        env = worker_env(home, broker_url, **extra)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "edoc", "worker", "--concurrency", str(concurrency),
                 "--hostname", f"w{len(started)}-{uuid.uuid4().hex[:6]}@localhost"],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        w = Worker(proc, log)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def wait_until(predicate, *, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
