"""A private RabbitMQ node (Debian's rabbitmq-server) for the batch tests and bench/batch.py.

Its own node name, AMQP, distribution and EPMD ports on 127.0.0.1, and a data folder
that user ``rabbitmq`` owns (Debian's wrapper runs the broker as that user).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RabbitMQ:
    """A private rabbitmq-server node for this test session."""

    def __init__(self, base: Path):
        self.base = base
        self.node = f"edoctest{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(_free_port()),
            "ERL_EPMD_PORT": str(_free_port()),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.proc: subprocess.Popen | None = None

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["rabbitmqctl", "-n", self.node, *args], env=self.env,
                              capture_output=True, timeout=timeout, text=True, cwd="/")

    def start(self) -> None:
        with open(self.base / "server.out", "ab") as out:
            self.proc = subprocess.Popen(["rabbitmq-server"], env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd="/")
        # await_startup gives up at once while the node is not yet known to EPMD: ask again
        deadline = time.monotonic() + 150
        while True:
            r = self.ctl("await_startup", "--timeout", "60", timeout=90)
            if r.returncode == 0:
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = (self.base / "server.out").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"rabbitmq did not start: {r.stdout}{r.stderr[-1500:]}\n{out}")
            time.sleep(1)

    def stop(self) -> None:
        self.ctl("stop", timeout=60)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def vhost(self) -> str:
        """A fresh virtual host with guest's permissions; its AMQP URL."""
        name = "t" + uuid.uuid4().hex[:10]
        for args in (("add_vhost", name), ("set_permissions", "-p", name, "guest", ".*", ".*", ".*")):
            r = self.ctl(*args)
            assert r.returncode == 0, r.stdout + r.stderr
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{name}"

    def queue_depth(self, vhost_url: str) -> str:
        vhost = vhost_url.rsplit("/", 1)[1]
        return self.ctl("list_queues", "-p", vhost, "name", "messages").stdout

    def close(self, *, remove: bool = False) -> None:
        """Stop the node and its EPMD (``remove``: and delete its data folder)."""
        self.stop()
        # the Erlang port mapper this node started on its private port
        import glob

        found = shutil.which("epmd") or next(iter(sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))), None)
        if found:
            subprocess.run([found, "-kill"], env=self.env, capture_output=True, timeout=10)
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)


def private_broker() -> RabbitMQ:
    """Start a broker in a fresh temporary folder (``.close()`` and remove the folder after)."""
    import contextlib
    import pwd
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="edoc-rabbitmq-"))
    base.chmod(0o755)
    with contextlib.suppress(KeyError, PermissionError):
        user = pwd.getpwnam("rabbitmq")
        os.chown(base, user.pw_uid, user.pw_gid)
    broker = RabbitMQ(base)
    try:
        broker.start()
    except BaseException:
        broker.close()
        shutil.rmtree(base, ignore_errors=True)
        raise
    return broker
